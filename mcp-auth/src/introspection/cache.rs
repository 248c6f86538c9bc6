//! The introspection result cache.
//!
//! * Keyed by the SHA-256 digest of the token: the token itself is never stored, so a memory
//!   dump of the cache yields nothing that could be replayed.
//! * An entry lives no longer than `min(max_ttl, exp - now)`: the cache never extends a token's
//!   life. Entries are dropped when read after their deadline.
//! * Bounded: when full, the oldest insertion is evicted (the crate's one expiring map,
//!   [`crate::expiring`]).

use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::auth_info::AuthInfo;
use crate::expiring::{Digest, ExpiringMap};

/// A bounded, time-limited map from token digests to verified [`AuthInfo`].
pub(crate) struct TokenCache {
    max_ttl: Duration,
    map: ExpiringMap<AuthInfo>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sizes only: the entries hold claims.
        f.debug_struct("TokenCache")
            .field("entries", &self.map.len())
            .finish()
    }
}

impl TokenCache {
    /// A cache of at most `max_entries` entries, each kept at most `max_ttl`. `None` when either
    /// is zero (caching disabled).
    pub(crate) fn new(max_entries: usize, max_ttl: Duration) -> Option<Self> {
        (max_entries > 0 && !max_ttl.is_zero()).then(|| Self {
            max_ttl,
            map: ExpiringMap::new(max_entries),
        })
    }

    /// The cache key of `token`.
    pub(crate) fn key(token: &str) -> Digest {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The cached result for `key`, if it is still live at `now_ms` (Unix milliseconds).
    pub(crate) fn get(&self, key: &Digest, now_ms: u64) -> Option<AuthInfo> {
        self.map.lock().live(key, now_ms).cloned()
    }

    /// Stores `info` for `key` until `min(now + max_ttl, exp)`; nothing is stored when that
    /// deadline is already reached. Returns whether the entry was stored.
    pub(crate) fn insert(&self, key: Digest, info: AuthInfo, now_ms: u64) -> bool {
        let ttl_ms = u64::try_from(self.max_ttl.as_millis()).unwrap_or(u64::MAX);
        let mut deadline_ms = now_ms.saturating_add(ttl_ms);
        if let Some(exp) = info.expires_at_unix() {
            deadline_ms = deadline_ms.min(exp.saturating_mul(1000));
        }
        if deadline_ms <= now_ms {
            return false;
        }
        self.map.insert(key, info, deadline_ms, now_ms);
        true
    }

    /// The number of entries held (live or not yet dropped).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
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
}
