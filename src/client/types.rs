//! The values the client hands to its callers.

use std::fmt;

use crate::codes;
use crate::protocol::{StatusType, WireStatus};

/// A failed call: a V2TIM error code (see [`crate::codes`]) and a description saying what went
/// wrong. Owned by whoever receives it; cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// The V2TIM error code, never 0.
    pub code: i32,
    /// Human-readable reason, for logs; do not match on it.
    pub desc: String,
}

impl ClientError {
    /// Builds an error from a code and a description.
    pub fn new(code: i32, desc: impl Into<String>) -> Self {
        ClientError {
            code,
            desc: desc.into(),
        }
    }

    /// The error every call gets once the client is shut down (6013).
    pub(crate) fn shut_down() -> Self {
        ClientError::new(codes::ERR_SDK_NOT_INITIALIZED, "client was shut down")
    }

    /// A request that could not reach the server (9508).
    pub(crate) fn disconnected(desc: impl Into<String>) -> Self {
        ClientError::new(codes::ERR_SDK_NET_DISCONNECT, desc)
    }

    /// A call that needs a login (6014).
    pub(crate) fn not_logged_in(desc: impl Into<String>) -> Self {
        ClientError::new(codes::ERR_SDK_NOT_LOGGED_IN, desc)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error {}: {}", self.code, self.desc)
    }
}

impl std::error::Error for ClientError {}

/// `V2TIMUserStatus`: one user's status as the SDK reports it. Status belongs to the user, not to
/// a device (I3); `online_devices` only lists the platforms holding a live connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    /// The user this status belongs to.
    pub user_id: String,
    /// ONLINE, OFFLINE or UNLOGINED (UNKNOWN when the server sent a value this SDK predates).
    pub status_type: StatusType,
    /// The custom status; empty when none is set.
    pub custom_status: String,
    /// Platform names (`"iPhone"`, `"Windows"`, ...) of the user's connected devices.
    pub online_devices: Vec<String>,
}

impl UserStatus {
    /// Converts a wire status, dropping the version (only the cache needs it).
    pub(crate) fn from_wire(wire: &WireStatus) -> Self {
        UserStatus {
            user_id: wire.user_id.clone(),
            status_type: StatusType::from_u8(wire.status_type),
            custom_status: wire.custom_status.clone(),
            online_devices: wire.online_devices.clone(),
        }
    }
}

/// `V2TIMLoginStatus`, with the V2TIM values so bindings can pass it through as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum LoginStatus {
    /// Logged in. Stays so while the client reconnects after a network loss (D3): the session
    /// is still the user's, only the connection is down.
    Logined = 1,
    /// An explicit `login` is running.
    Logining = 2,
    /// Not logged in (never, logged out, kicked, UserSig expired, or shut down).
    Logout = 3,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_status_values_are_v2tim() {
        assert_eq!(LoginStatus::Logined as i32, 1);
        assert_eq!(LoginStatus::Logining as i32, 2);
        assert_eq!(LoginStatus::Logout as i32, 3);
    }

    #[test]
    fn unknown_wire_status_type_is_unknown_not_a_panic() {
        let wire = WireStatus {
            user_id: "a".into(),
            status_type: 200,
            custom_status: String::new(),
            online_devices: vec![],
            version: 1,
            ..WireStatus::default()
        };
        assert_eq!(
            UserStatus::from_wire(&wire).status_type,
            StatusType::Unknown
        );
    }

    #[test]
    fn error_displays_code_and_reason() {
        let e = ClientError::new(6012, "timed out");
        assert_eq!(e.to_string(), "error 6012: timed out");
    }
}
