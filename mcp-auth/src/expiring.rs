//! The one bounded, expiring map of the crate's caches: verified and refused tokens (keyed by the
//! SHA-256 of a token's signature segment), introspection results (of the token) and downstream
//! tokens (of the caller's token, the audience and the scopes).
//!
//! A cache may forget: an entry it drops costs a miss, never a wrong answer. So the map holds
//! these invariants, and no more:
//! - **an entry is never served at or past its deadline** (read as absent, and dropped);
//! - **it holds at most `max_entries`**: a new key beyond that evicts the oldest insertion, in
//!   amortized `O(1)` (a queue of insertions; items of replaced or dropped entries are skipped,
//!   and the queue is compacted when it grows to twice the bound);
//! - a `std::sync::Mutex` guards it, held for one map operation, never across an `.await`.
//!
//! Claim-once stores (a DPoP proof's `jti`, sessions, tasks, handles) must never forget, so
//! they are another type: [`MemoryStore`](crate::binding::MemoryStore).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// The SHA-256 digest an entry is keyed by.
pub(crate) type Digest = [u8; 32];

/// A bounded map from digests to values with deadlines (Unix milliseconds).
pub(crate) struct ExpiringMap<V> {
    max_entries: usize,
    state: Mutex<State<V>>,
}

/// The map's contents, while its lock is held.
pub(crate) struct State<V> {
    entries: HashMap<Digest, Entry<V>>,
    /// Insertion order: `(key, seq)`; an item whose `seq` differs from the entry's is stale.
    order: VecDeque<(Digest, u64)>,
    next_seq: u64,
}

struct Entry<V> {
    value: V,
    deadline_ms: u64,
    seq: u64,
}

impl<V> ExpiringMap<V> {
    /// A map of at most `max_entries` (at least one).
    pub(crate) fn new(max_entries: usize) -> Self {
        Self {
            max_entries: max_entries.max(1),
            state: Mutex::new(State {
                entries: HashMap::new(),
                order: VecDeque::new(),
                next_seq: 0,
            }),
        }
    }

    /// The contents, locked for one operation.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<V>> {
        // A poisoned lock means a panic elsewhere mid-operation; every operation leaves the map
        // consistent before it can panic, so it stays usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `value` until `deadline_ms`; nothing when that is not after `now_ms`.
    pub(crate) fn insert(&self, key: Digest, value: V, deadline_ms: u64, now_ms: u64) {
        if deadline_ms <= now_ms {
            return;
        }
        let mut state = self.lock();
        if !state.entries.contains_key(&key) {
            state.evict_to(self.max_entries - 1);
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

    /// The number of entries held (live or not yet dropped).
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

impl<V> State<V> {
    /// The value for `key` if it is live at `now_ms`; a dead entry is dropped. One hash of the
    /// key either way.
    pub(crate) fn live(&mut self, key: &Digest, now_ms: u64) -> Option<&mut V> {
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

    /// Drops the entry of `key`, if any.
    pub(crate) fn remove(&mut self, key: &Digest) {
        self.entries.remove(key);
    }

    /// Evicts the oldest insertions until at most `len` entries are left.
    fn evict_to(&mut self, len: usize) {
        while self.entries.len() > len {
            let Some((key, seq)) = self.order.pop_front() else {
                // Unreachable while every entry has a queue item; never loop forever.
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

    #[test]
    fn the_oldest_insertion_is_evicted_and_deadlines_are_kept() {
        let map: ExpiringMap<u32> = ExpiringMap::new(2);
        map.insert([1; 32], 1, 10_000, 0);
        map.insert([2; 32], 2, 10_000, 0);
        map.insert([3; 32], 3, 10_000, 0);
        let mut state = map.lock();
        assert_eq!(state.entries.len(), 2);
        assert!(state.live(&[1; 32], 0).is_none(), "the oldest was evicted");
        assert_eq!(state.live(&[3; 32], 9_999).copied(), Some(3));
        assert!(
            state.live(&[3; 32], 10_000).is_none(),
            "dead at its deadline"
        );
        assert!(state.live(&[3; 32], 0).is_none(), "and dropped");
    }

    #[test]
    fn a_replaced_entry_keeps_its_place_and_the_queue_stays_bounded() {
        let map: ExpiringMap<u32> = ExpiringMap::new(4);
        for round in 0..1_000u32 {
            map.insert([7; 32], round, 10_000, 0);
        }
        map.insert([8; 32], 8, 10_000, 0);
        let state = map.lock();
        assert_eq!(state.entries.len(), 2);
        assert!(state.order.len() <= 16, "{} queue items", state.order.len());
    }

    #[test]
    fn nothing_is_stored_past_its_deadline() {
        let map: ExpiringMap<u32> = ExpiringMap::new(4);
        map.insert([1; 32], 1, 5, 5);
        assert_eq!(map.len(), 0);
    }
}
