//! DPoP (RFC 9449): access tokens bound to a key the client holds.
//!
//! A DPoP client sends its access token as `Authorization: DPoP <token>` together with a `DPoP`
//! header: a proof, a JWT signed by the client's private key with the public key in its `jwk`
//! header, made for this one request. A token bound to that key (`cnf.jkt`, the key's RFC 7638
//! thumbprint) is useless to whoever steals it without the key.
//!
//! [`DpopVerifier::verify`] checks a proof by every step of RFC 9449 §4.3, in its order:
//!
//! | step | check | failure |
//! |---|---|---|
//! | 1 | exactly one `DPoP` header | [`DpopError::MissingProof`], [`DpopError::MultipleProofs`] |
//! | 2 | a single well-formed JWS (three base64url segments, JSON header and claims) | [`DpopError::Malformed`], [`DpopError::TooLarge`] |
//! | 3 | the claims `jti`, `htm`, `htu`, `iat`, each of the right type | [`DpopError::MissingClaim`], [`DpopError::InvalidClaim`] |
//! | 4 | `typ` is `dpop+jwt` | [`DpopError::InvalidType`] |
//! | 5 | `alg` is asymmetric and in the allow-list ([`DpopOptions::algorithms`]) | [`DpopError::UnsupportedAlgorithm`] |
//! | 7 | `jwk` is a public key (no `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) that fits `alg` | [`DpopError::MissingJwk`], [`DpopError::PrivateKey`], [`DpopError::InvalidJwk`], [`DpopError::KeyMismatch`] |
//! | 6 | the signature verifies with `jwk` | [`DpopError::InvalidSignature`] |
//! | 8 | `htm` is the request method | [`DpopError::MethodMismatch`] |
//! | 9 | `htu` is the request URI, without query and fragment, by the audience's rule ([`mcp_auth_rules::same_uri`]: the case of scheme and host and a default port relaxed, no URL parsing) | [`DpopError::UriMismatch`] |
//! | 10 | `nonce` is a current server nonce, when nonces are on | [`DpopError::NonceRequired`], [`DpopError::InvalidNonce`] (`use_dpop_nonce`) |
//! | 11 | `iat` is within the window (default ±5 minutes, plus the leeway) | [`DpopError::IatOutOfWindow`] |
//! | 12 | `ath` is the hash of the access token, and the token's `cnf.jkt` is the proof key's thumbprint | [`DpopError::MissingAth`], [`DpopError::AthMismatch`], [`DpopError::KeyBindingMismatch`] |
//! | §11.1 | `jti` was not seen before (in the replay store) | [`DpopError::Replayed`] |
//!
//! (Step 7 runs before step 6: a proof carrying a private key is refused without any
//! signature work.)
//!
//! Step 9 compares `htu` by the rule the audience follows ([`mcp_auth_rules::same_uri`]): the
//! case of scheme and host and a default port are relaxed, nothing else. RFC 9449 §4.3 asks
//! servers to apply RFC 3986's syntax-based normalisation as well (percent-encodings, dot
//! segments) to avoid false negatives; this verifier deliberately does not, since another
//! spelling of a URI is refused everywhere in this crate. Clients that send the URI they
//! requested, as RFC 9449 describes, are not affected.
//!
//! The request URI is built from the resource's configured URL (its scheme, host and port) and
//! the request's path, never from the `Host` header, which the client controls. When the layer
//! is nested under a prefix (so that it sees a shortened path), a proof for the resource
//! identifier itself is accepted too.
//!
//! Replay: each accepted proof's `jti` (with its key's thumbprint) is claimed in a
//! [`BindingStore`](crate::binding::BindingStore) until its `iat` leaves the window, and never
//! forgotten earlier: by default a bounded in-memory store, per process, which refuses new proofs
//! with `503` when full rather than drop a live id (size it with
//! [`DpopOptions::replay_capacity`]); give every instance behind a load balancer one shared store
//! with [`DpopOptions::replay_store`].
//!
//! Nonces (RFC 9449 §9, off by default): a nonce is the current time slot and an HMAC-SHA-256
//! of it, so any instance with the same [`nonce_secret`](DpopOptions::nonce_secret) checks it
//! without shared state; the current and the previous slot are accepted.
//!
//! ```
//! use mcp_auth::dpop::{DpopOptions, DpopPolicy};
//! use jsonwebtoken::Algorithm;
//!
//! let options = DpopOptions::default()
//!     .policy(DpopPolicy::Required)
//!     .algorithms([Algorithm::ES256, Algorithm::EdDSA])
//!     .nonce(true);
//! # let _ = options;
//! ```
//!
//! Errors never contain the token or the proof, nor a value taken from either: they name the
//! step that failed, so they are fit for logs and for `error_description`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};

use crate::jws::{Jws, JwsError, Segment, decode_object};
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::binding::{BindingKey, BindingKind, MemoryStore, Owner, SharedStore};
use crate::clock::{SharedClock, SystemClock};
use crate::error::{ConfigError, ErrorCode};

mod challenge;
mod jwk;
mod nonce;
#[cfg(test)]
mod tests;

pub use challenge::DpopChallenge;

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP_HEADER: &str = "dpop";

/// How far `iat` may be from now by default: 5 minutes either way (the leeway comes on top).
pub(crate) const DEFAULT_IAT_WINDOW: Duration = Duration::from_secs(300);

/// How long a server nonce is current by default; the previous one is accepted as long again.
pub(crate) const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// The largest proof read by default, in bytes (an RSA-4096 proof is about 1.5 KB).
pub(crate) const DEFAULT_MAX_PROOF_BYTES: usize = 8 * 1024;

/// How many `jti`s the default in-memory replay store holds: 277 DPoP requests per second,
/// sustained, with the default window and leeway (see [`DpopOptions::replay_capacity`]).
pub(crate) const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The algorithms accepted by default: ES256, RS256, PS256 and EdDSA.
pub(crate) const DEFAULT_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

/// The asymmetric algorithms a proof may use (those jsonwebtoken verifies).
pub const SUPPORTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::EdDSA,
];

/// Which authorization schemes a resource accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum DpopPolicy {
    /// `Bearer` only (RFC 6750), the default: a token bound to a key (`cnf`) is refused, and the
    /// `DPoP` scheme is not understood.
    #[default]
    BearerOnly,
    /// `Bearer` for unbound tokens and `DPoP` for bound ones. A bound token sent as `Bearer`
    /// is refused (RFC 9449 §7.2).
    Accepted,
    /// `DPoP` only: every token must be bound to the key of the request's proof.
    Required,
}

impl DpopPolicy {
    /// Whether `DPoP` tokens are accepted.
    pub(crate) fn accepts_dpop(self) -> bool {
        self != Self::BearerOnly
    }
}

/// DPoP settings of a resource: [`ProtectedResource::dpop`](crate::ProtectedResource::dpop).
#[derive(Debug, Clone)]
pub struct DpopOptions {
    pub(crate) policy: DpopPolicy,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) iat_window: Duration,
    pub(crate) leeway: Option<Duration>,
    pub(crate) nonce: bool,
    pub(crate) nonce_lifetime: Duration,
    pub(crate) nonce_secret: Option<Vec<u8>>,
    pub(crate) replay_store: Option<SharedStore>,
    pub(crate) replay_capacity: usize,
    pub(crate) max_proof_bytes: usize,
}

impl Default for DpopOptions {
    fn default() -> Self {
        Self {
            policy: DpopPolicy::BearerOnly,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            iat_window: DEFAULT_IAT_WINDOW,
            leeway: None,
            nonce: false,
            nonce_lifetime: DEFAULT_NONCE_LIFETIME,
            nonce_secret: None,
            replay_store: None,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
        }
    }
}

impl DpopOptions {
    /// Which schemes the resource accepts (default [`DpopPolicy::BearerOnly`]).
    pub fn policy(mut self, policy: DpopPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The proof algorithms accepted, in the order the `algs` challenge parameter and the
    /// metadata's `dpop_signing_alg_values_supported` list them (default ES256, RS256, PS256, EdDSA).
    /// Only asymmetric algorithms ([`SUPPORTED_ALGORITHMS`]) are allowed; anything else is a
    /// configuration error when the resource is built.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How far a proof's `iat` may be from now, either way (default 5 minutes); the
    /// verification leeway is added.
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// The clock skew tolerated on `iat` on top of the window (default: the resource's
    /// verification leeway).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// Requires server nonces in proofs (RFC 9449 §9): a proof without a current nonce is
    /// answered `401` with `error="use_dpop_nonce"` and a fresh `DPoP-Nonce` header.
    pub fn nonce(mut self, on: bool) -> Self {
        self.nonce = on;
        self
    }

    /// How long a nonce is current (default 5 minutes); the previous one stays accepted as long.
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// The secret nonces are made with (default: random per process). Give every instance
    /// behind one load balancer the same secret, at least 32 random bytes.
    pub fn nonce_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.nonce_secret = Some(secret.as_ref().to_vec());
        self
    }

    /// Where proof ids (`jti`) are remembered to refuse replays (default: an in-memory store of
    /// [`replay_capacity`](Self::replay_capacity) entries, per process). A shared store makes
    /// the check hold across instances. Each id is held until its proof's `iat` leaves the
    /// window, never less.
    pub fn replay_store(mut self, store: impl crate::binding::BindingStore) -> Self {
        self.replay_store = Some(Arc::new(store));
        self
    }

    /// How many proof ids the default in-memory replay store holds (default 100 000).
    ///
    /// An id is held until its proof's `iat` leaves the window (by default 361 s for a fresh
    /// proof: the 300 s window, the 60 s leeway and a second), and never dropped earlier: when
    /// the store is full, a request with a new proof is refused with `503` and `Retry-After`
    /// (and a throttled `warn` names this setting) until ids expire. Size it as your peak rate
    /// of DPoP requests × that lifetime: the default holds 277 requests per second, sustained.
    /// A [`replay_store`](Self::replay_store) in Redis has no such bound.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity.max(1);
        self
    }

    /// The largest proof read, in bytes (default 8 KiB).
    pub fn max_proof_bytes(mut self, max: usize) -> Self {
        self.max_proof_bytes = max;
        self
    }

    /// The JOSE names of the accepted algorithms, in order.
    pub(crate) fn algorithm_names(&self) -> Vec<&'static str> {
        self.algorithms.iter().map(|a| alg_name(*a)).collect()
    }

    /// Every problem of this configuration.
    pub(crate) fn problems(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.policy == DpopPolicy::BearerOnly {
            return errors;
        }
        if self.algorithms.is_empty() {
            errors.push(ConfigError::invalid(
                "dpop.algorithms",
                "at least one DPoP proof algorithm is required, e.g. Algorithm::ES256",
            ));
        }
        for (i, alg) in self.algorithms.iter().enumerate() {
            if !SUPPORTED_ALGORITHMS.contains(alg) {
                errors.push(ConfigError::invalid(
                    "dpop.algorithms",
                    format!(
                        "{} is not an asymmetric signature algorithm; DPoP proofs use ES256, ES384, RS256, RS384, RS512, PS256, PS384, PS512 or EdDSA",
                        alg_name(*alg)
                    ),
                ));
            } else if self.algorithms[..i].contains(alg) {
                errors.push(ConfigError::invalid(
                    "dpop.algorithms",
                    format!("{} is listed twice; remove one", alg_name(*alg)),
                ));
            }
        }
        if self.iat_window.is_zero() {
            errors.push(ConfigError::invalid(
                "dpop.iat_window",
                "must be more than zero, e.g. 5 minutes",
            ));
        }
        if self.nonce && self.nonce_lifetime.as_secs() == 0 {
            errors.push(ConfigError::invalid(
                "dpop.nonce_lifetime",
                "must be at least one second",
            ));
        }
        errors
    }
}

/// The JOSE name of `alg`.
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "an unknown algorithm",
    }
}

/// Why a DPoP request was refused. One variant per step of RFC 9449 §4.3 (see the
/// [module docs](self)); the message names the step and what to fix, never a value of the
/// token or the proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Step 1: no `DPoP` header.
    #[error(
        "The request has no DPoP proof; send one DPoP header with a proof made for this request"
    )]
    MissingProof,
    /// Step 1: more than one `DPoP` header.
    #[error("The request has more than one DPoP header; send exactly one proof")]
    MultipleProofs,
    /// Step 2: the proof is longer than the configured maximum.
    #[error("The DPoP proof is longer than {max} bytes")]
    TooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// Step 2: the proof is not a single compact JWS with a JSON header and claims.
    #[error("The DPoP proof is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    /// Step 3: a required claim is missing.
    #[error("The DPoP proof has no `{0}` claim")]
    MissingClaim(&'static str),
    /// Step 3: a claim has the wrong JSON type or an impossible value.
    #[error("The DPoP proof's `{claim}` claim must be {expected}")]
    InvalidClaim {
        /// The claim.
        claim: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// Step 4: `typ` is not `dpop+jwt`.
    #[error("The DPoP proof's typ header must be dpop+jwt")]
    InvalidType,
    /// Step 5: `alg` is missing, symmetric, `none` or not in the allow-list.
    #[error(
        "The DPoP proof's alg is not accepted; use one of the algorithms in the DPoP challenge's algs"
    )]
    UnsupportedAlgorithm,
    /// Step 6: the signature does not verify with the `jwk` header's key.
    #[error("The DPoP proof's signature does not verify with its jwk header")]
    InvalidSignature,
    /// Step 7: no `jwk` header.
    #[error("The DPoP proof has no jwk header with the public key")]
    MissingJwk,
    /// Step 7: the `jwk` header holds private key material.
    #[error("The DPoP proof's jwk header contains a private key; send the public key only")]
    PrivateKey,
    /// Step 7: the `jwk` header is not a usable public key.
    #[error("The DPoP proof's jwk header is not a valid public key: {0}")]
    InvalidJwk(&'static str),
    /// Step 7: the `jwk` key type or curve does not fit `alg`.
    #[error("The DPoP proof's jwk key type or curve does not fit its alg")]
    KeyMismatch,
    /// Step 8: `htm` is not the request's method.
    #[error("The DPoP proof's htm does not match the request method")]
    MethodMismatch,
    /// Step 9: `htu` is not the request's URI.
    #[error(
        "The DPoP proof's htu does not match the request URI (scheme, host, port and path of this resource)"
    )]
    UriMismatch,
    /// Step 10: nonces are required and the proof has none.
    #[error(
        "The resource server requires a nonce in DPoP proofs; use the DPoP-Nonce of this response"
    )]
    NonceRequired,
    /// Step 10: the proof's nonce is not a current server nonce.
    #[error("The DPoP proof's nonce is invalid or expired; use the DPoP-Nonce of this response")]
    InvalidNonce,
    /// Step 11: `iat` is outside the accepted window.
    #[error("The DPoP proof's iat is too far from the current time; make a fresh proof")]
    IatOutOfWindow,
    /// Step 12: the proof has no `ath` although an access token is presented.
    #[error("The DPoP proof has no ath claim; include the hash of the access token")]
    MissingAth,
    /// Step 12: `ath` is not the hash of the presented access token.
    #[error("The DPoP proof's ath does not match the access token")]
    AthMismatch,
    /// Step 12: the access token is bound to another key than the proof's.
    #[error(
        "The access token is bound to a different key than the DPoP proof's (invalid DPoP key binding)"
    )]
    KeyBindingMismatch,
    /// The access token presented with the `DPoP` scheme is not bound to a key (`cnf.jkt`).
    #[error(
        "The access token is not DPoP-bound; present it with the Bearer scheme or get a DPoP-bound token"
    )]
    NotBound,
    /// §11.1: the proof's `jti` was used before.
    #[error("The DPoP proof was used before (replayed jti); make a fresh proof for every request")]
    Replayed,
    /// The replay store could not take the proof's id (unreachable, too slow, or full): the
    /// proof cannot be checked for replay (503).
    #[error("The DPoP replay store is unavailable: {reason}")]
    StoreUnavailable {
        /// What failed, without ids.
        reason: String,
        /// How long until the store can take a new id, when it knows.
        retry_after: Option<Duration>,
    },
}

impl DpopError {
    /// The error code the failure is answered with: `invalid_dpop_proof`, `use_dpop_nonce`,
    /// `invalid_token` (key binding, RFC 9449 §7.1) or unavailable (503).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NonceRequired | Self::InvalidNonce => ErrorCode::UseDpopNonce,
            Self::KeyBindingMismatch | Self::NotBound => ErrorCode::InvalidToken,
            Self::StoreUnavailable { .. } => ErrorCode::Unavailable,
            _ => ErrorCode::InvalidDpopProof,
        }
    }

    /// The RFC 9449 §4.3 step that failed (0 for a failure outside the list: a token that is not
    /// bound, a replay, the store).
    pub(crate) fn step(&self) -> u8 {
        match self {
            Self::MissingProof | Self::MultipleProofs => 1,
            Self::TooLarge { .. } | Self::Malformed(_) => 2,
            Self::MissingClaim(_) | Self::InvalidClaim { .. } => 3,
            Self::InvalidType => 4,
            Self::UnsupportedAlgorithm => 5,
            Self::InvalidSignature => 6,
            Self::MissingJwk | Self::PrivateKey | Self::InvalidJwk(_) | Self::KeyMismatch => 7,
            Self::MethodMismatch => 8,
            Self::UriMismatch => 9,
            Self::NonceRequired | Self::InvalidNonce => 10,
            Self::IatOutOfWindow => 11,
            Self::MissingAth | Self::AthMismatch | Self::KeyBindingMismatch => 12,
            Self::NotBound | Self::Replayed | Self::StoreUnavailable { .. } => 0,
        }
    }

    /// A short machine-friendly name of the variant, for logs and metrics.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::MissingProof => "missing_proof",
            Self::MultipleProofs => "multiple_proofs",
            Self::TooLarge { .. } => "too_large",
            Self::Malformed(_) => "malformed",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::InvalidType => "invalid_type",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::InvalidSignature => "invalid_signature",
            Self::MissingJwk => "missing_jwk",
            Self::PrivateKey => "private_key",
            Self::InvalidJwk(_) => "invalid_jwk",
            Self::KeyMismatch => "key_mismatch",
            Self::MethodMismatch => "method_mismatch",
            Self::UriMismatch => "uri_mismatch",
            Self::NonceRequired => "nonce_required",
            Self::InvalidNonce => "invalid_nonce",
            Self::IatOutOfWindow => "iat_out_of_window",
            Self::MissingAth => "missing_ath",
            Self::AthMismatch => "ath_mismatch",
            Self::KeyBindingMismatch => "key_binding_mismatch",
            Self::NotBound => "not_bound",
            Self::Replayed => "replayed",
            Self::StoreUnavailable { .. } => "store_unavailable",
        }
    }
}

/// The request a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The request method (`htm`).
    pub method: &'a Method,
    /// The request path (its query is ignored); `htu` must be the verifier's origin with it.
    pub path: &'a str,
    /// The access token presented with the proof (`ath`); `None` at a token endpoint.
    pub access_token: Option<&'a str>,
    /// The thumbprint the access token is bound to (`cnf.jkt`), to compare with the proof key.
    pub bound_jkt: Option<&'a str>,
}

/// What a verified proof says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    jkt: String,
}

impl VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof key, base64url: what a bound token's
    /// `cnf.jkt` names.
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }
}

/// Checks DPoP proofs for one origin (a resource, or an authorization server's token endpoint).
/// See the [module docs](self).
#[derive(Debug)]
pub struct DpopVerifier {
    resource: url::Url,
    /// The normalised `scheme://host:port` every expected `htu` starts with.
    origin: String,
    options: DpopOptions,
    leeway: Duration,
    clock: SharedClock,
    replay: SharedStore,
    nonces: nonce::NonceKey,
    /// Distinguishes this verifier's replay claims from every other's.
    instance: String,
    claims: AtomicU64,
}

impl DpopVerifier {
    /// A verifier for proofs sent to `resource` (an absolute `http`/`https` URL: its scheme,
    /// host and port start every expected `htu`).
    ///
    /// ```
    /// use mcp_auth::dpop::{DpopOptions, DpopPolicy, DpopVerifier};
    ///
    /// let verifier = DpopVerifier::new(
    ///     "https://mcp.example.com/mcp",
    ///     DpopOptions::default().policy(DpopPolicy::Accepted),
    /// )?;
    /// # let _ = verifier;
    /// # Ok::<(), mcp_auth::ConfigError>(())
    /// ```
    pub fn new(resource: &str, options: DpopOptions) -> Result<Self, ConfigError> {
        Self::with_clock(resource, options, Arc::new(SystemClock))
    }

    /// [`new`](Self::new), reading the time from `clock`.
    pub fn with_clock(
        resource: &str,
        options: DpopOptions,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        ConfigError::from_all(options.problems())?;
        let url = url::Url::parse(resource)
            .map_err(|e| ConfigError::invalid("dpop.resource", e.to_string()))?;
        let origin = origin(&url).ok_or_else(|| {
            ConfigError::invalid("dpop.resource", "must be an absolute http or https URL")
        })?;
        let replay = match &options.replay_store {
            Some(store) => Arc::clone(store),
            None => Arc::new(
                // Every proof is its own owner: no per-owner limit to keep.
                MemoryStore::with_capacity(options.replay_capacity)
                    .per_owner_limit(usize::MAX)
                    .capacity_setting("DpopOptions::replay_capacity")
                    .shared_clock(Arc::clone(&clock)),
            ),
        };
        let nonces = nonce::NonceKey::new(options.nonce_secret.as_deref(), resource);
        Ok(Self {
            resource: url,
            origin,
            leeway: options.leeway.unwrap_or_default(),
            options,
            clock,
            replay,
            nonces,
            instance: crate::binding::new_handle(),
            claims: AtomicU64::new(0),
        })
    }

    /// Uses `leeway` on `iat` unless [`DpopOptions::leeway`] set one.
    pub(crate) fn default_leeway(mut self, leeway: Duration) -> Self {
        if self.options.leeway.is_none() {
            self.leeway = leeway;
        }
        self
    }

    /// The options in force.
    pub fn options(&self) -> &DpopOptions {
        &self.options
    }

    /// A nonce for the `DPoP-Nonce` header, `None` when nonces are off.
    pub fn nonce(&self) -> Option<String> {
        self.options.nonce.then(|| {
            self.nonces
                .current(self.clock.unix_seconds(), self.lifetime())
        })
    }

    fn lifetime(&self) -> u64 {
        self.options.nonce_lifetime.as_secs().max(1)
    }

    /// Checks the `DPoP` header(s) of `headers` against `request`, by every step of RFC 9449
    /// §4.3, then records the proof's `jti` so that it cannot be used again.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        request: &ProofRequest<'_>,
    ) -> Result<VerifiedProof, DpopError> {
        let checked = self.check(headers, request)?;
        self.claim_jti(&checked).await?;
        Ok(checked.proof)
    }

    /// Every step but the replay check.
    fn check(&self, headers: &HeaderMap, request: &ProofRequest<'_>) -> Result<Checked, DpopError> {
        crate::crypto::ensure_provider();
        // Step 1: exactly one DPoP header.
        let mut values = headers.get_all(DPOP_HEADER).iter();
        let value = values.next().ok_or(DpopError::MissingProof)?;
        if values.next().is_some() {
            return Err(DpopError::MultipleProofs);
        }
        // Step 2: one well-formed JWS.
        let max = self.options.max_proof_bytes;
        if value.len() > max {
            return Err(DpopError::TooLarge { max });
        }
        let proof = value
            .to_str()
            .map_err(|_| DpopError::Malformed("the header has bytes outside visible ASCII"))?
            .trim_matches([' ', '\t']);
        let parts = Jws::split(proof).map_err(malformed)?;
        let header = decode_object(parts.header, Segment::Header).map_err(malformed)?;
        let claims = decode_object(parts.payload, Segment::Payload).map_err(malformed)?;
        // Step 3: the required claims, each of the right type.
        let jti = required_str(&claims, "jti")?;
        if jti.is_empty() || jti.len() > 256 {
            return Err(DpopError::InvalidClaim {
                claim: "jti",
                expected: "a string of 1 to 256 characters",
            });
        }
        let htm = required_str(&claims, "htm")?;
        let htu_claim = required_str(&claims, "htu")?;
        let iat = match claims.get("iat") {
            None => return Err(DpopError::MissingClaim("iat")),
            Some(value) => numeric_date(value).ok_or(DpopError::InvalidClaim {
                claim: "iat",
                expected: "a number of seconds since the Unix epoch",
            })?,
        };
        // Step 4: typ.
        match header.get("typ") {
            Some(Value::String(typ)) if is_dpop_typ(typ) => {}
            _ => return Err(DpopError::InvalidType),
        }
        // Step 5: an asymmetric, allowed alg.
        let alg = match header.get("alg") {
            Some(Value::String(name)) => name
                .parse::<Algorithm>()
                .ok()
                .filter(|alg| {
                    SUPPORTED_ALGORITHMS.contains(alg) && self.options.algorithms.contains(alg)
                })
                .ok_or(DpopError::UnsupportedAlgorithm)?,
            _ => return Err(DpopError::UnsupportedAlgorithm),
        };
        if header.contains_key("crit") {
            return Err(DpopError::Malformed(
                "the header has a critical extension (crit) that is not understood",
            ));
        }
        // Step 7 (before 6, to spend no signature work on a private key): a public jwk.
        let jwk = match header.get("jwk") {
            Some(Value::Object(jwk)) => jwk,
            Some(_) => return Err(DpopError::InvalidJwk("it is not a JSON object")),
            None => return Err(DpopError::MissingJwk),
        };
        let (key, parsed) = jwk::public_key(jwk, alg)?;
        // Step 6: the signature.
        if parts.signature.is_empty() {
            return Err(DpopError::InvalidSignature);
        }
        let verified = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signing_input.as_bytes(),
            &key,
            alg,
        )
        .unwrap_or(false);
        if !verified {
            return Err(DpopError::InvalidSignature);
        }
        // Step 8: htm.
        if htm != request.method.as_str() {
            return Err(DpopError::MethodMismatch);
        }
        // Step 9: htu, from the configured origin and the request path, never from Host.
        if !self.htu_matches(htu_claim, request.path) {
            return Err(DpopError::UriMismatch);
        }
        let now = self.clock.unix_seconds();
        // Step 10: the server nonce.
        if self.options.nonce {
            match claims.get("nonce") {
                None => return Err(DpopError::NonceRequired),
                Some(Value::String(nonce)) if self.nonces.accepts(nonce, now, self.lifetime()) => {}
                Some(_) => return Err(DpopError::InvalidNonce),
            }
        }
        // Step 11: iat within the window.
        let window = self
            .options
            .iat_window
            .saturating_add(self.leeway)
            .as_secs();
        if iat.abs_diff(now) > window {
            return Err(DpopError::IatOutOfWindow);
        }
        // Step 12: ath and the key binding.
        if let Some(token) = request.access_token {
            match claims.get("ath") {
                None => return Err(DpopError::MissingAth),
                Some(Value::String(ath)) if *ath == access_token_hash(token) => {}
                Some(_) => return Err(DpopError::AthMismatch),
            }
        }
        let jkt = jwk::thumbprint(&parsed)?;
        if let Some(bound) = request.bound_jkt
            && bound != jkt
        {
            return Err(DpopError::KeyBindingMismatch);
        }
        Ok(Checked {
            replay_id: format!("{jkt}.{jti}"),
            expires: iat.saturating_add(window),
            proof: VerifiedProof { jkt },
        })
    }

    /// Step 9: `htu` names this request (see [`mcp_auth_rules::htu_matches`], the rule the
    /// audience follows too).
    fn htu_matches(&self, claim: &str, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        if mcp_auth_rules::htu_matches(claim, &format!("{}{}", self.origin, path)) {
            return true;
        }
        // Nested under a prefix, the layer sees a shortened path: the identifier itself is the
        // request's URI then.
        let own_path = self.resource.path();
        own_path != path
            && own_path.ends_with(path)
            && mcp_auth_rules::htu_matches(claim, self.resource.as_str())
    }

    async fn claim_jti(&self, checked: &Checked) -> Result<(), DpopError> {
        let key = BindingKey::new(
            self.resource.as_str(),
            BindingKind::DpopProof,
            checked.replay_id.as_bytes(),
        );
        let n = self.claims.fetch_add(1, Ordering::Relaxed);
        let owner = Owner::new(&self.instance, &n.to_string());
        let now = self.clock.unix_seconds();
        let ttl = Duration::from_secs(checked.expires.saturating_sub(now).saturating_add(1));
        match self.replay.claim(&key, &owner, ttl).await {
            Ok(winner) if winner == owner => Ok(()),
            Ok(_) => Err(DpopError::Replayed),
            Err(e) => Err(DpopError::StoreUnavailable {
                retry_after: e.retry_after(),
                reason: e.to_string(),
            }),
        }
    }
}

/// `scheme://host:port` of an absolute `http`/`https` URL, the port always written.
fn origin(url: &url::Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}://{host}:{port}", url.scheme()))
}

/// A proof that passed every step but the replay check.
struct Checked {
    replay_id: String,
    expires: u64,
    proof: VerifiedProof,
}

/// `ath`: the base64url (no padding) SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2).
///
/// ```
/// // The example of RFC 9449 §7.1.
/// assert_eq!(
///     mcp_auth::dpop::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
/// );
/// ```
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

fn is_dpop_typ(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("dpop+jwt") || typ.eq_ignore_ascii_case("application/dpop+jwt")
}

fn required_str<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, DpopError> {
    match claims.get(name) {
        None => Err(DpopError::MissingClaim(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::InvalidClaim {
            claim: name,
            expected: "a string",
        }),
    }
}

/// A JSON number of whole seconds (a fraction is cut), non-negative.
fn numeric_date(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

/// A shape error of the proof, as RFC 9449 §4.3 step 2 reports it.
fn malformed(error: JwsError) -> DpopError {
    DpopError::Malformed(match error {
        JwsError::NotThreeParts | JwsError::Encrypted => "it must have exactly three segments",
        JwsError::EmptyPart(Segment::Header)
        | JwsError::NotBase64url(Segment::Header)
        | JwsError::NotObject(Segment::Header) => {
            "the header is not a base64url-encoded JSON object"
        }
        JwsError::EmptyPart(Segment::Payload)
        | JwsError::NotBase64url(Segment::Payload)
        | JwsError::NotObject(Segment::Payload) => {
            "the claims are not a base64url-encoded JSON object"
        }
    })
}
