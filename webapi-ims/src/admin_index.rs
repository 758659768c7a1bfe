//! The hot cache's keys by admin, so that "forget what was decided for
//! this admin" (a change feed event, a revocation) costs the number of the
//! admin's tokens, not a walk over a cache of a million entries.
//!
//! The index follows the cache, never the other way round: a key is added
//! only while the cache holds it for that admin, and removed only while it
//! does not (both decided under the index shard's lock, with the cache's
//! answer read inside it). So an insert racing an eviction cannot leave a
//! cached entry unindexed, and a key left behind by a race is pruned the
//! next time its admin is looked up.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use crate::fingerprint::{Fingerprint, FingerprintHash};

/// Shards, so that concurrent inserts for different admins rarely wait on
/// each other.
const SHARDS: usize = 64;

type Keys = HashSet<Fingerprint, FingerprintHash>;

/// Admin id → the keys of their hot-cache entries.
pub(crate) struct AdminIndex {
    shards: Vec<Mutex<HashMap<i64, Keys>>>,
}

impl AdminIndex {
    pub(crate) fn new() -> Self {
        AdminIndex {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, admin: i64) -> std::sync::MutexGuard<'_, HashMap<i64, Keys>> {
        let index = usize::try_from(admin.unsigned_abs() % SHARDS as u64).unwrap_or(0);
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Indexes `key` under `admin` if `cached(key)` (the cache holds it for
    /// that admin), asked under the shard's lock.
    pub(crate) fn add_if(
        &self,
        key: Fingerprint,
        admin: i64,
        cached: impl FnOnce(&Fingerprint) -> bool,
    ) {
        let mut shard = self.shard(admin);
        if cached(&key) {
            shard.entry(admin).or_default().insert(key);
        }
    }

    /// Unindexes `key` from `admin` unless `cached(key)` (the cache holds it
    /// for that admin again), asked under the shard's lock.
    pub(crate) fn remove_unless(
        &self,
        key: Fingerprint,
        admin: i64,
        cached: impl FnOnce(&Fingerprint) -> bool,
    ) {
        let mut shard = self.shard(admin);
        if cached(&key) {
            return;
        }
        if let Some(keys) = shard.get_mut(&admin) {
            keys.remove(&key);
            if keys.is_empty() {
                shard.remove(&admin);
            }
        }
    }

    /// The keys indexed under `admin` (a copy: the caller consults the
    /// cache for each without holding the lock).
    pub(crate) fn keys_of(&self, admin: i64) -> Vec<Fingerprint> {
        self.shard(admin)
            .get(&admin)
            .map(|keys| keys.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Forgets everything (the cache was cleared).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }

    /// Keys indexed, over all admins.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .map(HashSet::len)
                    .sum::<usize>()
            })
            .sum()
    }
}
