//! Who receives a change (N1, N2), and what a device must hold after (re)connecting (N4).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::fanout::Watch;
use super::settings::{AppSettings, Edition};
use super::store::{Store, UserRecord};
use super::types::{ConnId, StatusChange, UserKey};
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
    /// friend notification is on. Each connection appears once (N2), in a stable order. Takes
    /// no user's lock: it reads the fan-out tables only. This is where a change goes when every
    /// audience sees the same; a user who hides something (X4) has each audience's share
    /// decided with the change, and the sink is told it.
    pub fn route(&self, change: &StatusChange) -> Vec<ConnId> {
        let Some(app) = self.app_opt(change.app) else {
            return Vec::new();
        };
        let key = UserKey::new(change.app, change.status.user_id.as_str());
        let mut conns: Vec<ConnId> = Vec::new();
        self.fanout.local_into(&key, &mut conns);
        let mut add = |how: Watch| {
            for watcher in self.fanout.watchers(&key, how) {
                self.fanout
                    .local_into(&UserKey::new(key.app, watcher), &mut conns);
            }
        };
        if app.subscriptions_active() {
            add(Watch::Subscription);
        }
        if app.friend_status_notify {
            add(Watch::Friend);
        }
        conns.sort_unstable();
        conns.dedup();
        conns
    }

    /// Everyone whose changes `key` receives, besides themself, in ID order. Called holding
    /// `key`'s lock (it reads the store's friends of `key`).
    pub(crate) fn watched_by(
        &self,
        key: &UserKey,
        record: &UserRecord,
        app: &AppSettings,
    ) -> Vec<Arc<str>> {
        let mut watched: BTreeSet<Arc<str>> = BTreeSet::new();
        if app.subscriptions_active() {
            watched.extend(record.subscriptions.iter().cloned());
        }
        if app.friend_status_notify {
            watched.extend(self.store.friends_of(key).into_iter().map(Arc::from));
        }
        watched.remove(&key.user);
        watched.into_iter().collect()
    }
}
