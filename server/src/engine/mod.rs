//! The status engine: every rule of `behaviour.md`, decided once.
//!
//! Pure and synchronous: no sockets, no threads, no clock. Each operation takes the time `now`
//! from its caller, answers directly, and leaves the [`Effects`] it caused (changes to fan out,
//! connections to close) for the caller to collect with [`Engine::take_effects`]. The server
//! publishes the changes on its bus; every node then asks [`Engine::route`] which of its own
//! connections receive each change.

mod admin;
mod error;
mod query;
mod rate;
mod route;
mod session;
mod settings;
mod status;
mod store;
mod subscription;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

pub use admin::{DeviceDetail, OnlineState};
pub use error::{check_user_id, EngineError};
pub use session::{Login, LOGIN_TIMEOUT};
pub use settings::{AppSettings, Edition, MultiDevicePolicy, RateLimit};
pub use store::{DeviceRecord, MemoryStore, Store, UserRecord};
pub use types::{
    Close, CloseReason, ConnId, Effects, Millis, Platform, StatusChange, StatusType, UserKey,
    UserStatus,
};

use rate::RateLimiter;
use session::Conn;

/// Longest custom status, in bytes of UTF-8 (C1).
pub const MAX_CUSTOM_STATUS_BYTES: usize = 100;

/// The status engine over a [`Store`].
pub struct Engine<S: Store = MemoryStore> {
    store: S,
    /// Versions are `epoch << 32 | n`: a node that restarts with a higher epoch issues higher
    /// versions than anything it issued before, without writing a version per change.
    epoch: u64,
    /// Connections of this node, logged in or not.
    conns: HashMap<ConnId, Conn>,
    /// Logged-in connections of this node per user: who to deliver to.
    local: HashMap<UserKey, Vec<ConnId>>,
    rates: RateLimiter,
    /// Users with a pending retention deadline (an OFFLINE device, or subscriptions while away),
    /// so that [`Engine::tick`] need not visit every user, with the times those deadlines count
    /// from, so that it clones only the records whose deadline has passed.
    timed: HashMap<UserKey, Deadlines>,
    effects: Effects,
}

impl<S: Store> Engine<S> {
    /// Builds an engine over `store`, recovering from what the store kept (L6): devices that were
    /// logged in are OFFLINE until they reconnect. `epoch` must grow with every start.
    pub fn new(store: S, epoch: u32, now: Millis) -> Engine<S> {
        let mut engine = Engine {
            store,
            epoch: u64::from(epoch.max(1)),
            conns: HashMap::new(),
            local: HashMap::new(),
            rates: RateLimiter::default(),
            timed: HashMap::new(),
            effects: Effects::default(),
        };
        engine.recover(now);
        engine
    }

    fn recover(&mut self, now: Millis) {
        for key in self.store.user_keys() {
            let Some(mut record) = self.store.user(&key) else {
                continue;
            };
            for device in record.devices.values_mut() {
                device.online = false;
                device.offline_since.get_or_insert(now);
            }
            record.custom_status.clear();
            record.version = self.epoch << 32;
            if record.away_since.is_none() {
                record.away_since = Some(now);
            }
            self.track_deadlines(&key, &record);
            self.store.put_user(&key, record);
        }
    }

    /// The store, for reads by the embedding server.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Takes what the operations since the last call decided beyond their answers.
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    fn app(&self, sdk_app_id: u32) -> Result<Arc<AppSettings>, EngineError> {
        self.store.app(sdk_app_id).ok_or_else(|| {
            EngineError::new(
                crate::codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
                format!("no app with sdkAppID {sdk_app_id} on this server"),
            )
        })
    }

    fn record(&self, key: &UserKey) -> UserRecord {
        self.store.user(key).unwrap_or_default()
    }

    /// The current status of any user of an app.
    pub fn status_of(&self, key: &UserKey) -> UserStatus {
        self.store
            .status(key)
            .unwrap_or_else(|| UserStatus::never_logged_in(&key.user))
    }

    /// Stores a changed record, applying the rules every change obeys: the custom status is
    /// cleared when the user leaves ONLINE (C3), a change of (statusType, customStatus) gets a
    /// higher version and is emitted (N1, N3), and nothing else is emitted (C4).
    fn commit(&mut self, key: &UserKey, before: &UserRecord, mut record: UserRecord, now: Millis) {
        let status_type = record.status_type();
        if status_type != StatusType::Online {
            record.custom_status.clear();
            record.away_since.get_or_insert(now);
        } else {
            record.away_since = None;
        }
        if status_type != before.status_type() || record.custom_status != before.custom_status {
            record.version = (record.version + 1).max(self.epoch << 32);
            self.effects.changes.push(StatusChange {
                app: key.app,
                status: record.status(&key.user),
            });
        }
        self.track_deadlines(key, &record);
        self.store.put_user(key, record);
    }

    fn track_deadlines(&mut self, key: &UserKey, record: &UserRecord) {
        let has_offline_device = record.devices.values().any(|d| !d.online);
        let away_with_subscriptions =
            !record.subscriptions.is_empty() && record.status_type() != StatusType::Online;
        if has_offline_device || away_with_subscriptions {
            let deadlines = Deadlines {
                offline_since: record
                    .devices
                    .values()
                    .filter(|d| !d.online)
                    .filter_map(|d| d.offline_since)
                    .min(),
                away_since: record.away_since.filter(|_| away_with_subscriptions),
            };
            self.timed.insert(key.clone(), deadlines);
        } else {
            self.timed.remove(key);
        }
    }
}

/// What a timed user's retention deadlines count from. The retention periods themselves are
/// read from the app at every tick, so that a changed setting applies at once (F2).
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    /// The earliest `offline_since` of the user's OFFLINE devices (L5).
    offline_since: Option<Millis>,
    /// `away_since`, while the user is away and holds subscriptions (S7).
    away_since: Option<Millis>,
}
