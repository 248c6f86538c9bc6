//! The key cache: an issuer's JSON Web Key Set, fetched from its `jwks_uri` only.
//!
//! * Keys come from the configured issuer's `jwks_uri` and nowhere else: never from a token's
//!   `jku`, `x5u`, `jwk` or `iss` (RFC 9068 §4; RFC 9728 §7.7 and MCP's SSRF guidance).
//! * Each key is parsed into a [`DecodingKey`] once per fetch, never per request. Readers take a
//!   snapshot (`Arc`) under a lock held only for the pointer copy. When the set has expired, one
//!   request refreshes it while the others keep verifying with the stale keys; requests wait on
//!   a fetch only when no key was ever loaded, or for an unknown `kid`.
//! * The set expires after the response's `Cache-Control: max-age`, bounded by
//!   [`JwksOptions::min_ttl`] and [`JwksOptions::max_ttl`].
//! * An unknown `kid` triggers one refresh: concurrent misses share a single fetch
//!   (single-flight), and no fetch starts within [`JwksOptions::cooldown`] of the previous one, so
//!   attacker-chosen `kid`s cannot turn the server into a load generator. The fetch runs as a
//!   task of its own, recorded when it starts: a request that is cancelled (its client hung up)
//!   neither cancels the fetch nor its cooldown; waiters come and go.
//! * A `kid` missing from a set fetched successfully is [`VerifyError::UnknownKey`] (`401`); a
//!   `kid` that could not be looked up because the fetch failed, or because the cooldown after
//!   a failed fetch runs, is [`VerifyError::Unavailable`] (`503` with `Retry-After`).
//! * A failed refresh keeps the keys we had, for at most [`JwksOptions::max_stale`] (default
//!   24 h) past their expiry; after that, tokens get `503` until a fetch succeeds.
//! * Redirects are not followed (with the default client): the keys come from the configured
//!   `jwks_uri` itself, never from where it points to, same origin or not.
//! * Symmetric (`kty: oct`) keys, keys whose `use` is not `sig` and keys of unsupported types
//!   are dropped when the set is parsed.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use headers::{CacheControl, HeaderMapExt};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::error::VerifyError;
use crate::notice::Throttle;

/// Tuning of a [`JwksCache`]. The defaults suit every provider we know.
#[derive(Debug, Clone)]
pub struct JwksOptions {
    pub(crate) cooldown: Duration,
    pub(crate) default_ttl: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_stale: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(10),
            default_ttl: Duration::from_secs(15 * 60),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
            timeout: Duration::from_secs(10),
            max_body_bytes: 512 * 1024,
            max_stale: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl JwksOptions {
    /// The minimum time between two fetches of the same JWKS (default 10 s). Unknown `kid`s
    /// within this window are rejected without a fetch.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// How long a set is used when the response has no `Cache-Control: max-age` (default 15 min).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// The floor applied to `max-age` (default 60 s).
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = ttl;
        self
    }

    /// The ceiling applied to `max-age` (default 24 h).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// The timeout of one fetch (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest JWKS document accepted (default 512 KiB).
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// How long past its expiry a set stays trusted while every refresh fails (default 24 h).
    /// After that, tokens are answered `503` ([`VerifyError::Unavailable`]) until a fetch
    /// succeeds: a key the issuer revoked long ago must not stay usable just because its
    /// `jwks_uri` went down.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    fn ttl_for(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default_ttl)
            .clamp(self.min_ttl, self.max_ttl.max(self.min_ttl))
    }
}

/// The family of a verification key, with the curve where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyFamily {
    fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (self, alg),
            (Self::Rsa, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
                | (Self::P256, ES256)
                | (Self::P384, ES384)
                | (Self::Ed25519, EdDSA)
        )
    }
}

/// One usable public key of a JWKS.
pub(crate) struct VerificationKey {
    kid: Option<String>,
    family: KeyFamily,
    /// The `alg` the JWK is bound to, when it states one.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl VerificationKey {
    /// Parses one JWK; `None` (with the reason) for keys that must not be used.
    fn from_jwk(value: Value) -> Result<Self, &'static str> {
        let jwk: Jwk = serde_json::from_value(value).map_err(|_| "not a supported JWK")?;
        match &jwk.common.public_key_use {
            None | Some(PublicKeyUse::Signature) => {}
            Some(_) => return Err("its `use` is not `sig`"),
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyFamily::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => KeyFamily::P256,
                EllipticCurve::P384 => KeyFamily::P384,
                _ => return Err("its curve is not supported"),
            },
            AlgorithmParameters::OctetKeyPair(p) => match p.curve {
                EllipticCurve::Ed25519 => KeyFamily::Ed25519,
                _ => return Err("its curve is not supported"),
            },
            AlgorithmParameters::OctetKey(_) => return Err("symmetric (`oct`) keys are refused"),
            _ => return Err("its key type is not supported"),
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => {
                Some(asymmetric_algorithm(a).ok_or("its `alg` is not an accepted algorithm")?)
            }
        };
        if alg.is_some_and(|a| !family.fits(a)) {
            return Err("its `alg` does not fit its key type");
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| "its key material is invalid")?;
        Ok(Self {
            kid: jwk.common.key_id,
            family,
            alg,
            key,
        })
    }

    /// Whether this key may verify a token signed with `alg` (family, curve and stated `alg`).
    fn fits(&self, alg: Algorithm) -> bool {
        self.family.fits(alg) && self.alg.is_none_or(|a| a == alg)
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

fn asymmetric_algorithm(a: KeyAlgorithm) -> Option<Algorithm> {
    Some(match a {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// A parsed key set and when it stops being fresh.
struct KeySet {
    keys: Vec<Arc<VerificationKey>>,
    /// Unix seconds after which the set is refreshed before use; 0 = never loaded.
    expires_at: u64,
    /// Unix seconds after which the set is no longer used at all (`expires_at` + `max_stale`).
    usable_until: u64,
    /// Bumped by every successful fetch; lets waiters see that a refresh happened.
    generation: u64,
}

/// The JWKS of one issuer, fetched on demand and cached.
pub struct JwksCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    issuer: String,
    jwks_uri: String,
    http: reqwest::Client,
    clock: SharedClock,
    options: JwksOptions,
    current: RwLock<Arc<KeySet>>,
    /// `current`'s generation and `expires_at`, readable without the lock (see
    /// [`JwksCache::fresh_generation`]); written after `current`, under its write lock, as a
    /// sequence lock whose sequence is the generation (0 while they change).
    published_generation: AtomicU64,
    published_expires_at: AtomicU64,
    refresh: Mutex<RefreshState>,
    /// The failed-fetch `warn`, once per interval (unknown `kid`s, which any client can send,
    /// start fetches; the cooldown alone may be short).
    failures: Throttle,
}

/// The result of one fetch, shared with every request waiting for it.
type Outcome = Result<Arc<KeySet>, String>;

/// Single-flight and cooldown bookkeeping. The fetch itself runs in a task of its own, so a
/// request that gives up (a client that hangs up) neither cancels it nor erases its cooldown.
#[derive(Default)]
struct RefreshState {
    /// When the last attempt started (while in flight) or ended (unix millis).
    last_attempt: Option<u64>,
    /// Why the last finished attempt failed; `None` when it succeeded (or none finished).
    last_failure: Option<String>,
    /// The fetch in flight, if any.
    in_flight: Option<watch::Receiver<Option<Outcome>>>,
}

/// What [`JwksCache::start_or_join`] found.
enum Refresh {
    /// A newer set than the caller saw is there already.
    Newer(Arc<KeySet>),
    /// A fetch is running (started by this call or earlier); its outcome will be sent here.
    Running {
        outcome: watch::Receiver<Option<Outcome>>,
        started_here: bool,
    },
    /// Within the cooldown of the last attempt; `failure` says why it failed, if it did.
    Cooldown {
        failure: Option<String>,
        remaining: Duration,
    },
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("issuer", &self.inner.issuer)
            .field("jwks_uri", &self.inner.jwks_uri)
            .field("keys", &self.inner.snapshot().keys.len())
            .finish_non_exhaustive()
    }
}

/// Why a key was not found, before it is turned into a [`VerifyError`].
enum Lookup {
    Found(Arc<VerificationKey>),
    Unknown,
    Ambiguous,
    Mismatch,
}

impl JwksCache {
    /// A cache for the keys of `issuer`, published at `jwks_uri`. Nothing is fetched until the
    /// first token needs a key (or [`JwksCache::refresh_now`] is called). Fetches run as tasks
    /// on the current Tokio runtime.
    pub fn new(
        issuer: impl Into<String>,
        jwks_uri: impl Into<String>,
        http: reqwest::Client,
        clock: SharedClock,
        options: JwksOptions,
    ) -> Self {
        Self {
            inner: Arc::new(CacheInner {
                issuer: issuer.into(),
                jwks_uri: jwks_uri.into(),
                http,
                clock,
                options,
                current: RwLock::new(Arc::new(KeySet {
                    keys: Vec::new(),
                    expires_at: 0,
                    usable_until: 0,
                    generation: 0,
                })),
                published_generation: AtomicU64::new(0),
                published_expires_at: AtomicU64::new(0),
                refresh: Mutex::new(RefreshState::default()),
                failures: Throttle::default(),
            }),
        }
    }

    /// The issuer these keys belong to.
    pub(crate) fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The key ids currently cached (keys without `kid` are left out).
    pub fn key_ids(&self) -> Vec<String> {
        self.inner
            .snapshot()
            .keys
            .iter()
            .filter_map(|k| k.kid.clone())
            .collect()
    }

    /// Checks the signature of the compact JWS `parts` with the key `kid` of this set for
    /// `alg` (see [`key_for`](Self::key_for)): the one signature check of tokens and signed
    /// answers. An empty or wrong signature is [`VerifyError::InvalidSignature`].
    pub(crate) async fn verify_signature(
        &self,
        parts: &crate::jws::Jws<'_>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(), VerifyError> {
        if parts.signature.is_empty() {
            return Err(VerifyError::InvalidSignature);
        }
        let key = self.key_for(kid, alg).await?;
        let verified = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signing_input.as_bytes(),
            key.decoding_key(),
            alg,
        )
        .unwrap_or(false);
        if verified {
            Ok(())
        } else {
            Err(VerifyError::InvalidSignature)
        }
    }

    /// The key that verifies a token with this `kid` and `alg`.
    ///
    /// * No set yet, or the set is past [`JwksOptions::max_stale`]: waits for a fetch; if it
    ///   fails (or failed within the cooldown), [`VerifyError::Unavailable`].
    /// * The set has expired: the first request starts a refresh and waits for it, falling back
    ///   to the stale set if it fails; concurrent requests use the stale set at once.
    /// * The `kid` is unknown: one (shared, rate-limited) refresh. A `kid` missing from a set
    ///   fetched successfully is [`VerifyError::UnknownKey`]; a `kid` that could not be looked
    ///   up because the fetch failed, or is in the cooldown after a failed fetch, is
    ///   [`VerifyError::Unavailable`].
    pub(crate) async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerificationKey>, VerifyError> {
        let inner = &self.inner;
        let mut set = inner.snapshot();
        let now = inner.clock.unix_seconds();
        if set.generation == 0 || set.usable_until <= now {
            set = self.refresh(set.generation, false).await?;
            if set.usable_until <= inner.clock.unix_seconds() {
                return Err(inner.unavailable(
                    "its keys are older than max_stale and could not be refreshed",
                    inner.options.cooldown,
                ));
            }
        } else if set.expires_at <= now
            && let Refresh::Running {
                outcome,
                started_here: true,
            } = self.start_or_join(set.generation, false)
            && let Ok(fresh) = Self::wait(outcome).await
        {
            // Stale keys: this request waited for the refresh it started; concurrent ones keep
            // using the stale set instead of queueing behind a slow authorization server.
            set = fresh;
        }
        match Self::lookup(&set, kid, alg) {
            Lookup::Found(key) => Ok(key),
            Lookup::Unknown if kid.is_some() => {
                // Maybe the issuer rotated its keys: one (rate-limited, shared) refresh.
                let fresh = self.refresh(set.generation, false).await?;
                match Self::lookup(&fresh, kid, alg) {
                    Lookup::Found(key) => Ok(key),
                    other => Err(Self::lookup_error(other)),
                }
            }
            other => Err(Self::lookup_error(other)),
        }
    }

    fn lookup_error(lookup: Lookup) -> VerifyError {
        match lookup {
            Lookup::Ambiguous => VerifyError::AmbiguousKey,
            Lookup::Mismatch => VerifyError::KeyMismatch,
            Lookup::Found(_) | Lookup::Unknown => VerifyError::UnknownKey,
        }
    }

    fn lookup(set: &KeySet, kid: Option<&str>, alg: Algorithm) -> Lookup {
        match kid {
            Some(kid) => {
                let mut named = set.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                let Some(first) = named.next() else {
                    return Lookup::Unknown;
                };
                // A kid normally names one key; if several share it, take the one that fits.
                std::iter::once(first)
                    .chain(named)
                    .find(|k| k.fits(alg))
                    .map_or(Lookup::Mismatch, |k| Lookup::Found(Arc::clone(k)))
            }
            None => {
                let mut fitting = set.keys.iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => Lookup::Found(Arc::clone(only)),
                    (Some(_), Some(_)) => Lookup::Ambiguous,
                    (None, _) => Lookup::Unknown,
                }
            }
        }
    }

    /// A set at least as new as the one after `seen_generation`: a newer one already there, the
    /// result of a running or new fetch, or (within the cooldown of a successful fetch) the
    /// current one. `Err` when the fetch failed or the cooldown follows a failed one.
    async fn refresh(&self, seen_generation: u64, force: bool) -> Result<Arc<KeySet>, VerifyError> {
        let inner = &self.inner;
        match self.start_or_join(seen_generation, force) {
            Refresh::Newer(set) => Ok(set),
            Refresh::Running { outcome, .. } => Self::wait(outcome)
                .await
                .map_err(|reason| inner.unavailable(&reason, inner.options.cooldown)),
            Refresh::Cooldown {
                failure: Some(reason),
                remaining,
            } => Err(inner.unavailable(
                &format!("the last attempt to fetch its keys failed ({reason})"),
                remaining,
            )),
            Refresh::Cooldown {
                failure: None,
                remaining,
            } => {
                let current = inner.snapshot();
                if current.generation == 0 {
                    Err(inner.unavailable("its keys were never fetched", remaining))
                } else {
                    Ok(current)
                }
            }
        }
    }

    /// Joins the fetch in flight, or starts one (unless `seen_generation` is outdated or, without
    /// `force`, the cooldown runs). The attempt is recorded when it starts, and the fetch runs
    /// as its own task: callers may stop waiting at any time without cancelling it.
    fn start_or_join(&self, seen_generation: u64, force: bool) -> Refresh {
        let inner = &self.inner;
        let mut state = inner.lock_state();
        let current = inner.snapshot();
        if current.generation != seen_generation {
            return Refresh::Newer(current);
        }
        if let Some(outcome) = &state.in_flight
            && outcome.has_changed().is_ok()
        {
            return Refresh::Running {
                outcome: outcome.clone(),
                started_here: false,
            };
        }
        let now = inner.now_millis();
        let cooldown = u64::try_from(inner.options.cooldown.as_millis()).unwrap_or(u64::MAX);
        if !force
            && let Some(at) = state.last_attempt
            && now.saturating_sub(at) < cooldown
        {
            return Refresh::Cooldown {
                failure: state.last_failure.clone(),
                remaining: Duration::from_millis(cooldown - now.saturating_sub(at)),
            };
        }
        let (sender, outcome) = watch::channel(None);
        state.in_flight = Some(outcome.clone());
        state.last_attempt = Some(now);
        drop(state);
        let task = Arc::clone(inner);
        tokio::spawn(async move {
            let result = task.fetch_and_store().await;
            crate::metric::fetched(crate::metric::JWKS_FETCHES, result.is_ok());
            {
                let mut state = task.lock_state();
                state.in_flight = None;
                // The cooldown runs from the end of the attempt: a fetch that hangs until its
                // timeout must not let the next request start another one at once.
                state.last_attempt = Some(task.now_millis());
                state.last_failure = result.as_ref().err().cloned();
            }
            if let Err(reason) = &result {
                match task.failures.admit() {
                    Some(suppressed) => tracing::warn!(
                        issuer = %task.issuer,
                        jwks_uri = %task.jwks_uri,
                        %reason,
                        suppressed,
                        "JWKS fetch failed (one line per interval; `suppressed` counts the others)"
                    ),
                    None => tracing::debug!(%reason, "JWKS fetch failed"),
                }
            }
            let _ = sender.send(Some(result));
        });
        Refresh::Running {
            outcome,
            started_here: true,
        }
    }

    /// The outcome of a running fetch.
    async fn wait(mut outcome: watch::Receiver<Option<Outcome>>) -> Outcome {
        match outcome.wait_for(Option::is_some).await {
            Ok(done) => done
                .clone()
                .unwrap_or_else(|| Err("the fetch ended without a result".to_owned())),
            Err(_) => Err("the fetch ended without a result".to_owned()),
        }
    }

    /// Fetches the set at once, ignoring the cooldown (for start-up checks), or joins the fetch
    /// in flight. Errors when the fetch fails, without dropping the keys already cached.
    pub async fn refresh_now(&self) -> Result<usize, VerifyError> {
        let generation = self.inner.snapshot().generation;
        let fresh = self.refresh(generation, true).await?;
        Ok(fresh.keys.len())
    }
}

impl CacheInner {
    fn snapshot(&self) -> Arc<KeySet> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc: the value is intact.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, RefreshState> {
        self.refresh.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_millis(&self) -> u64 {
        self.clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Fetches the set and, on success, publishes it as the next generation. Runs in the
    /// refresh task only (one at a time per cache).
    async fn fetch_and_store(&self) -> Result<Arc<KeySet>, String> {
        let (keys, max_age) = self.fetch().await?;
        let ttl = self.options.ttl_for(max_age);
        let expires_at = self.clock.unix_seconds().saturating_add(ttl.as_secs());
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let fresh = Arc::new(KeySet {
            keys,
            expires_at,
            usable_until: expires_at.saturating_add(self.options.max_stale.as_secs()),
            generation: guard.generation + 1,
        });
        *guard = Arc::clone(&fresh);
        // A sequence lock (one writer: this lock's holder): generation 0 while the pair changes,
        // so that no reader pairs one set's generation with another's expiry (see
        // `JwksCache::fresh_generation`).
        self.published_generation.store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        self.published_expires_at
            .store(fresh.expires_at, Ordering::Relaxed);
        self.published_generation
            .store(fresh.generation, Ordering::Release);
        drop(guard);
        tracing::debug!(
            issuer = %self.issuer,
            keys = fresh.keys.len(),
            ttl_secs = ttl.as_secs(),
            "fetched JWKS"
        );
        Ok(fresh)
    }

    fn unavailable(&self, reason: &str, retry_after: Duration) -> VerifyError {
        VerifyError::Unavailable {
            reason: format!("JWKS of {}: {reason}", self.issuer),
            retry_after: retry_after.max(Duration::from_secs(1)),
        }
    }

    /// One GET of the `jwks_uri`: the usable keys and the response's `max-age`.
    async fn fetch(&self) -> Result<(Vec<Arc<VerificationKey>>, Option<Duration>), String> {
        let max = self.options.max_body_bytes;
        let response = self
            .http
            .get(&self.jwks_uri)
            .header(
                http::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .timeout(self.options.timeout)
            .send()
            .await
            .map_err(|e| crate::http_client::describe(&e))?;
        let status = response.status();
        if status.is_redirection() {
            // The shared client follows no redirect: keys come from the configured URL only.
            return Err(format!(
                "{} answered HTTP {} (redirects are not followed)",
                self.jwks_uri,
                status.as_u16()
            ));
        }
        if !status.is_success() {
            return Err(format!(
                "{} answered HTTP {}",
                self.jwks_uri,
                status.as_u16()
            ));
        }
        let max_age = response
            .headers()
            .typed_get::<CacheControl>()
            .and_then(|cc| {
                if cc.no_store() || cc.no_cache() {
                    Some(Duration::ZERO)
                } else {
                    cc.max_age()
                }
            });
        let body = crate::http_client::read_limited(response, max)
            .await
            .map_err(|e| e.describe(max))?;
        let keys = parse_jwks(&body)?;
        Ok((keys, max_age))
    }
}

// Read-only checks for the verified-token cache (`verify/token_cache.rs`).
impl JwksCache {
    /// Whether the current key set, fresh at `now` (Unix seconds), still holds the key that
    /// verifies `alg` tokens with this `kid`, with that set's generation; `None` when the set is
    /// due for a refresh (the caller takes the full path).
    pub(crate) fn holds_fresh(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        now: u64,
    ) -> Option<(bool, u64)> {
        let set = self.inner.snapshot();
        if set.expires_at <= now {
            return None;
        }
        let holds = matches!(Self::lookup(&set, kid, alg), Lookup::Found(_));
        Some((holds, set.generation))
    }

    /// The generation of the current key set if it is fresh at `now` (Unix seconds), read
    /// without any lock or reference count: a verdict of [`holds_fresh`](Self::holds_fresh)
    /// with this generation still stands. `None` before the first fetch and when the set is due
    /// for a refresh.
    pub(crate) fn fresh_generation(&self, now: u64) -> Option<u64> {
        let inner = &self.inner;
        let generation = inner.published_generation.load(Ordering::Acquire);
        let expires_at = inner.published_expires_at.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        // Changed meanwhile (a set being published): not a consistent pair; the full path
        // decides (it waits for nothing but the set's own lock).
        if inner.published_generation.load(Ordering::Relaxed) != generation {
            return None;
        }
        (generation != 0 && expires_at > now).then_some(generation)
    }
}

/// Parses a JWKS document, keeping the keys that may verify signatures.
fn parse_jwks(body: &[u8]) -> Result<Vec<Arc<VerificationKey>>, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return Err("the JWKS has no `keys` array".to_owned());
    };
    let mut keys = Vec::with_capacity(entries.len());
    for entry in entries {
        let kid = entry
            .get("kid")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_owned();
        match VerificationKey::from_jwk(entry.clone()) {
            Ok(key) => keys.push(Arc::new(key)),
            Err(reason) => tracing::debug!(kid = %kid, reason, "skipping JWK"),
        }
    }
    if keys.is_empty() {
        return Err("the JWKS has no usable signature key".to_owned());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

    fn rsa(kid: &str, extra: Value) -> Value {
        let mut v = json!({"kty":"RSA","kid":kid,"n":RSA_N,"e":"AQAB"});
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        v
    }

    fn set(keys: Value) -> KeySet {
        KeySet {
            keys: parse_jwks(json!({ "keys": keys }).to_string().as_bytes()).unwrap(),
            expires_at: u64::MAX,
            usable_until: u64::MAX,
            generation: 1,
        }
    }

    #[test]
    fn oct_and_encryption_keys_are_dropped() {
        let keys = parse_jwks(
            json!({"keys":[
                {"kty":"oct","kid":"h","k":"c2VjcmV0"},
                rsa("enc", json!({"use":"enc"})),
                rsa("sig", json!({"use":"sig"})),
                {"kty":"EC","crv":"P-521","kid":"p521","x":"AA","y":"AA"},
                {"kty":"weird"},
            ]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("sig"));
    }

    #[test]
    fn a_set_without_usable_keys_is_an_error() {
        assert!(parse_jwks(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(parse_jwks(br#"{"keys":"nope"}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }

    #[test]
    fn stated_alg_must_equal_token_alg() {
        let s = set(json!([rsa("k1", json!({"alg":"RS256"}))]));
        assert!(matches!(
            JwksCache::lookup(&s, Some("k1"), Algorithm::RS256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            JwksCache::lookup(&s, Some("k1"), Algorithm::PS256),
            Lookup::Mismatch
        ));
        assert!(matches!(
            JwksCache::lookup(&s, Some("k1"), Algorithm::ES256),
            Lookup::Mismatch
        ));
        assert!(matches!(
            JwksCache::lookup(&s, Some("k2"), Algorithm::RS256),
            Lookup::Unknown
        ));
    }

    #[test]
    fn key_alg_must_fit_key_type() {
        assert!(
            parse_jwks(
                json!({"keys":[rsa("k", json!({"alg":"ES256"}))]})
                    .to_string()
                    .as_bytes()
            )
            .is_err()
        );
    }

    #[test]
    fn no_kid_needs_exactly_one_fitting_key() {
        let one = set(json!([rsa("a", json!({}))]));
        assert!(matches!(
            JwksCache::lookup(&one, None, Algorithm::RS256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            JwksCache::lookup(&one, None, Algorithm::ES256),
            Lookup::Unknown
        ));
        let two = set(json!([rsa("a", json!({})), rsa("b", json!({}))]));
        assert!(matches!(
            JwksCache::lookup(&two, None, Algorithm::RS256),
            Lookup::Ambiguous
        ));
    }

    #[test]
    fn ttl_is_bounded() {
        let o = JwksOptions::default();
        assert_eq!(o.ttl_for(None), Duration::from_secs(900));
        assert_eq!(o.ttl_for(Some(Duration::ZERO)), Duration::from_secs(60));
        assert_eq!(
            o.ttl_for(Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
        assert_eq!(
            o.ttl_for(Some(Duration::from_secs(10_000_000))),
            Duration::from_secs(86_400)
        );
    }
}
