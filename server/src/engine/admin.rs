//! What the app's backend does through the admin API: friends (F1), settings (F2), and the
//! online-status query of the REST API.

use std::sync::Arc;

use serde::Serialize;

use super::error::{check_user_id, EngineError};
use super::fanout::Watch;
use super::settings::AppSettings;
use super::store::Store;
use super::types::{Platform, StatusType, UserKey, Visibility};
use super::Engine;

/// A user's state in the words of `v4/openim/query_online_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OnlineState {
    /// ONLINE: a live connection.
    Online,
    /// OFFLINE in V2TIM terms: disconnected without logging out, so still reachable by push.
    PushOnline,
    /// UNLOGINED in V2TIM terms.
    Offline,
}

impl From<StatusType> for OnlineState {
    fn from(status: StatusType) -> OnlineState {
        match status {
            StatusType::Online => OnlineState::Online,
            StatusType::Offline => OnlineState::PushOnline,
            StatusType::Unlogined => OnlineState::Offline,
        }
    }
}

/// One logged-in device, for the per-platform detail of the online-status query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDetail {
    pub platform: Platform,
    pub state: OnlineState,
}

impl<S: Store> Engine<S> {
    /// Records that `owner` has each of `friends` as a friend (F1). Answers how many were new.
    pub fn add_friends(
        &self,
        app: u32,
        owner: &str,
        friends: &[String],
    ) -> Result<usize, EngineError> {
        self.change_friends(app, owner, friends, true)
    }

    /// Removes `friends` from `owner`'s friends. Answers how many were there.
    pub fn remove_friends(
        &self,
        app: u32,
        owner: &str,
        friends: &[String],
    ) -> Result<usize, EngineError> {
        self.change_friends(app, owner, friends, false)
    }

    /// Adds or removes friends under the owner's lock, so that the fan-out tables of a loaded
    /// owner and what the store keeps move together. When the owner is visible to their friends
    /// only, the friends added or removed now may or may not see them: those who watch the
    /// owner are pushed their new view at once (X11).
    fn change_friends(
        &self,
        app: u32,
        owner: &str,
        friends: &[String],
        add: bool,
    ) -> Result<usize, EngineError> {
        self.app(app)?;
        for id in std::iter::once(owner).chain(friends.iter().map(String::as_str)) {
            check_user_id(id).map_err(EngineError::invalid)?;
        }
        let owner = self.key(app, owner);
        let mut shard = self.lock_user(&owner);
        let restricted = self
            .existing(&mut shard, &owner)
            .is_some_and(|r| r.visibility == Visibility::Friends);
        // A cluster's nodes route by the friend list: they hear every change of it.
        let friends_before =
            (restricted || self.clustered()).then(|| self.store.friends_of(&owner));
        let routes = if self.clustered() {
            self.is_live(&owner)
        } else {
            shard.records.contains_key(&owner)
        };
        let mut count = 0;
        for friend in friends.iter().filter(|f| **f != *owner.user) {
            let done = if add {
                self.store.add_friend(&owner, friend)
            } else {
                self.store.remove_friend(&owner, friend)
            };
            if !done {
                continue;
            }
            count += 1;
            if routes {
                let target = self.key(app, friend);
                if add {
                    self.fanout.watch(target, &owner.user, Watch::Friend);
                } else {
                    self.fanout.unwatch(&target, &owner.user, Watch::Friend);
                }
            }
        }
        match (friends_before, count > 0) {
            (Some(before), true) if restricted => self.reveal(&mut shard, &owner, &before),
            (Some(before), true) => {
                if let Some(authority) = &self.authority {
                    let record = self.record(&mut shard, &owner).clone();
                    authority.write(&owner, &record, Some(&before));
                }
            }
            _ => {}
        }
        Ok(count)
    }

    /// Whom `owner` has as friends.
    pub fn friends_of(&self, key: &UserKey) -> Vec<String> {
        let _owner = self.lock_user(key);
        self.store.friends_of(key)
    }

    /// One app's settings.
    pub fn app_settings(&self, sdk_app_id: u32) -> Option<AppSettings> {
        self.app_opt(sdk_app_id).map(|a| (*a).clone())
    }

    /// Every app's settings.
    pub fn all_app_settings(&self) -> Vec<AppSettings> {
        self.all_apps().iter().map(|a| (**a).clone()).collect()
    }

    /// Creates or changes an app; the new settings apply from the next operation (F2).
    pub fn put_app(&self, settings: AppSettings) -> Result<(), EngineError> {
        settings.validate()?;
        let mut apps = self.apps.write().unwrap_or_else(|e| e.into_inner());
        if apps.get(&settings.sdk_app_id).map(|a| &**a) != Some(&settings) {
            self.store.put_app(&settings);
        }
        apps.insert(settings.sdk_app_id, Arc::new(settings));
        Ok(())
    }

    /// Each logged-in device of a user, ONLINE or not, by platform: the truth (the app's
    /// backend sees the view of [`Engine::status_for_backend`]).
    pub fn device_details(&self, key: &UserKey) -> Vec<DeviceDetail> {
        let mut shard = self.lock_user(key);
        self.existing(&mut shard, key)
            .map(|r| r.device_details())
            .unwrap_or_default()
    }
}
