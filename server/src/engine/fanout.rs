//! The tables a change is routed by: who watches each user (subscribers, and owners who have
//! them as a friend), and which connections each user holds on this node.
//!
//! Leaf locks (see [`super::sharded`]): kept apart from the users' own shards so that a change
//! of one user can be routed to thousands of watchers without taking any of their locks, and so
//! that a user's subscribe or friend import updates its targets' entries while holding only its
//! own lock. The tables cover the users this engine has loaded; a user who is not loaded has no
//! connection here, so no change needs to reach them.

use std::sync::Arc;

use super::authority::Authority;
use super::sharded::{FastMap, FastSet, Sharded};
use super::types::{ConnId, UserKey};

/// Why a node cares about a user's changes: the user is connected here, or watched from here.
const CONNECTED: u8 = 1;
const WATCHED: u8 = 2;

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
    /// In a cluster: who hears when this node starts or stops caring about a user, and why it
    /// cares about each user it does ([`CONNECTED`], [`WATCHED`]).
    interest: Option<Arc<dyn Authority>>,
    reasons: Sharded<FastMap<UserKey, u8>>,
}

impl Fanout {
    /// Tells `authority` from now on which users this node cares about.
    pub(crate) fn set_interest(&mut self, authority: Arc<dyn Authority>) {
        self.interest = Some(authority);
    }

    /// Notes that a reason to care about `key` began (`on`) or ended. Called holding the lock
    /// of the table the reason lives in, so that the reasons of one user change in order (the
    /// reasons' lock is taken only inside those, never the other way round).
    fn care(&self, key: &UserKey, reason: u8, on: bool) {
        let Some(interest) = &self.interest else {
            return;
        };
        let mut reasons = self.reasons.lock_for(key);
        let had = reasons.get(key).copied().unwrap_or(0);
        let has = if on { had | reason } else { had & !reason };
        if has == 0 {
            reasons.remove(key);
        } else {
            reasons.insert(key.clone(), has);
        }
        if (had == 0) != (has == 0) {
            interest.interest(key, has != 0);
        }
    }

    /// Records that `watcher` (of the same app) watches `target`.
    pub(crate) fn watch(&self, target: UserKey, watcher: &Arc<str>, how: Watch) {
        let mut table = self.watchers.lock_for(&target);
        if !table.contains_key(&target) {
            self.care(&target, WATCHED, true);
        }
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
            self.care(target, WATCHED, false);
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

    /// Adds a logged-in connection of `key`; answers whether it is the user's first here.
    pub(crate) fn add_local(&self, key: &UserKey, conn: ConnId) -> bool {
        let mut table = self.local.lock_for(key);
        let first = !table.contains_key(key);
        if first {
            self.care(key, CONNECTED, true);
        }
        let conns = table.entry(key.clone()).or_default();
        // Most users hold one connection: room for one, not four.
        conns.reserve_exact(1);
        conns.push(conn);
        first
    }

    /// Removes a connection of `key`.
    pub(crate) fn remove_local(&self, key: &UserKey, conn: ConnId) {
        let mut table = self.local.lock_for(key);
        if let Some(conns) = table.get_mut(key) {
            conns.retain(|&c| c != conn);
            if conns.is_empty() {
                table.remove(key);
                self.care(key, CONNECTED, false);
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
