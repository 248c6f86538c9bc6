//! [`MemoryStore`]: the in-process claim-once store.
//!
//! A claim is a promise, not a cached fact: while it lives, the id it names (a session, a task, a
//! state handle, a DPoP proof's `jti`) belongs to its owner, and forgetting it early hands the id
//! to whoever presents it next (for a proof: a replay is accepted). So this store holds four
//! invariants, which its tests check:
//!
//! 1. **A live claim is never dropped.** Nothing evicts: an entry leaves only when its own expiry
//!    has passed or its owner releases it.
//! 2. **A full store refuses, it does not make room.** A new claim beyond the capacity, once the
//!    expired entries are gone, fails with [`StoreError::Full`]; the layer answers `503` with
//!    `Retry-After`. Claims already made keep working (a claim of a live key answers its owner).
//! 3. **No one owner fills it.** An owner (a user) holds at most a share of the capacity
//!    ([`MemoryStore::per_owner_limit`], 1 % by default); beyond it, that owner's new claims fail
//!    with [`StoreError::OwnerFull`], and everyone else's go on.
//! 4. **Memory follows the live claims.** Expired entries are removed in expiry order as claims
//!    arrive (an ordered index, `O(log n)` each), never by scanning the whole store.
//!
//! Caches elsewhere in this crate (verified tokens, introspection results, keys) forget freely:
//! forgetting costs them a miss. They do not share a type with this store, so that no change to
//! one gives the other its semantics.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::{BindingKey, BindingStore, BoxFuture, Owner, StoreError};
use crate::clock::{Clock, SharedClock, SystemClock};

/// How many claims a [`MemoryStore`] holds by default.
pub(crate) const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// The longest a claim is held, whatever TTL it asks for (2³² seconds, about 136 years).
const MAX_TTL: Duration = Duration::from_secs(1 << 32);

/// The in-process [`BindingStore`], the default: up to a fixed number of live claims, none of
/// them ever dropped before its expiry.
///
/// When it holds `capacity` live claims, a new claim fails with [`StoreError::Full`] (the request
/// gets `503` with `Retry-After`, and a throttled `warn` names the capacity setting) until claims
/// expire or are released. Claims already made keep answering. One owner (one user: an issuer
/// and subject) holds at most [`per_owner_limit`](Self::per_owner_limit) claims, so that no
/// single user can fill the store for everyone.
///
/// **Sizing.** A claim lives for its TTL, so the store needs *claims per second × TTL* entries:
/// - DPoP proof ids (the replay store of [`DpopOptions`](crate::dpop::DpopOptions)) live for the
///   `iat` window plus the leeway (by default 300 s + 60 s, plus a second): the default 100 000
///   entries hold 277 DPoP requests per second, sustained. Set
///   [`DpopOptions::replay_capacity`](crate::dpop::DpopOptions::replay_capacity) to your peak
///   rate × 361 s. (Every proof has its own owner there, so the per-owner limit does not apply:
///   a client with a bound token that sends more than that rate fills the store, and DPoP
///   requests get `503` until its ids expire. Size for your peak, rate-limit clients in front,
///   or share a Redis.)
/// - Sessions live for the session TTL (24 h by default): 100 000 entries hold 1.15 new sessions
///   per second. Tasks and state handles live for their own TTLs.
///
/// An entry costs about 200 bytes (a 32-byte key digest, the 32-byte owner digest, the expiry,
/// and the same key once more in the expiry index), so 100 000 entries take about 20 MiB when
/// full, and nothing while empty.
///
/// Per process: behind a load balancer, use a shared store instead (see the
/// [module docs](super)); a `RedisStore` (feature `redis`) has no such bound, only Redis's
/// memory (run it with `maxmemory-policy noeviction`, so that a full Redis refuses writes
/// rather than evicting claims).
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    per_owner: usize,
    /// The setting that raises `capacity`, named in [`StoreError::Full`].
    setting: &'static str,
    clock: SharedClock,
    claims: Mutex<Claims>,
}

/// The live claims, by key digest, their expiry order, and how many each owner holds.
#[derive(Debug, Default)]
struct Claims {
    by_key: HashMap<[u8; 32], Claim>,
    /// `(expiry, key)` of every entry of `by_key`: the next to expire first.
    by_expiry: BTreeSet<(SystemTime, [u8; 32])>,
    /// Claims per owner; `None` when the per-owner limit cannot bind (it is at least the
    /// capacity, as for DPoP proofs, each of which is its own owner): nothing to count then.
    by_owner: Option<HashMap<Owner, usize>>,
}

#[derive(Debug, Clone, Copy)]
struct Claim {
    owner: Owner,
    expires: SystemTime,
}

impl Claims {
    /// The owner of `key` if its claim is live at `now`.
    fn live(&self, key: &[u8; 32], now: SystemTime) -> Option<Owner> {
        self.by_key
            .get(key)
            .filter(|claim| claim.expires > now)
            .map(|claim| claim.owner)
    }

    /// Removes every claim that expired at or before `now`, the earliest first.
    fn remove_expired(&mut self, now: SystemTime) {
        while let Some(&(expires, key)) = self.by_expiry.first() {
            if expires > now {
                break;
            }
            // The index and the map change together, so the entry is this claim; checked all
            // the same, so that a stale index entry can never remove a newer claim of its key.
            if self.by_key.get(&key).is_some_and(|c| c.expires == expires) {
                self.remove(&key);
            } else {
                self.by_expiry.pop_first();
            }
        }
    }

    fn insert(&mut self, key: [u8; 32], claim: Claim) {
        self.by_expiry.insert((claim.expires, key));
        self.by_key.insert(key, claim);
        if let Some(by_owner) = &mut self.by_owner {
            *by_owner.entry(claim.owner).or_default() += 1;
        }
    }

    fn remove(&mut self, key: &[u8; 32]) {
        let Some(claim) = self.by_key.remove(key) else {
            return;
        };
        self.by_expiry.remove(&(claim.expires, *key));
        if let Some(by_owner) = &mut self.by_owner
            && let Some(count) = by_owner.get_mut(&claim.owner)
        {
            *count -= 1;
            if *count == 0 {
                by_owner.remove(&claim.owner);
            }
        }
    }

    fn held_by(&self, owner: &Owner) -> usize {
        self.by_owner
            .as_ref()
            .and_then(|by_owner| by_owner.get(owner).copied())
            .unwrap_or(0)
    }

    /// How long until the first claim expires (at least a second).
    fn next_expiry(&self, now: SystemTime) -> Duration {
        self.by_expiry
            .first()
            .and_then(|(expires, _)| expires.duration_since(now).ok())
            .unwrap_or_default()
            .max(Duration::from_secs(1))
    }

    fn len(&self) -> usize {
        self.by_key.len()
    }

    /// No claims; owners counted when `counting`.
    fn counting_owners(counting: bool) -> Self {
        Self {
            by_owner: counting.then(HashMap::new),
            ..Self::default()
        }
    }
}

impl MemoryStore {
    /// A store of up to 100,000 live claims.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// A store of up to `capacity` live claims (at least one), of which one owner holds at most
    /// 1 % (at least one). See the sizing rule in the [type docs](Self).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            per_owner: (capacity / 100).max(1),
            setting: "MemoryStore::with_capacity",
            clock: Arc::new(SystemClock),
            claims: Mutex::new(Claims::counting_owners(capacity > 1)),
        }
    }

    /// How many live claims one owner (a user) may hold (default: 1 % of the capacity). Beyond
    /// it, that owner's new claims fail with [`StoreError::OwnerFull`]; others go on.
    pub fn per_owner_limit(mut self, limit: usize) -> Self {
        self.per_owner = limit.max(1);
        // A limit of at least the capacity never binds: the store refuses as full first.
        let counting = self.per_owner < self.capacity;
        let claims = self.claims.get_mut().unwrap_or_else(|e| e.into_inner());
        *claims = Claims::counting_owners(counting);
        self
    }

    /// Reads the time from `clock` (tests move a [`ManualClock`](crate::clock::ManualClock)).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.shared_clock(Arc::new(clock))
    }

    pub(crate) fn shared_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Names `setting` as the way to raise the capacity, in [`StoreError::Full`].
    pub(crate) fn capacity_setting(mut self, setting: &'static str) -> Self {
        self.setting = setting;
        self
    }

    /// How many claims the store holds now (expired ones not yet removed included).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, Claims> {
        // Every change of `Claims` completes before its guard is dropped, and none can panic
        // midway: a poisoned lock holds consistent claims.
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn claim_now(
        &self,
        key: &BindingKey,
        owner: Owner,
        ttl: Duration,
    ) -> Result<Owner, StoreError> {
        let now = self.clock.now();
        let mut claims = self.lock();
        if let Some(existing) = claims.live(key.digest(), now) {
            return Ok(existing);
        }
        claims.remove_expired(now);
        if claims.len() >= self.capacity {
            return Err(StoreError::Full {
                capacity: self.capacity,
                setting: self.setting,
                retry_after: claims.next_expiry(now),
            });
        }
        if claims.held_by(&owner) >= self.per_owner {
            return Err(StoreError::OwnerFull {
                limit: self.per_owner,
                setting: "MemoryStore::per_owner_limit",
            });
        }
        let expires = now
            .checked_add(ttl.min(MAX_TTL))
            .ok_or_else(|| StoreError::Unavailable {
                reason: "the clock is beyond the range of expiry times".into(),
            })?;
        claims.insert(*key.digest(), Claim { owner, expires });
        Ok(owner)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl BindingStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a BindingKey,
        owner: &'a Owner,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Owner, StoreError>> {
        Box::pin(std::future::ready(self.claim_now(key, *owner, ttl)))
    }

    fn owner<'a>(
        &'a self,
        key: &'a BindingKey,
    ) -> BoxFuture<'a, Result<Option<Owner>, StoreError>> {
        let owner = self.lock().live(key.digest(), self.clock.now());
        Box::pin(std::future::ready(Ok(owner)))
    }

    fn release<'a>(&'a self, key: &'a BindingKey) -> BoxFuture<'a, Result<(), StoreError>> {
        self.lock().remove(key.digest());
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::BindingKind;
    use crate::clock::ManualClock;

    fn key(id: &str) -> BindingKey {
        BindingKey::new("https://mcp.example/mcp", BindingKind::DpopProof, id)
    }

    fn owner(name: &str) -> Owner {
        Owner::new("https://i.example", name)
    }

    async fn claim(
        store: &MemoryStore,
        id: &str,
        who: &str,
        secs: u64,
    ) -> Result<Owner, StoreError> {
        store
            .claim(&key(id), &owner(who), Duration::from_secs(secs))
            .await
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_claims_and_keeps_every_live_one() {
        let clock = ManualClock::at_unix(1_000);
        let store = MemoryStore::with_capacity(3)
            .per_owner_limit(3)
            .clock(clock.clone());
        // A per-owner limit of the capacity cannot bind: nothing is counted per owner.
        assert!(store.lock().by_owner.is_none());
        for id in ["a", "b", "c"] {
            assert_eq!(
                claim(&store, id, "alice", 60).await.unwrap(),
                owner("alice")
            );
        }
        let full = claim(&store, "d", "mallory", 60).await.unwrap_err();
        assert!(
            matches!(
                full,
                StoreError::Full {
                    capacity: 3,
                    setting: "MemoryStore::with_capacity",
                    ..
                }
            ),
            "{full:?}"
        );
        assert_eq!(full.retry_after(), Some(Duration::from_secs(60)));
        assert!(
            full.to_string().contains("MemoryStore::with_capacity"),
            "{full}"
        );
        // The oldest claim is still held: presenting its id again still names its owner.
        assert_eq!(
            claim(&store, "a", "mallory", 60).await.unwrap(),
            owner("alice")
        );
        assert_eq!(store.owner(&key("a")).await.unwrap(), Some(owner("alice")));
    }

    #[tokio::test]
    async fn room_comes_back_as_claims_expire_or_are_released() {
        let clock = ManualClock::at_unix(1_000);
        let store = MemoryStore::with_capacity(2)
            .per_owner_limit(2)
            .clock(clock.clone());
        claim(&store, "short", "alice", 10).await.unwrap();
        claim(&store, "long", "alice", 100).await.unwrap();
        assert!(claim(&store, "x", "bob", 10).await.is_err());
        clock.advance(Duration::from_secs(10));
        assert_eq!(
            store.owner(&key("short")).await.unwrap(),
            None,
            "expired at its TTL exactly"
        );
        assert_eq!(claim(&store, "x", "bob", 10).await.unwrap(), owner("bob"));
        assert_eq!(store.len(), 2, "the expired claim was removed to make room");
        store.release(&key("x")).await.unwrap();
        assert_eq!(claim(&store, "y", "bob", 10).await.unwrap(), owner("bob"));
        assert_eq!(
            store.owner(&key("long")).await.unwrap(),
            Some(owner("alice"))
        );
    }

    #[tokio::test]
    async fn an_expired_claim_can_be_made_again_by_anyone() {
        let clock = ManualClock::at_unix(1_000);
        let store = MemoryStore::with_capacity(1).clock(clock.clone());
        claim(&store, "t", "alice", 5).await.unwrap();
        clock.advance(Duration::from_secs(5));
        assert_eq!(claim(&store, "t", "bob", 5).await.unwrap(), owner("bob"));
        assert_eq!(store.len(), 1);
    }

    /// A claim that expired and was made again, with a longer TTL, by another owner is that
    /// owner's until its own expiry: the first claim's expiry does not remove it.
    #[tokio::test]
    async fn a_claim_made_again_after_expiry_lives_its_own_ttl() {
        let clock = ManualClock::at_unix(1_000);
        let store = MemoryStore::with_capacity(10)
            .per_owner_limit(10)
            .clock(clock.clone());
        claim(&store, "t", "alice", 5).await.unwrap();
        clock.advance(Duration::from_secs(5));
        assert_eq!(claim(&store, "t", "bob", 60).await.unwrap(), owner("bob"));
        claim(&store, "other", "carol", 60).await.unwrap();
        clock.advance(Duration::from_secs(10));
        claim(&store, "later", "carol", 60).await.unwrap();
        assert_eq!(store.owner(&key("t")).await.unwrap(), Some(owner("bob")));
        assert_eq!(
            claim(&store, "t", "mallory", 60).await.unwrap(),
            owner("bob")
        );
    }

    /// One owner holds at most its share: beyond it, its new claims are refused and everyone
    /// else's go on; a released or expired claim gives the owner room again.
    #[tokio::test]
    async fn one_owner_cannot_fill_the_store_for_everyone() {
        let clock = ManualClock::at_unix(1_000);
        let store = MemoryStore::with_capacity(10)
            .per_owner_limit(2)
            .clock(clock.clone());
        claim(&store, "m1", "mallory", 30).await.unwrap();
        claim(&store, "m2", "mallory", 60).await.unwrap();
        let refused = claim(&store, "m3", "mallory", 60).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::OwnerFull { limit: 2, .. }),
            "{refused:?}"
        );
        assert_eq!(
            claim(&store, "a1", "alice", 60).await.unwrap(),
            owner("alice")
        );
        store.release(&key("m1")).await.unwrap();
        assert_eq!(
            claim(&store, "m3", "mallory", 60).await.unwrap(),
            owner("mallory")
        );
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            claim(&store, "m4", "mallory", 60).await.unwrap(),
            owner("mallory")
        );
        assert_eq!(MemoryStore::with_capacity(100_000).per_owner, 1_000);
        assert!(store.lock().by_owner.is_some());
    }

    /// Memory follows the live claims: a steady stream of short claims never grows the store
    /// past what one TTL holds, however long it runs.
    #[tokio::test]
    async fn expired_claims_are_removed_as_new_ones_arrive() {
        let clock = ManualClock::at_unix(1_000);
        let store = MemoryStore::with_capacity(1_000)
            .per_owner_limit(1_000)
            .clock(clock.clone());
        for i in 0..10_000 {
            claim(&store, &i.to_string(), "alice", 10).await.unwrap();
            clock.advance(Duration::from_millis(100));
        }
        assert!(store.len() <= 101, "{} claims held", store.len());
    }

    /// The rate at which the default capacity is reached by DPoP proofs, each held for the
    /// default window plus leeway and a second (361 s): measured by claiming that many fresh
    /// proof ids every second on a manual clock, for two windows. 277 a second are held
    /// indefinitely (99 997 live claims at most); at 278 a second the store fills.
    #[tokio::test]
    async fn the_default_capacity_holds_277_dpop_proofs_a_second() {
        async fn fills_at(per_second: u64) -> bool {
            let clock = ManualClock::at_unix(1_000);
            // Every proof has its own owner (as the DPoP verifier claims them).
            let store = MemoryStore::new()
                .per_owner_limit(usize::MAX)
                .clock(clock.clone());
            let mut next = 0u64;
            for _second in 0..2 * 361 {
                for _ in 0..per_second {
                    next += 1;
                    if claim(&store, &next.to_string(), "client", 361)
                        .await
                        .is_err()
                    {
                        return true;
                    }
                }
                clock.advance(Duration::from_secs(1));
            }
            false
        }
        assert!(!fills_at(277).await);
        assert!(fills_at(278).await);
    }
}
