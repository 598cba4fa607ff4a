//! What a user's record holds, and the [`Store`] that keeps what must outlive a restart: apps,
//! friends and each user's durable state. The engine keeps the live state itself, loads a user
//! from the store the first time it needs them after a start (so that a start costs the same
//! however many users were ever seen), and writes a user back only when the durable part of the
//! record changed. A shared backend (Redis, for a cluster) implements the same trait.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use indexmap::IndexSet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::settings::AppSettings;
use super::types::{Millis, Platform, StatusType, UserKey, UserStatus, Visibility};

/// One logged-in device of a user (I3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub platform: Platform,
    /// When it logged in; the earliest instance of a platform is kicked first (L2).
    pub logged_in_at: Millis,
    /// Holds a live, logged-in connection right now. Not kept across restarts (L6).
    #[serde(skip)]
    pub online: bool,
    /// When it last lost its connection; starts the offline retention (L5).
    pub offline_since: Option<Millis>,
    /// In a cluster, the incarnation of the node that holds its connection while it is online
    /// (0 otherwise, and on a node on its own). Not kept in a node's own store.
    #[serde(skip)]
    pub node: u64,
}

/// A user's devices by device ID, in ID order. A user has a handful at most: a sorted `Vec`
/// costs a fraction of a `BTreeMap`'s first node (about 640 bytes for one device), and the
/// durable form is the same JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices(Vec<(String, DeviceRecord)>);

impl Devices {
    fn find(&self, id: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(id))
    }

    pub fn get(&self, id: &str) -> Option<&DeviceRecord> {
        self.find(id).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut DeviceRecord> {
        self.find(id).ok().map(|i| &mut self.0[i].1)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.find(id).is_ok()
    }

    /// Adds or replaces a device; answers the one it replaced.
    pub fn insert(&mut self, id: String, device: DeviceRecord) -> Option<DeviceRecord> {
        match self.find(&id) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, device)),
            Err(i) => {
                // One more, not the four a growing Vec would make room for.
                self.0.reserve_exact(1);
                self.0.insert(i, (id, device));
                None
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<DeviceRecord> {
        self.find(id).ok().map(|i| self.0.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut DeviceRecord) -> bool) {
        self.0.retain_mut(|(id, d)| keep(id, d));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &DeviceRecord)> {
        self.0.iter().map(|(id, d)| (id.as_str(), d))
    }

    pub fn values(&self) -> impl Iterator<Item = &DeviceRecord> {
        self.0.iter().map(|(_, d)| d)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut DeviceRecord> {
        self.0.iter_mut().map(|(_, d)| d)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Devices {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(id, d)| (id, d)))
    }
}

impl<'de> Deserialize<'de> for Devices {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Devices, D::Error> {
        let map = BTreeMap::<String, DeviceRecord>::deserialize(deserializer)?;
        Ok(Devices(map.into_iter().collect()))
    }
}

/// The userIDs a user subscribes to, earliest first (S5), each interned. Most users hold none:
/// an empty list takes one pointer, not an empty hash set's 72 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions(Option<Box<IndexSet<Arc<str>>>>);

impl Subscriptions {
    /// Adds `id` at the end, or keeps it where it is; answers whether it was new.
    pub fn insert(&mut self, id: Arc<str>) -> bool {
        self.0.get_or_insert_with(Default::default).insert(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(id))
    }

    /// Removes `id`, keeping the order of the rest; answers whether it was there.
    pub fn shift_remove(&mut self, id: &str) -> bool {
        let removed = self.0.as_mut().is_some_and(|s| s.shift_remove(id));
        self.forget_if_empty();
        removed
    }

    /// Removes the earliest.
    pub fn remove_earliest(&mut self) {
        if let Some(set) = self.0.as_mut() {
            set.shift_remove_index(0);
        }
        self.forget_if_empty();
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Earliest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        self.0.iter().flat_map(|s| s.iter())
    }

    fn forget_if_empty(&mut self) {
        if self.0.as_ref().is_some_and(|s| s.is_empty()) {
            self.0 = None;
        }
    }
}

impl FromIterator<Arc<str>> for Subscriptions {
    fn from_iter<I: IntoIterator<Item = Arc<str>>>(ids: I) -> Subscriptions {
        let mut subscriptions = Subscriptions::default();
        for id in ids {
            subscriptions.insert(id);
        }
        subscriptions
    }
}

impl Serialize for Subscriptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Subscriptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Subscriptions, D::Error> {
        Ok(Vec::<Arc<str>>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// What watchers who do not see the truth were last shown of a user's last seen (X5): frozen
/// when the reason to hide began, so that the hidden view reveals nothing that happened after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    /// The last seen the hidden view shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Millis>,
    /// The version the hidden view carries; moves only when the hidden view changes (X12). Not
    /// kept across restarts: a recovered record starts every view at the new baseline (N3).
    #[serde(skip)]
    pub version: u64,
}

/// Everything the engine knows about one user. Fields added after the first release are
/// `#[serde(default)]`, so that rows written before them still read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Logged-in devices by device ID.
    pub devices: Devices,
    /// Not kept across restarts: C3 clears it when the user leaves ONLINE anyway.
    #[serde(skip)]
    pub custom_status: String,
    /// Version of the last notified change; only grows (N3).
    #[serde(skip)]
    pub version: u64,
    /// Subscribed userIDs, earliest first (S5). The IDs are interned: one allocation per user
    /// however many subscribe to them.
    pub subscriptions: Subscriptions,
    /// Since when the user has been away from ONLINE without a break (S7); None while ONLINE.
    pub away_since: Option<Millis>,
    /// When the user last left ONLINE (X1); None for a user never seen ONLINE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Millis>,
    /// Appear offline (X6).
    #[serde(default, skip_serializing_if = "is_false")]
    pub invisible: bool,
    /// Who may see the user (X10).
    #[serde(default, skip_serializing_if = "is_everyone")]
    pub visibility: Visibility,
    /// What allowed watchers see of the last seen while the user is invisible (X6); set exactly
    /// while `invisible` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invisible_freeze: Option<Freeze>,
    /// What restricted watchers see of the last seen (X10); set exactly while `visibility` is
    /// not everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_freeze: Option<Freeze>,
    /// When the custom status expires (X9). Not kept across restarts, like the custom status.
    #[serde(skip)]
    pub custom_expires_at: Option<Millis>,
    /// In a cluster, how many times the record was written: every write adds one, whether or
    /// not watchers see a change (a second device coming online is no change, N1, but it is a
    /// new record), so that a node can tell a newer record from the one it has. 0 otherwise.
    #[serde(skip)]
    pub revision: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_everyone(v: &Visibility) -> bool {
    *v == Visibility::Everyone
}

impl UserRecord {
    /// The general status derived from the devices (L3).
    pub fn status_type(&self) -> StatusType {
        if self.devices.values().any(|d| d.online) {
            StatusType::Online
        } else if self.devices.is_empty() {
            StatusType::Unlogined
        } else {
            StatusType::Offline
        }
    }

    /// The truth about the user's status, as the user's own devices and allowed watchers of a
    /// visible user see it (without the user's own switches: see [`UserRecord::own_status`]).
    pub fn status(&self, user_id: &str) -> UserStatus {
        let mut online_devices: Vec<Platform> = self
            .devices
            .values()
            .filter(|d| d.online)
            .map(|d| d.platform)
            .collect();
        online_devices.sort();
        UserStatus {
            user_id: user_id.to_string(),
            status_type: self.status_type(),
            custom_status: self.custom_status.clone(),
            online_devices,
            version: self.version,
            last_seen: self.shown_last_seen(),
            own: None,
        }
    }

    /// The last seen the truth shows: none while ONLINE (X2).
    pub fn shown_last_seen(&self) -> Option<Millis> {
        self.last_seen
            .filter(|_| self.status_type() != StatusType::Online)
    }

    /// Whether the user hides anything from anyone: invisible, or visible to fewer than
    /// everyone. Without either, every audience sees the truth (X4).
    pub fn hides(&self) -> bool {
        self.invisible || self.visibility != Visibility::Everyone
    }

    /// Whether anything in the record must survive a restart (L6, S5, X1, X6, X10).
    pub fn has_durable_state(&self) -> bool {
        !self.devices.is_empty()
            || !self.subscriptions.is_empty()
            || self.last_seen.is_some()
            || self.hides()
    }

    /// Whether `other` keeps the same durable form (what [`Store::put_user`] would write):
    /// the devices without their online flags, the subscriptions in order, `away_since`, the
    /// last seen, the switches and the frozen last seens.
    /// Compared in place: serialising both on every change cost more than the change itself.
    pub fn same_durable_state(&self, other: &UserRecord) -> bool {
        match (self.has_durable_state(), other.has_durable_state()) {
            (false, false) => true,
            (true, true) => {
                self.away_since == other.away_since
                    && self.last_seen == other.last_seen
                    && self.invisible == other.invisible
                    && self.visibility == other.visibility
                    && self.invisible_freeze.map(|f| f.last_seen)
                        == other.invisible_freeze.map(|f| f.last_seen)
                    && self.visibility_freeze.map(|f| f.last_seen)
                        == other.visibility_freeze.map(|f| f.last_seen)
                    && self.subscriptions.iter().eq(other.subscriptions.iter())
                    && self.devices.len() == other.devices.len()
                    && self
                        .devices
                        .iter()
                        .zip(other.devices.iter())
                        .all(|((ka, da), (kb, db))| {
                            ka == kb
                                && da.platform == db.platform
                                && da.logged_in_at == db.logged_in_at
                                && da.offline_since == db.offline_since
                        })
            }
            _ => false,
        }
    }
}

/// Where apps, friends and each user's durable state are kept.
///
/// Calls come from many threads at once, but never two at once for the same user: the engine
/// calls the user methods holding that user's lock. A write must be visible to the next read
/// at once (a store that writes behind keeps what it has not written yet in memory); when it
/// reaches the disk is the store's business (see the server's `DurableStore`).
pub trait Store: Send + Sync {
    /// Every app kept from an earlier run; read once, when the engine starts.
    fn apps(&self) -> Vec<AppSettings>;
    /// Keeps an app's settings.
    fn put_app(&self, settings: &AppSettings);
    /// What was kept of a user, if anything.
    fn user(&self, key: &UserKey) -> Option<UserRecord>;
    /// Keeps a user's durable state; a record without any ([`UserRecord::has_durable_state`])
    /// removes the user.
    fn put_user(&self, key: &UserKey, record: &UserRecord);
    /// Up to `limit` kept users after `after` (from the first when `None`), in key order: how
    /// [`Engine::recover_some`](super::Engine::recover_some) walks everyone after a start.
    fn user_keys_after(&self, after: Option<&UserKey>, limit: usize) -> Vec<UserKey>;
    /// Whom `owner` has as friends (F1).
    fn friends_of(&self, owner: &UserKey) -> Vec<String>;
    /// Records "owner has friend as a friend". Answers false if it was already there.
    fn add_friend(&self, owner: &UserKey, friend: &str) -> bool;
    /// Removes "owner has friend as a friend". Answers false if it was not there.
    fn remove_friend(&self, owner: &UserKey, friend: &str) -> bool;
}

macro_rules! forward_store {
    ($($ptr:ident),*) => {$(
        /// A shared or boxed store is a store, so a server can choose its backend at run time.
        impl<T: Store + ?Sized> Store for $ptr<T> {
            fn apps(&self) -> Vec<AppSettings> {
                (**self).apps()
            }
            fn put_app(&self, settings: &AppSettings) {
                (**self).put_app(settings)
            }
            fn user(&self, key: &UserKey) -> Option<UserRecord> {
                (**self).user(key)
            }
            fn put_user(&self, key: &UserKey, record: &UserRecord) {
                (**self).put_user(key, record)
            }
            fn user_keys_after(&self, after: Option<&UserKey>, limit: usize) -> Vec<UserKey> {
                (**self).user_keys_after(after, limit)
            }
            fn friends_of(&self, owner: &UserKey) -> Vec<String> {
                (**self).friends_of(owner)
            }
            fn add_friend(&self, owner: &UserKey, friend: &str) -> bool {
                (**self).add_friend(owner, friend)
            }
            fn remove_friend(&self, owner: &UserKey, friend: &str) -> bool {
                (**self).remove_friend(owner, friend)
            }
        }
    )*};
}
forward_store!(Box, Arc);

/// A store in memory only: for tests, and for a server without a data directory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    apps: BTreeMap<u32, AppSettings>,
    users: HashMap<UserKey, UserRecord>,
    friends: HashMap<UserKey, BTreeSet<String>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every user with a kept record (for tests that copy a store).
    pub fn user_keys(&self) -> Vec<UserKey> {
        self.inner().users.keys().cloned().collect()
    }
}

impl Store for MemoryStore {
    fn apps(&self) -> Vec<AppSettings> {
        self.inner().apps.values().cloned().collect()
    }

    fn put_app(&self, settings: &AppSettings) {
        self.inner()
            .apps
            .insert(settings.sdk_app_id, settings.clone());
    }

    fn user(&self, key: &UserKey) -> Option<UserRecord> {
        self.inner().users.get(key).cloned()
    }

    fn put_user(&self, key: &UserKey, record: &UserRecord) {
        let mut inner = self.inner();
        if record.has_durable_state() {
            inner.users.insert(key.clone(), record.clone());
        } else {
            inner.users.remove(key);
        }
    }

    fn user_keys_after(&self, after: Option<&UserKey>, limit: usize) -> Vec<UserKey> {
        let mut keys: Vec<UserKey> = self
            .inner()
            .users
            .keys()
            .filter(|k| after.is_none_or(|a| *k > a))
            .cloned()
            .collect();
        keys.sort();
        keys.truncate(limit);
        keys
    }

    fn friends_of(&self, owner: &UserKey) -> Vec<String> {
        self.inner()
            .friends
            .get(owner)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn add_friend(&self, owner: &UserKey, friend: &str) -> bool {
        self.inner()
            .friends
            .entry(owner.clone())
            .or_default()
            .insert(friend.to_string())
    }

    fn remove_friend(&self, owner: &UserKey, friend: &str) -> bool {
        let mut inner = self.inner();
        let Some(set) = inner.friends.get_mut(owner) else {
            return false;
        };
        let removed = set.remove(friend);
        if set.is_empty() {
            inner.friends.remove(owner);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(platform: Platform, at: Millis) -> DeviceRecord {
        DeviceRecord {
            node: 0,
            platform,
            logged_in_at: at,
            online: true,
            offline_since: None,
        }
    }

    #[test]
    fn devices_keep_id_order_and_the_map_form() {
        let mut devices = Devices::default();
        assert!(devices
            .insert("b".into(), device(Platform::Web, 2))
            .is_none());
        assert!(devices
            .insert("a".into(), device(Platform::Mac, 1))
            .is_none());
        assert!(devices
            .insert("b".into(), device(Platform::Web, 3))
            .is_some());
        assert_eq!(
            devices.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let json = serde_json::to_string(&devices).unwrap();
        assert_eq!(
            json,
            r#"{"a":{"platform":"Mac","logged_in_at":1,"offline_since":null},"b":{"platform":"Web","logged_in_at":3,"offline_since":null}}"#
        );
        let back: Devices = serde_json::from_str(&json).unwrap();
        assert_eq!(back.len(), 2);
        assert!(!back.get("a").unwrap().online);
        assert_eq!(devices.remove("a").unwrap().platform, Platform::Mac);
        assert!(!devices.contains_key("a"));
    }

    #[test]
    fn durable_comparison_agrees_with_the_serialised_form() {
        let form = |r: &UserRecord| {
            r.has_durable_state()
                .then(|| serde_json::to_vec(r).unwrap())
        };
        let mut a = UserRecord::default();
        let mut b = a.clone();
        assert!(a.same_durable_state(&b));
        b.custom_status = "x".into();
        b.version = 9;
        assert!(a.same_durable_state(&b), "not durable");
        b.subscriptions.insert("bob".into());
        assert!(!a.same_durable_state(&b));
        assert_ne!(form(&a), form(&b));
        a.subscriptions.insert("bob".into());
        a.devices.insert("d".into(), device(Platform::Linux, 1));
        b.devices.insert("d".into(), device(Platform::Linux, 1));
        b.devices.get_mut("d").unwrap().online = false;
        assert!(a.same_durable_state(&b), "the online flag is not durable");
        assert_eq!(form(&a), form(&b));
    }

    #[test]
    fn friends_are_one_directional() {
        // covers: F1
        let store = MemoryStore::new();
        let a = UserKey::new(1, "a");
        assert!(store.add_friend(&a, "b"));
        assert!(!store.add_friend(&a, "b"));
        assert_eq!(store.friends_of(&a), vec!["b"]);
        assert!(store.friends_of(&UserKey::new(1, "b")).is_empty());
        assert!(store.remove_friend(&a, "b"));
        assert!(!store.remove_friend(&a, "b"));
    }
}
