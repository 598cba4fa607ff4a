//! The status engine: every rule of `behaviour.md`, decided once.
//!
//! Synchronous and free of I/O: no sockets, no threads, no clock. Each operation takes the time
//! `now` from its caller and answers directly; what it decides besides (changes to deliver,
//! connections to close) goes to the [`Sink`] it was built with.
//!
//! Users are independent, so the engine has no lock over all of them: each user's state lives
//! in one of [`sharded::SHARDS`] shards with a lock of its own, and any number of threads may
//! call the engine at once (`Engine` is `Sync`; every operation takes `&self`). One user's
//! operations are serialised by that user's shard lock, and the sink hears a user's changes
//! while that lock is held, so they arrive in the order they were made (N3). The lock order
//! that keeps this free of deadlocks is written down in [`sharded`].

mod admin;
mod authority;
mod census;
mod conns;
mod error;
mod fanout;
mod intern;
mod privacy;
mod query;
mod rate;
mod route;
mod session;
mod settings;
mod sharded;
mod sink;
mod status;
mod store;
mod subscription;
mod types;
mod view;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

pub use admin::{DeviceDetail, OnlineState};
pub use authority::Authority;
pub use census::AppCensus;
pub use error::{check_user_id, EngineError};
pub use session::{Login, LOGIN_TIMEOUT};
pub use settings::{AppSettings, Edition, MultiDevicePolicy, RateLimit};
pub use sharded::SHARDS;
pub use sink::{Recorder, Sink};
pub use status::MAX_CUSTOM_STATUS_EXPIRY;
pub use store::{DeviceRecord, Devices, Freeze, MemoryStore, Store, Subscriptions, UserRecord};
pub use types::{
    Action, Close, CloseReason, ConnId, DeviceEvent, Effects, Millis, Platform, Reason, SelfState,
    StatusChange, StatusType, UserKey, UserStatus, Visibility,
};

use conns::Conns;
use fanout::{Fanout, Watch};
use intern::Interner;
use rate::RateLimiter;
pub(crate) use sharded::{FastMap, Sharded};
use view::Viewer;

/// Longest custom status, in bytes of UTF-8 (C1).
pub const MAX_CUSTOM_STATUS_BYTES: usize = 100;

/// The status engine over a [`Store`].
pub struct Engine<S: Store = MemoryStore> {
    store: S,
    apps: RwLock<BTreeMap<u32, Arc<AppSettings>>>,
    /// Versions are `epoch << 32 | n`: a node that restarts with a higher epoch issues higher
    /// versions than anything it issued before, without writing a version per change.
    epoch: u64,
    /// When this engine started: what a user loaded from the store recovers from (L6).
    boot: Millis,
    users: Sharded<Shard>,
    conns: Conns,
    fanout: Fanout,
    names: Interner,
    sink: Arc<dyn Sink>,
    /// The sink when it is the engine's own [`Recorder`] (see [`Engine::take_effects`]).
    recorder: Option<Arc<Recorder>>,
    /// Where [`Engine::recover_some`] goes on; `None` once every kept user is loaded.
    recovery: Mutex<Option<Option<UserKey>>>,
    /// How long a connection may stay without logging in ([`LOGIN_TIMEOUT`] unless set).
    login_timeout: Millis,
    /// The cluster's shared state, when this engine is one node of a cluster.
    authority: Option<Arc<dyn Authority>>,
}

/// The users of one shard: their records, call windows and pending deadlines.
#[derive(Default)]
pub(crate) struct Shard {
    records: FastMap<UserKey, UserRecord>,
    rates: RateLimiter,
    /// Users with a pending retention deadline (an OFFLINE device, or subscriptions while away),
    /// so that [`Engine::tick`] visits only them, with the times those deadlines count from.
    timed: FastMap<UserKey, Deadlines>,
}

/// What a timed user's retention deadlines count from. The retention periods themselves are
/// read from the app at every tick, so that a changed setting applies at once (F2).
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    /// The earliest `offline_since` of the user's OFFLINE devices (L5).
    offline_since: Option<Millis>,
    /// `away_since`, while the user is away and holds subscriptions (S7).
    away_since: Option<Millis>,
    /// When the custom status expires (X9).
    custom_expires_at: Option<Millis>,
}

impl<S: Store> Engine<S> {
    /// Builds an engine over `store` that records its effects for [`Engine::take_effects`].
    /// `epoch` must grow with every start; users the store kept come back OFFLINE until their
    /// devices reconnect (L6), with their retention counting from `now`.
    pub fn new(store: S, epoch: u32, now: Millis) -> Engine<S> {
        let recorder = Arc::new(Recorder::default());
        let mut engine = Engine::with_sink(store, epoch, now, recorder.clone());
        engine.recorder = Some(recorder);
        engine
    }

    /// Builds an engine that hands its effects to `sink` as it decides them. Reads only the
    /// apps from the store: users are loaded when first needed, so a start costs the same
    /// however many users the store holds.
    pub fn with_sink(store: S, epoch: u32, now: Millis, sink: Arc<dyn Sink>) -> Engine<S> {
        let apps = store
            .apps()
            .into_iter()
            .map(|a| (a.sdk_app_id, Arc::new(a)))
            .collect();
        Engine {
            store,
            apps: RwLock::new(apps),
            epoch: u64::from(epoch.max(1)),
            boot: now,
            users: Sharded::default(),
            conns: Conns::default(),
            fanout: Fanout::default(),
            names: Interner::default(),
            sink,
            recorder: None,
            recovery: Mutex::new(Some(None)),
            login_timeout: LOGIN_TIMEOUT,
            authority: None,
        }
    }

    /// Sets how long a connection may stay without logging in, counted from its accept (or its
    /// logout), whatever it sends meanwhile.
    pub fn with_login_timeout(mut self, login_timeout: Millis) -> Engine<S> {
        self.login_timeout = login_timeout;
        self
    }

    /// Loads up to `limit` more of the users the store kept from earlier runs; answers whether
    /// some are left. A server calls it in the background after starting, so that the deadlines
    /// of users nobody asks about (L5, S7) still come due, while the start itself reads no user.
    pub fn recover_some(&self, limit: usize) -> bool {
        let mut cursor = self.recovery.lock().unwrap_or_else(|e| e.into_inner());
        let Some(after) = cursor.as_ref() else {
            return false;
        };
        let keys = self.store.user_keys_after(after.as_ref(), limit);
        for key in &keys {
            let key = self.key(key.app, &key.user);
            let mut shard = self.lock_user(&key);
            self.existing(&mut shard, &key);
        }
        *cursor = if keys.len() < limit {
            None
        } else {
            keys.last().cloned().map(Some)
        };
        cursor.is_some()
    }

    /// Loads every user the store kept (what [`Engine::recover_some`] does bit by bit).
    pub fn recover_all(&self) {
        while self.recover_some(1024) {}
    }

    /// The store, for reads by the embedding server and tests.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Takes what the operations since the last call decided beyond their answers, when the
    /// engine records them ([`Engine::new`]); empty otherwise.
    pub fn take_effects(&self) -> Effects {
        self.recorder.as_ref().map(|r| r.take()).unwrap_or_default()
    }

    fn app(&self, sdk_app_id: u32) -> Result<Arc<AppSettings>, EngineError> {
        self.app_opt(sdk_app_id).ok_or_else(|| {
            EngineError::new(
                crate::codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
                format!("no app with sdkAppID {sdk_app_id} on this server"),
            )
        })
    }

    fn app_opt(&self, sdk_app_id: u32) -> Option<Arc<AppSettings>> {
        self.apps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sdk_app_id)
            .cloned()
    }

    fn all_apps(&self) -> Vec<Arc<AppSettings>> {
        self.apps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The engine's key for a user: the ID interned.
    fn key(&self, app: u32, user: &str) -> UserKey {
        UserKey {
            app,
            user: self.names.intern(user),
        }
    }

    /// The user's record, loaded from the store (or made empty) if this engine has not seen
    /// them yet. `shard` must be `key`'s, locked.
    fn record<'a>(&self, shard: &'a mut Shard, key: &UserKey) -> &'a mut UserRecord {
        if !shard.records.contains_key(key) {
            let record = self
                .recover_unless_clustered(key)
                .unwrap_or_else(|| UserRecord {
                    version: self.baseline(),
                    ..UserRecord::default()
                });
            self.loaded(shard, key, record);
        }
        shard.records.get_mut(key).expect("loaded above")
    }

    /// The user's record if the user was ever seen, loading it from the store if need be;
    /// nothing is kept for a user who never was (a query for random IDs costs no memory).
    fn existing<'a>(&self, shard: &'a mut Shard, key: &UserKey) -> Option<&'a UserRecord> {
        if !shard.records.contains_key(key) {
            let record = self.recover_unless_clustered(key)?;
            self.loaded(shard, key, record);
        }
        shard.records.get(key)
    }

    /// What the store kept of a user, brought back (L6); nothing in a cluster, where the
    /// authority holds the live record and [`Engine::lock_user`] adopted it already.
    fn recover_unless_clustered(&self, key: &UserKey) -> Option<UserRecord> {
        if self.authority.is_some() {
            None
        } else {
            self.recover(key)
        }
    }

    /// A user's record as the store kept it, brought back as L6 says: every device OFFLINE
    /// (they reconnect), no custom status (C3), a version above any of an earlier run (N3) for
    /// every view (X12), and retention counting from this start for devices that were online
    /// when the last run ended, whose last seen is this start (X3) (written back, so that a
    /// later restart does not move it again).
    fn recover(&self, key: &UserKey) -> Option<UserRecord> {
        let kept = self.store.user(key)?;
        let mut record = kept.clone();
        let mut was_online = false;
        for device in record.devices.values_mut() {
            device.online = false;
            if device.offline_since.is_none() {
                // Online when the last run ended: its connection is gone. The app's backend
                // hears it, marked as caused by the restart (so it can be paced).
                was_online = true;
                device.offline_since = Some(self.boot);
                let event = self.device_event(
                    key,
                    Action::Disconnect,
                    Reason::LinkClose,
                    device.platform,
                    self.boot,
                );
                self.emit(DeviceEvent {
                    recovered: true,
                    ..event
                });
            }
        }
        record.custom_status.clear();
        record.custom_expires_at = None;
        if was_online {
            // When the last run stopped is not known: this start is the first moment the
            // user is known to be away (X3).
            record.last_seen = Some(self.boot);
        }
        record.version = self.baseline();
        let frozen = record.clone();
        view::refreeze(&frozen, &mut record, self.boot);
        for freeze in [&mut record.invisible_freeze, &mut record.visibility_freeze]
            .into_iter()
            .flatten()
        {
            freeze.version = self.baseline();
        }
        record.away_since.get_or_insert(self.boot);
        record.subscriptions = record
            .subscriptions
            .iter()
            .map(|id| self.names.intern(id))
            .collect();
        if !record.same_durable_state(&kept) {
            self.store.put_user(key, &record);
        }
        Some(record)
    }

    /// Makes a record live: its subscriptions and friends route changes to it from now on.
    fn loaded(&self, shard: &mut Shard, key: &UserKey, record: UserRecord) {
        // A node of a cluster routes only for users connected to it (`came_online_here`).
        if self.authority.is_none() {
            self.follow_watched(key, &record);
        }
        track_deadlines(shard, key, &record);
        shard.records.insert(key.clone(), record);
    }

    /// Tells the sink what happened to a device, with the app's settings of this moment (the
    /// webhook's address lives there and may change at any time, F2).
    fn emit(&self, event: DeviceEvent) {
        if let Some(app) = self.app_opt(event.app) {
            self.sink.device_event(&event, &app);
        }
    }

    /// An event of `key`'s device on `platform`, with no connection, kick or custom status yet.
    fn device_event(
        &self,
        key: &UserKey,
        action: Action,
        reason: Reason,
        platform: Platform,
        at: Millis,
    ) -> DeviceEvent {
        DeviceEvent {
            app: key.app,
            user: key.user.to_string(),
            action,
            reason,
            platform,
            conn: None,
            kicked: Vec::new(),
            custom_status: String::new(),
            at,
            recovered: false,
        }
    }

    /// The version of every user this run has no record of, and the one a record loaded or
    /// made in this run starts from: above any version an earlier run (a lower epoch) issued,
    /// so that no version goes back across a restart (N3).
    fn baseline(&self) -> u64 {
        self.epoch << 32
    }

    /// The status of a user without a record: UNLOGINED (Q5), at the baseline version.
    fn unknown(&self, user: &str) -> UserStatus {
        // In a cluster, nodes have different baselines: a user nobody ever changed is at 0
        // everywhere, below the first version any node gives them.
        let version = if self.authority.is_some() {
            0
        } else {
            self.baseline()
        };
        UserStatus {
            version,
            ..UserStatus::never_logged_in(user)
        }
    }

    /// The current status of any user of an app, as the user's own devices see it: the truth
    /// and the user's switches (X4).
    pub fn status_of(&self, key: &UserKey) -> UserStatus {
        let mut shard = self.lock_user(key);
        self.existing(&mut shard, key)
            .map(|r| r.own_status(&key.user))
            .unwrap_or_else(|| self.unknown(&key.user))
    }

    /// The statuses of several users of one app as `viewer` sees them (X4), in the order
    /// given: each shard is locked once for all of its users, and no two at a time.
    fn statuses_of<'a>(
        &self,
        app: u32,
        users: impl IntoIterator<Item = &'a str>,
        viewer: &str,
    ) -> Vec<UserStatus> {
        let keys: Vec<UserKey> = users.into_iter().map(|u| UserKey::new(app, u)).collect();
        self.refresh_for_read(&keys);
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&i| sharded::shard_of(&keys[i]));
        let mut out: Vec<Option<UserStatus>> = vec![None; keys.len()];
        let mut current: Option<(usize, MutexGuard<'_, Shard>)> = None;
        for i in order {
            let index = sharded::shard_of(&keys[i]);
            if current.as_ref().map(|(c, _)| *c) != Some(index) {
                // One shard at a time: let go of the last before taking the next.
                drop(current.take());
                current = Some((index, self.users.lock(index)));
            }
            let (_, shard) = current.as_mut().expect("locked above");
            let key = &keys[i];
            let status = match self.existing(shard, key) {
                Some(record) if record.hides() => self.view_for(key, record, Viewer::User(viewer)),
                Some(record) if *key.user == *viewer => record.own_status(&key.user),
                Some(record) => record.status(&key.user),
                None => self.unknown(&key.user),
            };
            out[i] = Some(status);
        }
        out.into_iter()
            .map(|s| s.expect("every index visited"))
            .collect()
    }

    /// Stores a changed record, applying the rules every change obeys: the custom status is
    /// cleared when the user leaves ONLINE (C3), and with it its expiry (X9); leaving ONLINE is
    /// the last seen (X1); the freezes follow the switches (X6, X10); a change of what an
    /// audience sees gets a higher version and goes to the sink, routed to that audience (N1,
    /// N3, X4); and nothing else is sent (C4). The store hears of it when the durable part
    /// changed. `shard` must be `key`'s, locked.
    fn commit(&self, shard: &mut Shard, key: &UserKey, mut record: UserRecord, now: Millis) {
        let before = self.record(shard, key);
        let status_type = record.status_type();
        if status_type != StatusType::Online {
            record.custom_status.clear();
            record.away_since.get_or_insert(now);
            if before.status_type() == StatusType::Online {
                record.last_seen = Some(now);
            }
        } else {
            record.away_since = None;
        }
        if record.custom_status.is_empty() {
            record.custom_expires_at = None;
        }
        let fresh = before.version.max(record.version).max(self.baseline()) + 1;
        let deliveries = if before.hides() || record.hides() {
            view::refreeze(before, &mut record, now);
            self.publish(key, before, &mut record, fresh, None)
                .into_iter()
                .map(|(status, to)| (status, Some(to)))
                .collect()
        } else if status_type != before.status_type()
            || record.custom_status != before.custom_status
        {
            // Everyone sees the truth: one change, to everyone who watches.
            record.version = fresh;
            vec![(record.status(&key.user), None)]
        } else {
            Vec::new()
        };
        let durable = !record.same_durable_state(before);
        if record.subscriptions != before.subscriptions
            && (self.authority.is_none() || self.is_live(key))
        {
            self.resubscribe(key, &before.subscriptions, &record.subscriptions);
        }
        match &self.authority {
            Some(authority) if record != *before => {
                record.revision = before.revision + 1;
                authority.write(key, &record, None)
            }
            Some(_) => {}
            None if durable => self.store.put_user(key, &record),
            None => {}
        }
        track_deadlines(shard, key, &record);
        shard.records.insert(key.clone(), record);
        for (status, to) in deliveries {
            let change = StatusChange {
                app: key.app,
                status,
            };
            let to = to.unwrap_or_else(|| self.route(&change));
            self.sink.changed(&change, &to);
        }
    }

    /// The user's friend list changed from `friends_before` to what the store holds now, and
    /// with it who may see them (X11): nothing of the user changed, but the watchers who may
    /// now see them, or no longer, are pushed their new view. `shard` must be `key`'s, locked.
    fn reveal(&self, shard: &mut Shard, key: &UserKey, friends_before: &[String]) {
        let before = self.record(shard, key);
        let mut record = before.clone();
        let fresh = before.version.max(self.baseline()) + 1;
        let deliveries = self.publish(key, before, &mut record, fresh, Some(friends_before));
        // Only versions moved, and they are not durable; but the cluster's nodes route by the
        // friend list that changed.
        if let Some(authority) = &self.authority {
            record.revision += 1;
            authority.write(key, &record, Some(friends_before));
        }
        shard.records.insert(key.clone(), record);
        for (status, to) in deliveries {
            self.sink.changed(
                &StatusChange {
                    app: key.app,
                    status,
                },
                &to,
            );
        }
    }
}

impl<S: Store> Engine<S> {
    /// Routes to `key` the changes of everyone `record` subscribes to and of the user's
    /// friends.
    fn follow_watched(&self, key: &UserKey, record: &UserRecord) {
        for target in record.subscriptions.iter() {
            self.fanout.watch(
                UserKey::new(key.app, target.clone()),
                &key.user,
                Watch::Subscription,
            );
        }
        for friend in self.store.friends_of(key) {
            self.fanout
                .watch(self.key(key.app, &friend), &key.user, Watch::Friend);
        }
    }

    /// Keeps the fan-out tables in step with a user's subscriptions.
    fn resubscribe(&self, key: &UserKey, before: &Subscriptions, after: &Subscriptions) {
        for gone in before.iter().filter(|t| !after.contains(t)) {
            self.fanout.unwatch(
                &UserKey::new(key.app, gone.clone()),
                &key.user,
                Watch::Subscription,
            );
        }
        for new in after.iter().filter(|t| !before.contains(t)) {
            self.fanout.watch(
                UserKey::new(key.app, new.clone()),
                &key.user,
                Watch::Subscription,
            );
        }
    }
}

fn track_deadlines(shard: &mut Shard, key: &UserKey, record: &UserRecord) {
    let has_offline_device = record.devices.values().any(|d| !d.online);
    let away_with_subscriptions =
        !record.subscriptions.is_empty() && record.status_type() != StatusType::Online;
    if has_offline_device || away_with_subscriptions || record.custom_expires_at.is_some() {
        let deadlines = Deadlines {
            offline_since: record
                .devices
                .values()
                .filter(|d| !d.online)
                .filter_map(|d| d.offline_since)
                .min(),
            away_since: record.away_since.filter(|_| away_with_subscriptions),
            custom_expires_at: record.custom_expires_at,
        };
        shard.timed.insert(key.clone(), deadlines);
    } else {
        shard.timed.remove(key);
    }
}
