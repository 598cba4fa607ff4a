//! A table split into independently locked shards, so that users (or connections) on
//! different cores never wait for each other.
//!
//! Lock order, which keeps the engine free of deadlocks: an operation holds at most one *user*
//! shard ([`super::Shard`]) at a time; while holding it, it may take *leaf* locks (the fan-out
//! tables, the connection table, the interner, the store's own), each only for a moment and never
//! while holding another leaf lock. Work on several users goes one user at a time.

use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

/// The hash map of the engine's tables: foldhash, seeded at random per process, several times
/// faster than std's SipHash on short keys (docs/benchmarks.md: CPU per delivery) and as safe
/// against keys chosen to collide.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The hash set of the engine's tables (see [`FastMap`]).
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// How many shards each table has: enough that 16 or more cores rarely meet on one lock, few
/// enough that a scan over all of them (the tick) stays cheap.
pub const SHARDS: usize = 64;

/// A fixed hasher: the shard of a key must not change while the process runs, and nothing
/// secret depends on it (the tables inside each shard use std's randomised hasher).
#[derive(Clone, Copy, Default)]
pub(crate) struct ShardHasher;

impl BuildHasher for ShardHasher {
    type Hasher = std::hash::DefaultHasher;
    fn build_hasher(&self) -> Self::Hasher {
        std::hash::DefaultHasher::new()
    }
}

/// The shard index of `key` among `SHARDS`.
pub(crate) fn shard_of<K: Hash + ?Sized>(key: &K) -> usize {
    (ShardHasher.hash_one(key) as usize) % SHARDS
}

/// `SHARDS` mutex-guarded values.
pub(crate) struct Sharded<T> {
    shards: Box<[Mutex<T>]>,
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Mutex::new(T::default())).collect(),
        }
    }
}

impl<T> Sharded<T> {
    /// Locks shard `index`. A panic while a shard was held leaves it as it was at the panic; we
    /// keep serving rather than take every user of the shard down with it.
    pub(crate) fn lock(&self, index: usize) -> MutexGuard<'_, T> {
        self.shards[index % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the shard that holds `key`.
    pub(crate) fn lock_for<K: Hash + ?Sized>(&self, key: &K) -> MutexGuard<'_, T> {
        self.lock(shard_of(key))
    }
}
