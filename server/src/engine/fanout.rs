//! The tables a change is routed by: who watches each user (subscribers, and owners who have
//! them as a friend), and which connections each user holds on this node.
//!
//! Leaf locks (see [`super::sharded`]): kept apart from the users' own shards so that a change
//! of one user can be routed to thousands of watchers without taking any of their locks, and so
//! that a user's subscribe or friend import updates its targets' entries while holding only its
//! own lock. The tables cover the users this engine has loaded; a user who is not loaded has no
//! connection here, so no change needs to reach them.

use std::sync::Arc;

use super::sharded::{FastMap, FastSet, Sharded};
use super::types::{ConnId, UserKey};

#[derive(Default)]
struct Watchers {
    subscribers: FastSet<Arc<str>>,
    friend_owners: FastSet<Arc<str>>,
}

impl Watchers {
    fn is_empty(&self) -> bool {
        self.subscribers.is_empty() && self.friend_owners.is_empty()
    }
}

/// Which set of watchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watch {
    Subscription,
    Friend,
}

#[derive(Default)]
pub(crate) struct Fanout {
    watchers: Sharded<FastMap<UserKey, Watchers>>,
    local: Sharded<FastMap<UserKey, Vec<ConnId>>>,
}

impl Fanout {
    /// Records that `watcher` (of the same app) watches `target`.
    pub(crate) fn watch(&self, target: UserKey, watcher: &Arc<str>, how: Watch) {
        let mut table = self.watchers.lock_for(&target);
        let entry = table.entry(target).or_default();
        match how {
            Watch::Subscription => entry.subscribers.insert(watcher.clone()),
            Watch::Friend => entry.friend_owners.insert(watcher.clone()),
        };
    }

    /// Forgets that `watcher` watches `target` that way.
    pub(crate) fn unwatch(&self, target: &UserKey, watcher: &str, how: Watch) {
        let mut table = self.watchers.lock_for(target);
        let Some(entry) = table.get_mut(target) else {
            return;
        };
        match how {
            Watch::Subscription => entry.subscribers.remove(watcher),
            Watch::Friend => entry.friend_owners.remove(watcher),
        };
        if entry.is_empty() {
            table.remove(target);
        }
    }

    /// Who watches `target` that way.
    pub(crate) fn watchers(&self, target: &UserKey, how: Watch) -> Vec<Arc<str>> {
        let table = self.watchers.lock_for(target);
        table
            .get(target)
            .map(|w| match how {
                Watch::Subscription => w.subscribers.iter().cloned().collect(),
                Watch::Friend => w.friend_owners.iter().cloned().collect(),
            })
            .unwrap_or_default()
    }

    /// Adds a logged-in connection of `key`.
    pub(crate) fn add_local(&self, key: &UserKey, conn: ConnId) {
        let mut table = self.local.lock_for(key);
        let conns = table.entry(key.clone()).or_default();
        // Most users hold one connection: room for one, not four.
        conns.reserve_exact(1);
        conns.push(conn);
    }

    /// Removes a connection of `key`.
    pub(crate) fn remove_local(&self, key: &UserKey, conn: ConnId) {
        let mut table = self.local.lock_for(key);
        if let Some(conns) = table.get_mut(key) {
            conns.retain(|&c| c != conn);
            if conns.is_empty() {
                table.remove(key);
            }
        }
    }

    /// Appends the logged-in connections of `key` to `out`.
    pub(crate) fn local_into(&self, key: &UserKey, out: &mut Vec<ConnId>) {
        if let Some(conns) = self.local.lock_for(key).get(key) {
            out.extend_from_slice(conns);
        }
    }

    /// The logged-in connections of `key`.
    pub(crate) fn local(&self, key: &UserKey) -> Vec<ConnId> {
        let mut out = Vec::new();
        self.local_into(key, &mut out);
        out
    }
}
