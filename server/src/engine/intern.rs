//! One shared copy of every user ID the engine keeps in its tables.
//!
//! A user watched by thousands is named in thousands of subscription lists and watcher sets;
//! interning makes each of those a pointer to one allocation (docs/benchmarks.md: memory per
//! subscription). IDs nobody holds any more are dropped a shard at a time by the tick.

use std::sync::Arc;

use super::sharded::{FastSet, Sharded};

#[derive(Default)]
pub(crate) struct Interner {
    names: Sharded<FastSet<Arc<str>>>,
}

impl Interner {
    /// The shared copy of `name`.
    pub(crate) fn intern(&self, name: &str) -> Arc<str> {
        let mut names = self.names.lock_for(name);
        if let Some(shared) = names.get(name) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        names.insert(shared.clone());
        shared
    }

    /// Forgets the names of shard `index` that only the interner still holds.
    pub(crate) fn purge(&self, index: usize) {
        self.names
            .lock(index)
            .retain(|name| Arc::strong_count(name) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sharded::{shard_of, SHARDS};

    #[test]
    fn one_copy_while_held_none_after() {
        let names = Interner::default();
        let a = names.intern("alice");
        let b = names.intern("alice");
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        names.purge(shard_of("alice"));
        for i in 0..SHARDS {
            assert!(names.names.lock(i).is_empty());
        }
    }
}
