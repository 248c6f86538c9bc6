//! The introspection result cache.
//!
//! * Keyed by the SHA-256 digest of the token: the token itself is never stored, so a memory
//!   dump of the cache yields nothing that could be replayed.
//! * An entry lives no longer than `min(max_ttl, exp - now)`: the cache never extends a token's
//!   life. Entries are dropped when read after their deadline.
//! * Bounded: when full, expired entries are swept first (at most once per second), then the
//!   oldest insertions are evicted.
//! * A `std::sync::Mutex` guards the state; it is held only for map operations, never across an
//!   `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::auth_info::AuthInfo;

/// The SHA-256 digest of a token.
pub(crate) type CacheKey = [u8; 32];

/// How often, at most, a full cache scans for expired entries before evicting the oldest.
const SWEEP_INTERVAL_MS: u64 = 1_000;

/// A bounded, time-limited map from token digests to verified [`AuthInfo`].
#[derive(Debug)]
pub(crate) struct TokenCache {
    max_entries: usize,
    max_ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<CacheKey, Entry>,
    /// Insertion order: `(key, seq)`; an item whose `seq` differs from the entry's is stale.
    order: VecDeque<(CacheKey, u64)>,
    next_seq: u64,
    last_sweep_ms: Option<u64>,
}

#[derive(Debug)]
struct Entry {
    info: AuthInfo,
    /// Unix milliseconds from which the entry must no longer be served.
    expires_at_ms: u64,
    seq: u64,
}

impl TokenCache {
    /// A cache of at most `max_entries` entries, each kept at most `max_ttl`. `None` when either
    /// is zero (caching disabled).
    pub(crate) fn new(max_entries: usize, max_ttl: Duration) -> Option<Self> {
        (max_entries > 0 && !max_ttl.is_zero()).then(|| Self {
            max_entries,
            max_ttl,
            state: Mutex::new(State::default()),
        })
    }

    /// The cache key of `token`.
    pub(crate) fn key(token: &str) -> CacheKey {
        Sha256::digest(token.as_bytes()).into()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic elsewhere mid-operation; the map itself stays usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached result for `key`, if it is still live at `now_ms` (Unix milliseconds).
    pub(crate) fn get(&self, key: &CacheKey, now_ms: u64) -> Option<AuthInfo> {
        let mut state = self.lock();
        match state.entries.get(key) {
            Some(entry) if entry.expires_at_ms > now_ms => Some(entry.info.clone()),
            Some(_) => {
                state.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `info` for `key` until `min(now + max_ttl, exp)`; nothing is stored when that
    /// deadline is already reached. Returns whether the entry was stored.
    pub(crate) fn insert(&self, key: CacheKey, info: AuthInfo, now_ms: u64) -> bool {
        let ttl_ms = u64::try_from(self.max_ttl.as_millis()).unwrap_or(u64::MAX);
        let mut expires_at_ms = now_ms.saturating_add(ttl_ms);
        if let Some(exp) = info.expires_at_unix() {
            expires_at_ms = expires_at_ms.min(exp.saturating_mul(1000));
        }
        if expires_at_ms <= now_ms {
            return false;
        }
        let mut state = self.lock();
        if !state.entries.contains_key(&key) && state.entries.len() >= self.max_entries {
            Self::make_room(&mut state, self.max_entries, now_ms);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.order.push_back((key, seq));
        state.entries.insert(
            key,
            Entry {
                info,
                expires_at_ms,
                seq,
            },
        );
        // Replaced and read-expired entries leave stale order items; keep the queue bounded.
        if state.order.len() > self.max_entries.saturating_mul(2).max(16) {
            let State { entries, order, .. } = &mut *state;
            order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
        true
    }

    /// Frees at least one slot: expired entries first, then the oldest insertions.
    fn make_room(state: &mut State, max_entries: usize, now_ms: u64) {
        let sweep_due = state
            .last_sweep_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= SWEEP_INTERVAL_MS);
        if sweep_due {
            state.last_sweep_ms = Some(now_ms);
            let State { entries, order, .. } = state;
            entries.retain(|_, e| e.expires_at_ms > now_ms);
            order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
        while state.entries.len() >= max_entries {
            let Some((key, seq)) = state.order.pop_front() else {
                // Unreachable while every entry has an order item; never loop forever.
                break;
            };
            if state.entries.get(&key).is_some_and(|e| e.seq == seq) {
                state.entries.remove(&key);
            }
        }
    }

    /// The number of entries held (live or not yet swept).
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_info::TokenKind;

    fn info(exp: Option<u64>) -> AuthInfo {
        AuthInfo::from(crate::auth_info::TokenFacts {
            issuer: "https://as.example.com".into(),
            subject: Some("alice".into()),
            client_id: None,
            audiences: Vec::new(),
            scopes: Vec::new(),
            expires_at: exp,
            issued_at: None,
            token_id: None,
            claims: Default::default(),
            kind: TokenKind::Opaque,
        })
    }

    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn zero_disables() {
        assert!(TokenCache::new(0, Duration::from_secs(60)).is_none());
        assert!(TokenCache::new(10, Duration::ZERO).is_none());
    }

    #[test]
    fn key_is_a_digest_not_the_token() {
        let key = TokenCache::key("opaque-token-value");
        assert_eq!(key.len(), 32);
        assert_ne!(&key[..18], b"opaque-token-value".as_slice());
        assert_ne!(key, TokenCache::key("opaque-token-valuf"));
    }

    #[test]
    fn rs45_entry_never_outlives_exp() {
        let cache = TokenCache::new(10, Duration::from_secs(60)).unwrap();
        let key = TokenCache::key("t");
        let exp = T0 / 1000 + 10;
        assert!(cache.insert(key, info(Some(exp)), T0));
        assert!(cache.get(&key, T0 + 9_999).is_some());
        assert!(cache.get(&key, T0 + 10_000).is_none());
        assert_eq!(cache.len(), 0, "an expired entry is dropped when read");
    }

    #[test]
    fn rs45_entry_never_outlives_max_ttl() {
        let cache = TokenCache::new(10, Duration::from_secs(5)).unwrap();
        let key = TokenCache::key("t");
        assert!(cache.insert(key, info(Some(T0 / 1000 + 3600)), T0));
        assert!(cache.get(&key, T0 + 4_999).is_some());
        assert!(cache.get(&key, T0 + 5_000).is_none());
        let no_exp = TokenCache::key("no-exp");
        assert!(cache.insert(no_exp, info(None), T0));
        assert!(cache.get(&no_exp, T0 + 5_000).is_none());
    }

    #[test]
    fn an_already_expired_result_is_not_stored() {
        let cache = TokenCache::new(10, Duration::from_secs(60)).unwrap();
        assert!(!cache.insert(TokenCache::key("t"), info(Some(T0 / 1000)), T0));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn full_cache_evicts_expired_entries_first() {
        let cache = TokenCache::new(3, Duration::from_secs(60)).unwrap();
        let (a, b, c, d) = (
            TokenCache::key("a"),
            TokenCache::key("b"),
            TokenCache::key("c"),
            TokenCache::key("d"),
        );
        cache.insert(a, info(None), T0);
        // `b` is newer than `a` but expires first.
        cache.insert(b, info(Some(T0 / 1000 + 2)), T0);
        cache.insert(c, info(None), T0);
        cache.insert(d, info(None), T0 + 3_000);
        assert_eq!(cache.len(), 3);
        assert!(
            cache.get(&a, T0 + 3_000).is_some(),
            "the oldest live entry stays"
        );
        assert!(cache.get(&b, T0 + 3_000).is_none());
        assert!(cache.get(&d, T0 + 3_000).is_some());
    }

    #[test]
    fn full_cache_evicts_the_oldest_when_nothing_expired() {
        let cache = TokenCache::new(2, Duration::from_secs(60)).unwrap();
        let keys: Vec<_> = (0..5).map(|i| TokenCache::key(&i.to_string())).collect();
        for (i, key) in keys.iter().enumerate() {
            cache.insert(*key, info(None), T0 + i as u64);
            assert!(cache.len() <= 2);
        }
        assert!(cache.get(&keys[2], T0 + 10).is_none());
        assert!(cache.get(&keys[3], T0 + 10).is_some());
        assert!(cache.get(&keys[4], T0 + 10).is_some());
    }

    #[test]
    fn replacing_an_entry_keeps_the_order_queue_bounded() {
        let cache = TokenCache::new(2, Duration::from_secs(60)).unwrap();
        let key = TokenCache::key("same");
        for i in 0..1_000 {
            cache.insert(key, info(None), T0 + i);
        }
        assert_eq!(cache.len(), 1);
        assert!(cache.lock().order.len() <= 16);
        // The survivor is the latest insertion and is still evictable in order.
        cache.insert(TokenCache::key("x"), info(None), T0 + 2_000);
        cache.insert(TokenCache::key("y"), info(None), T0 + 2_001);
        assert!(cache.get(&key, T0 + 2_002).is_none());
        assert_eq!(cache.len(), 2);
    }
}
