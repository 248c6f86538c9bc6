//! The token caches of a [`JwtVerifier`]: a token seen before costs one SHA-256 of its signature
//! segment (and, when it was refused, a keyed hash of the rest).
//!
//! * An entry is keyed by the SHA-256 digest of the token's signature segment (what follows its
//!   last `.`) and recognises what precedes it (`header.payload.`); a hit needs both to match,
//!   so it is served only to the very token the entry is about (the same bytes before the
//!   signature, and a signature of the same digest). The signature itself, what makes the token
//!   a credential, is never stored, and only a compact JWS (three segments) is remembered, so
//!   that what precedes its signature holds no other. A verified entry holds those bytes
//!   (compared on a hit). A refused entry holds only a keyed 64-bit hash of them (std's
//!   `RandomState`, SipHash-1-3 today, its keys random per thread and distinct per cache), since
//!   anyone can send a token as large as the size limit. That is enough: the signature's digest
//!   decides which tokens an entry can answer, so a refusal can only reach a token whose
//!   signature was copied by someone who knew it; the keyed hash keeps such a forgery from
//!   refusing the token it copied, at under a third of the cost of a SHA-256 of the same bytes
//!   (70 against 240 ns for 334 bytes). Hashing only the signature hashes 6 blocks of 64 bytes
//!   instead of 12 for a 700-byte RS256 token, and 2 instead of 8 for an ES256 token of 450
//!   bytes.
//! * A verified token's [`AuthInfo`] is kept until its `exp`, never past it. Every hit checks
//!   `exp` and `nbf` again with the verifier's clock, and that the issuer's current key set still
//!   holds the key that verified it (a key removed from the JWKS invalidates its tokens at the
//!   next refresh). While the key set is due for a refresh, hits take the full path, which
//!   refreshes it.
//! * Tokens refused for a reason that waiting cannot cure (signature, audience, issuer, shape,
//!   expiry, ...) are remembered for a short time (default 10 s), so that a flood of one bad
//!   token costs the SHA-256 of its signature and the keyed hash of the rest. `Unavailable`,
//!   `NotYetValid`, `IssuedInFuture` and key-lookup failures are never remembered.
//! * Bounded in entries: when full, the oldest insertion is evicted (the crate's one expiring
//!   map, [`crate::expiring`]).
//! * One cache per verifier, so per resource: a token verified for one resource is never served
//!   to another.
//! * A `std::sync::Mutex` guards each map, held only for a map operation, never across an
//!   `.await`.

use std::hash::{BuildHasher as _, RandomState};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use sha2::{Digest as _, Sha256};

use super::{JwtInner, JwtVerifier, header_algorithm};
use crate::auth_info::AuthInfo;
use crate::error::VerifyError;
use crate::expiring::{Digest, ExpiringMap};
use crate::jws::{Segment, decode_object, header_is_framed, precheck};

/// The environment variable that overrides the *default* cache setting when a verifier is built
/// (feature `test-util` only): `off` (or `0`, `false`) disables both caches of every verifier
/// whose options did not set [`VerifyOptions::token_cache`](super::VerifyOptions::token_cache)
/// explicitly. A test switch: the test suite runs once more with the cache off.
#[cfg(feature = "test-util")]
pub const TOKEN_CACHE_ENV: &str = "MCP_AUTH_TOKEN_CACHE";

/// Settings of a verifier's token caches, set with
/// [`VerifyOptions::token_cache`](super::VerifyOptions::token_cache).
///
/// The default: on, at most 10,000 verified tokens and 10,000 refused tokens (remembered 10 s).
/// Memory: one verified entry costs about 2.8 KiB of resident memory for a typical access
/// token of ~450 bytes (the digest, the token's bytes before its signature, the [`AuthInfo`]
/// with its claims, map and queue slots, allocator overhead), growing with the size of the
/// claims; the default bound is thus about 28 MiB (measured by `cargo bench -p mcp-auth --bench
/// cache_rss`: 1,000,000 distinct tokens of 434 bytes, peak RSS growth 27.0 MiB, 2,827 bytes
/// per entry). A refused entry costs about 200 bytes, whatever the size of the token.
///
/// ```
/// use std::time::Duration;
/// use mcp_auth::verify::{TokenCacheOptions, VerifyOptions};
///
/// let sized = VerifyOptions::default()
///     .token_cache(TokenCacheOptions::default().max_entries(50_000).negative_ttl(Duration::from_secs(5)));
/// let off = VerifyOptions::default().token_cache(TokenCacheOptions::off());
/// # let _ = (sized, off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCacheOptions {
    pub(crate) max_entries: usize,
    pub(crate) negative_entries: usize,
    pub(crate) negative_ttl: Duration,
    /// Set by [`VerifyOptions::token_cache`](super::VerifyOptions::token_cache): the test
    /// switch (feature `test-util`) no longer applies.
    pub(crate) explicit: bool,
}

impl Default for TokenCacheOptions {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            negative_entries: 10_000,
            negative_ttl: Duration::from_secs(10),
            explicit: false,
        }
    }
}

impl TokenCacheOptions {
    /// Both caches off: every request verifies its token in full.
    pub fn off() -> Self {
        Self {
            max_entries: 0,
            negative_entries: 0,
            ..Self::default()
        }
    }

    /// At most `max` verified tokens (0 = no positive cache; default 10,000).
    pub fn max_entries(mut self, max: usize) -> Self {
        self.max_entries = max;
        self
    }

    /// At most `max` refused tokens (0 = no negative cache; default 10,000).
    pub fn negative_entries(mut self, max: usize) -> Self {
        self.negative_entries = max;
        self
    }

    /// How long a refused token is remembered (default 10 s; zero = no negative cache).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The options in force at build: the explicit setting, else the default (which the test
    /// switch, feature `test-util`, may turn off).
    pub(crate) fn effective(self) -> Self {
        #[cfg(feature = "test-util")]
        if !self.explicit
            && let Ok("off" | "0" | "false" | "OFF") =
                std::env::var(TOKEN_CACHE_ENV).as_deref().map(str::trim)
        {
            return Self::off();
        }
        self
    }
}

/// A token as the caches look it up: the digest of its signature segment, and what precedes that
/// segment. The two determine the token: `token == before_signature + signature`.
struct TokenKey<'a> {
    digest: Digest,
    /// `header.payload.` for a compact JWS (RFC 7515's signing input and the dot after it);
    /// empty for a token without a `.`.
    before_signature: &'a [u8],
}

impl<'a> TokenKey<'a> {
    fn of(token: &'a str) -> Self {
        let bytes = token.as_bytes();
        let signature_at = memchr::memrchr(b'.', bytes).map_or(0, |dot| dot + 1);
        let (before_signature, signature) = bytes.split_at(signature_at);
        Self {
            digest: Sha256::digest(signature).into(),
            before_signature,
        }
    }

    /// Whether the token may be remembered: a compact JWS, `header.payload.signature`, whose
    /// bytes before the signature hold no signature (what its entry keeps of them).
    fn rememberable(&self) -> bool {
        memchr::memchr_iter(b'.', self.before_signature).count() == 2
    }

    /// What a refused entry keeps of the bytes before the signature: their hash under the
    /// cache's `keys`.
    fn before_signature_hash(&self, keys: &RandomState) -> u64 {
        keys.hash_one(self.before_signature)
    }
}

/// A verified entry: what a hit needs, with the bytes that preceded the signature of its token.
struct Remembered {
    before_signature: Box<[u8]>,
    verified: Verified,
}

impl Remembered {
    /// The entry, if it is about the token of `key` (whose digest found it); `None` for another
    /// token with the same signature segment.
    fn about(&mut self, key: &TokenKey<'_>) -> Option<&mut Verified> {
        (*self.before_signature == *key.before_signature).then_some(&mut self.verified)
    }
}

/// A refused entry: the refusal, with the keyed hash of the bytes that preceded the signature of
/// its token (a refused token can be as large as the size limit: 8 bytes, whatever its size).
struct Refused {
    before_signature: u64,
    error: VerifyError,
}

/// What a hit needs to re-check a verified token.
struct Verified {
    info: AuthInfo,
    /// Index of the issuer's key cache in the verifier.
    issuer: usize,
    kid: Option<Box<str>>,
    alg: Algorithm,
    nbf: Option<u64>,
    /// The generation of the issuer's key set last seen holding the key (0: not checked yet).
    /// While the set stays that generation, a hit needs no look at the keys.
    checked: u64,
}

/// A verifier's two caches.
pub(crate) struct TokenCache {
    verified: Option<ExpiringMap<Remembered>>,
    refused: Option<ExpiringMap<Refused>>,
    /// The keys of the refused entries' [`Refused::before_signature`] hash (random per thread,
    /// distinct per cache).
    refused_keys: RandomState,
    negative_ttl_ms: u64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sizes only: the entries hold claims.
        let len = |m: Option<usize>| m.unwrap_or(0);
        f.debug_struct("TokenCache")
            .field(
                "verified",
                &len(self.verified.as_ref().map(ExpiringMap::len)),
            )
            .field("refused", &len(self.refused.as_ref().map(ExpiringMap::len)))
            .finish()
    }
}

impl TokenCache {
    /// The caches the options ask for; `None` when both are off.
    pub(crate) fn new(options: TokenCacheOptions) -> Option<Self> {
        let negative_ttl_ms = u64::try_from(options.negative_ttl.as_millis()).unwrap_or(u64::MAX);
        let cache = Self {
            verified: (options.max_entries > 0).then(|| ExpiringMap::new(options.max_entries)),
            refused: (options.negative_entries > 0 && negative_ttl_ms > 0)
                .then(|| ExpiringMap::new(options.negative_entries)),
            refused_keys: RandomState::new(),
            negative_ttl_ms,
        };
        (cache.verified.is_some() || cache.refused.is_some()).then_some(cache)
    }
}

/// Whether waiting cannot make a token refused with `error` valid, so the refusal may be
/// remembered.
fn is_permanent(error: &VerifyError) -> bool {
    use VerifyError::*;
    match error {
        Malformed(_)
        | TooLarge { .. }
        | Encrypted
        | UnsupportedAlgorithm
        | InvalidType
        | CriticalHeader
        | UntrustedIssuer
        | InvalidSignature
        | Expired
        | InvalidAudience
        | MissingClaim(_)
        | ClientIdInAzp
        | InvalidClaim { .. }
        | NotABearerToken => true,
        // The key set can change (rotation), the authorization server can come back, time
        // passes: these must be looked at again.
        UnknownKey
        | AmbiguousKey
        | KeyMismatch
        | NotYetValid
        | IssuedInFuture
        | Inactive
        | Unavailable { .. } => false,
    }
}

impl JwtVerifier {
    /// Verification through the caches (see the module documentation).
    pub(super) async fn verify_through_cache(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        let inner = &*self.inner;
        let Some(cache) = &inner.cache else {
            return self.verify_jwt(token).await;
        };
        let miss = match probe(inner, cache, token) {
            Probe::Answer(answer) => return answer,
            Probe::Miss(miss) => miss,
        };
        let outcome = self.verify_jwt(token).await;
        let Miss { key, now_ms } = miss;
        if !key.rememberable() {
            return outcome;
        }
        match &outcome {
            Ok(info) => {
                if let Some(verified) = &cache.verified
                    && let Some(entry) = verified_entry(inner, token, info)
                {
                    // Never past `exp`.
                    let deadline = info
                        .expires_at_unix()
                        .map_or(0, |exp| exp.saturating_mul(1000));
                    let entry = Remembered {
                        before_signature: key.before_signature.into(),
                        verified: entry,
                    };
                    verified.insert(key.digest, entry, deadline, now_ms);
                }
            }
            Err(error) if is_permanent(error) => {
                if let Some(refused) = &cache.refused {
                    let deadline = now_ms.saturating_add(cache.negative_ttl_ms);
                    let entry = Refused {
                        before_signature: key.before_signature_hash(&cache.refused_keys),
                        error: error.clone(),
                    };
                    refused.insert(key.digest, entry, deadline, now_ms);
                }
            }
            Err(_) => {}
        }
        outcome
    }

    /// What [`verify_through_cache`](Self::verify_through_cache) answers without awaiting: a
    /// cache hit, a remembered refusal, or a token refused by its size or shape; `None` for a
    /// token the caches do not know (or with the caches off).
    pub(super) fn known(&self, token: &str) -> Option<Result<AuthInfo, VerifyError>> {
        let inner = &*self.inner;
        match probe(inner, inner.cache.as_ref()?, token) {
            Probe::Answer(answer) => Some(answer),
            Probe::Miss(_) => None,
        }
    }
}

/// A token the caches did not know: its key and the time of the lookup, so that the full path
/// neither hashes it again nor reads the clock again.
struct Miss<'a> {
    key: TokenKey<'a>,
    now_ms: u64,
}

/// What the caches say about a token before the full path.
enum Probe<'a> {
    /// The answer: refused by size or shape, a hit, or a remembered refusal.
    Answer(Result<AuthInfo, VerifyError>),
    /// Not known: the full path decides, and its outcome is remembered.
    Miss(Miss<'a>),
}

fn probe<'a>(inner: &JwtInner, cache: &TokenCache, token: &'a str) -> Probe<'a> {
    let max = inner.options.max_token_bytes;
    if token.len() > max {
        return Probe::Answer(Err(VerifyError::TooLarge { max }));
    }
    // Random garbage fails the check of its header (a few dozen bytes) before any hash; the
    // whole token is scanned only when the caches do not know it (a token they know was
    // checked when it was first seen).
    if !header_is_framed(token)
        && let Err(error) = precheck(token)
    {
        return Probe::Answer(Err(error.into()));
    }
    let key = TokenKey::of(token);
    let now_ms = now_millis(inner);
    if let Some(verified) = &cache.verified
        && let Some(answer) = lookup_verified(inner, verified, &key, now_ms)
    {
        return Probe::Answer(answer);
    }
    if let Some(refused) = &cache.refused
        && let Some(error) = lookup_refused(refused, &cache.refused_keys, &key, now_ms)
    {
        return Probe::Answer(Err(error));
    }
    if let Err(error) = precheck(token) {
        return Probe::Answer(Err(error.into()));
    }
    Probe::Miss(Miss { key, now_ms })
}

/// A cache hit's answer, `None` for a miss.
type Hit = Option<Result<AuthInfo, VerifyError>>;

fn now_millis(inner: &JwtInner) -> u64 {
    inner
        .clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A remembered refusal of the token of `key`, `None` for a miss (or a refusal of another token
/// with the same signature segment).
fn lookup_refused(
    refused: &ExpiringMap<Refused>,
    keys: &RandomState,
    key: &TokenKey<'_>,
    now_ms: u64,
) -> Option<VerifyError> {
    let (before_signature, error) = {
        let mut map = refused.lock();
        let entry = map.live(&key.digest, now_ms)?;
        (entry.before_signature, entry.error.clone())
    };
    // Hashed outside the lock: only a token whose signature was refused before gets here.
    (before_signature == key.before_signature_hash(keys)).then_some(error)
}

fn lookup_verified(
    inner: &JwtInner,
    verified: &ExpiringMap<Remembered>,
    key: &TokenKey<'_>,
    now_ms: u64,
) -> Hit {
    let now = now_ms / 1000;
    let leeway = inner.options.leeway.as_secs();
    let mut map = verified.lock();
    // Another token with the same signature segment is a miss; the entry stays for its own.
    let entry = map.live(&key.digest, now_ms)?.about(key)?;
    if entry
        .info
        .expires_at_unix()
        .is_none_or(|exp| exp.saturating_add(leeway) <= now)
    {
        return Some(Err(VerifyError::Expired));
    }
    if entry
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Some(Err(VerifyError::NotYetValid));
    }
    // The key-set check: the issuer's current generation, two atomic loads; the set itself is
    // looked at (a pointer copy under its own lock, never held across an await) only when it
    // changed since this entry was last checked. Nothing is cloned unless the entry is served.
    let jwks = inner.issuers.get(entry.issuer)?;
    // The set is due for a refresh (or was never fetched): the full path refreshes it.
    let generation = jwks.fresh_generation(now)?;
    if entry.checked != generation {
        match jwks.holds_fresh(entry.kid.as_deref(), entry.alg, now)? {
            (true, generation) => entry.checked = generation,
            // The key left the set: forget the token and verify it in full (which refuses it).
            (false, _) => {
                map.remove(&key.digest);
                return None;
            }
        }
    }
    Some(Ok(entry.info.clone()))
}

/// What to remember about a token that just verified: its issuer's index, `kid`, `alg`, `nbf`.
fn verified_entry(inner: &JwtInner, token: &str, info: &AuthInfo) -> Option<Verified> {
    let issuer = inner
        .issuers
        .iter()
        .position(|c| c.issuer() == info.issuer())?;
    let header = decode_object(token.split('.').next()?, Segment::Header).ok()?;
    let alg = header_algorithm(&header).ok()?;
    let kid = match header.get("kid") {
        None => None,
        Some(serde_json::Value::String(kid)) => Some(kid.as_str().into()),
        Some(_) => return None,
    };
    let nbf = super::claim_numeric_date(info.claims(), "nbf").ok()?;
    Some(Verified {
        info: info.clone(),
        issuer,
        kid,
        alg,
        nbf,
        checked: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_digest_of_the_signature_and_the_bytes_before_it() {
        let key = TokenKey::of("h.p.s");
        assert_eq!(key.before_signature, b"h.p.");
        assert_eq!(key.digest, <[u8; 32]>::from(Sha256::digest(b"s")));
        assert!(key.rememberable());
        // Without a `.`, all of it is the signature; only a compact JWS is remembered.
        let bare = TokenKey::of("s");
        assert_eq!((bare.before_signature, bare.digest), (&b""[..], key.digest));
        for other in ["s", ".s", "h.s", "h.p.s.", "h.p.s.s", "h.p..s"] {
            assert!(!TokenKey::of(other).rememberable(), "{other}");
        }
    }

    #[test]
    fn waiting_errors_are_not_remembered() {
        assert!(!is_permanent(&VerifyError::Unavailable {
            reason: String::new(),
            retry_after: Duration::from_secs(1),
        }));
        assert!(!is_permanent(&VerifyError::NotYetValid));
        assert!(!is_permanent(&VerifyError::UnknownKey));
        assert!(is_permanent(&VerifyError::InvalidSignature));
        assert!(is_permanent(&VerifyError::InvalidAudience));
    }
}
