//! The verified-token cache of a [`JwtVerifier`]: a token seen before costs one SHA-256.
//!
//! * Keyed by the SHA-256 digest of the whole token; the token itself is never stored.
//! * A verified token's [`AuthInfo`] is kept until its `exp`, never past it. Every hit checks
//!   `exp` and `nbf` again with the verifier's clock, and that the issuer's current key set still
//!   holds the key that verified it (a key removed from the JWKS invalidates its tokens at the
//!   next refresh). While the key set is due for a refresh, hits take the full path, which
//!   refreshes it.
//! * Tokens refused for a reason that waiting cannot cure (signature, audience, issuer, shape,
//!   expiry, ...) are remembered for a short time (default 10 s), so that a flood of one bad
//!   token costs a hash. `Unavailable`, `NotYetValid`, `IssuedInFuture` and key-lookup failures
//!   are never remembered.
//! * Bounded in entries: when full, expired entries are swept (at most once per second), then
//!   the oldest insertions are evicted.
//! * One cache per verifier, so per resource: a token verified for one resource is never served
//!   to another.
//! * A `std::sync::Mutex` guards each map, held only for a map operation, never across an
//!   `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use sha2::{Digest, Sha256};

use super::{JwtInner, JwtVerifier, decode_json_segment, header_algorithm};
use crate::auth_info::AuthInfo;
use crate::bearer::TokenShape;
use crate::error::VerifyError;

/// The environment variable that overrides the *default* cache setting when a verifier is built:
/// `off` (or `0`, `false`) disables both caches of every verifier whose options did not set
/// [`VerifyOptions::token_cache`](super::VerifyOptions::token_cache) explicitly; `on` keeps them.
/// A test and operations switch (e.g. to run a test suite with the cache off).
pub const TOKEN_CACHE_ENV: &str = "MCP_AUTH_TOKEN_CACHE";

/// How often, at most, a full map scans for expired entries before evicting the oldest.
const SWEEP_INTERVAL_MS: u64 = 1_000;

/// Settings of a verifier's token caches, set with
/// [`VerifyOptions::token_cache`](super::VerifyOptions::token_cache).
///
/// The default: on, at most 10,000 verified tokens and 10,000 refused tokens (remembered 10 s).
/// Memory: one verified entry costs about 2.5 KiB of resident memory for a typical access
/// token of ~450 bytes (the digest, the [`AuthInfo`] with its claims, map and queue slots,
/// allocator overhead), growing with the size of the claims; the default bound is thus about
/// 25 MiB (measured by `cargo bench -p mcp-auth --bench cache_rss`: 1,000,000 distinct tokens
/// of 434 bytes, peak RSS growth 23.3 MiB, 2,439 bytes per entry). A refused entry costs about
/// 150 bytes.
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
    /// Set by [`VerifyOptions::token_cache`](super::VerifyOptions::token_cache): the environment
    /// variable no longer applies.
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

    /// Whether any cache is on.
    pub fn is_enabled(&self) -> bool {
        self.max_entries > 0 || (self.negative_entries > 0 && !self.negative_ttl.is_zero())
    }

    /// The options in force at build: the explicit setting, else the default overridden by
    /// [`TOKEN_CACHE_ENV`].
    pub(crate) fn effective(self) -> Self {
        if self.explicit {
            return self;
        }
        match std::env::var(TOKEN_CACHE_ENV).as_deref().map(str::trim) {
            Ok("off" | "0" | "false" | "OFF") => Self::off(),
            _ => self,
        }
    }
}

/// The digest a token is cached under.
type CacheKey = [u8; 32];

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
    verified: Option<Bounded<Verified>>,
    refused: Option<Bounded<VerifyError>>,
    negative_ttl_ms: u64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sizes only: the entries hold claims.
        let len = |m: Option<usize>| m.unwrap_or(0);
        f.debug_struct("TokenCache")
            .field(
                "verified",
                &len(self.verified.as_ref().map(|m| m.lock().entries.len())),
            )
            .field(
                "refused",
                &len(self.refused.as_ref().map(|m| m.lock().entries.len())),
            )
            .finish()
    }
}

impl TokenCache {
    /// The caches the options ask for; `None` when both are off.
    pub(crate) fn new(options: TokenCacheOptions) -> Option<Self> {
        let negative_ttl_ms = u64::try_from(options.negative_ttl.as_millis()).unwrap_or(u64::MAX);
        let cache = Self {
            verified: (options.max_entries > 0).then(|| Bounded::new(options.max_entries)),
            refused: (options.negative_entries > 0 && negative_ttl_ms > 0)
                .then(|| Bounded::new(options.negative_entries)),
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

/// The base64url alphabet (RFC 4648 §5, no padding).
static BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

/// Whether every byte is base64url; no early exit, so the loop vectorizes.
fn all_base64url(segment: &[u8]) -> bool {
    segment
        .iter()
        .fold(true, |ok, &b| ok & BASE64URL[usize::from(b)])
}

/// The number of dots in `bytes`, and whether every other byte is base64url.
///
/// Branch-free over blocks of 64 bytes with byte-wide accumulators, so that it compiles to
/// 16-byte vector operations (a `usize` accumulator per byte made it widen every lane and run
/// at two bytes per iteration: the precheck was half the cost of a cache hit).
fn dots_and_alphabet(bytes: &[u8]) -> (usize, bool) {
    #[inline(always)]
    fn block(block: &[u8]) -> (u8, u8) {
        let mut dots = 0u8;
        let mut bad = 0u8;
        for &b in block {
            let dot = b == b'.';
            let digit = b.wrapping_sub(b'0') < 10;
            let letter = (b | 0x20).wrapping_sub(b'a') < 26;
            let ok = dot | digit | letter | (b == b'-') | (b == b'_');
            dots += u8::from(dot);
            bad |= u8::from(!ok);
        }
        (dots, bad)
    }
    let mut dots = 0usize;
    let mut bad = 0u8;
    let mut blocks = bytes.chunks_exact(64);
    for chunk in &mut blocks {
        let (d, b) = block(chunk);
        dots += usize::from(d);
        bad |= b;
    }
    let (d, b) = block(blocks.remainder());
    (dots + usize::from(d), (bad | b) == 0)
}

/// [`precheck_shaped`] scanning the token itself.
#[cfg(test)]
fn precheck(token: &str) -> Result<(), VerifyError> {
    precheck_shaped(token, None)
}

/// Structural checks that need neither allocation nor crypto, with the same outcome as the full
/// path for the tokens they refuse (`tests/fuzz.rs` compares them): three (or, for a JWE, five)
/// dot-separated segments, none of the first two empty, and a header in the base64url alphabet
/// with a possible length that decodes to something framed like a JSON object. The payload is
/// left to the full path, which checks the header's members first. `shape`: what the bearer
/// extraction found out about the token in its own pass (`None`: scan the token).
fn precheck_shaped(token: &str, shape: Option<TokenShape>) -> Result<(), VerifyError> {
    let bytes = token.as_bytes();
    // One branch-free pass: the dots, and whether anything is outside the base64url alphabet.
    // Only a token that fails it is looked at segment by segment.
    let (count, clean) = match shape {
        Some(shape) => (shape.dots, shape.base64url),
        None => dots_and_alphabet(bytes),
    };
    if count == 2 && clean {
        // The two dots are the first one (after the short header) and the last one (before
        // the signature): the payload, the longest part, is not searched.
        let first = token.find('.').unwrap_or(0);
        let last = token.rfind('.').unwrap_or(0);
        let (header, payload) = (first, last.saturating_sub(first + 1));
        if header != 0 && payload != 0 && header % 4 != 1 {
            return header_framing(&bytes[..first]);
        }
    }
    match count {
        2 => {}
        4 => return Err(VerifyError::Encrypted),
        _ => {
            return Err(VerifyError::Malformed(
                "a JWT has three dot-separated parts",
            ));
        }
    }
    let mut parts = bytes.splitn(3, |&b| b == b'.');
    let header = parts.next().unwrap_or_default();
    let payload = parts.next().unwrap_or_default();
    if header.is_empty() || payload.is_empty() {
        return Err(VerifyError::Malformed("a JWT part is empty"));
    }
    // A base64 string of length 4n+1 cannot be decoded.
    if header.len() % 4 == 1 || !all_base64url(header) {
        return Err(VerifyError::Malformed("the header is not base64url"));
    }
    // The full path decodes the header and checks its members before it looks at the payload,
    // so the payload is left to it.
    header_framing(header)
}

/// The largest header [`header_framing`] decodes (bytes after decoding; longer ones are left to
/// the full path). Real headers are a few dozen bytes.
const HEADER_BUFFER: usize = 512;

/// Whether the header, a base64url segment, can be a JSON object: decoded into a stack buffer
/// (no allocation), its first and last bytes other than whitespace must be `{` and `}`. Random
/// garbage fails here, before any hash or signature work and without entering the caches, with
/// the error the full path would give it (which decodes the header first, with the same engine).
fn header_framing(header: &[u8]) -> Result<(), VerifyError> {
    let mut buffer = [0u8; HEADER_BUFFER];
    let decoded = match URL_SAFE_NO_PAD.decode_slice(header, &mut buffer) {
        Ok(len) => &buffer[..len],
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => return Ok(()),
        Err(base64::DecodeSliceError::DecodeError(_)) => {
            return Err(VerifyError::Malformed("the header is not base64url"));
        }
    };
    // `trim_ascii` also trims form feeds, which JSON does not allow: it may let a header through
    // that the full path refuses, never the reverse.
    match decoded.trim_ascii() {
        [b'{', .., b'}'] => Ok(()),
        _ => Err(VerifyError::Malformed("the header is not a JSON object")),
    }
}

impl JwtVerifier {
    /// Verification through the caches (see the module documentation).
    pub(super) async fn verify_cached(&self, token: &str) -> Result<AuthInfo, VerifyError> {
        let inner = &*self.inner;
        let Some(cache) = &inner.cache else {
            return self.verify_jwt(token).await;
        };
        match probe(inner, cache, token, None) {
            Probe::Answer(answer) => answer,
            Probe::Miss(ticket) => self.verify_missed(token, ticket).await,
        }
    }

    /// The full path for a token the caches did not know (`ticket`, from [`probe`] on this
    /// very token), its outcome remembered.
    pub(crate) async fn verify_missed(
        &self,
        token: &str,
        ticket: MissTicket,
    ) -> Result<AuthInfo, VerifyError> {
        let inner = &*self.inner;
        let outcome = self.verify_jwt(token).await;
        let Some(cache) = &inner.cache else {
            return outcome;
        };
        let MissTicket { key, now_ms } = ticket;
        match &outcome {
            Ok(info) => {
                if let Some(verified) = &cache.verified
                    && let Some(entry) = verified_entry(inner, token, info)
                {
                    // Never past `exp`.
                    let deadline = info
                        .expires_at_unix()
                        .map_or(0, |exp| exp.saturating_mul(1000));
                    verified.insert(key, entry, deadline, now_ms);
                }
            }
            Err(error) if is_permanent(error) => {
                if let Some(refused) = &cache.refused {
                    let deadline = now_ms.saturating_add(cache.negative_ttl_ms);
                    refused.insert(key, error.clone(), deadline, now_ms);
                }
            }
            Err(_) => {}
        }
        outcome
    }

    /// What [`verify_cached`](Self::verify_cached) answers without awaiting: a cache hit, a
    /// remembered refusal, or a token refused by its size or shape; else the ticket that
    /// [`verify_missed`](Self::verify_missed) takes. `None` when the caches are off.
    ///
    /// `shape`: what the bearer extraction found out about the token, if it did.
    pub(crate) fn probe(&self, token: &str, shape: Option<TokenShape>) -> Option<Probe> {
        let inner = &*self.inner;
        Some(probe(inner, inner.cache.as_ref()?, token, shape))
    }
}

/// A token the caches did not know: its digest and the time of the lookup, so that the full
/// path neither hashes it again nor reads the clock again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MissTicket {
    key: CacheKey,
    now_ms: u64,
}

/// What the caches say about a token before the full path.
pub(crate) enum Probe {
    /// The answer: refused by size or shape, a hit, or a remembered refusal.
    Answer(Result<AuthInfo, VerifyError>),
    /// Not known: the full path decides, and its outcome is remembered.
    Miss(MissTicket),
}

fn probe(inner: &JwtInner, cache: &TokenCache, token: &str, shape: Option<TokenShape>) -> Probe {
    let max = inner.options.max_token_bytes;
    if token.len() > max {
        return Probe::Answer(Err(VerifyError::TooLarge { max }));
    }
    if let Err(error) = precheck_shaped(token, shape) {
        return Probe::Answer(Err(error));
    }
    let key: CacheKey = Sha256::digest(token.as_bytes()).into();
    let now_ms = now_millis(inner);
    if let Some(verified) = &cache.verified
        && let Some(answer) = lookup_verified(inner, verified, &key, now_ms)
    {
        return Probe::Answer(answer);
    }
    if let Some(refused) = &cache.refused
        && let Some(error) = refused.lock().live(&key, now_ms).cloned()
    {
        return Probe::Answer(Err(error));
    }
    Probe::Miss(MissTicket { key, now_ms })
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

fn lookup_verified(
    inner: &JwtInner,
    verified: &Bounded<Verified>,
    key: &CacheKey,
    now_ms: u64,
) -> Hit {
    let now = now_ms / 1000;
    let leeway = inner.options.leeway.as_secs();
    let mut map = verified.lock();
    let entry = map.live(key, now_ms)?;
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
                map.entries.remove(key);
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
    let header = decode_json_segment(token.split('.').next()?, "header").ok()?;
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

/// A bounded map from digests to values with deadlines (Unix milliseconds).
struct Bounded<V> {
    max_entries: usize,
    state: Mutex<State<V>>,
}

struct State<V> {
    entries: HashMap<CacheKey, Entry<V>>,
    /// Insertion order: `(key, seq)`; an item whose `seq` differs from the entry's is stale.
    order: VecDeque<(CacheKey, u64)>,
    next_seq: u64,
    last_sweep_ms: Option<u64>,
}

struct Entry<V> {
    value: V,
    deadline_ms: u64,
    seq: u64,
}

impl<V> Bounded<V> {
    fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            state: Mutex::new(State {
                entries: HashMap::new(),
                order: VecDeque::new(),
                next_seq: 0,
                last_sweep_ms: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<V>> {
        // A poisoned lock means a panic elsewhere mid-operation; the map itself stays usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `value` until `deadline_ms`; nothing when that is not after `now_ms`.
    fn insert(&self, key: CacheKey, value: V, deadline_ms: u64, now_ms: u64) {
        if deadline_ms <= now_ms {
            return;
        }
        let mut state = self.lock();
        if !state.entries.contains_key(&key) && state.entries.len() >= self.max_entries {
            state.make_room(self.max_entries, now_ms);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.order.push_back((key, seq));
        state.entries.insert(
            key,
            Entry {
                value,
                deadline_ms,
                seq,
            },
        );
        if state.order.len() > self.max_entries.saturating_mul(2).max(16) {
            let State { entries, order, .. } = &mut *state;
            order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
    }
}

impl<V> State<V> {
    /// The value for `key` if it is live at `now_ms`; a dead entry is dropped. One hash of the
    /// key either way.
    fn live(&mut self, key: &CacheKey, now_ms: u64) -> Option<&mut V> {
        use std::collections::hash_map::Entry as Slot;
        match self.entries.entry(*key) {
            Slot::Occupied(slot) if slot.get().deadline_ms <= now_ms => {
                slot.remove();
                None
            }
            Slot::Occupied(slot) => Some(&mut slot.into_mut().value),
            Slot::Vacant(_) => None,
        }
    }

    /// Frees at least one slot: a sweep of dead entries (at most once per interval), then the
    /// oldest insertions.
    fn make_room(&mut self, max_entries: usize, now_ms: u64) {
        let due = self
            .last_sweep_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= SWEEP_INTERVAL_MS);
        if due {
            self.last_sweep_ms = Some(now_ms);
            self.entries.retain(|_, e| e.deadline_ms > now_ms);
        }
        while self.entries.len() >= max_entries {
            let Some((key, seq)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a xorshift64 sequence: test data without a dependency.
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn precheck_refuses_garbage_like_the_full_path() {
        assert!(matches!(precheck("abc"), Err(VerifyError::Malformed(_))));
        assert!(matches!(precheck("a.b.c.d.e"), Err(VerifyError::Encrypted)));
        assert!(matches!(precheck(".ab.c"), Err(VerifyError::Malformed(_))));
        assert!(matches!(
            precheck("a$cd.abcd.c"),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            precheck("abcd.a bc.c"),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            precheck("abcde.abcd.c"),
            Err(VerifyError::Malformed(_))
        ));
        assert!(precheck("e30.abcd.").is_ok());
        // The header decodes, but not to a JSON object.
        assert!(matches!(
            precheck("abcd.abcd."),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn random_garbage_is_refused_by_its_header_with_the_full_paths_error() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        let token = |header: &[u8]| format!("{}.eyJhIjoxfQ.c2ln", B64.encode(header));
        assert!(precheck(&token(br#"{"alg":"RS256"}"#)).is_ok());
        assert!(precheck(&token(b" \r\n{\"alg\":\"RS256\"}\t")).is_ok());
        for header in [
            &b"[1]"[..],
            b"{",
            b"  ",
            b"\"{}\"",
            b"{\"a\":1} x",
            b"\xff\xfe",
        ] {
            assert_eq!(
                precheck(&token(header)),
                Err(VerifyError::Malformed("the header is not a JSON object")),
                "{header:?}"
            );
        }
        // Non-zero trailing bits: not base64url for the full path's engine either.
        assert_eq!(
            precheck("eyJ.eyJhIjoxfQ.c2ln"),
            Err(VerifyError::Malformed("the header is not base64url"))
        );
        // Random base64url garbage, as a flood sends it: refused before any hash.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut refused = 0;
        for _ in 0..1000 {
            let mut segment = |len: usize| -> String {
                (0..len)
                    .map(|_| char::from(alphabet[(xorshift(&mut seed) % 64) as usize]))
                    .collect()
            };
            let garbage = format!("{}.{}.{}", segment(36), segment(120), segment(86));
            refused += usize::from(precheck(&garbage).is_err());
        }
        assert!(refused > 980, "{refused} of 1000 refused");
    }

    #[test]
    fn block_scan_agrees_with_the_byte_by_byte_one() {
        let naive = |bytes: &[u8]| {
            let dots = bytes.iter().filter(|&&b| b == b'.').count();
            let clean = bytes
                .iter()
                .all(|&b| b == b'.' || BASE64URL[usize::from(b)]);
            (dots, clean)
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"abcXYZ019-_.";
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 700, 1000] {
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(xorshift(&mut seed) % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(dots_and_alphabet(&bytes), naive(&bytes), "len {len}");
            for bad in 0..=255u8 {
                if let Some(last) = bytes.last_mut() {
                    *last = bad;
                    assert_eq!(dots_and_alphabet(&bytes), naive(&bytes), "byte {bad}");
                }
            }
        }
    }

    #[test]
    fn precheck_with_a_known_shape_agrees() {
        for token in [
            "abc",
            "a.b.c.d.e",
            ".ab.c",
            "abcde.abcd.c",
            "abcd.abcd.",
            "e30.abcd.",
            "ab.cd.ef",
        ] {
            let (dots, base64url) = dots_and_alphabet(token.as_bytes());
            let shape = TokenShape { dots, base64url };
            assert_eq!(
                precheck_shaped(token, Some(shape)),
                precheck(token),
                "{token}"
            );
        }
    }

    #[test]
    fn bounded_map_evicts_oldest_and_expires() {
        let map: Bounded<u32> = Bounded::new(2);
        map.insert([1; 32], 1, 10_000, 0);
        map.insert([2; 32], 2, 10_000, 0);
        map.insert([3; 32], 3, 10_000, 0);
        let mut state = map.lock();
        assert_eq!(state.entries.len(), 2);
        assert!(state.live(&[1; 32], 0).is_none());
        assert_eq!(state.live(&[3; 32], 9_999).copied(), Some(3));
        assert!(state.live(&[3; 32], 10_000).is_none());
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
