//! The server's edge: the engine's values in the wire's words and back. The engine knows no
//! wire type; every translation between the two is here.

use imstatus_protocol as protocol;
use protocol::WireStatus;

use crate::engine::{EngineError, Platform, StatusType, UserStatus, Visibility};

/// A status as it travels to clients: the extensions (last seen, the own switches) only where
/// they say something (X2, X4).
pub fn status(status: &UserStatus) -> WireStatus {
    WireStatus {
        user_id: status.user_id.clone(),
        status_type: status_type(status.status_type) as u8,
        custom_status: status.custom_status.clone(),
        online_devices: status
            .online_devices
            .iter()
            .map(|&p| wire_platform(p).name().to_string())
            .collect(),
        version: status.version,
        last_seen_ms: status.last_seen,
        invisible: status.own.is_some_and(|s| s.invisible),
        visibility: status
            .own
            .map(|s| s.visibility)
            .filter(|v| *v != Visibility::Everyone)
            .map(|v| v.name().to_string()),
    }
}

/// The visibility a client asked for, by name (X10); the engine says what is wrong with a bad
/// one (X13).
pub fn visibility(name: &str) -> Result<Visibility, EngineError> {
    Visibility::parse(name)
}

/// The platform a client declared, as the engine knows it.
pub fn platform(platform: protocol::Platform) -> Platform {
    match platform {
        protocol::Platform::Android => Platform::Android,
        protocol::Platform::IPhone => Platform::IPhone,
        protocol::Platform::IPad => Platform::IPad,
        protocol::Platform::Windows => Platform::Windows,
        protocol::Platform::Mac => Platform::Mac,
        protocol::Platform::Linux => Platform::Linux,
        protocol::Platform::Web => Platform::Web,
    }
}

fn wire_platform(platform: Platform) -> protocol::Platform {
    match platform {
        Platform::Android => protocol::Platform::Android,
        Platform::IPhone => protocol::Platform::IPhone,
        Platform::IPad => protocol::Platform::IPad,
        Platform::Windows => protocol::Platform::Windows,
        Platform::Mac => protocol::Platform::Mac,
        Platform::Linux => protocol::Platform::Linux,
        Platform::Web => protocol::Platform::Web,
    }
}

fn status_type(status_type: StatusType) -> protocol::StatusType {
    match status_type {
        StatusType::Online => protocol::StatusType::Online,
        StatusType::Offline => protocol::StatusType::Offline,
        StatusType::Unlogined => protocol::StatusType::Unlogined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_translate_both_ways_by_name() {
        for wire in protocol::Platform::ALL {
            let engine = platform(wire);
            assert_eq!(wire_platform(engine), wire);
            // The engine's stored and REST name is the wire's name.
            assert_eq!(
                serde_json::to_string(&engine).unwrap(),
                format!("\"{}\"", wire.name())
            );
        }
    }

    #[test]
    fn extensions_go_on_the_wire_only_where_they_say_something() {
        use crate::engine::SelfState;
        let mut engine = UserStatus::never_logged_in("a");
        let plain = status(&engine);
        assert_eq!(
            String::from_utf8(protocol::encode(&plain)).unwrap(),
            r#"{"user_id":"a","status_type":3,"custom_status":"","online_devices":[],"version":0}"#
        );
        engine.last_seen = Some(5);
        engine.own = Some(SelfState {
            invisible: true,
            visibility: Visibility::Everyone,
        });
        let wire = status(&engine);
        assert_eq!((wire.last_seen_ms, wire.invisible), (Some(5), true));
        assert_eq!(wire.visibility, None, "everyone is the default");
        engine.own = Some(SelfState {
            invisible: false,
            visibility: Visibility::Friends,
        });
        let wire = status(&engine);
        assert!(!wire.invisible);
        assert_eq!(wire.visibility.as_deref(), Some("friends"));
        for v in Visibility::ALL {
            assert_eq!(visibility(v.name()), Ok(v));
        }
        assert_eq!(visibility("Friends").unwrap_err().code, 6017);
    }

    #[test]
    fn status_types_keep_the_v2tim_values() {
        assert_eq!(status_type(StatusType::Online) as u8, 1);
        assert_eq!(status_type(StatusType::Offline) as u8, 2);
        assert_eq!(status_type(StatusType::Unlogined) as u8, 3);
    }
}
