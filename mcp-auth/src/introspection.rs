//! Opaque access tokens: RFC 7662 token introspection, with a bounded result cache, and
//! [`JwtOrIntrospection`], which sends JWTs to a [`JwtVerifier`] and everything else here.
//!
//! # The request
//!
//! `POST <introspection_endpoint>` with `Content-Type: application/x-www-form-urlencoded`, body
//! `token=<t>&token_type_hint=access_token` and `Accept: application/json`. The endpoint is the
//! `introspection_endpoint` of the authorization server's metadata; it is configured, never
//! derived from a token. The resource server authenticates itself ([`ClientAuth`]). Redirects
//! are not followed and the response is read up to a size cap.
//!
//! # The decision
//!
//! | Response | Result |
//! |---|---|
//! | `"active": false` | [`VerifyError::Inactive`] (401 `invalid_token`) |
//! | `"active": true`, `iss` present and not the configured issuer | [`VerifyError::UntrustedIssuer`] |
//! | `"active": true`, `exp` past (beyond the leeway) | [`VerifyError::Expired`] |
//! | `"active": true`, `nbf` future (beyond the leeway) | [`VerifyError::NotYetValid`] |
//! | `"active": true`, `aud` without this resource | [`VerifyError::InvalidAudience`] |
//! | `"active": true`, no `aud` | [`VerifyError::MissingClaim`]`("aud")`, unless [`IntrospectionVerifierBuilder::allow_missing_audience`] |
//! | `"active": true`, all of the above fine | [`AuthInfo`] ([`TokenKind::Opaque`]) |
//! | HTTP 401/403 (our credentials refused), other non-2xx, timeout, connection error | [`VerifyError::Unavailable`] (503) |
//! | 2xx that is not a JSON object, or `active` missing or not a boolean | [`VerifyError::Unavailable`] (503) |
//!
//! A 2xx answer without a boolean `active` is the authorization server breaking RFC 7662 §2.2,
//! exactly like a non-JSON answer, so it is reported as [`VerifyError::Unavailable`]: access is
//! refused (fail closed) but the token is not blamed, which would send the client into a
//! re-authorization loop that cannot succeed. The problem is logged at `warn` level.
//!
//! # The cache
//!
//! Active results are cached under the SHA-256 digest of the token (the token is never stored),
//! each for at most `min(max_ttl, exp - now)`: a cached answer never outlives the token,
//! but a token revoked at the authorization server may still be accepted for up to `max_ttl`
//! (default 60 s). Inactive and failed results are not cached.
//!
//! [`JwtVerifier`]: crate::verify::JwtVerifier

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::auth_info::{AuthInfo, TokenFacts, TokenKind};
use crate::clock::SharedClock;
use crate::error::{ConfigError, VerifyError};
use crate::notice::Throttle;
use crate::verify::{
    ScopeClaim, TokenVerifier, VerifyOptions, claim_audiences, claim_numeric_date, claim_str,
    read_scopes,
};

mod cache;
mod client_key;
mod router;

use cache::TokenCache;
pub use client_key::ClientKey;
pub use router::{JwtOrIntrospection, JwtRoute};

/// The largest introspection response accepted.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// `Retry-After` suggested when the endpoint failed transiently.
const RETRY_TRANSIENT: Duration = Duration::from_secs(5);
/// `Retry-After` suggested when the endpoint refused our credentials (needs an operator).
const RETRY_CREDENTIALS: Duration = Duration::from_secs(60);

/// How the resource server authenticates itself to the introspection endpoint (RFC 7662 §2.1:
/// the endpoint MUST require some authorization).
///
/// `Debug` never shows a secret or token.
///
/// ```
/// use mcp_auth::introspection::ClientAuth;
///
/// let auth = ClientAuth::basic("mcp-server", "s3cret");
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic` (RFC 6749 §2.3.1): `Authorization: Basic`, with the client id and
    /// secret each `application/x-www-form-urlencoded` before they are joined and base64-encoded.
    Basic {
        /// The resource server's client id at the authorization server.
        client_id: String,
        /// Its client secret.
        client_secret: String,
    },
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post {
        /// The resource server's client id at the authorization server.
        client_id: String,
        /// Its client secret.
        client_secret: String,
    },
    /// `Authorization: Bearer <token>` with the resource server's own access token (not the
    /// token being introspected).
    Bearer(String),
    /// `private_key_jwt` (RFC 7523 §2.2): a fresh assertion signed by the resource server's
    /// private key on each request, `aud` the authorization server's issuer identifier.
    PrivateKeyJwt {
        /// The resource server's client id at the authorization server.
        client_id: String,
        /// Its private key.
        key: ClientKey,
    },
}

impl ClientAuth {
    /// [`ClientAuth::Basic`]: `client_secret_basic`, the method every authorization server must
    /// support (RFC 6749 §2.3.1).
    pub fn basic(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::Basic {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// [`ClientAuth::Post`]: `client_secret_post`.
    pub fn post(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::Post {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// A fresh `private_key_jwt` assertion for the audience `aud` (the authorization server's
    /// issuer), `None` for the other methods.
    pub(crate) fn assertion(&self, aud: &str) -> Result<Option<String>, String> {
        match self {
            Self::PrivateKeyJwt { client_id, key } => key.assertion(client_id, aud).map(Some),
            _ => Ok(None),
        }
    }

    /// Authenticates `request` as this client (RFC 6749 §2.3, RFC 7523 §2.2): a header, or
    /// members added to its `form`; `assertion`: what [`assertion`](Self::assertion) made.
    pub(crate) fn authenticate<'a>(
        &'a self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(&'static str, &'a str)>,
        assertion: Option<&'a str>,
    ) -> reqwest::RequestBuilder {
        match self {
            Self::Basic {
                client_id,
                client_secret,
            } => request.basic_auth(form_encode(client_id), Some(form_encode(client_secret))),
            Self::Post {
                client_id,
                client_secret,
            } => {
                form.push(("client_id", client_id));
                form.push(("client_secret", client_secret));
                request
            }
            Self::Bearer(own_token) => request.bearer_auth(own_token),
            Self::PrivateKeyJwt { client_id, .. } => {
                form.push(("client_id", client_id));
                form.push(("client_assertion_type", client_key::JWT_BEARER_ASSERTION));
                form.push(("client_assertion", assertion.unwrap_or_default()));
                request
            }
        }
    }

    /// [`ClientAuth::Bearer`]: the resource server's own access token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::Bearer(token.into())
    }

    /// [`ClientAuth::PrivateKeyJwt`]: `private_key_jwt` with `key` (ZITADEL, Okta).
    pub fn private_key_jwt(client_id: impl Into<String>, key: ClientKey) -> Self {
        Self::PrivateKeyJwt {
            client_id: client_id.into(),
            key,
        }
    }

    /// The client id it authenticates as (`None` for [`ClientAuth::Bearer`]).
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::PrivateKeyJwt { client_id, .. } => Some(client_id),
            Self::Bearer(_) => None,
        }
    }

    /// The method's name as in RFC 8414 `introspection_endpoint_auth_methods_supported`
    /// (`"bearer"` for [`ClientAuth::Bearer`], which has no registered name).
    pub fn method(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "client_secret_basic",
            Self::Post { .. } => "client_secret_post",
            Self::Bearer(_) => "bearer",
            Self::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }

    fn problems(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        match self {
            Self::Basic {
                client_id,
                client_secret,
            }
            | Self::Post {
                client_id,
                client_secret,
            } => {
                if client_id.is_empty() {
                    errors.push(ConfigError::invalid(
                        "client_auth",
                        "the client id is empty; use the resource server's client id at the authorization server",
                    ));
                }
                if client_secret.is_empty() {
                    errors.push(ConfigError::invalid(
                        "client_auth",
                        "the client secret is empty; set the resource server's client secret",
                    ));
                }
            }
            Self::PrivateKeyJwt { client_id, .. } => {
                if client_id.is_empty() {
                    errors.push(ConfigError::invalid(
                        "client_auth",
                        "the client id is empty; use the resource server's client id at the authorization server",
                    ));
                }
            }
            Self::Bearer(token) => {
                if token.is_empty() {
                    errors.push(ConfigError::invalid(
                        "client_auth",
                        "the bearer token is empty; use the resource server's own access token",
                    ));
                } else if http::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
                    errors.push(ConfigError::invalid(
                        "client_auth",
                        "the bearer token contains characters not allowed in an HTTP header",
                    ));
                }
            }
        }
        errors
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { client_id, .. } => f
                .debug_struct("Basic")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::Post { client_id, .. } => f
                .debug_struct("Post")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&"<redacted>").finish(),
            Self::PrivateKeyJwt { client_id, key } => f
                .debug_struct("PrivateKeyJwt")
                .field("client_id", client_id)
                .field("key", key)
                .finish(),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B).
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Verifies opaque access tokens by asking the authorization server (RFC 7662).
///
/// Cloning is cheap and shares the HTTP client and the cache. See the [module
/// documentation](self) for the request, the decision table and the cache.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::introspection::{ClientAuth, IntrospectionVerifier};
///
/// let verifier = IntrospectionVerifier::builder()
///     .issuer("https://auth.example.com")
///     .endpoint("https://auth.example.com/oauth2/introspect")
///     .resource("https://mcp.example.com/mcp")
///     .client_auth(ClientAuth::basic("mcp-server", "s3cret"))
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// # let _ = verifier;
/// # Ok::<(), mcp_auth::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct IntrospectionVerifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    endpoint: String,
    resource: String,
    client_auth: ClientAuth,
    options: VerifyOptions,
    allow_missing_audience: bool,
    clock: SharedClock,
    http: reqwest::Client,
    timeout: Duration,
    cache: Option<TokenCache>,
    /// The issuer's keys, when answers must be RFC 9701 signed JWTs.
    signed: Option<crate::jwks::JwksCache>,
    /// Bounds the introspection requests in flight: any opaque string reaches the endpoint, so
    /// a flood of garbage tokens must not become a flood of authenticated requests.
    in_flight: tokio::sync::Semaphore,
    /// The operator lines (limit reached, endpoint unavailable), once per interval each: any
    /// client can cause them.
    saturated: Throttle,
    unavailable_log: Throttle,
}

/// The media type of RFC 9701 answers.
const SIGNED_RESPONSE: &str = "application/token-introspection+jwt";

/// How old a signed answer may be (its `iat`), beyond the leeway.
const SIGNED_ANSWER_MAX_AGE_SECS: u64 = 60;

/// The default bound on introspection requests in flight.
const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// Builds an [`IntrospectionVerifier`]. `issuer`, `endpoint`, `resource` and `client_auth` are
/// required.
#[derive(Debug)]
pub struct IntrospectionVerifierBuilder {
    issuer: Option<String>,
    /// Whether `issuer` came from a checked `AuthServerConfig`.
    issuer_checked: bool,
    endpoint: Option<String>,
    resource: Option<String>,
    client_auth: Option<ClientAuth>,
    options: VerifyOptions,
    allow_missing_audience: bool,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    max_in_flight: usize,
    cache_entries: usize,
    cache_ttl: Duration,
    /// The `jwks_uri` that signs RFC 9701 answers, when they are required.
    signed_by: Option<String>,
}

impl Default for IntrospectionVerifierBuilder {
    fn default() -> Self {
        Self {
            issuer: None,
            issuer_checked: false,
            endpoint: None,
            resource: None,
            client_auth: None,
            options: VerifyOptions::default(),
            allow_missing_audience: false,
            clock: None,
            http: None,
            timeout: Duration::from_secs(5),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            cache_entries: 10_000,
            cache_ttl: Duration::from_secs(60),
            signed_by: None,
        }
    }
}

impl IntrospectionVerifier {
    /// Starts a builder.
    ///
    /// ```
    /// use mcp_auth::introspection::{ClientAuth, IntrospectionVerifier};
    ///
    /// let verifier = IntrospectionVerifier::builder()
    ///     .issuer("https://auth.example.com")
    ///     .endpoint("https://auth.example.com/oauth2/introspect")
    ///     .resource("https://mcp.example.com/mcp")
    ///     .client_auth(ClientAuth::post("mcp-server", "s3cret"))
    ///     .build()?;
    /// # let _ = verifier;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn builder() -> IntrospectionVerifierBuilder {
        IntrospectionVerifierBuilder::default()
    }

    /// The number of cached results (0 when caching is disabled).
    #[cfg(test)]
    pub(crate) fn cached_entries(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// What [`introspect`](Self::introspect) answers without a request: a token refused by its
    /// size, or a result in the cache; `None` otherwise.
    fn known(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        match self.lookup(token) {
            Lookup::Answer(answer) => Some(answer),
            Lookup::Miss(_) => None,
        }
    }

    /// The size checks, then the cache: the answer, or the cache key of a miss (so that the
    /// token is hashed once).
    fn lookup(&self, token: &str) -> Lookup {
        let inner = &*self.inner;
        let max = inner.options.max_token_bytes;
        if token.len() > max {
            return Lookup::Answer(Err(VerifyError::TooLarge { max }));
        }
        if token.is_empty() {
            return Lookup::Answer(Err(VerifyError::Malformed("the token is empty")));
        }
        let Some(cache) = inner.cache.as_ref() else {
            return Lookup::Miss(None);
        };
        let key = TokenCache::key(token);
        match cache.get(&key, inner.now_millis()) {
            Some(info) => {
                tracing::debug!(issuer = %inner.issuer, outcome = "active", cached = true, "introspection");
                Lookup::Answer(Ok(info))
            }
            None => Lookup::Miss(Some(key)),
        }
    }

    async fn introspect(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        let key = match self.lookup(token) {
            Lookup::Answer(answer) => return answer,
            Lookup::Miss(key) => key,
        };
        let inner = &*self.inner;
        let cache = inner.cache.as_ref().zip(key);
        let Ok(_permit) = inner.in_flight.try_acquire() else {
            match inner.saturated.admit() {
                Some(suppressed) => tracing::warn!(
                    issuer = %inner.issuer,
                    suppressed,
                    "introspection concurrency limit reached (one line per interval)"
                ),
                None => tracing::debug!("introspection concurrency limit reached"),
            }
            return Err(inner.unavailable(
                "too many introspection requests in flight",
                Duration::from_secs(1),
            ));
        };
        let response = inner.call(token).await;
        crate::metric::fetched(crate::metric::INTROSPECTIONS, response.is_ok());
        let response = response?;
        let result = inner.evaluate(response);
        match &result {
            Ok(info) => {
                let cached = cache.is_some_and(|(cache, key)| {
                    cache.insert(key, info.clone(), inner.now_millis())
                });
                tracing::debug!(issuer = %inner.issuer, outcome = "active", cached, "introspection");
            }
            Err(e @ VerifyError::Unavailable { reason, .. }) => {
                match inner.unavailable_log.admit() {
                    Some(suppressed) => tracing::warn!(
                        issuer = %inner.issuer,
                        outcome = e.kind(),
                        %reason,
                        suppressed,
                        "introspection endpoint unavailable (one line per interval)"
                    ),
                    None => tracing::debug!(outcome = e.kind(), %reason, "introspection"),
                }
            }
            Err(e) => {
                tracing::debug!(issuer = %inner.issuer, outcome = e.kind(), "introspection");
            }
        }
        result
    }
}

impl Inner {
    fn now_millis(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn unavailable(&self, what: impl fmt::Display, retry_after: Duration) -> VerifyError {
        VerifyError::Unavailable {
            reason: format!("introspection at {}: {what}", self.issuer),
            retry_after,
        }
    }

    /// One introspection request; the response's JSON object, or `Unavailable`.
    async fn call(&self, token: &str) -> Result<Map<String, Value>, VerifyError> {
        let mut form: Vec<(&str, &str)> =
            vec![("token", token), ("token_type_hint", "access_token")];
        let accept = match self.signed {
            Some(_) => SIGNED_RESPONSE,
            None => "application/json",
        };
        let request = self
            .http
            .post(&self.endpoint)
            .header(http::header::ACCEPT, accept)
            .timeout(self.timeout);
        let assertion = self
            .client_auth
            .assertion(&self.issuer)
            .map_err(|reason| self.unavailable(reason, RETRY_TRANSIENT))?;
        let request = self
            .client_auth
            .authenticate(request, &mut form, assertion.as_deref());
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| self.unavailable(crate::http_client::describe(&e), RETRY_TRANSIENT))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            tracing::error!(
                issuer = %self.issuer,
                endpoint = %self.endpoint,
                status = status.as_u16(),
                method = self.client_auth.method(),
                "the introspection endpoint refused the resource server's credentials; check the client id and its secret, token or private key configured for introspection"
            );
            return Err(self.unavailable(
                format_args!(
                    "the endpoint refused the resource server's credentials (HTTP {})",
                    status.as_u16()
                ),
                RETRY_CREDENTIALS,
            ));
        }
        if !status.is_success() {
            return Err(self.unavailable(
                format_args!("the endpoint answered HTTP {}", status.as_u16()),
                RETRY_TRANSIENT,
            ));
        }
        let signed_answer = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(SIGNED_RESPONSE))
            });
        let body = crate::http_client::read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| self.unavailable(e.describe(MAX_RESPONSE_BYTES), RETRY_TRANSIENT))?;
        if let Some(jwks) = &self.signed {
            if !signed_answer {
                return Err(self.unavailable(
                    "the answer is not signed (RFC 9701 was asked for: Content-Type application/token-introspection+jwt)",
                    RETRY_TRANSIENT,
                ));
            }
            return self.signed_answer(jwks, &body).await;
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(self.unavailable("the response is not a JSON object", RETRY_TRANSIENT)),
        }
    }

    /// The `token_introspection` member of an RFC 9701 answer, once the JWT is verified against
    /// the issuer's keys (§5: `typ`, `iss`, `aud`, `iat`). Any flaw is the server's: `Unavailable`.
    async fn signed_answer(
        &self,
        jwks: &crate::jwks::JwksCache,
        body: &[u8],
    ) -> Result<Map<String, Value>, VerifyError> {
        let flawed = |what: &str| {
            self.unavailable(format_args!("the signed answer {what}"), RETRY_TRANSIENT)
        };
        let text = std::str::from_utf8(body).map_err(|_| flawed("is not text"))?;
        let parts = crate::jws::Jws::split(text.trim()).map_err(|_| flawed("is not a JWS"))?;
        let header = crate::jws::decode_object(parts.header, crate::jws::Segment::Header)
            .map_err(|_| flawed("has no readable header"))?;
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case("token-introspection+jwt") {
            return Err(flawed("does not have typ token-introspection+jwt"));
        }
        let alg = crate::verify::header_algorithm(&header)
            .map_err(|_| flawed("is signed with an algorithm that is not accepted"))?;
        let kid = header.get("kid").and_then(Value::as_str);
        match jwks.verify_signature(&parts, kid, alg).await {
            Ok(()) => {}
            Err(VerifyError::Unavailable {
                reason,
                retry_after,
            }) => {
                return Err(VerifyError::Unavailable {
                    reason,
                    retry_after,
                });
            }
            Err(_) => return Err(flawed("is not signed by a key of the issuer")),
        }
        let claims = crate::jws::decode_object(parts.payload, crate::jws::Segment::Payload)
            .map_err(|_| flawed("has no readable claims"))?;
        if claim_str(&claims, "iss").ok().flatten() != Some(self.issuer.as_str()) {
            return Err(flawed("is not from the issuer"));
        }
        if let Some(client_id) = self.client_auth.client_id() {
            let audiences = claim_audiences(&claims).ok().flatten().unwrap_or_default();
            if !audiences.iter().any(|a| a == client_id) {
                return Err(flawed("is not addressed to this resource server (aud)"));
            }
        }
        // Fresh: an answer kept and replayed by an intermediary for other tokens is refused
        // once it is older than a minute (beyond the leeway), or past its own `exp`.
        let now = self.clock.unix_seconds();
        let leeway = self.options.leeway.as_secs();
        let Some(iat) = claim_numeric_date(&claims, "iat").ok().flatten() else {
            return Err(flawed("has no iat"));
        };
        if iat > now.saturating_add(leeway)
            || iat.saturating_add(SIGNED_ANSWER_MAX_AGE_SECS + leeway) < now
        {
            return Err(flawed("is not fresh (iat)"));
        }
        if claim_numeric_date(&claims, "exp")
            .ok()
            .flatten()
            .is_some_and(|exp| exp.saturating_add(leeway) <= now)
        {
            return Err(flawed("expired"));
        }
        match claims.get("token_introspection") {
            Some(Value::Object(answer)) => Ok(answer.clone()),
            _ => Err(flawed("has no token_introspection object")),
        }
    }

    /// Decides on an introspection response (RFC 7662 §2.2 and MCP's audience-validation rule),
    /// as the module documentation's table says.
    fn evaluate(&self, claims: Map<String, Value>) -> Result<AuthInfo, VerifyError> {
        match claims.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(VerifyError::Inactive),
            _ => {
                return Err(self.unavailable(
                    "the response has no boolean `active` member (RFC 7662 §2.2)",
                    RETRY_TRANSIENT,
                ));
            }
        }
        if claim_str(&claims, "iss")?.is_some_and(|iss| iss != self.issuer) {
            return Err(VerifyError::UntrustedIssuer);
        }
        // Something that is not an access token (a refresh token is "active" too) must not
        // pass. A key-bound one (`cnf`, `token_type: DPoP`) passes here and is refused by
        // `verify` (the Bearer rule); `verify_dpop` returns it for the proof check.
        let access_type = |t: &str| {
            t.eq_ignore_ascii_case("bearer")
                || t.eq_ignore_ascii_case("access_token")
                || t.eq_ignore_ascii_case("dpop")
        };
        if claim_str(&claims, "token_type")?.is_some_and(|t| !access_type(t)) {
            return Err(VerifyError::NotABearerToken);
        }
        let now = self.clock.unix_seconds();
        let leeway = self.options.leeway.as_secs();
        let exp = claim_numeric_date(&claims, "exp")?;
        if exp.is_some_and(|exp| exp.saturating_add(leeway) <= now) {
            return Err(VerifyError::Expired);
        }
        if claim_numeric_date(&claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(VerifyError::NotYetValid);
        }
        let audiences = match claim_audiences(&claims)? {
            Some(audiences) => {
                if !self.options.accepts_audience(&audiences, &self.resource) {
                    return Err(VerifyError::InvalidAudience);
                }
                audiences
            }
            None if self.allow_missing_audience => Vec::new(),
            None => return Err(VerifyError::MissingClaim("aud")),
        };
        let issued_at = claim_numeric_date(&claims, "iat")?;
        if let Some(exp) = exp {
            self.options.check_lifetime(exp, issued_at, now)?;
        }
        let subject = claim_str(&claims, "sub")?.map(Into::into);
        let client_id = claim_str(&claims, "client_id")?.map(Into::into);
        let token_id = claim_str(&claims, "jti")?.map(Into::into);
        claim_str(&claims, "username")?;
        // `scope` is the RFC 7662 member; the configured claims are fallbacks after it.
        let mut sources = vec![ScopeClaim::Scope];
        sources.extend(
            self.options
                .scope_claims
                .iter()
                .filter(|c| **c != ScopeClaim::Scope)
                .cloned(),
        );
        let scopes = read_scopes(&claims, &sources)?;
        Ok(AuthInfo::from(TokenFacts {
            issuer: self.issuer.clone(),
            subject,
            client_id,
            audiences,
            scopes,
            expires_at: exp,
            issued_at,
            token_id,
            claims,
            kind: TokenKind::Opaque,
        }))
    }
}

impl TokenVerifier for IntrospectionVerifier {
    async fn verify(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        self.introspect(token)
            .await
            .and_then(crate::verify::bearer_only)
    }

    fn verify_dpop<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a {
        self.introspect(token)
    }

    fn verify_cached(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        self.known(token)
            .map(|answer| answer.and_then(crate::verify::bearer_only))
    }
}

impl IntrospectionVerifierBuilder {
    /// The authorization server the endpoint belongs to, exactly as its metadata spells
    /// `issuer`. A response's `iss`, when present, must equal it. Required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self.issuer_checked = false;
        self
    }

    /// The issuer and `introspection_endpoint` of a checked
    /// [`AuthServerConfig`](crate::discovery::AuthServerConfig) (its issuer is not checked
    /// again).
    pub(crate) fn server(mut self, config: &crate::discovery::AuthServerConfig) -> Self {
        self.issuer = Some(config.issuer().to_owned());
        self.issuer_checked = true;
        self.endpoint = config.introspection_endpoint().map(str::to_owned);
        self
    }

    /// Asks for RFC 9701 answers (`Accept: application/token-introspection+jwt`) and accepts
    /// only those: a JWT signed by a key of `jwks_uri` (the authorization server's), with `typ`
    /// `token-introspection+jwt`, `iss` the issuer, `aud` the resource server's client id (for a
    /// client authentication that names one) and `iat`, whose `token_introspection` member is
    /// the answer, issued within the last minute (beyond the leeway) and not past its `exp`. An
    /// unsigned, unverifiable or stale answer is the authorization server's fault: the request
    /// gets `503`, never a pass. Protects the answer from an intermediary that could rewrite
    /// plain JSON, or replay an old signed answer for other tokens.
    pub fn signed_responses(mut self, jwks_uri: impl Into<String>) -> Self {
        self.signed_by = Some(jwks_uri.into());
        self
    }

    /// The `introspection_endpoint` from the authorization server's metadata (never from a
    /// token). Required.
    pub fn endpoint(mut self, introspection_endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(introspection_endpoint.into());
        self
    }

    /// The resource identifier a response's `aud` must contain (RFC 8707 / MCP's
    /// audience-validation rule); audiences added with [`VerifyOptions::extra_audience`] are
    /// accepted too. Required.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// How the resource server authenticates to the endpoint. Required.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = Some(auth);
        self
    }

    /// Verification options: leeway, scope claims (read after `scope`), extra audiences, token
    /// size cap. The `typ` and claims-profile settings apply to JWTs only.
    pub fn options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// Accepts active tokens whose introspection response has no `aud` (default: refused).
    ///
    /// **Risk:** without `aud`, nothing shows that the token was issued for this resource, so
    /// a token meant for another API of the same authorization server is accepted here too
    /// (the confused-deputy problem the MCP audience rule exists to prevent). Enable it only
    /// when the authorization server issues tokens for this resource alone, or binds tokens to
    /// resources in a way the response does not show.
    pub fn allow_missing_audience(mut self, allow: bool) -> Self {
        self.allow_missing_audience = allow;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client (default: a client that follows no redirects). A client given here
    /// should not follow redirects either.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The timeout of one introspection request (default 5 s). On timeout the request fails
    /// with [`VerifyError::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// At most this many introspection requests in flight at once (default 32). Further tokens
    /// that need a request are answered [`VerifyError::Unavailable`] (503) at once: an attacker
    /// sending random opaque strings cannot turn the resource server into a flood of
    /// authenticated requests against the authorization server. Cached tokens are not affected.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Caches active results: at most `max_entries`, each for at most `max_ttl` and never past
    /// the token's `exp` (default 10 000 entries, 60 s). A zero in either disables the cache.
    /// `max_ttl` is also how long a revoked token may still be accepted.
    pub fn cache(mut self, max_entries: usize, max_ttl: Duration) -> Self {
        self.cache_entries = max_entries;
        self.cache_ttl = max_ttl;
        self
    }

    /// Checks the configuration and builds the verifier. Every problem is reported at once.
    ///
    /// ```
    /// use mcp_auth::introspection::IntrospectionVerifier;
    ///
    /// let err = IntrospectionVerifier::builder()
    ///     .issuer("http://auth.example.com")
    ///     .build()
    ///     .unwrap_err();
    /// let text = err.to_string();
    /// assert!(text.contains("issuer"));
    /// assert!(text.contains("endpoint"));
    /// assert!(text.contains("client_auth"));
    /// ```
    pub fn build(self) -> Result<IntrospectionVerifier, ConfigError> {
        crate::crypto::ensure_provider();
        let mut errors = Vec::new();
        let mut required = |value: Option<String>, field: &'static str, fix: &str| match value {
            Some(v) if !v.is_empty() => v,
            _ => {
                errors.push(ConfigError::invalid(field, format!("is required; {fix}")));
                String::new()
            }
        };
        let issuer = required(
            self.issuer,
            "issuer",
            "call .issuer(\"https://auth.example.com\") with the authorization server's issuer",
        );
        let endpoint = required(
            self.endpoint,
            "introspection_endpoint",
            "call .endpoint(..) with the `introspection_endpoint` of the authorization server's metadata",
        );
        let resource = required(
            self.resource,
            "resource",
            "call .resource(\"https://mcp.example.com/mcp\")",
        );
        if !issuer.is_empty()
            && !self.issuer_checked
            && let Err(message) = crate::discovery::check_issuer(&issuer)
        {
            errors.push(ConfigError::invalid("issuer", message));
        }
        if !endpoint.is_empty() {
            for problem in mcp_auth_rules::https_url("introspection_endpoint", &endpoint).errors() {
                errors.push(ConfigError::invalid(
                    "introspection_endpoint",
                    problem.message.clone(),
                ));
            }
        }
        if !resource.is_empty() {
            for problem in mcp_auth_rules::https_url("resource", &resource).errors() {
                errors.push(ConfigError::invalid("resource", problem.message.clone()));
            }
        }
        if self.signed_by.is_some()
            && self
                .client_auth
                .as_ref()
                .is_some_and(|auth| auth.client_id().is_none())
        {
            errors.push(ConfigError::invalid(
                "signed_responses",
                "a signed answer is addressed to the resource server's client id (`aud`), which a bearer-token client authentication does not name; authenticate with a client id (basic, post or private_key_jwt)",
            ));
        }
        match &self.client_auth {
            Some(auth) => errors.extend(auth.problems()),
            None => errors.push(ConfigError::invalid(
                "client_auth",
                "is required (RFC 7662 §2.1: the endpoint authenticates its callers); call .client_auth(ClientAuth::basic(client_id, client_secret))",
            )),
        }
        if self.timeout.is_zero() {
            errors.push(ConfigError::invalid(
                "timeout",
                "must be greater than zero; the default is 5 s",
            ));
        }
        if self.options.max_token_bytes == 0 {
            errors.push(ConfigError::invalid(
                "max_token_bytes",
                "must be greater than zero",
            ));
        }
        let http = match self.http {
            Some(http) => Some(http),
            None => match crate::http_client::no_redirect_client() {
                Ok(http) => Some(http),
                Err(e) => {
                    errors.push(ConfigError::invalid(
                        "http_client",
                        format!("cannot build the HTTP client: {e}"),
                    ));
                    None
                }
            },
        };
        ConfigError::from_all(errors)?;
        let (Some(http), Some(client_auth)) = (http, self.client_auth) else {
            return Err(ConfigError::invalid("client_auth", "is required"));
        };
        let clock = self.clock.unwrap_or_else(crate::clock::system);
        let signed = self.signed_by.map(|jwks_uri| {
            crate::jwks::JwksCache::new(
                issuer.clone(),
                jwks_uri,
                http.clone(),
                Arc::clone(&clock),
                crate::jwks::JwksOptions::default(),
            )
        });
        Ok(IntrospectionVerifier {
            inner: Arc::new(Inner {
                signed,
                issuer,
                endpoint,
                resource,
                client_auth,
                options: self.options,
                allow_missing_audience: self.allow_missing_audience,
                clock,
                http,
                timeout: self.timeout,
                cache: TokenCache::new(self.cache_entries, self.cache_ttl),
                in_flight: tokio::sync::Semaphore::new(self.max_in_flight.max(1)),
                saturated: Throttle::default(),
                unavailable_log: Throttle::default(),
            }),
        })
    }
}

/// What the size checks and the cache decide about a token before any request.
enum Lookup {
    /// The answer, without a request.
    Answer(Result<AuthInfo, VerifyError>),
    /// Not known: the cache key, when results are cached.
    Miss(Option<crate::expiring::Digest>),
}

#[cfg(test)]
mod tests;
