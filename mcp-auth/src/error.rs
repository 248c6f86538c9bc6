//! Errors, one enum per layer.
//!
//! * [`VerifyError`]: why a token was not accepted. Each variant maps onto an RFC 6750 error code
//!   through [`VerifyError::code`]; messages never contain token material (no token, no claim
//!   value, no `kid`), so they are safe to log and to send as `error_description`.
//! * `discovery::DiscoveryError`: authorization-server discovery.
//! * [`ConfigError`]: a configuration that cannot work, found when it is built.

use std::time::Duration;

/// The RFC 6750 §3.1 error code that a failure is reported with (or the server-side outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request` (HTTP 400): the request is malformed.
    InvalidRequest,
    /// `invalid_token` (HTTP 401): the token is expired, revoked, malformed or invalid.
    InvalidToken,
    /// `insufficient_scope` (HTTP 403): the token lacks a scope the operation needs.
    InsufficientScope,
    /// No RFC 6750 code: the authorization server could not be reached, so the token could not
    /// be checked (HTTP 503). Failing closed without blaming the token keeps clients out of
    /// re-authorization loops.
    Unavailable,
    /// `invalid_dpop_proof` (HTTP 401, RFC 9449 §7.1): the DPoP proof is missing or invalid.
    InvalidDpopProof,
    /// `use_dpop_nonce` (HTTP 401, RFC 9449 §9): the DPoP proof must carry the server nonce
    /// sent in the `DPoP-Nonce` header.
    UseDpopNonce,
    /// No RFC 6750 code (HTTP 403): the token lacks a role the operation needs. Not
    /// `insufficient_scope`, which sends MCP clients to re-authorize for more scope: no scope
    /// grants a role.
    Forbidden,
}

impl ErrorCode {
    /// The `error` value (RFC 6750, and RFC 9449 for the DPoP codes), `None` for
    /// [`ErrorCode::Unavailable`] and [`ErrorCode::Forbidden`].
    pub fn as_rfc6750(self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest => Some("invalid_request"),
            Self::InvalidToken => Some("invalid_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
            Self::Unavailable => None,
            Self::InvalidDpopProof => Some("invalid_dpop_proof"),
            Self::UseDpopNonce => Some("use_dpop_nonce"),
            Self::Forbidden => None,
        }
    }

    /// The HTTP status code for this outcome.
    pub fn status(self) -> http::StatusCode {
        match self {
            Self::InvalidRequest => http::StatusCode::BAD_REQUEST,
            Self::InvalidToken => http::StatusCode::UNAUTHORIZED,
            Self::InsufficientScope | Self::Forbidden => http::StatusCode::FORBIDDEN,
            Self::Unavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidDpopProof | Self::UseDpopNonce => http::StatusCode::UNAUTHORIZED,
        }
    }
}

/// Why a token was not accepted.
///
/// The `Display` text is a short sentence fit for an `error_description`: it names what failed,
/// never the token or a value taken from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is not a compact JWS (three base64url segments with a JSON header and payload).
    #[error("The access token is malformed: {0}")]
    Malformed(&'static str),
    /// The token is longer than the configured maximum.
    #[error("The access token is longer than {max} bytes")]
    TooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// The token is a JWE (five segments) but only signed tokens are accepted.
    #[error("Encrypted access tokens (JWE) are not accepted")]
    Encrypted,
    /// The `alg` header names an algorithm that is never accepted (`none`, `HS*`) or not enabled.
    #[error("The access token algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// The `typ` header is missing or not `at+jwt` (RFC 9068 §4).
    ///
    /// Providers that mint `typ: JWT` access tokens (Keycloak, Auth0's default token profile,
    /// Entra ID, ...) need `accept_jwt_typ = true` in `#[mcp_resource]`, or
    /// `verify::TypPolicy::AllowJwt` in the verification options;
    /// the server log says so the first time such a token is refused.
    #[error("The access token type (typ header) must be at+jwt")]
    InvalidType,
    /// The header has a `crit` member; no critical extension is understood.
    #[error("The access token has a critical header extension (crit) that is not understood")]
    CriticalHeader,
    /// The `iss` claim is not one of the resource's authorization servers. No key was fetched.
    #[error("The access token was not issued by a trusted authorization server")]
    UntrustedIssuer,
    /// No key of the issuer's JWKS matches the token's `kid` (after a refresh, if allowed).
    #[error("The access token was signed with an unknown key")]
    UnknownKey,
    /// The token has no `kid` and the issuer publishes more than one key that fits its `alg`.
    #[error("The access token has no key id (kid) and the issuer has several keys")]
    AmbiguousKey,
    /// The key named by `kid` cannot verify the token's `alg` (wrong family, curve, `use` or
    /// a different `alg` stated on the key).
    #[error("The access token algorithm does not match its signing key")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("The access token signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("The access token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("The access token is not valid yet")]
    NotYetValid,
    /// `iat` is further in the future than the leeway allows.
    #[error("The access token was issued in the future")]
    IssuedInFuture,
    /// `aud` does not contain this resource (RFC 8707 / MCP's audience-validation rule).
    #[error("The access token audience does not include this resource")]
    InvalidAudience,
    /// A required claim is absent.
    #[error("The access token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// The token names its client in `azp` (an OpenID Connect ID-token claim) and has no
    /// `client_id` (RFC 9068 §2.2). Keycloak and Entra ID do this; `lenient_claims` accepts
    /// `azp` as the client id, and the server log says so the first time.
    #[error(
        "The access token has no `client_id` claim (RFC 9068 §2.2); it names its client in `azp`"
    )]
    ClientIdInAzp,
    /// A claim has the wrong JSON type or an impossible value.
    #[error("The access token `{claim}` claim must be {expected}")]
    InvalidClaim {
        /// The claim.
        claim: &'static str,
        /// What it must be, e.g. "a number".
        expected: &'static str,
    },
    /// The token is bound to a key (`cnf`: DPoP or mutual TLS) and so cannot be used as a
    /// plain bearer token; or introspection says it is not an access token (`token_type`).
    #[error("The access token is sender-constrained or not a bearer access token")]
    NotABearerToken,
    /// The authorization server says the token is not active (RFC 7662 `active:false`).
    #[error("The access token is not active")]
    Inactive,
    /// The authorization server (JWKS or introspection endpoint) could not be used and no
    /// cached answer exists. Not the token's fault: reported as 503.
    #[error("The authorization server is unavailable: {reason}")]
    Unavailable {
        /// What failed, without secrets (an issuer URL and a status or error kind).
        reason: String,
        /// How long the client should wait before retrying.
        retry_after: Duration,
    },
}

impl VerifyError {
    /// The RFC 6750 error code this failure is reported with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unavailable { .. } => ErrorCode::Unavailable,
            _ => ErrorCode::InvalidToken,
        }
    }

    /// A short machine-friendly name of the variant, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::Encrypted => "encrypted",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::InvalidType => "invalid_type",
            Self::CriticalHeader => "critical_header",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::UnknownKey => "unknown_key",
            Self::AmbiguousKey => "ambiguous_key",
            Self::KeyMismatch => "key_mismatch",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::InvalidAudience => "invalid_audience",
            Self::MissingClaim(_) => "missing_claim",
            Self::ClientIdInAzp => "client_id_in_azp",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::NotABearerToken => "not_a_bearer_token",
            Self::Inactive => "inactive",
            Self::Unavailable { .. } => "unavailable",
        }
    }
}

/// A configuration that cannot work. Returned when a verifier, resource or server is built.
///
/// Its `Debug` output is its message (see [`StartupError`](crate::StartupError)).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL, scope or list broke a rule; `field` names the setting, `message` the fix.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting, e.g. `resource` or `issuer`.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Several problems, all reported at once.
    #[error("{} configuration errors:\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ConfigError>),
}

impl ConfigError {
    /// A single invalid setting.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Combines errors: `Ok` when empty, the error itself when there is one, [`ConfigError::Many`]
    /// otherwise.
    pub(crate) fn from_all(mut errors: Vec<ConfigError>) -> Result<(), ConfigError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Self::Many(errors)),
        }
    }
}

impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_as_display(self, f)
    }
}

/// `Debug` for start-up errors: the message and its causes, as `Display` shows them. A
/// `main() -> Result<(), Box<dyn Error>>` prints an error with `Debug`; the message names the
/// setting and the fix, where a derived `Debug` would print the variant's fields.
pub(crate) fn debug_as_display(
    error: &(dyn std::error::Error + 'static),
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    write!(f, "{error}")?;
    let mut source = error.source();
    while let Some(cause) = source {
        write!(f, "\n  caused by: {cause}")?;
        source = cause.source();
    }
    Ok(())
}
