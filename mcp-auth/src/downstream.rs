//! Calling other APIs on the caller's behalf: the verified token of the request is exchanged at
//! the authorization server that issued it for a token whose audience is the downstream API.
//!
//! The MCP specification forbids passing the client's token on (its audience is this server).
//! A resource configured with [`ProtectedResource::downstream`](crate::ProtectedResource::downstream)
//! gets, per request, a token for another audience:
//!
//! * [`Grant::TokenExchange`] (RFC 8693, the default): `subject_token` the inbound token, both
//!   token types the access-token type, the audience as `resource` (an absolute URI) or
//!   `audience` (any other name), the scopes as `scope`;
//! * [`Grant::JwtBearer`] (RFC 7523 §2.1): the inbound token as the `assertion`;
//! * [`Grant::OnBehalfOf`]: Entra ID's on-behalf-of flow, the JWT-bearer grant with
//!   `requested_token_use=on_behalf_of`; Entra takes the audience as a scope, so without scopes
//!   the request asks for `{audience}/.default`, and no `resource` is sent (with scopes, give
//!   them fully qualified: `api://backup/write`).
//!
//! The client authenticates as the resource server's client at the authorization server
//! ([`ClientAuth`]: `client_secret_basic`, `client_secret_post`, `private_key_jwt`), at the
//! `token_endpoint` of the issuer's discovered metadata (or the one given with
//! [`DownstreamOptions::token_endpoint`]).
//!
//! Where tools use it: [`Auth::downstream_token`](crate::Auth::downstream_token) in axum
//! handlers, `mcp_auth::rmcp::downstream_token` in rmcp tools.
//!
//! The cache of exchanged tokens:
//! * Keyed by the SHA-256 of the inbound token, the audience and the scopes; no token is a key.
//! * An entry ends a leeway (30 s) before the exchanged token's expiry, and never after the
//!   inbound token's: a downstream call is never made with a token the caller could no longer
//!   have obtained. A token without `expires_in` is used once, not cached.
//! * The token endpoint answers over a client that follows no redirect, and only the issuer of
//!   the caller's token gets the caller's token.
//! * Concurrent misses for one key make one exchange; the others wait for it. An error is not
//!   cached: the next call tries again.
//! * Bounded in entries (oldest evicted first: a cache may forget).
//! * An authorization server that refuses, fails or does not answer within the timeout is a
//!   [`DownstreamError`]: never a hang, never the inbound token instead.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::auth_info::AuthInfo;
use crate::clock::SharedClock;
use crate::expiring::{Digest, ExpiringMap};
use crate::introspection::ClientAuth;

/// The RFC 8693 token-exchange grant type.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The RFC 7523 JWT-bearer grant type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The RFC 8693 token type of an access token.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// How long before its end an exchanged token stops being served from the cache.
const LEEWAY: Duration = Duration::from_secs(30);
/// The `Retry-After` of an authorization server that gave none.
const RETRY_DEFAULT: Duration = Duration::from_secs(5);

/// Which grant obtains downstream tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Grant {
    /// RFC 8693 token exchange.
    #[default]
    TokenExchange,
    /// The RFC 7523 JWT-bearer grant, the inbound token as the assertion.
    JwtBearer,
    /// Entra ID's on-behalf-of flow (the JWT-bearer grant with `requested_token_use`).
    OnBehalfOf,
}

/// How a resource obtains downstream tokens; set with
/// [`ProtectedResource::downstream`](crate::ProtectedResource::downstream).
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::ProtectedResource;
/// use mcp_auth::downstream::Grant;
/// use mcp_auth::introspection::ClientAuth;
///
/// let resource = ProtectedResource::new("https://mcp.example.com/mcp").downstream(|d| {
///     d.client(ClientAuth::basic("mcp-server", "s3cret"))
///         .grant(Grant::TokenExchange)
///         .timeout(Duration::from_secs(5))
/// });
/// # let _ = resource;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DownstreamOptions {
    pub(crate) client: Option<ClientAuth>,
    pub(crate) grant: Grant,
    pub(crate) timeout: Duration,
    pub(crate) max_entries: usize,
    pub(crate) token_endpoint: Option<String>,
}

impl Default for DownstreamOptions {
    fn default() -> Self {
        Self {
            client: None,
            grant: Grant::default(),
            timeout: Duration::from_secs(10),
            max_entries: 10_000,
            token_endpoint: None,
        }
    }
}

impl fmt::Debug for DownstreamOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownstreamOptions")
            .field("client", &self.client)
            .field("grant", &self.grant)
            .field("timeout", &self.timeout)
            .field("max_entries", &self.max_entries)
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

impl DownstreamOptions {
    /// How the resource server authenticates at the token endpoint (required).
    pub fn client(mut self, client: ClientAuth) -> Self {
        self.client = Some(client);
        self
    }

    /// The grant (default: [`Grant::TokenExchange`]).
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    /// The longest an exchange may take, connection included (default 10 s); past it, the
    /// call fails with [`DownstreamError::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most exchanged tokens kept (default 10,000).
    pub fn max_entries(mut self, max: usize) -> Self {
        self.max_entries = max;
        self
    }

    /// The token endpoint, for an authorization server trusted without metadata
    /// ([`issuer_with_jwks`](crate::ProtectedResource::issuer_with_jwks)); a discovered server's
    /// `token_endpoint` is used otherwise.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }
}

/// A token for a downstream API.
///
/// Its `Debug` form shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct DownstreamToken {
    access_token: Arc<str>,
    expires_at: Option<SystemTime>,
}

impl DownstreamToken {
    /// The access token, for an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.access_token
    }

    /// When it expires, when the authorization server said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// `request` with `Authorization: Bearer <token>`.
    pub fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(&*self.access_token)
    }
}

impl fmt::Debug for DownstreamToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownstreamToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why no downstream token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DownstreamError {
    /// The resource has no [`DownstreamOptions`]: set them with
    /// `ProtectedResource::downstream(|d| d.client(..))`.
    #[error(
        "the resource has no downstream client: configure one with ProtectedResource::downstream(|d| d.client(ClientAuth::..))"
    )]
    NotConfigured,
    /// The request's credential cannot be exchanged (a static API key).
    #[error(
        "the request has no access token to exchange (a public operation or an API key): downstream calls need a signed-in caller"
    )]
    NoToken,
    /// No token endpoint is known for the token's issuer.
    #[error(
        "no token endpoint is known for the issuer {issuer}: discover it, or set DownstreamOptions::token_endpoint"
    )]
    NoTokenEndpoint {
        /// The inbound token's issuer.
        issuer: String,
    },
    /// The authorization server refused the exchange (RFC 6749 §5.2).
    #[error("the authorization server refused the exchange: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// Its `error` code (`invalid_target`, `unauthorized_client`, `invalid_grant`, ...).
        error: String,
        /// Its `error_description`.
        description: Option<String>,
    },
    /// The authorization server could not be reached, failed, or did not answer within the
    /// timeout: a `503` with `Retry-After` for the caller.
    #[error("the authorization server is unavailable for token exchange: {reason}")]
    Unavailable {
        /// What happened (no token, no secret).
        reason: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// The answer was not a usable token response.
    #[error("the token endpoint's answer is not a usable token response: {reason}")]
    InvalidResponse {
        /// What was wrong with it.
        reason: String,
    },
}

impl axum::response::IntoResponse for DownstreamError {
    /// `503` with `Retry-After` for an authorization server that is unavailable; `502` for a
    /// refused exchange or an unusable answer; `403` for a request without a token to
    /// exchange; `500` for a resource without a downstream client. The body is an OAuth-style
    /// JSON error naming no token.
    fn into_response(self) -> axum::response::Response {
        use http::StatusCode;
        let (status, error) = match &self {
            Self::Unavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Refused { .. } | Self::InvalidResponse { .. } => {
                (StatusCode::BAD_GATEWAY, "downstream_token_refused")
            }
            Self::NoToken => (StatusCode::FORBIDDEN, "no_token_to_exchange"),
            Self::NotConfigured | Self::NoTokenEndpoint { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        tracing::debug!(error = %self, "no downstream token");
        let body = serde_json::json!({"error": error, "error_description": self.client_message()});
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::Unavailable { retry_after, .. } = &self {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        response
    }
}

impl DownstreamError {
    /// What the MCP client is told (the HTTP answer, the rmcp error). The authorization
    /// server's own description stays in the server's log: it may name the client or its policy.
    pub(crate) fn client_message(&self) -> String {
        match self {
            Self::Refused { error, .. } => {
                format!("the authorization server refused a token for the downstream API ({error})")
            }
            Self::Unavailable { .. } => crate::binding::OutageSource::AuthorizationServer
                .description()
                .to_owned(),
            other => other.to_string(),
        }
    }

    /// Whether the authorization server refused the resource server's own client: a
    /// configuration the operator fixes, not the caller.
    pub(crate) fn refuses_the_client(&self) -> bool {
        matches!(self, Self::Refused { error, .. } if error == "invalid_client" || error == "unauthorized_client")
    }
}

/// A resource's downstream client: the options, the token endpoints of its issuers, the cache.
pub(crate) struct Exchanger {
    options: DownstreamOptions,
    client: ClientAuth,
    /// Token endpoint by issuer.
    endpoints: HashMap<String, String>,
    http: reqwest::Client,
    clock: SharedClock,
    cache: ExpiringMap<DownstreamToken>,
    /// The exchanges under way, by cache key: later callers wait for the first.
    in_flight: Mutex<HashMap<Digest, Arc<tokio::sync::OnceCell<Exchanged>>>>,
}

/// Removes an in-flight cell from its map when the caller that holds this goes away, if no
/// other caller waits on it and it is still the map's cell for the key.
struct Leave<'a> {
    map: &'a Mutex<HashMap<Digest, Arc<tokio::sync::OnceCell<Exchanged>>>>,
    key: Digest,
    cell: &'a Arc<tokio::sync::OnceCell<Exchanged>>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // Two references: the map's and this caller's. More: another caller still waits.
        if map
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, self.cell))
            && Arc::strong_count(self.cell) <= 2
        {
            map.remove(&self.key);
        }
    }
}

/// What one exchange gave every caller that waited for it.
type Exchanged = Result<DownstreamToken, DownstreamError>;

impl fmt::Debug for Exchanger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchanger")
            .field("options", &self.options)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

/// The answer of a token endpoint (RFC 6749 §5.1, RFC 8693 §2.2.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

/// An error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    error_description: Option<String>,
}

impl Exchanger {
    /// The client of `options` for a resource trusting `issuers` (issuer, token endpoint).
    pub(crate) fn new(
        options: DownstreamOptions,
        issuers: impl IntoIterator<Item = (String, Option<String>)>,
        http: reqwest::Client,
        clock: SharedClock,
    ) -> Result<Self, crate::ConfigError> {
        let client = options.client.clone().ok_or_else(|| {
            crate::ConfigError::invalid(
                "downstream",
                "no client: set how the resource server authenticates at the token endpoint with .downstream(|d| d.client(ClientAuth::basic(..)))",
            )
        })?;
        if options.max_entries == 0 || options.timeout.is_zero() {
            return Err(crate::ConfigError::invalid(
                "downstream",
                "max_entries and timeout must be above zero",
            ));
        }
        if matches!(client, ClientAuth::Bearer(_)) {
            return Err(crate::ConfigError::invalid(
                "downstream.client",
                "a token endpoint authenticates clients with client_secret_basic, client_secret_post or private_key_jwt, not a bearer token",
            ));
        }
        // A discovered server's own endpoint; the given one only for servers without metadata:
        // a caller's token goes to its issuer's token endpoint, never another's.
        let mut endpoints = HashMap::new();
        for (issuer, discovered) in issuers {
            if let Some(endpoint) = discovered.or_else(|| options.token_endpoint.clone()) {
                endpoints.insert(issuer, endpoint);
            }
        }
        if let Some(endpoint) = &options.token_endpoint {
            let check = mcp_auth_rules::https_url("token_endpoint", endpoint);
            if !check.is_ok() {
                return Err(crate::ConfigError::invalid(
                    "downstream.token_endpoint",
                    crate::discovery::error_messages(&check),
                ));
            }
        }
        Ok(Self {
            cache: ExpiringMap::new(options.max_entries),
            client,
            options,
            endpoints,
            http,
            clock,
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    fn now(&self) -> Duration {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// A token for `audience` with `scopes`, on behalf of the caller whose verified token is
    /// `inbound` (`info` its claims): from the cache, or one exchange shared by the concurrent
    /// callers.
    pub(crate) async fn token(
        &self,
        inbound: &str,
        info: &AuthInfo,
        audience: &str,
        scopes: &[&str],
    ) -> Exchanged {
        let key = cache_key(inbound, audience, scopes);
        let now_ms = millis(self.now());
        if let Some(token) = self.cache.lock().live(&key, now_ms) {
            crate::metric::count(crate::metric::DOWNSTREAM, &[("result", "hit")]);
            return Ok(token.clone());
        }
        let cell = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(in_flight.entry(key).or_default())
        };
        // Whether it completes or its caller goes away, the cell leaves the map with its last
        // waiter: the map holds exchanges under way, nothing else.
        let _leave = Leave {
            map: &self.in_flight,
            key,
            cell: &cell,
        };
        cell.get_or_init(|| async {
            // A caller that came just after an exchange ended finds its token cached.
            let now_ms = millis(self.now());
            if let Some(token) = self.cache.lock().live(&key, now_ms) {
                return Ok(token.clone());
            }
            self.exchange(key, inbound, info, audience, scopes).await
        })
        .await
        .clone()
    }

    /// One request to the token endpoint; a token that may be served again is cached.
    async fn exchange(
        &self,
        key: Digest,
        inbound: &str,
        info: &AuthInfo,
        audience: &str,
        scopes: &[&str],
    ) -> Exchanged {
        let result = self.request(inbound, info, audience, scopes).await;
        let ok = result.is_ok();
        crate::metric::count(
            crate::metric::DOWNSTREAM,
            &[("result", if ok { "exchanged" } else { "error" })],
        );
        let (token, ends) = result?;
        // The end of its use: a leeway before the earlier of its expiry and the inbound token's.
        let inbound_end = info
            .expires_at()
            .map(|at| at.duration_since(UNIX_EPOCH).unwrap_or_default());
        let end = match (ends, inbound_end) {
            (Some(own), Some(inbound)) => Some(own.min(inbound)),
            (Some(own), None) => Some(own),
            // Without its expiry, a token is not served again.
            (None, _) => None,
        };
        let now = self.now();
        if let Some(end) = end
            && let Some(until) = end.checked_sub(LEEWAY)
            && until > now
        {
            self.cache
                .insert(key, token.clone(), millis(until), millis(now));
        }
        Ok(token)
    }

    async fn request(
        &self,
        inbound: &str,
        info: &AuthInfo,
        audience: &str,
        scopes: &[&str],
    ) -> Result<(DownstreamToken, Option<Duration>), DownstreamError> {
        let issuer = info.issuer();
        let endpoint =
            self.endpoints
                .get(issuer)
                .ok_or_else(|| DownstreamError::NoTokenEndpoint {
                    issuer: issuer.to_owned(),
                })?;
        let scope = scopes.join(" ");
        let default_scope;
        let mut form: Vec<(&'static str, &str)> = Vec::with_capacity(10);
        let target = if is_uri(audience) {
            "resource"
        } else {
            "audience"
        };
        match self.options.grant {
            Grant::TokenExchange => {
                form.push(("grant_type", TOKEN_EXCHANGE));
                form.push(("subject_token", inbound));
                form.push(("subject_token_type", ACCESS_TOKEN_TYPE));
                form.push(("requested_token_type", ACCESS_TOKEN_TYPE));
                form.push((target, audience));
            }
            Grant::JwtBearer => {
                form.push(("grant_type", JWT_BEARER));
                form.push(("assertion", inbound));
                form.push((target, audience));
            }
            Grant::OnBehalfOf => {
                form.push(("grant_type", JWT_BEARER));
                form.push(("assertion", inbound));
                form.push(("requested_token_use", "on_behalf_of"));
                if scopes.is_empty() {
                    default_scope = format!("{}/.default", audience.trim_end_matches('/'));
                    form.push(("scope", &default_scope));
                }
            }
        }
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        // The assertion's audience: the issuer (RFC 7523bis; the endpoint URL is also common).
        let assertion =
            self.client
                .assertion(issuer)
                .map_err(|reason| DownstreamError::Unavailable {
                    reason,
                    retry_after: RETRY_DEFAULT,
                })?;
        let request = self
            .http
            .post(endpoint)
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.options.timeout);
        let request = self
            .client
            .authenticate(request, &mut form, assertion.as_deref());
        let unavailable = |reason: String, retry_after: Duration| DownstreamError::Unavailable {
            reason,
            retry_after,
        };
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(crate::http_client::describe(&e), RETRY_DEFAULT))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(RETRY_DEFAULT, |s| Duration::from_secs(s.clamp(1, 3600)));
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(crate::http_client::describe(&e), RETRY_DEFAULT))?;
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(unavailable(
                format!("HTTP {}", status.as_u16()),
                retry_after,
            ));
        }
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorResponse>(&body).ok() {
                // The operator hears of a refused client from the resource's notices (throttled:
                // each caller's request can meet it).
                Some(e) => DownstreamError::Refused {
                    error: e.error,
                    description: e.error_description,
                },
                None => DownstreamError::InvalidResponse {
                    reason: format!("HTTP {} without an OAuth error object", status.as_u16()),
                },
            });
        }
        // serde's derive refuses a member twice: an ambiguous answer is not used.
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| DownstreamError::InvalidResponse {
                reason: "not a JSON object with access_token and token_type (or a member twice)"
                    .into(),
            })?;
        if !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err(DownstreamError::InvalidResponse {
                reason: format!(
                    "token_type {} (only Bearer tokens are used downstream)",
                    token.token_type
                ),
            });
        }
        if token.access_token.is_empty() {
            return Err(DownstreamError::InvalidResponse {
                reason: "an empty access_token".into(),
            });
        }
        // A lifetime beyond a year is taken as a year (and cannot overflow the clock).
        let ends = token
            .expires_in
            .map(|seconds| self.now() + Duration::from_secs(seconds.min(365 * 24 * 3600)));
        Ok((
            DownstreamToken {
                access_token: Arc::from(token.access_token),
                expires_at: ends.map(|end| UNIX_EPOCH + end),
            },
            ends,
        ))
    }
}

/// Whether `audience` is an absolute URI (sent as `resource`, RFC 8707) rather than a name.
fn is_uri(audience: &str) -> bool {
    url::Url::parse(audience).is_ok_and(|url| url.has_host())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The cache key: the inbound token, the audience and the scopes (sorted, deduplicated),
/// length-prefixed so that no two inputs collide.
fn cache_key(inbound: &str, audience: &str, scopes: &[&str]) -> Digest {
    let mut sorted: Vec<&str> = scopes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hash = Sha256::new();
    for part in [inbound, audience].into_iter().chain(sorted) {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_does_not_depend_on_the_order_of_scopes_and_separates_its_parts() {
        assert_eq!(
            cache_key("t", "https://api", &["b", "a"]),
            cache_key("t", "https://api", &["a", "b", "a"])
        );
        assert_ne!(cache_key("ab", "c", &[]), cache_key("a", "bc", &[]));
        assert_ne!(
            cache_key("t", "a", &["x y"]),
            cache_key("t", "a", &["x", "y"])
        );
    }

    #[test]
    fn the_last_caller_to_leave_takes_the_in_flight_cell_with_it() {
        let map: Mutex<HashMap<Digest, Arc<tokio::sync::OnceCell<Exchanged>>>> = Mutex::default();
        let key = [7u8; 32];
        let first = Arc::clone(map.lock().unwrap().entry(key).or_default());
        let second = Arc::clone(map.lock().unwrap().entry(key).or_default());
        drop(Leave {
            map: &map,
            key,
            cell: &first,
        });
        drop(first);
        assert!(
            map.lock().unwrap().contains_key(&key),
            "the second still waits"
        );
        drop(Leave {
            map: &map,
            key,
            cell: &second,
        });
        assert!(
            map.lock().unwrap().is_empty(),
            "cancelled or done, nothing is left"
        );
    }

    #[test]
    fn a_downstream_token_debug_form_shows_no_token() {
        let token = DownstreamToken {
            access_token: Arc::from("secret-token-value"),
            expires_at: None,
        };
        assert!(!format!("{token:?}").contains("secret-token-value"));
    }

    #[test]
    fn uris_go_as_resource_names_as_audience() {
        assert!(is_uri("http://127.0.0.1:3001/backup"));
        assert!(
            is_uri("api://backup"),
            "an absolute URI, as Entra names its APIs"
        );
        assert!(!is_uri("backup-api"));
    }
}
