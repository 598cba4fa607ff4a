//! The JSON messages carried in frames.

use serde::{Deserialize, Serialize};

/// Version a client announces in its first frame; the server refuses others.
pub const PROTOCOL_VERSION: u32 = 1;

/// The platform a device declares at login (I3). The names are the V2TIM/REST platform names.
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

impl Platform {
    /// Every platform, in a stable order.
    pub const ALL: [Platform; 7] = [
        Platform::Android,
        Platform::IPhone,
        Platform::IPad,
        Platform::Windows,
        Platform::Mac,
        Platform::Linux,
        Platform::Web,
    ];

    /// The V2TIM name, as it appears in `onlineDevices` and the REST API.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Android => "Android",
            Platform::IPhone => "iPhone",
            Platform::IPad => "iPad",
            Platform::Windows => "Windows",
            Platform::Mac => "Mac",
            Platform::Linux => "Linux",
            Platform::Web => "Web",
        }
    }

    /// Parses a V2TIM platform name, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Platform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

/// `V2TIMUserStatusType`, with the V2TIM values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum StatusType {
    Unknown = 0,
    Online = 1,
    Offline = 2,
    Unlogined = 3,
}

impl StatusType {
    /// Maps a wire value back; anything unknown is [`StatusType::Unknown`].
    pub fn from_u8(value: u8) -> StatusType {
        match value {
            1 => StatusType::Online,
            2 => StatusType::Offline,
            3 => StatusType::Unlogined,
            _ => StatusType::Unknown,
        }
    }

    /// The V2TIM constant name without its prefix, as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            StatusType::Unknown => "UNKNOWN",
            StatusType::Online => "ONLINE",
            StatusType::Offline => "OFFLINE",
            StatusType::Unlogined => "UNLOGINED",
        }
    }
}

/// One user's status as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireStatus {
    pub user_id: String,
    /// `V2TIMUserStatusType`: 0 unknown, 1 online, 2 offline, 3 unlogined.
    pub status_type: u8,
    pub custom_status: String,
    /// Platform names of the devices that hold a live connection.
    pub online_devices: Vec<String>,
    /// Per-user version; only grows, so a receiver can drop anything older than what it holds.
    pub version: u64,
}

/// A request from client to server. `id` correlates the reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

/// What a client can ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Must be the first frame; announces the protocol version.
    Hello { version: u32 },
    /// Logs this connection in as one device of a user.
    Login {
        sdk_app_id: u32,
        user_id: String,
        user_sig: String,
        platform: Platform,
        /// Stable for one SDK instance across reconnects, so a reconnect is not a second device.
        device_id: String,
    },
    /// Ends this device's session (L4); the connection stays open for a later login.
    Logout,
    /// Keeps the connection alive (D2, D3).
    Heartbeat,
    /// Sets or clears (null or empty) the user's custom status (C1).
    SetSelfStatus { custom_status: Option<String> },
    /// Queries statuses (Q1–Q5).
    GetUserStatus { user_ids: Vec<String> },
    /// Subscribes to users (S1–S5).
    Subscribe { user_ids: Vec<String> },
    /// Unsubscribes; null or empty removes every subscription (S6).
    Unsubscribe { user_ids: Option<Vec<String>> },
}

/// What a server sends: replies to requests, and pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A request succeeded. `statuses` carries the answer of a query, and for a login the
    /// current status of the user and of everyone they watch (the resync of N4).
    Ok {
        id: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        statuses: Vec<WireStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        protocol_version: Option<u32>,
        /// The server's clock (Unix milliseconds) when it answered a `login` or a `heartbeat`,
        /// so that the SDK can answer V2TIM's `GetServerTime`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_time_ms: Option<u64>,
    },
    /// A request failed with a V2TIM code. `id` 0 means the connection itself is being closed.
    Error { id: u64, code: i32, desc: String },
    /// Pushed: statuses changed (N1). Several users may share one push (N5).
    StatusChanged { statuses: Vec<WireStatus> },
    /// Pushed: another device logged in on this platform (L2); the server closes the connection.
    Kicked,
    /// Pushed: the UserSig of this session expired; the server closes the connection.
    UserSigExpired,
}

/// Serialises any message to the bytes of one frame.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Our message types contain only strings, numbers and lists: serialisation cannot fail.
    serde_json::to_vec(message).expect("protocol messages always serialise")
}

/// Parses a client frame, saying what was wrong when it cannot.
pub fn decode_request(bytes: &[u8]) -> Result<ClientFrame, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("malformed request: {e}"))
}

/// Parses a server frame, saying what was wrong when it cannot.
pub fn decode_server_message(bytes: &[u8]) -> Result<ServerMessage, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("malformed server message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let frame = ClientFrame {
            id: 7,
            request: Request::Subscribe {
                user_ids: vec!["bob".into()],
            },
        };
        let bytes = encode(&frame);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"id":7,"op":"subscribe","user_ids":["bob"]}"#
        );
        assert_eq!(decode_request(&bytes).unwrap(), frame);
        let login = r#"{"id":1,"op":"login","sdk_app_id":1,"user_id":"a","user_sig":"s","platform":"iPhone","device_id":"d"}"#;
        assert!(matches!(
            decode_request(login.as_bytes()).unwrap().request,
            Request::Login {
                platform: Platform::IPhone,
                ..
            }
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        // covers: B2
        for bad in [
            &b"\xff\xfe"[..],
            b"{}",
            b"{\"id\":1,\"op\":\"fly\"}",
            b"[1,2]",
            b"null",
        ] {
            assert!(decode_request(bad).is_err());
        }
    }

    #[test]
    fn server_message_shape() {
        let msg = ServerMessage::Error {
            id: 3,
            code: 6017,
            desc: "x".into(),
        };
        let bytes = encode(&msg);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"type":"error","id":3,"code":6017,"desc":"x"}"#
        );
        assert_eq!(decode_server_message(&bytes).unwrap(), msg);
        assert_eq!(
            decode_server_message(br#"{"type":"kicked"}"#).unwrap(),
            ServerMessage::Kicked
        );
    }
}
