//! The values the engine speaks in.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The platform a device declared at login (I3), with the V2TIM/REST platform names. The
/// engine's own type: the server translates the wire's at its edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    Android,
    #[serde(rename = "iPhone")]
    IPhone,
    #[serde(rename = "iPad")]
    IPad,
    Windows,
    Mac,
    Linux,
    Web,
}

/// A user's general status (L3): the V2TIM status types the engine can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusType {
    /// At least one device holds a live, logged-in connection.
    Online,
    /// Logged in on some device, none connected (still reachable by push).
    Offline,
    /// No device logged in.
    Unlogined,
}

/// Milliseconds on the engine's clock. The caller injects it; the engine never reads a clock.
pub type Millis = u64;

/// A connection, numbered by the server that accepted it. Local to one server node.
pub type ConnId = u64;

/// A user within an app: apps never see each other's users (I1). The ID is shared, not copied,
/// wherever the engine keeps it (subscriptions, fan-out tables): see [`super::intern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    pub app: u32,
    pub user: Arc<str>,
}

impl UserKey {
    pub fn new(app: u32, user: impl Into<Arc<str>>) -> UserKey {
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
        UserKey::new(self.app, self.status.user_id.as_str())
    }
}

/// Why the engine wants a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CloseReason {
    /// Another device took this platform's place (L2): tell the client, then close.
    Kicked,
    /// The session's UserSig expired: tell the client, then close.
    UserSigExpired,
    /// Nothing arrived for the heartbeat timeout (D2), or no login came in time.
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

/// What happened to one device, in the words of Tencent's state-change callback
/// (`State.StateChange`): for the app's own backend (webhook, metrics), not for watchers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvent {
    pub app: u32,
    pub user: String,
    pub action: Action,
    pub reason: Reason,
    /// The device's platform.
    pub platform: Platform,
    /// The connection it happened on, when there was one (the server knows its address).
    pub conn: Option<ConnId>,
    /// Devices this login kicked (L2).
    pub kicked: Vec<Platform>,
    /// The custom status after the event.
    pub custom_status: String,
    pub at: Millis,
    /// Caused by a restart, not by the device: the receiver may get many at once.
    pub recovered: bool,
}

impl DeviceEvent {
    /// The same event, on connection `conn`.
    pub fn on(self, conn: ConnId) -> DeviceEvent {
        DeviceEvent {
            conn: Some(conn),
            ..self
        }
    }

    /// The same event, with the custom status after it.
    pub fn with_custom(self, custom_status: String) -> DeviceEvent {
        DeviceEvent {
            custom_status,
            ..self
        }
    }
}

/// Tencent's `Info.Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Login,
    Logout,
    Disconnect,
    CustomStatusChange,
}

/// Tencent's `Info.Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A login.
    Register,
    /// A logout.
    Unregister,
    /// The connection closed (or the server restarted, or the UserSig expired).
    LinkClose,
    /// No heartbeat for the app's heartbeat timeout (D2).
    TimeOut,
    /// A custom status set or cleared.
    SetCustomStatus,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Login => "Login",
            Action::Logout => "Logout",
            Action::Disconnect => "Disconnect",
            Action::CustomStatusChange => "CustomStatusChange",
        }
    }
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Register => "Register",
            Reason::Unregister => "Unregister",
            Reason::LinkClose => "LinkClose",
            Reason::TimeOut => "TimeOut",
            Reason::SetCustomStatus => "SetCustomStatus",
        }
    }
}

/// What the engine decided besides its direct answers: changes to fan out, connections to
/// close and device events, in the order decided (what [`super::Recorder`] collects).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    pub changes: Vec<StatusChange>,
    pub closes: Vec<Close>,
    pub events: Vec<DeviceEvent>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.closes.is_empty() && self.events.is_empty()
    }
}
