//! A user's record as the cluster keeps it: all of it, live parts included (a node's own store
//! keeps only what outlives a restart), as JSON. The same bytes go out on the user's channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::{DeviceRecord, Freeze, Millis, Platform, UserRecord, Visibility};

#[derive(Serialize, Deserialize)]
struct Device {
    platform: Platform,
    logged_in_at: Millis,
    #[serde(default)]
    online: bool,
    #[serde(default)]
    offline_since: Option<Millis>,
    #[serde(default)]
    node: u64,
}

#[derive(Serialize, Deserialize)]
struct Frozen {
    last_seen: Option<Millis>,
    version: u64,
}

#[derive(Serialize, Deserialize)]
struct Record {
    version: u64,
    #[serde(default)]
    devices: BTreeMap<String, Device>,
    #[serde(default)]
    custom_status: String,
    #[serde(default)]
    custom_expires_at: Option<Millis>,
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default)]
    away_since: Option<Millis>,
    #[serde(default)]
    last_seen: Option<Millis>,
    #[serde(default)]
    invisible: bool,
    #[serde(default)]
    visibility: Visibility,
    #[serde(default)]
    invisible_freeze: Option<Frozen>,
    #[serde(default)]
    visibility_freeze: Option<Frozen>,
}

/// A change published on a user's channel: the record after it, and the friend list before it
/// when the friend list changed.
#[derive(Serialize, Deserialize)]
struct Message {
    record: Record,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    friends_before: Option<Vec<String>>,
}

fn to_frozen(freeze: &Option<Freeze>) -> Option<Frozen> {
    freeze.as_ref().map(|f| Frozen {
        last_seen: f.last_seen,
        version: f.version,
    })
}

fn from_frozen(frozen: Option<Frozen>) -> Option<Freeze> {
    frozen.map(|f| Freeze {
        last_seen: f.last_seen,
        version: f.version,
    })
}

fn to_record(record: &UserRecord) -> Record {
    Record {
        version: record.version,
        devices: record
            .devices
            .iter()
            .map(|(id, d)| {
                (
                    id.to_string(),
                    Device {
                        platform: d.platform,
                        logged_in_at: d.logged_in_at,
                        online: d.online,
                        offline_since: d.offline_since,
                        node: d.node,
                    },
                )
            })
            .collect(),
        custom_status: record.custom_status.clone(),
        custom_expires_at: record.custom_expires_at,
        subscriptions: record.subscriptions.iter().map(|s| s.to_string()).collect(),
        away_since: record.away_since,
        last_seen: record.last_seen,
        invisible: record.invisible,
        visibility: record.visibility,
        invisible_freeze: to_frozen(&record.invisible_freeze),
        visibility_freeze: to_frozen(&record.visibility_freeze),
    }
}

fn from_record(record: Record) -> UserRecord {
    let mut out = UserRecord {
        version: record.version,
        custom_status: record.custom_status,
        custom_expires_at: record.custom_expires_at,
        subscriptions: record.subscriptions.into_iter().map(Arc::from).collect(),
        away_since: record.away_since,
        last_seen: record.last_seen,
        invisible: record.invisible,
        visibility: record.visibility,
        invisible_freeze: from_frozen(record.invisible_freeze),
        visibility_freeze: from_frozen(record.visibility_freeze),
        ..UserRecord::default()
    };
    for (id, d) in record.devices {
        out.devices.insert(
            id,
            DeviceRecord {
                platform: d.platform,
                logged_in_at: d.logged_in_at,
                online: d.online,
                offline_since: d.offline_since,
                node: d.node,
            },
        );
    }
    out
}

/// The bytes kept for `record`.
pub fn encode(record: &UserRecord) -> Vec<u8> {
    serde_json::to_vec(&to_record(record)).expect("a record always serialises")
}

/// The record kept as `bytes`.
pub fn decode(bytes: &[u8]) -> Result<UserRecord, String> {
    serde_json::from_slice(bytes)
        .map(from_record)
        .map_err(|e| format!("a user's record in Redis does not read: {e}"))
}

/// The message published for a change of `record`.
pub fn encode_message(record: &UserRecord, friends_before: Option<&[String]>) -> Vec<u8> {
    serde_json::to_vec(&Message {
        record: to_record(record),
        friends_before: friends_before.map(<[String]>::to_vec),
    })
    .expect("a message always serialises")
}

/// A message published for a change: the record, and the friend list before it if it changed.
pub fn decode_message(bytes: &[u8]) -> Result<(UserRecord, Option<Vec<String>>), String> {
    let message: Message = serde_json::from_slice(bytes)
        .map_err(|e| format!("a change on a user's channel does not read: {e}"))?;
    Ok((from_record(message.record), message.friends_before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_whole() {
        let mut record = UserRecord {
            version: (7 << 32) + 3,
            custom_status: "busy".into(),
            custom_expires_at: Some(99),
            last_seen: Some(5),
            invisible: true,
            invisible_freeze: Some(Freeze {
                last_seen: Some(4),
                version: 12,
            }),
            subscriptions: ["b", "a"].into_iter().map(Arc::from).collect(),
            ..UserRecord::default()
        };
        record.devices.insert(
            "d1".into(),
            DeviceRecord {
                platform: Platform::Android,
                logged_in_at: 1,
                online: true,
                offline_since: None,
                node: 9,
            },
        );
        assert_eq!(decode(&encode(&record)).unwrap(), record);
        let friends = vec!["x".to_string()];
        let (back, before) =
            decode_message(&encode_message(&record, Some(&friends))).unwrap();
        assert_eq!(back, record);
        assert_eq!(before, Some(friends));
    }
}
