//! Token verification: the [`TokenVerifier`] trait and the options shared by verifiers.

pub use crate::crypto::ensure_provider as ensure_crypto_provider;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

pub use crate::auth_info::TokenKind;
use crate::auth_info::{AuthInfo, TokenFacts};
use crate::clock::SharedClock;
use crate::error::{ConfigError, VerifyError};
pub use crate::jwks::{JwksCache, JwksOptions};
use crate::jws::{Jws, JwsError, Segment, decode_object};
pub use api_keys::{API_KEY_ISSUER, ApiKey, ApiKeys, ApiKeysError};
pub use token_cache::TokenCacheOptions;

mod api_keys;
mod token_cache;

/// Checks an access token and says what it grants.
///
/// Implemented by [`JwtVerifier`] (RFC 9068 JWTs),
/// `introspection::IntrospectionVerifier` (RFC 7662 opaque tokens),
/// `introspection::JwtOrIntrospection` (both) and anything
/// users plug in. Implementations must check at least integrity, expiry, issuer and audience;
/// scope checks happen per operation, after verification.
///
/// ```
/// use mcp_auth::{AuthInfo, VerifyError};
/// use mcp_auth::verify::TokenVerifier;
///
/// /// Accepts nothing: a verifier for a resource that is switched off.
/// struct Closed;
///
/// impl TokenVerifier for Closed {
///     async fn verify(&self, _token: &str) -> Result<AuthInfo, VerifyError> {
///         Err(VerifyError::Inactive)
///     }
///
///     // It knows its answer without waiting: the layer decides at once, without a task.
///     fn verify_cached(&self, _token: &str) -> Option<Result<AuthInfo, VerifyError>> {
///         Some(Err(VerifyError::Inactive))
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` (the `b64token` of an `Authorization: Bearer` header).
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a;

    /// Verifies `token` presented with the `DPoP` scheme (RFC 9449 §7.1): every check of
    /// [`verify`](Self::verify), but a token bound to a key (`cnf`) is returned rather than
    /// refused, so that the caller can compare its `cnf.jkt` with the proof's key
    /// ([`AuthInfo::dpop_jkt`]).
    ///
    /// The default calls [`verify`](Self::verify): a verifier that refuses bound tokens there
    /// (as it must for `Bearer`) then accepts no DPoP token. [`JwtVerifier`],
    /// `IntrospectionVerifier` and
    /// [`SharedVerifier`] override it.
    fn verify_dpop<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a {
        self.verify(token)
    }

    /// What [`verify`](Self::verify) would answer for `token` now, when the verifier knows it
    /// without waiting (a token it verified or refused before, one refused by its size or
    /// shape); `None` when it must verify in full. Never any I/O.
    ///
    /// The bearer layer asks this first on every request: an answer here is decided inside the
    /// layer's `call`, without a task of its own, and [`verify`](Self::verify) is not called.
    /// An override must therefore answer exactly what `verify` would, every check included
    /// (expiry above all: a remembered success must not outlive the token); when in doubt,
    /// answer `None`. The default answers `None`, so a verifier that does not override it is
    /// always awaited. [`JwtVerifier`] answers from its token cache (and only when that cache
    /// is on), `IntrospectionVerifier` from its result cache, and the composite ones from the
    /// verifier the token goes to.
    fn verify_cached(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        let _ = token;
        None
    }
}

/// The `Bearer` rule on a verified token: one bound to a key (`cnf`, or an introspection
/// `token_type` of `DPoP`) is refused (RFC 9449 §7.2, RFC 8705 §3).
pub(crate) fn bearer_only(info: AuthInfo) -> Result<AuthInfo, VerifyError> {
    if info.is_key_bound() {
        return Err(VerifyError::NotABearerToken);
    }
    Ok(info)
}

/// [`TokenVerifier`] as a trait object.
trait DynTokenVerifier: Send + Sync + 'static {
    fn verify_dyn<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthInfo, VerifyError>>;

    fn verify_dpop_dyn<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<AuthInfo, VerifyError>>;

    fn verify_cached_dyn(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>>;
}

impl<V: TokenVerifier> DynTokenVerifier for V {
    fn verify_dyn<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthInfo, VerifyError>> {
        Box::pin(self.verify(token))
    }

    fn verify_dpop_dyn<'a>(
        &'a self,
        token: &'a str,
    ) -> BoxFuture<'a, Result<AuthInfo, VerifyError>> {
        Box::pin(self.verify_dpop(token))
    }

    fn verify_cached_dyn(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        self.verify_cached(token)
    }
}

/// Any [`TokenVerifier`], type-erased and cheap to clone, for storing in layers and state.
#[derive(Clone)]
pub struct SharedVerifier(Arc<dyn DynTokenVerifier>);

impl SharedVerifier {
    /// Wraps a verifier.
    pub fn new(verifier: impl TokenVerifier) -> Self {
        Self(Arc::new(verifier))
    }
}

impl std::fmt::Debug for SharedVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedVerifier(..)")
    }
}

impl TokenVerifier for SharedVerifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a {
        self.0.verify_dyn(token)
    }

    fn verify_dpop<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a {
        self.0.verify_dpop_dyn(token)
    }

    fn verify_cached(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        self.0.verify_cached_dyn(token)
    }
}

/// Which `typ` headers a JWT access token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TypPolicy {
    /// Only `at+jwt` or `application/at+jwt`, case-insensitive (RFC 9068 §4). The default.
    #[default]
    Strict,
    /// Also `JWT` (any case) and an absent `typ`, for providers that do not mint RFC 9068
    /// tokens (Entra ID, some Okta and Cognito setups). ID tokens are still refused by the
    /// audience check, since their `aud` is a client id.
    AllowJwt,
}

/// Which claims a JWT access token must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClaimsProfile {
    /// RFC 9068 §2.2: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti`. The default.
    #[default]
    Strict,
    /// Only `iss`, `exp` and `aud`.
    Lenient,
}

/// A claim that scopes are read from, tried in the configured order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeClaim {
    /// `scope`: one space-delimited string (RFC 9068 §2.2.3, RFC 8693 §4.2).
    Scope,
    /// `scp`: an array of strings (Okta) or a space-delimited string (Entra ID).
    Scp,
    /// `scopes`: an array of strings or a space-delimited string.
    Scopes,
    /// Any other claim name, read like `scp`.
    Custom(String),
}

impl ScopeClaim {
    /// The claim name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Scope => "scope",
            Self::Scp => "scp",
            Self::Scopes => "scopes",
            Self::Custom(name) => name,
        }
    }
}

/// Options shared by the verifiers. The defaults are the strict profile: RFC 9068 `typ`
/// (`at+jwt`), every RFC 9068 §2.2 claim required, scopes from the `scope` claim, 60 s leeway
/// and tokens of at most 16 KiB.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::verify::{ScopeClaim, TypPolicy, VerifyOptions};
///
/// let options = VerifyOptions::default()
///     .leeway(Duration::from_secs(30))
///     .typ(TypPolicy::AllowJwt)
///     .scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub(crate) leeway: Duration,
    pub(crate) typ: TypPolicy,
    pub(crate) claims: ClaimsProfile,
    pub(crate) scope_claims: Vec<ScopeClaim>,
    pub(crate) extra_audiences: Vec<String>,
    /// Issuers whose tokens may come without `aud` (an explicit opt-out, never the default).
    pub(crate) audience_optional: Vec<String>,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) token_cache: TokenCacheOptions,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(60),
            typ: TypPolicy::Strict,
            claims: ClaimsProfile::Strict,
            scope_claims: vec![ScopeClaim::Scope],
            extra_audiences: Vec::new(),
            audience_optional: Vec::new(),
            max_token_bytes: 16 * 1024,
            max_lifetime: None,
            token_cache: TokenCacheOptions::default(),
        }
    }
}

impl VerifyOptions {
    /// Clock skew tolerated for `exp`, `nbf` and `iat` (default 60 s; RFC 9068 allows "a few
    /// minutes").
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Which `typ` headers are accepted (default [`TypPolicy::Strict`]).
    pub fn typ(mut self, typ: TypPolicy) -> Self {
        self.typ = typ;
        self
    }

    /// Which claims are required (default [`ClaimsProfile::Strict`]).
    pub fn claims(mut self, claims: ClaimsProfile) -> Self {
        self.claims = claims;
        self
    }

    /// The claims scopes are read from, first present wins (default: `scope` only).
    pub fn scope_claims(mut self, claims: impl IntoIterator<Item = ScopeClaim>) -> Self {
        self.scope_claims = claims.into_iter().collect();
        self
    }

    /// Accepts tokens whose `aud` names `audience` besides the resource identifier, e.g.
    /// `api://mcp-server` for identity providers without RFC 8707 resource indicators.
    pub fn extra_audience(mut self, audience: impl Into<String>) -> Self {
        self.extra_audiences.push(audience.into());
        self
    }

    /// Tokens longer than this are refused before any parsing (default 16 KiB).
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// Refuses tokens valid for longer than `max`: `exp - iat` (or `exp - now` when there is no
    /// `iat`) above `max` is an invalid `exp`. Off by default; every NumericDate is bounded by
    /// the end of year 9999 regardless.
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Accepts tokens of `issuer` (its identifier, byte for byte) that have no `aud` claim at
    /// all; a token of that issuer that has `aud` must still name this resource. Never the
    /// default, and logged at `warn` when the resource is built, because it gives up the
    /// audience binding (RFC 8707, MCP's audience validation): every token `issuer` mints
    /// without `aud`, for any other API of the same authorization server, is then accepted here
    /// too. Prefer the provider-side fix: Keycloak (26.x issues no `aud` by default) with an
    /// audience mapper or the `resource` parameter; Cognito with a resource server whose
    /// identifier is this resource.
    pub fn accept_missing_audience_from(mut self, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        if !self.audience_optional.contains(&issuer) {
            self.audience_optional.push(issuer);
        }
        self
    }

    /// Whether a token issued at `iat` (else checked at `now`) and expiring at `exp` lives
    /// within [`max_lifetime`](Self::max_lifetime).
    pub(crate) fn check_lifetime(
        &self,
        exp: u64,
        iat: Option<u64>,
        now: u64,
    ) -> Result<(), VerifyError> {
        match self.max_lifetime {
            Some(max) if exp.saturating_sub(iat.unwrap_or(now)) > max.as_secs() => {
                Err(VerifyError::InvalidClaim {
                    claim: "exp",
                    expected: "an expiry within the configured maximum token lifetime",
                })
            }
            _ => Ok(()),
        }
    }

    /// The verified-token and refused-token caches of a [`JwtVerifier`] built with these options
    /// (default: on, see [`TokenCacheOptions`]); [`TokenCacheOptions::off`] turns them off. Set
    /// per resource with [`ProtectedResource::verify`](crate::ProtectedResource::verify).
    pub fn token_cache(mut self, cache: TokenCacheOptions) -> Self {
        self.token_cache = TokenCacheOptions {
            explicit: true,
            ..cache
        };
        self
    }

    /// Whether one of `audiences` designates `resource` (RFC 8707 / MCP's audience-validation
    /// rule) or is an extra audience.
    pub(crate) fn accepts_audience(&self, audiences: &[String], resource: &str) -> bool {
        audiences.iter().any(|aud| {
            mcp_auth_rules::audience_matches(aud, resource)
                || self.extra_audiences.iter().any(|extra| extra == aud)
        })
    }
}

/// Verifies RFC 9068 JWT access tokens for one protected resource.
///
/// Each configured issuer has its own key cache ([`JwksCache`]); a token's `iss` picks the
/// cache, so a token from an issuer that is not configured is refused before any request is
/// made (RFC 9068 §4; MCP's SSRF guidance). Cloning is cheap and shares the caches.
///
/// The checks, in order: size; compact JWS shape (a JWE is refused); header `alg` in the
/// asymmetric allow-list (`none` and `HS*` never); no `crit`; `typ` per [`TypPolicy`]; `iss`
/// exactly one of the configured issuers; the key named by `kid` from that issuer's JWKS (its
/// type, curve and stated `alg` must fit the token's `alg`); the signature; `exp`, `nbf` and
/// `iat` with leeway; `aud` contains the resource (RFC 8707 / MCP's audience-validation rule);
/// the claims the [`ClaimsProfile`] requires, each of the right JSON type.
#[derive(Clone, Debug)]
pub struct JwtVerifier {
    inner: Arc<JwtInner>,
}

#[derive(Debug)]
struct JwtInner {
    resource: String,
    issuers: Vec<Arc<JwksCache>>,
    options: VerifyOptions,
    clock: SharedClock,
    cache: Option<token_cache::TokenCache>,
}

/// An issuer a [`JwtVerifierBuilder`] trusts, and whether its identifier was already checked
/// (it came from an [`AuthServerConfig`](crate::discovery::AuthServerConfig)).
#[derive(Debug)]
struct TrustedIssuer {
    issuer: String,
    jwks_uri: String,
    checked: bool,
}

/// Builds a [`JwtVerifier`].
#[derive(Debug, Default)]
pub struct JwtVerifierBuilder {
    resource: Option<String>,
    issuers: Vec<TrustedIssuer>,
    options: VerifyOptions,
    jwks: JwksOptions,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
}

impl JwtVerifier {
    /// Starts a builder.
    ///
    /// ```
    /// use mcp_auth::verify::JwtVerifier;
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .resource("https://mcp.example.com/mcp")
    ///     .issuer("https://auth.example.com", "https://auth.example.com/jwks")
    ///     .build()?;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    /// The key cache of one issuer.
    pub fn jwks(&self, issuer: &str) -> Option<&JwksCache> {
        self.inner
            .issuers
            .iter()
            .find(|c| c.issuer() == issuer)
            .map(|c| &**c)
    }

    /// Fetches every issuer's keys now, so that a broken `jwks_uri` shows at start-up rather
    /// than on the first request.
    pub async fn preload_keys(&self) -> Result<(), VerifyError> {
        for cache in &self.inner.issuers {
            cache.refresh_now().await?;
        }
        Ok(())
    }

    async fn verify_jwt(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        let inner = &*self.inner;
        let options = &inner.options;
        if token.len() > options.max_token_bytes {
            return Err(VerifyError::TooLarge {
                max: options.max_token_bytes,
            });
        }
        let parts = Jws::split(token)?;
        let header = decode_object(parts.header, Segment::Header)?;
        let alg = header_algorithm(&header)?;
        if header.contains_key("crit") {
            return Err(VerifyError::CriticalHeader);
        }
        check_typ(&header, options.typ)?;
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(VerifyError::Malformed("the kid header is not a string")),
        };
        let claims = decode_object(parts.payload, Segment::Payload)?;

        // The issuer picks the key source; untrusted issuers never cause a request.
        let iss = claim_str(&claims, "iss")?.ok_or(VerifyError::MissingClaim("iss"))?;
        let jwks = inner
            .issuers
            .iter()
            .find(|c| c.issuer() == iss)
            .ok_or(VerifyError::UntrustedIssuer)?;
        jwks.verify_signature(&parts, kid, alg).await?;

        let now = inner.clock.unix_seconds();
        let leeway = options.leeway.as_secs();
        let exp = claim_numeric_date(&claims, "exp")?.ok_or(VerifyError::MissingClaim("exp"))?;
        if exp.saturating_add(leeway) <= now {
            return Err(VerifyError::Expired);
        }
        if let Some(nbf) = claim_numeric_date(&claims, "nbf")?
            && nbf > now.saturating_add(leeway)
        {
            return Err(VerifyError::NotYetValid);
        }
        let iat = claim_numeric_date(&claims, "iat")?;
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(VerifyError::IssuedInFuture);
        }
        options.check_lifetime(exp, iat, now)?;
        let audiences = match claim_audiences(&claims)? {
            Some(audiences) => {
                if !options.accepts_audience(&audiences, &inner.resource) {
                    return Err(VerifyError::InvalidAudience);
                }
                audiences
            }
            // The explicit, per-issuer opt-out: no `aud` at all, from that issuer only.
            None if options.audience_optional.iter().any(|i| i == iss) => Vec::new(),
            None => return Err(VerifyError::MissingClaim("aud")),
        };
        let subject = claim_str(&claims, "sub")?.map(str::to_owned);
        let client_id = claim_str(&claims, "client_id")?.map(str::to_owned);
        let token_id = claim_str(&claims, "jti")?.map(str::to_owned);
        if options.claims == ClaimsProfile::Strict {
            if client_id.is_none() && claims.contains_key("azp") {
                return Err(VerifyError::ClientIdInAzp);
            }
            for (name, present) in [
                ("sub", subject.is_some()),
                ("client_id", client_id.is_some()),
                ("iat", iat.is_some()),
                ("jti", token_id.is_some()),
            ] {
                if !present {
                    return Err(VerifyError::MissingClaim(name));
                }
            }
        }
        let client_id = match client_id {
            Some(id) => Some(id),
            None => claim_str(&claims, "azp")?.map(str::to_owned),
        };
        // A bound token (`cnf`) is refused by `verify` (the Bearer rule, `bearer_only`) and
        // returned by `verify_dpop`, whose caller checks the holder's key: the cached
        // verification serves both.
        let scopes = read_scopes(&claims, &options.scope_claims)?;
        Ok(AuthInfo::from(TokenFacts {
            issuer: iss.into(),
            subject,
            client_id,
            audiences,
            scopes,
            expires_at: Some(exp),
            issued_at: iat,
            token_id,
            claims,
            kind: TokenKind::Jwt,
        }))
    }
}

impl TokenVerifier for JwtVerifier {
    async fn verify(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        // RFC 9449 / RFC 8705: a bound token is useless to a thief only if the holder's key is
        // checked; presented as Bearer, it must be refused.
        self.verify_through_cache(token).await.and_then(bearer_only)
    }

    fn verify_dpop<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a {
        self.verify_through_cache(token)
    }

    fn verify_cached(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        self.known(token).map(|answer| answer.and_then(bearer_only))
    }
}

impl JwtVerifierBuilder {
    /// The resource identifier tokens must name in `aud` (RFC 8707 / MCP's audience-validation
    /// rule). Required.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Trusts `issuer`, whose keys are published at `jwks_uri`. Call once per authorization
    /// server; the issuer is compared byte for byte with each token's `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>, jwks_uri: impl Into<String>) -> Self {
        self.issuers.push(TrustedIssuer {
            issuer: issuer.into(),
            jwks_uri: jwks_uri.into(),
            checked: false,
        });
        self
    }

    /// Trusts the issuer of a checked [`AuthServerConfig`](crate::discovery::AuthServerConfig):
    /// its identifier is not checked again.
    pub(crate) fn checked_issuer(mut self, issuer: &str, jwks_uri: &str) -> Self {
        self.issuers.push(TrustedIssuer {
            issuer: issuer.to_owned(),
            jwks_uri: jwks_uri.to_owned(),
            checked: true,
        });
        self
    }

    /// Verification options (default: the strict profile).
    pub fn options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// Key cache tuning.
    pub fn jwks_options(mut self, options: JwksOptions) -> Self {
        self.jwks = options;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The HTTP client for JWKS fetches (default: the crate's shared client, which follows no
    /// redirect; a client of your own applies its own redirect policy).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration and builds the verifier. Every problem is reported at once.
    pub fn build(self) -> Result<JwtVerifier, ConfigError> {
        crate::crypto::ensure_provider();
        let mut errors = Vec::new();
        let resource = match self.resource {
            Some(resource) if !resource.is_empty() => resource,
            _ => {
                errors.push(ConfigError::invalid(
                    "resource",
                    "the resource identifier is required; call .resource(\"https://mcp.example.com/mcp\")",
                ));
                String::new()
            }
        };
        if self.issuers.is_empty() {
            errors.push(ConfigError::invalid(
                "issuer",
                "at least one authorization server is required; call .issuer(issuer, jwks_uri)",
            ));
        }
        for (i, trusted) in self.issuers.iter().enumerate() {
            let issuer = &trusted.issuer;
            if !trusted.checked
                && let Err(message) = crate::discovery::check_issuer(issuer)
            {
                errors.push(ConfigError::invalid("issuer", message));
            }
            for problem in mcp_auth_rules::https_url("jwks_uri", &trusted.jwks_uri).errors() {
                errors.push(ConfigError::invalid("jwks_uri", problem.message.clone()));
            }
            if self.issuers[..i]
                .iter()
                .any(|other| other.issuer == *issuer)
            {
                errors.push(ConfigError::invalid(
                    "issuer",
                    format!("issuer `{issuer}` is configured twice; remove one"),
                ));
            }
        }
        if self.options.max_token_bytes == 0 {
            errors.push(ConfigError::invalid(
                "max_token_bytes",
                "must be greater than zero",
            ));
        }
        let http = match self.http {
            Some(http) => Some(http),
            None => match crate::http_client::shared_client() {
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
        let http = http.ok_or_else(|| ConfigError::invalid("http_client", "unavailable"))?;
        let clock = self.clock.unwrap_or_else(crate::clock::system);
        let issuers = self
            .issuers
            .into_iter()
            .map(|trusted| {
                Arc::new(JwksCache::new(
                    trusted.issuer,
                    trusted.jwks_uri,
                    http.clone(),
                    Arc::clone(&clock),
                    self.jwks.clone(),
                ))
            })
            .collect();
        let cache = token_cache::TokenCache::new(self.options.token_cache.effective());
        Ok(JwtVerifier {
            inner: Arc::new(JwtInner {
                resource,
                issuers,
                options: self.options,
                clock,
                cache,
            }),
        })
    }
}

/// A shape error of the token, as verification reports it.
impl From<JwsError> for VerifyError {
    fn from(error: JwsError) -> Self {
        match error {
            JwsError::NotThreeParts => Self::Malformed("a JWT has three dot-separated parts"),
            JwsError::Encrypted => Self::Encrypted,
            JwsError::EmptyPart(_) => Self::Malformed("a JWT part is empty"),
            JwsError::NotBase64url(Segment::Header) => {
                Self::Malformed("the header is not base64url")
            }
            JwsError::NotBase64url(Segment::Payload) => {
                Self::Malformed("the payload is not base64url")
            }
            JwsError::NotObject(Segment::Header) => {
                Self::Malformed("the header is not a JSON object")
            }
            JwsError::NotObject(Segment::Payload) => {
                Self::Malformed("the payload is not a JSON object")
            }
        }
    }
}

/// The header's `alg`, if it is one we accept. `none`, `HS*` and anything unknown are refused.
pub(crate) fn header_algorithm(header: &Map<String, Value>) -> Result<Algorithm, VerifyError> {
    let Some(Value::String(alg)) = header.get("alg") else {
        return Err(VerifyError::Malformed("the header has no alg"));
    };
    Ok(match alg.as_str() {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return Err(VerifyError::UnsupportedAlgorithm),
    })
}

fn check_typ(header: &Map<String, Value>, policy: TypPolicy) -> Result<(), VerifyError> {
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(_) => return Err(VerifyError::InvalidType),
    };
    let at_jwt =
        |t: &str| t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt");
    let ok = match (typ, policy) {
        (Some(t), _) if at_jwt(t) => true,
        (Some(t), TypPolicy::AllowJwt) => t.eq_ignore_ascii_case("jwt"),
        (None, TypPolicy::AllowJwt) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(VerifyError::InvalidType)
    }
}

pub(crate) fn claim_str<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(VerifyError::InvalidClaim {
            claim: name,
            expected: "a string",
        }),
    }
}

/// The last second of year 9999 (`9999-12-31T23:59:59Z`): later NumericDates are implausible.
pub(crate) const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, fractions allowed and floored.
///
/// One rule for integers and floats: a value is accepted when it lies in
/// `0 ..= 9999-12-31T23:59:59Z` ([`MAX_NUMERIC_DATE`]); anything else (negative, `1e20`,
/// `18446744073709551615`) is an invalid claim, since no authorization server means it and
/// saturating arithmetic on it would make a token valid forever.
pub(crate) fn claim_numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, VerifyError> {
    let invalid = VerifyError::InvalidClaim {
        claim: name,
        expected: "a number of seconds between 0 and the end of year 9999",
    };
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let seconds = if let Some(u) = n.as_u64() {
                Some(u)
            } else {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0 && *f < (MAX_NUMERIC_DATE + 1) as f64)
                    .map(|f| f.floor() as u64)
            };
            match seconds {
                Some(s) if s <= MAX_NUMERIC_DATE => Ok(Some(s)),
                _ => Err(invalid),
            }
        }
        Some(_) => Err(invalid),
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3).
pub(crate) fn claim_audiences(
    claims: &Map<String, Value>,
) -> Result<Option<Vec<String>>, VerifyError> {
    let invalid = VerifyError::InvalidClaim {
        claim: "aud",
        expected: "a string or an array of strings",
    };
    match claims.get("aud") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| invalid.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid),
    }
}

/// The granted scopes from the first configured claim that is present.
pub(crate) fn read_scopes(
    claims: &Map<String, Value>,
    sources: &[ScopeClaim],
) -> Result<Vec<String>, VerifyError> {
    for source in sources {
        let name = source.name();
        let Some(value) = claims.get(name) else {
            continue;
        };
        let mut scopes: Vec<String> = Vec::new();
        let mut push = |s: &str| {
            if !s.is_empty() && !scopes.iter().any(|have| have == s) {
                scopes.push(s.to_owned());
            }
        };
        let invalid = |expected| VerifyError::InvalidClaim {
            claim: static_claim_name(source),
            expected,
        };
        match (source, value) {
            (_, Value::String(s)) => s.split(' ').for_each(&mut push),
            (ScopeClaim::Scope, _) => return Err(invalid("a space-delimited string")),
            (_, Value::Array(items)) => {
                for item in items {
                    let s = item
                        .as_str()
                        .ok_or_else(|| invalid("a string or an array of strings"))?;
                    push(s);
                }
            }
            _ => return Err(invalid("a string or an array of strings")),
        }
        return Ok(scopes);
    }
    Ok(Vec::new())
}

fn static_claim_name(source: &ScopeClaim) -> &'static str {
    match source {
        ScopeClaim::Scope => "scope",
        ScopeClaim::Scp => "scp",
        ScopeClaim::Scopes => "scopes",
        ScopeClaim::Custom(_) => "custom scope",
    }
}
