//! Who receives a change (N1, N2), and what a device must hold after (re)connecting (N4).

use std::collections::BTreeSet;

use super::settings::{AppSettings, Edition};
use super::store::Store;
use super::types::{ConnId, StatusChange, UserKey, UserStatus};
use super::Engine;

impl AppSettings {
    /// Whether subscriptions are served: the Ultimate edition with the status switch on. When an
    /// app loses either, its subscribers stop receiving changes but keep their subscriptions.
    pub fn subscriptions_active(&self) -> bool {
        self.edition == Edition::Ultimate && self.status_enabled
    }
}

impl<S: Store> Engine<S> {
    /// The connections of this node that receive `change` (N1): every logged-in device of the
    /// user who changed, of their subscribers, and of users who have them as a friend when
    /// friend notification is on. Each connection appears once (N2), in a stable order.
    pub fn route(&self, change: &StatusChange) -> Vec<ConnId> {
        let key = change.key();
        let Some(app) = self.store.app(change.app) else {
            return Vec::new();
        };
        // Benchmark profile (docs/benchmarks.md): collecting the watchers into a set of cloned
        // names first cost more than the lookups; the sort and dedup of the connections below
        // already give each connection once, in a stable order.
        let mut conns: Vec<ConnId> = Vec::new();
        let mut add = |user: &str| {
            if let Some(local) = self.local.get(&UserKey::new(key.app, user)) {
                conns.extend_from_slice(local);
            }
        };
        add(&key.user);
        if app.subscriptions_active() {
            for user in self.store.subscribers_of(&key) {
                add(&user);
            }
        }
        if app.friend_status_notify {
            for user in self.store.friend_owners_of(&key) {
                add(&user);
            }
        }
        conns.sort_unstable();
        conns.dedup();
        conns
    }

    /// Everyone whose changes `key` receives, besides themself.
    pub fn watched_by(&self, key: &UserKey, app: &AppSettings) -> Vec<String> {
        let mut watched: BTreeSet<String> = BTreeSet::new();
        if app.subscriptions_active() {
            if let Some(record) = self.store.user(key) {
                watched.extend(record.subscriptions);
            }
        }
        if app.friend_status_notify {
            watched.extend(self.store.friends_of(key));
        }
        watched.remove(&key.user);
        watched.into_iter().collect()
    }

    /// The user's own status, then the status of everyone they watch.
    pub(crate) fn snapshot(&self, key: &UserKey, app: &AppSettings) -> Vec<UserStatus> {
        let mut statuses = vec![self.status_of(key)];
        statuses.extend(
            self.watched_by(key, app)
                .into_iter()
                .map(|user| self.status_of(&UserKey::new(key.app, user))),
        );
        statuses
    }
}
