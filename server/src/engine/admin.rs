//! What the app's backend does through the admin API: friends (F1), settings (F2), and the
//! online-status query of the REST API.

use serde::Serialize;

use super::error::{check_user_id, EngineError};
use super::settings::AppSettings;
use super::store::Store;
use super::types::{Platform, StatusType, UserKey};
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
        &mut self,
        app: u32,
        owner: &str,
        friends: &[String],
    ) -> Result<usize, EngineError> {
        let owner = self.friend_owner(app, owner, friends)?;
        Ok(friends
            .iter()
            .filter(|f| **f != owner.user)
            .filter(|f| self.store.add_friend(&owner, f))
            .count())
    }

    /// Removes `friends` from `owner`'s friends. Answers how many were there.
    pub fn remove_friends(
        &mut self,
        app: u32,
        owner: &str,
        friends: &[String],
    ) -> Result<usize, EngineError> {
        let owner = self.friend_owner(app, owner, friends)?;
        Ok(friends
            .iter()
            .filter(|f| self.store.remove_friend(&owner, f))
            .count())
    }

    fn friend_owner(
        &self,
        app: u32,
        owner: &str,
        friends: &[String],
    ) -> Result<UserKey, EngineError> {
        self.app(app)?;
        for id in std::iter::once(owner).chain(friends.iter().map(String::as_str)) {
            check_user_id(id).map_err(EngineError::invalid)?;
        }
        Ok(UserKey::new(app, owner))
    }

    /// Whom `owner` has as friends.
    pub fn friends_of(&self, key: &UserKey) -> Vec<String> {
        self.store.friends_of(key)
    }

    /// One app's settings.
    pub fn app_settings(&self, sdk_app_id: u32) -> Option<AppSettings> {
        self.store.app(sdk_app_id).map(|a| (*a).clone())
    }

    /// Every app's settings.
    pub fn all_app_settings(&self) -> Vec<AppSettings> {
        self.store.apps().iter().map(|a| (**a).clone()).collect()
    }

    /// Creates or changes an app; the new settings apply from the next operation (F2).
    pub fn put_app(&mut self, settings: AppSettings) -> Result<(), EngineError> {
        settings.validate()?;
        self.store.put_app(settings);
        Ok(())
    }

    /// Each logged-in device of a user, ONLINE or not, by platform.
    pub fn device_details(&self, key: &UserKey) -> Vec<DeviceDetail> {
        let mut details: Vec<DeviceDetail> = self
            .store
            .user(key)
            .map(|r| {
                r.devices
                    .values()
                    .map(|d| DeviceDetail {
                        platform: d.platform,
                        state: if d.online {
                            OnlineState::Online
                        } else {
                            OnlineState::PushOnline
                        },
                    })
                    .collect()
            })
            .unwrap_or_default();
        details.sort_by_key(|d| d.platform);
        details
    }
}
