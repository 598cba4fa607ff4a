//! The engine in a cluster: several nodes serve the same apps, and a shared authority (Redis,
//! in the server's `cluster` module) holds every user's record. The rules are still decided
//! here, once: a node takes the user's cluster-wide lock, adopts the record the cluster holds,
//! decides as it always does, and writes the result back before it lets go. Other nodes hear
//! of the change ([`Engine::apply_remote`]) and deliver it to their own connections, deciding
//! what each of their watchers sees from the same two records the writer had.
//!
//! Without an authority (one node on its own store) nothing here runs.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, MutexGuard};

use super::fanout::Watch;
use super::settings::RateLimit;
use super::store::{Store, UserRecord};
use super::types::{CloseReason, Millis, StatusChange, UserKey};
use super::{track_deadlines, Engine, Shard};

/// The cluster's shared state of users, as a node's engine uses it. Every call may block on the
/// network; implementations retry what a short outage explains and report the rest.
pub trait Authority: Send + Sync {
    /// This node's incarnation: unique in the cluster and never reused, it tags the devices
    /// whose connections this node holds, so that the devices of a node that died can be told
    /// apart from those that moved elsewhere.
    fn incarnation(&self) -> u64;
    /// Takes `key`'s cluster-wide lock (waiting while another node holds it) and answers the
    /// record the cluster holds (`None` for a user it has none of).
    fn lock(&self, key: &UserKey) -> Result<Option<UserRecord>, String>;
    /// Releases the lock [`Authority::lock`] took, unless a write released it already.
    fn unlock(&self, key: &UserKey);
    /// The records of `keys` as the cluster holds them, without locks, in the order asked.
    fn read(&self, keys: &[UserKey]) -> Result<Vec<Option<UserRecord>>, String>;
    /// Writes the record of a user this node holds the lock of, tells every node that listens
    /// for the user, and releases the lock (an operation writes once, as its last step). `friends_before` is the user's friend list before this change
    /// when the friend list changed (the nodes where the user is connected route by it).
    fn write(&self, key: &UserKey, record: &UserRecord, friends_before: Option<&[String]>);
    /// Counts a call against a per-user sliding window shared by every node (Q4); a refused
    /// call is not counted.
    fn try_acquire(&self, key: &UserKey, api: &str, limit: RateLimit, now: Millis) -> bool;
    /// This node starts (`true`) or stops caring about `key`'s changes: a connection here is
    /// the user's own, or watches them. Must not block: it is called under the engine's locks.
    fn interest(&self, key: &UserKey, on: bool);
}

/// How a record adopted from the cluster was read.
#[derive(Clone, Copy)]
pub(crate) enum Read<'a> {
    /// Under the user's cluster-wide lock: the latest.
    UnderLock,
    /// Heard on the bus (with the owner's friend list before the change, when it changed),
    /// or read without the lock.
    Heard(Option<&'a [String]>),
}

/// A user's shard, locked, and in a cluster the user's cluster-wide lock too (released first
/// when dropped, so that another node waits no longer than it must).
pub(crate) struct UserLock<'a> {
    _held: Held<'a>,
    shard: MutexGuard<'a, Shard>,
}

/// The cluster-wide lock of one user, released when dropped.
pub(crate) struct Held<'a> {
    lock: Option<(&'a dyn Authority, UserKey)>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some((authority, key)) = self.lock.take() {
            authority.unlock(&key);
        }
    }
}

impl Deref for UserLock<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        &self.shard
    }
}

impl DerefMut for UserLock<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        &mut self.shard
    }
}

impl<S: Store> Engine<S> {
    /// Runs this engine as one node of a cluster over `authority`. Call before serving.
    pub fn with_authority(mut self, authority: Arc<dyn Authority>) -> Engine<S> {
        self.fanout.set_interest(authority.clone());
        self.authority = Some(authority);
        self
    }

    /// Whether this engine is a node of a cluster.
    pub fn clustered(&self) -> bool {
        self.authority.is_some()
    }

    /// The incarnation devices connected here are tagged with (0 on a node on its own).
    pub(crate) fn incarnation(&self) -> u64 {
        self.authority.as_ref().map_or(0, |a| a.incarnation())
    }

    /// Locks `key`'s shard, and in a cluster takes the user's cluster-wide lock and adopts the
    /// record the cluster holds, so that what the caller decides starts from the truth.
    pub(crate) fn lock_user(&self, key: &UserKey) -> UserLock<'_> {
        let mut shard = self.users.lock_for(key);
        let held = self.hold(&mut shard, key);
        UserLock { _held: held, shard }
    }

    /// In a cluster, takes `key`'s cluster-wide lock and adopts the record the cluster holds;
    /// `shard` must be `key`'s, locked. If the authority cannot be reached (it already waited
    /// out what a restart or a pause takes), the node goes on with what it knows, and its writes
    /// are refused until the authority answers again: said in the log, and counted.
    pub(crate) fn hold(&self, shard: &mut Shard, key: &UserKey) -> Held<'_> {
        let Some(authority) = self.authority.as_deref() else {
            return Held { lock: None };
        };
        match authority.lock(key) {
            Ok(record) => {
                self.adopt(shard, key, record, Read::UnderLock);
                Held {
                    lock: Some((authority, key.clone())),
                }
            }
            Err(why) => {
                tracing::error!(app = key.app, user = %key.user, "cannot lock the user in the cluster: {why}");
                Held { lock: None }
            }
        }
    }

    /// A change another node made (or this one, heard back): `record` is what the cluster now
    /// holds for `key`. Delivers to this node's connections what each of them sees change, and
    /// ends the sessions here whose device the change took away (a kick on another node, L2).
    pub fn apply_remote(
        &self,
        key: &UserKey,
        record: UserRecord,
        friends_before: Option<Vec<String>>,
    ) {
        let key = self.key(key.app, &key.user);
        let mut shard = self.users.lock_for(&key);
        if let Some(before) = &friends_before {
            self.follow_friends(&key, before);
        }
        self.adopt(
            &mut shard,
            &key,
            Some(record),
            Read::Heard(friends_before.as_deref()),
        );
    }

    /// Reads `keys` again from the cluster and adopts what changed: after this node
    /// (re)subscribed to their changes, whatever was published before may have been missed
    /// (N3, N4 across nodes).
    pub fn reread(&self, keys: &[UserKey]) {
        let Some(authority) = &self.authority else {
            return;
        };
        for chunk in keys.chunks(256) {
            match authority.read(chunk) {
                Ok(records) => {
                    for (key, record) in chunk.iter().zip(records) {
                        let key = self.key(key.app, &key.user);
                        let mut shard = self.users.lock_for(&key);
                        self.adopt(&mut shard, &key, record, Read::Heard(None));
                    }
                }
                Err(why) => tracing::error!("cannot read users again from the cluster: {why}"),
            }
        }
    }

    /// This node (re)subscribed to the channels of `keys`: reads them again ([`Engine::reread`]),
    /// and follows the friend lists of those connected here as the cluster holds them now. A
    /// friend import made elsewhere is told on the owner's channel; published before this
    /// node's subscription to it was in place (just after the owner logged in here, or while
    /// the subscriber reconnected), it was missed, and the owner was never routed their new
    /// friends' changes (F1). Removals missed that way are not undone here: a friend's changes
    /// routed to the owner's connections are still only what the owner may see.
    pub fn resync(&self, keys: &[UserKey]) {
        self.reread(keys);
        if self.authority.is_none() {
            return;
        }
        for key in keys {
            let key = self.key(key.app, &key.user);
            // Under the user's shard, as a login or the last logout changes what is followed.
            let _shard = self.users.lock_for(&key);
            if !self.is_live(&key) {
                continue;
            }
            for friend in self.store.friends_of(&key) {
                self.fanout
                    .watch(self.key(key.app, &friend), &key.user, Watch::Friend);
            }
        }
    }

    /// Turns OFFLINE the devices of `key` that a node which died (`incarnation`) held (its
    /// lease lapsed): what its connections closing would have done (D1). Devices that moved to
    /// another node since are untouched. Answers how many devices it turned OFFLINE.
    pub fn reap_node(&self, key: &UserKey, incarnation: u64, now: Millis) -> usize {
        let key = self.key(key.app, &key.user);
        let mut shard = self.lock_user(&key);
        let before = self.record(&mut shard, &key);
        let mut record = before.clone();
        let mut platforms = Vec::new();
        for device in record.devices.values_mut() {
            if device.online && device.node == incarnation {
                device.online = false;
                device.node = 0;
                device.offline_since = Some(now);
                platforms.push(device.platform);
            }
        }
        if platforms.is_empty() {
            return 0;
        }
        self.commit(&mut shard, &key, record, now);
        for platform in &platforms {
            let event = self.device_event(
                &key,
                super::Action::Disconnect,
                super::Reason::LinkClose,
                *platform,
                now,
            );
            self.emit(event);
        }
        platforms.len()
    }

    /// Reads every app's settings again from the store (another node changed one, F2). Apps
    /// the store does not answer are kept: apps are never deleted, and a store that lost them
    /// (a Redis restarted empty) or cannot be read must not take them from a running node.
    pub fn reload_apps(&self) {
        let fresh = self.store.apps();
        let mut apps = self.apps.write().unwrap_or_else(|e| e.into_inner());
        for app in fresh {
            apps.insert(app.sdk_app_id, Arc::new(app));
        }
    }

    /// Makes `fresh`, what the cluster holds for `key`, this node's record of the user, when it
    /// is newer than what the node has: delivers to this node's connections what they see
    /// change, keeps the fan-out tables and deadlines in step, and ends the sessions here whose
    /// device is no longer theirs. `shard` must be `key`'s, locked.
    pub(crate) fn adopt(
        &self,
        shard: &mut Shard,
        key: &UserKey,
        fresh: Option<UserRecord>,
        read: Read<'_>,
    ) {
        let friends_before = match read {
            Read::Heard(friends_before) => friends_before,
            Read::UnderLock => None,
        };
        let Some(mut after) = fresh else {
            return;
        };
        after.subscriptions = after
            .subscriptions
            .iter()
            .map(|id| self.names.intern(id))
            .collect();
        // A user this node never had a record of was shown to its watchers here as never
        // seen (version 0, see `Engine::unknown`): what changed is told against that.
        let before = shard.records.get(key).cloned().unwrap_or_default();
        let newer = match read {
            // The latest there is: whatever this node has that differs is stale (or a write of
            // its own that was refused).
            Read::UnderLock => after != before,
            // Heard on the bus or read without the lock: a change delayed on the way must not
            // roll this node back.
            Read::Heard(_) => after.revision > before.revision,
        };
        if !newer && friends_before.is_none() {
            return;
        }
        if after.version > before.version {
            let deliveries: Vec<(super::UserStatus, Option<Vec<u64>>)> =
                if before.hides() || after.hides() {
                    let mut scratch = after.clone();
                    self.publish(key, &before, &mut scratch, after.version, friends_before)
                        .into_iter()
                        .map(|(status, to)| (status, Some(to)))
                        .collect()
                } else if after.status_type() != before.status_type()
                    || after.custom_status != before.custom_status
                {
                    vec![(after.status(&key.user), None)]
                } else {
                    Vec::new()
                };
            for (status, to) in deliveries {
                let change = StatusChange {
                    app: key.app,
                    status,
                };
                let to = to.unwrap_or_else(|| self.route(&change));
                self.sink.changed(&change, &to);
            }
        }
        self.go_on_with(shard, key, &before, after);
    }

    /// Keeps `after` as `key`'s record from now on: the fan-out tables follow its
    /// subscriptions while the user is connected here, its deadlines are tracked, and sessions
    /// here whose device it no longer holds online on this node end.
    fn go_on_with(&self, shard: &mut Shard, key: &UserKey, before: &UserRecord, after: UserRecord) {
        if self.is_live(key) && before.subscriptions != after.subscriptions {
            self.resubscribe(key, &before.subscriptions, &after.subscriptions);
        }
        track_deadlines(shard, key, &after);
        let me = self.incarnation();
        for conn in self.fanout.local(key) {
            let Some(session) = self.conns.session(conn) else {
                continue;
            };
            let reason = match after.devices.get(&session.device_id) {
                Some(d) if d.online && d.node == me => continue,
                // Online on another node: the same device logged in there.
                Some(d) if d.online => CloseReason::Replaced,
                // Turned OFFLINE while this node could not renew its lease: never resurrected.
                Some(_) => CloseReason::Replaced,
                // Taken away by a login elsewhere (L2).
                None => CloseReason::Kicked,
            };
            self.end_session(conn, reason);
            self.went_away(key, &after);
        }
        shard.records.insert(key.clone(), after);
    }

    /// Whether `key` holds a logged-in connection on this node.
    pub(crate) fn is_live(&self, key: &UserKey) -> bool {
        !self.fanout.local(key).is_empty()
    }

    /// `key` got its first connection on this node: in a cluster, the node starts routing the
    /// changes of everyone the user watches (a node listens only for what its connections
    /// watch). A node on its own routes for every loaded user all along.
    pub(crate) fn came_online_here(&self, key: &UserKey, record: &UserRecord) {
        if self.authority.is_some() {
            self.follow_watched(key, record);
        }
    }

    /// `key`'s last connection on this node is gone (when it has none left): in a cluster,
    /// the node stops routing for the user.
    pub(crate) fn went_away(&self, key: &UserKey, record: &UserRecord) {
        if self.authority.is_none() || self.is_live(key) {
            return;
        }
        for target in record.subscriptions.iter() {
            self.fanout.unwatch(
                &UserKey::new(key.app, target.clone()),
                &key.user,
                Watch::Subscription,
            );
        }
        for friend in self.store.friends_of(key) {
            self.fanout
                .unwatch(&UserKey::new(key.app, friend), &key.user, Watch::Friend);
        }
    }

    /// Another node changed `key`'s friend list from `before` to what the store holds now: a
    /// user connected here is routed their friends' changes by the new list.
    fn follow_friends(&self, key: &UserKey, before: &[String]) {
        if !self.is_live(key) {
            return;
        }
        let now = self.store.friends_of(key);
        for gone in before.iter().filter(|f| !now.contains(f)) {
            self.fanout.unwatch(
                &UserKey::new(key.app, gone.as_str()),
                &key.user,
                Watch::Friend,
            );
        }
        for new in now.iter().filter(|f| !before.contains(f)) {
            self.fanout
                .watch(self.key(key.app, new), &key.user, Watch::Friend);
        }
    }

    /// In a cluster, the records of `keys` as the cluster holds them, adopted (a read answers
    /// the truth of the whole cluster); nothing on a node on its own.
    pub(crate) fn refresh_for_read(&self, keys: &[UserKey]) {
        if self.authority.is_some() {
            self.reread(keys);
        }
    }
}
