//! Per-user state behind one interface, so that a shared backend (Redis, for a cluster) can
//! replace the in-memory one without moving a rule. The store keeps data; the engine decides.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use indexmap::IndexSet;
use serde::{Deserialize, Serialize};

use super::settings::AppSettings;
use super::types::{Millis, Platform, StatusType, UserKey, UserStatus};

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
}

/// Everything the engine knows about one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Logged-in devices by device ID.
    pub devices: BTreeMap<String, DeviceRecord>,
    /// Not kept across restarts: C3 clears it when the user leaves ONLINE anyway.
    #[serde(skip)]
    pub custom_status: String,
    /// Version of the last notified change; only grows (N3).
    #[serde(skip)]
    pub version: u64,
    /// Subscribed userIDs, earliest first (S5).
    pub subscriptions: IndexSet<String>,
    /// Since when the user has been away from ONLINE without a break (S7); None while ONLINE.
    pub away_since: Option<Millis>,
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

    /// The user's status as answered and notified.
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
        }
    }

    /// Whether anything in the record must survive a restart (L6, S5).
    pub fn has_durable_state(&self) -> bool {
        !self.devices.is_empty() || !self.subscriptions.is_empty()
    }
}

/// Where per-user state, friends and app settings live.
///
/// Reads return owned values so that a networked backend can implement it; the in-memory
/// store's clones are small (a record holds at most a few devices and 200 subscriptions).
pub trait Store: Send {
    /// The settings of one app, if it exists.
    fn app(&self, sdk_app_id: u32) -> Option<Arc<AppSettings>>;
    /// Every app.
    fn apps(&self) -> Vec<Arc<AppSettings>>;
    /// Creates or replaces an app's settings.
    fn put_app(&mut self, settings: AppSettings);

    /// One user's record, if the user was ever seen.
    fn user(&self, key: &UserKey) -> Option<UserRecord>;
    /// One user's status, if the user was ever seen. The default clones the whole record; a
    /// store that holds records in memory answers without the clone (benchmark profile,
    /// docs/benchmarks.md: a login snapshot of 200 watched users cloned 200 records of 200
    /// subscriptions each).
    fn status(&self, key: &UserKey) -> Option<UserStatus> {
        self.user(key).map(|record| record.status(&key.user))
    }
    /// Stores a user's record (and keeps the subscriber index in step with its subscriptions).
    fn put_user(&mut self, key: &UserKey, record: UserRecord);
    /// Every user with a record.
    fn user_keys(&self) -> Vec<UserKey>;
    /// The users of the same app who subscribe to `key`.
    fn subscribers_of(&self, key: &UserKey) -> Vec<String>;

    /// Records "owner has friend as a friend" (F1). Returns false if it was already there.
    fn add_friend(&mut self, owner: &UserKey, friend: &str) -> bool;
    /// Removes "owner has friend as a friend". Returns false if it was not there.
    fn remove_friend(&mut self, owner: &UserKey, friend: &str) -> bool;
    /// Whom `owner` has as friends.
    fn friends_of(&self, owner: &UserKey) -> Vec<String>;
    /// Who has `friend` as a friend.
    fn friend_owners_of(&self, friend: &UserKey) -> Vec<String>;
}

/// A boxed store is a store, so a server can choose its backend at run time.
impl<T: Store + ?Sized> Store for Box<T> {
    fn app(&self, sdk_app_id: u32) -> Option<Arc<AppSettings>> {
        (**self).app(sdk_app_id)
    }
    fn apps(&self) -> Vec<Arc<AppSettings>> {
        (**self).apps()
    }
    fn put_app(&mut self, settings: AppSettings) {
        (**self).put_app(settings)
    }
    fn user(&self, key: &UserKey) -> Option<UserRecord> {
        (**self).user(key)
    }
    fn status(&self, key: &UserKey) -> Option<UserStatus> {
        (**self).status(key)
    }
    fn put_user(&mut self, key: &UserKey, record: UserRecord) {
        (**self).put_user(key, record)
    }
    fn user_keys(&self) -> Vec<UserKey> {
        (**self).user_keys()
    }
    fn subscribers_of(&self, key: &UserKey) -> Vec<String> {
        (**self).subscribers_of(key)
    }
    fn add_friend(&mut self, owner: &UserKey, friend: &str) -> bool {
        (**self).add_friend(owner, friend)
    }
    fn remove_friend(&mut self, owner: &UserKey, friend: &str) -> bool {
        (**self).remove_friend(owner, friend)
    }
    fn friends_of(&self, owner: &UserKey) -> Vec<String> {
        (**self).friends_of(owner)
    }
    fn friend_owners_of(&self, friend: &UserKey) -> Vec<String> {
        (**self).friend_owners_of(friend)
    }
}

/// The embedded default store: everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    apps: BTreeMap<u32, Arc<AppSettings>>,
    users: HashMap<UserKey, UserRecord>,
    subscribers: HashMap<UserKey, BTreeSet<String>>,
    friends: HashMap<UserKey, BTreeSet<String>>,
    friend_owners: HashMap<UserKey, BTreeSet<String>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// One user's record, borrowed (for a store layered on this one; no clone).
    pub fn user_ref(&self, key: &UserKey) -> Option<&UserRecord> {
        self.users.get(key)
    }
}

fn set_of(map: &HashMap<UserKey, BTreeSet<String>>, key: &UserKey) -> Vec<String> {
    map.get(key)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default()
}

fn remove_from(map: &mut HashMap<UserKey, BTreeSet<String>>, key: &UserKey, item: &str) -> bool {
    let Some(set) = map.get_mut(key) else {
        return false;
    };
    let removed = set.remove(item);
    if set.is_empty() {
        map.remove(key);
    }
    removed
}

impl Store for MemoryStore {
    fn app(&self, sdk_app_id: u32) -> Option<Arc<AppSettings>> {
        self.apps.get(&sdk_app_id).cloned()
    }

    fn apps(&self) -> Vec<Arc<AppSettings>> {
        self.apps.values().cloned().collect()
    }

    fn put_app(&mut self, settings: AppSettings) {
        self.apps.insert(settings.sdk_app_id, Arc::new(settings));
    }

    fn user(&self, key: &UserKey) -> Option<UserRecord> {
        self.users.get(key).cloned()
    }

    fn status(&self, key: &UserKey) -> Option<UserStatus> {
        self.users.get(key).map(|record| record.status(&key.user))
    }

    fn put_user(&mut self, key: &UserKey, record: UserRecord) {
        let old = self.users.get(key).map(|r| &r.subscriptions);
        let removed: Vec<String> = old
            .into_iter()
            .flatten()
            .filter(|id| !record.subscriptions.contains(*id))
            .cloned()
            .collect();
        let added: Vec<String> = record
            .subscriptions
            .iter()
            .filter(|id| !old.is_some_and(|o| o.contains(*id)))
            .cloned()
            .collect();
        for id in removed {
            remove_from(&mut self.subscribers, &UserKey::new(key.app, id), &key.user);
        }
        for id in added {
            self.subscribers
                .entry(UserKey::new(key.app, id))
                .or_default()
                .insert(key.user.clone());
        }
        self.users.insert(key.clone(), record);
    }

    fn user_keys(&self) -> Vec<UserKey> {
        self.users.keys().cloned().collect()
    }

    fn subscribers_of(&self, key: &UserKey) -> Vec<String> {
        set_of(&self.subscribers, key)
    }

    fn add_friend(&mut self, owner: &UserKey, friend: &str) -> bool {
        let added = self
            .friends
            .entry(owner.clone())
            .or_default()
            .insert(friend.to_string());
        self.friend_owners
            .entry(UserKey::new(owner.app, friend))
            .or_default()
            .insert(owner.user.clone());
        added
    }

    fn remove_friend(&mut self, owner: &UserKey, friend: &str) -> bool {
        remove_from(
            &mut self.friend_owners,
            &UserKey::new(owner.app, friend),
            &owner.user,
        );
        remove_from(&mut self.friends, owner, friend)
    }

    fn friends_of(&self, owner: &UserKey) -> Vec<String> {
        set_of(&self.friends, owner)
    }

    fn friend_owners_of(&self, friend: &UserKey) -> Vec<String> {
        set_of(&self.friend_owners, friend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_index_follows_records() {
        let mut store = MemoryStore::new();
        let alice = UserKey::new(1, "alice");
        let mut rec = UserRecord::default();
        rec.subscriptions.insert("bob".into());
        rec.subscriptions.insert("carol".into());
        store.put_user(&alice, rec.clone());
        assert_eq!(store.subscribers_of(&UserKey::new(1, "bob")), vec!["alice"]);
        rec.subscriptions.shift_remove("bob");
        store.put_user(&alice, rec);
        assert!(store.subscribers_of(&UserKey::new(1, "bob")).is_empty());
        assert_eq!(
            store.subscribers_of(&UserKey::new(1, "carol")),
            vec!["alice"]
        );
        assert!(store.subscribers_of(&UserKey::new(2, "carol")).is_empty());
    }

    #[test]
    fn friends_are_one_directional() {
        // covers: F1
        let mut store = MemoryStore::new();
        let a = UserKey::new(1, "a");
        assert!(store.add_friend(&a, "b"));
        assert!(!store.add_friend(&a, "b"));
        assert_eq!(store.friends_of(&a), vec!["b"]);
        assert!(store.friends_of(&UserKey::new(1, "b")).is_empty());
        assert_eq!(store.friend_owners_of(&UserKey::new(1, "b")), vec!["a"]);
        assert!(store.remove_friend(&a, "b"));
        assert!(store.friend_owners_of(&UserKey::new(1, "b")).is_empty());
    }
}
