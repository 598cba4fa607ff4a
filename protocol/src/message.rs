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
#[serde(
    tag = "type",
    rename_all = "snake_case",
    try_from = "FlatServerMessage"
)]
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
        /// In a `login` reply: the app's heartbeat timeout (ms). The SDK then heartbeats often
        /// enough whatever it was configured with (D2, D3).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat_timeout_ms: Option<u64>,
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

/// Every field any [`ServerMessage`] can carry, read in one pass. Benchmark (docs/benchmarks.md,
/// SDK size): serde's internally tagged enums buffer the whole message as untyped content before
/// choosing the variant, and that machinery was tens of KB of the SDK; reading the flat struct
/// and then choosing is the same JSON in, the same message out.
#[derive(Deserialize)]
struct FlatServerMessage {
    #[serde(rename = "type")]
    kind: String,
    id: Option<u64>,
    #[serde(default)]
    statuses: Vec<WireStatus>,
    protocol_version: Option<u32>,
    server_time_ms: Option<u64>,
    heartbeat_timeout_ms: Option<u64>,
    code: Option<i32>,
    desc: Option<String>,
}

impl TryFrom<FlatServerMessage> for ServerMessage {
    type Error = String;

    fn try_from(flat: FlatServerMessage) -> Result<ServerMessage, String> {
        let need = |field: &str| format!("a `{}` message needs `{field}`", flat.kind);
        Ok(match flat.kind.as_str() {
            "ok" => ServerMessage::Ok {
                id: flat.id.ok_or_else(|| need("id"))?,
                statuses: flat.statuses,
                protocol_version: flat.protocol_version,
                server_time_ms: flat.server_time_ms,
                heartbeat_timeout_ms: flat.heartbeat_timeout_ms,
            },
            "error" => ServerMessage::Error {
                id: flat.id.ok_or_else(|| need("id"))?,
                code: flat.code.ok_or_else(|| need("code"))?,
                desc: flat.desc.ok_or_else(|| need("desc"))?,
            },
            "status_changed" => ServerMessage::StatusChanged {
                statuses: flat.statuses,
            },
            "kicked" => ServerMessage::Kicked,
            "user_sig_expired" => ServerMessage::UserSigExpired,
            other => return Err(format!("unknown message type `{other}`")),
        })
    }
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
    fn every_server_message_round_trips_and_bad_ones_say_why() {
        // covers: B2 (the client's decoder)
        let status = WireStatus {
            user_id: "bob".into(),
            status_type: 1,
            custom_status: "x".into(),
            online_devices: vec!["Linux".into()],
            version: 9,
        };
        for message in [
            ServerMessage::Ok {
                id: 1,
                statuses: vec![status.clone()],
                protocol_version: Some(1),
                server_time_ms: Some(5),
                heartbeat_timeout_ms: Some(2000),
            },
            ServerMessage::Ok {
                id: 2,
                statuses: vec![],
                protocol_version: None,
                server_time_ms: None,
                heartbeat_timeout_ms: None,
            },
            ServerMessage::Error {
                id: 0,
                code: 7014,
                desc: "no".into(),
            },
            ServerMessage::StatusChanged {
                statuses: vec![status],
            },
            ServerMessage::Kicked,
            ServerMessage::UserSigExpired,
        ] {
            assert_eq!(decode_server_message(&encode(&message)).unwrap(), message);
        }
        for (bad, why) in [
            (&br#"{"type":"ok"}"#[..], "needs `id`"),
            (br#"{"type":"error","id":1,"code":1}"#, "needs `desc`"),
            (br#"{"type":"fly"}"#, "unknown message type `fly`"),
            (br#"{"id":1}"#, "type"),
            (br#"{"type":"ok","id":-1}"#, "invalid value"),
        ] {
            let err = decode_server_message(bad).unwrap_err();
            assert!(err.contains(why), "{err}");
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
