//! The values the engine speaks in.

use serde::{Deserialize, Serialize};

pub use crate::protocol::{Platform, StatusType};

/// Milliseconds on the engine's clock. The caller injects it; the engine never reads a clock.
pub type Millis = u64;

/// A connection, numbered by the server that accepted it. Local to one server node.
pub type ConnId = u64;

/// A user within an app: apps never see each other's users (I1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserKey {
    pub app: u32,
    pub user: String,
}

impl UserKey {
    pub fn new(app: u32, user: impl Into<String>) -> UserKey {
        UserKey {
            app,
            user: user.into(),
        }
    }
}

/// A user's status as the engine answers and notifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    pub user_id: String,
    pub status_type: StatusType,
    pub custom_status: String,
    pub online_devices: Vec<Platform>,
    pub version: u64,
}

impl UserStatus {
    /// The status of a user the engine has never seen (Q5: not a failure).
    pub fn never_logged_in(user_id: &str) -> UserStatus {
        UserStatus {
            user_id: user_id.to_string(),
            status_type: StatusType::Unlogined,
            custom_status: String::new(),
            online_devices: Vec::new(),
            version: 0,
        }
    }

    /// The wire form of this status.
    pub fn to_wire(&self) -> crate::protocol::WireStatus {
        crate::protocol::WireStatus {
            user_id: self.user_id.clone(),
            status_type: self.status_type as u8,
            custom_status: self.custom_status.clone(),
            online_devices: self
                .online_devices
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
            version: self.version,
        }
    }
}

/// A change of one user's (statusType, customStatus), to be fanned out (N1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub app: u32,
    pub status: UserStatus,
}

impl StatusChange {
    /// The user who changed: the key the bus fans out by.
    pub fn key(&self) -> UserKey {
        UserKey::new(self.app, self.status.user_id.clone())
    }
}

/// Why the engine wants a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CloseReason {
    /// Another device took this platform's place (L2): tell the client, then close.
    Kicked,
    /// The session's UserSig expired: tell the client, then close.
    UserSigExpired,
    /// Nothing arrived for the heartbeat timeout (D2).
    TimedOut,
    /// The same device logged in again on a newer connection; the old one is stale.
    Replaced,
}

/// A connection the server must close, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub conn: ConnId,
    pub reason: CloseReason,
}

/// What the engine decided besides its direct answers: changes to fan out and connections to close.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    pub changes: Vec<StatusChange>,
    pub closes: Vec<Close>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.closes.is_empty()
    }
}
