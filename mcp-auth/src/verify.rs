//! Token verification: the [`TokenVerifier`] trait and the options shared by verifiers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::auth_info::AuthInfo;
use crate::error::VerifyError;

/// Checks an access token and says what it grants.
///
/// Implemented by [`JwtVerifier`](crate::verify::JwtVerifier) (RFC 9068 JWTs),
/// [`IntrospectionVerifier`](crate::introspection::IntrospectionVerifier) (RFC 7662 opaque
/// tokens) and anything users plug in. Implementations must check at least integrity, expiry,
/// issuer and audience; scope checks happen per operation, after verification.
///
/// ```
/// use mcp_auth::{AuthInfo, TokenVerifier, VerifyError};
///
/// /// Accepts nothing: a verifier for a resource that is switched off.
/// struct Closed;
///
/// impl TokenVerifier for Closed {
///     async fn verify(&self, _token: &str) -> Result<AuthInfo, VerifyError> {
///         Err(VerifyError::Inactive)
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` (the `b64token` of an `Authorization: Bearer` header).
    fn verify<'a>(
        &'a self,
        token: &'a str,
    ) -> impl Future<Output = Result<AuthInfo, VerifyError>> + Send + 'a;
}

/// A boxed future, as returned by [`SharedVerifier`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

trait DynTokenVerifier: Send + Sync + 'static {
    fn verify_dyn<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthInfo, VerifyError>>;
}

impl<V: TokenVerifier> DynTokenVerifier for V {
    fn verify_dyn<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AuthInfo, VerifyError>> {
        Box::pin(self.verify(token))
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
    pub fn name(&self) -> &str {
        match self {
            Self::Scope => "scope",
            Self::Scp => "scp",
            Self::Scopes => "scopes",
            Self::Custom(name) => name,
        }
    }
}

/// Options shared by the verifiers. The defaults are the strict profile of the checklist's §7.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::verify::{ScopeClaim, TypPolicy, VerifyOptions};
///
/// let options = VerifyOptions::default()
///     .leeway(Duration::from_secs(30))
///     .typ(TypPolicy::AllowJwt)
///     .scope_claims([ScopeClaim::Scope, ScopeClaim::Scp]);
/// assert_eq!(options.get_leeway(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub(crate) leeway: Duration,
    pub(crate) typ: TypPolicy,
    pub(crate) claims: ClaimsProfile,
    pub(crate) scope_claims: Vec<ScopeClaim>,
    pub(crate) extra_audiences: Vec<String>,
    pub(crate) max_token_bytes: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(60),
            typ: TypPolicy::Strict,
            claims: ClaimsProfile::Strict,
            scope_claims: vec![ScopeClaim::Scope],
            extra_audiences: Vec::new(),
            max_token_bytes: 16 * 1024,
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

    /// The configured leeway.
    pub fn get_leeway(&self) -> Duration {
        self.leeway
    }
}
