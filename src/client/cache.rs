//! The statuses the SDK holds (N3, N4, D4).
//!
//! Versions decide what is newer: the server's per-user version only grows (N3), so a status
//! that arrives late (a query answer overtaken by a push) can be recognised and dropped.

use std::collections::HashMap;

use crate::protocol::{StatusType, WireStatus};

use super::types::UserStatus;

#[derive(Debug, Default)]
pub(crate) struct StatusCache {
    entries: HashMap<String, Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    status: UserStatus,
    version: u64,
}

impl StatusCache {
    pub(crate) fn get(&self, user_id: &str) -> Option<UserStatus> {
        self.entries.get(user_id).map(|e| e.status.clone())
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Applies statuses that are newer than what is held (or not held at all); returns the
    /// applied ones, in order, for notification. Older or equal versions are dropped (N3).
    pub(crate) fn apply(&mut self, statuses: &[WireStatus]) -> Vec<UserStatus> {
        let mut applied = Vec::new();
        for wire in statuses {
            let newer = self
                .entries
                .get(&wire.user_id)
                .is_none_or(|held| wire.version > held.version);
            if newer {
                let status = UserStatus::from_wire(wire);
                self.insert(wire, status.clone());
                applied.push(status);
            }
        }
        applied
    }

    /// Replaces the held entries with a login snapshot whatever their versions: the server's
    /// snapshot is the truth after a reconnect, and a local D4 mark keeps the old version, so
    /// the server's answer may carry the same version yet differ. Returns the entries whose
    /// visible status differs from what was held (or that were not held), for the resync
    /// notification (N4, D4).
    pub(crate) fn replace(&mut self, statuses: &[WireStatus]) -> Vec<UserStatus> {
        let mut changed = Vec::new();
        for wire in statuses {
            let status = UserStatus::from_wire(wire);
            let differs = self
                .entries
                .get(&wire.user_id)
                .is_none_or(|held| held.status != status);
            self.insert(wire, status.clone());
            if differs {
                changed.push(status);
            }
        }
        changed
    }

    /// D4: the own account went offline. The version is kept, so any later push from the server
    /// still counts as newer, and the next snapshot replaces this mark.
    pub(crate) fn mark_offline(&mut self, user_id: &str) -> UserStatus {
        let entry = self
            .entries
            .entry(user_id.to_owned())
            .or_insert_with(|| Entry {
                status: UserStatus {
                    user_id: user_id.to_owned(),
                    status_type: StatusType::Offline,
                    custom_status: String::new(),
                    online_devices: Vec::new(),
                },
                version: 0,
            });
        entry.status.status_type = StatusType::Offline;
        entry.status.custom_status.clear();
        entry.status.online_devices.clear();
        entry.status.clone()
    }

    fn insert(&mut self, wire: &WireStatus, status: UserStatus) {
        self.entries.insert(
            wire.user_id.clone(),
            Entry {
                status,
                version: wire.version,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(user: &str, status_type: u8, custom: &str, version: u64) -> WireStatus {
        WireStatus {
            user_id: user.into(),
            status_type,
            custom_status: custom.into(),
            online_devices: if status_type == 1 {
                vec!["Linux".into()]
            } else {
                vec![]
            },
            version,
            ..WireStatus::default()
        }
    }

    #[test]
    fn only_newer_versions_apply() {
        // covers: N3
        let mut cache = StatusCache::default();
        assert_eq!(cache.apply(&[wire("a", 1, "x", 5)]).len(), 1);
        assert!(cache.apply(&[wire("a", 2, "", 4)]).is_empty());
        assert!(cache.apply(&[wire("a", 2, "", 5)]).is_empty());
        assert_eq!(cache.get("a").unwrap().custom_status, "x");
        let applied = cache.apply(&[wire("a", 1, "y", 6), wire("b", 3, "", 1)]);
        assert_eq!(applied.len(), 2);
        assert_eq!(applied[0].custom_status, "y");
        assert_eq!(applied[1].user_id, "b");
        assert_eq!(cache.get("a").unwrap().custom_status, "y");
    }

    #[test]
    fn a_push_with_a_stale_and_a_fresh_entry_reports_only_the_fresh_one() {
        let mut cache = StatusCache::default();
        cache.apply(&[wire("a", 1, "", 10), wire("b", 1, "", 10)]);
        let applied = cache.apply(&[wire("a", 2, "", 9), wire("b", 2, "", 11)]);
        assert_eq!(applied.len(), 1);
        assert_eq!(applied[0].user_id, "b");
        assert_eq!(cache.get("a").unwrap().status_type, StatusType::Online);
    }

    #[test]
    fn replace_reports_only_visible_differences() {
        // covers: N4, D4
        let mut cache = StatusCache::default();
        cache.replace(&[wire("me", 1, "busy", 3), wire("a", 1, "", 7)]);
        let own = cache.mark_offline("me");
        assert_eq!(own.status_type, StatusType::Offline);
        assert_eq!(own.custom_status, "");
        assert!(own.online_devices.is_empty());
        // The snapshot says "me" is online again (same version: the server never noticed) and
        // "a" unchanged at a lower version; "b" is new.
        let changed = cache.replace(&[
            wire("me", 1, "busy", 3),
            wire("a", 1, "", 2),
            wire("b", 2, "", 1),
        ]);
        let ids: Vec<_> = changed.iter().map(|s| s.user_id.as_str()).collect();
        assert_eq!(ids, ["me", "b"]);
        assert_eq!(cache.get("me").unwrap().custom_status, "busy");
        // The replaced version counts from now on.
        assert!(cache.apply(&[wire("a", 2, "", 2)]).is_empty());
        assert_eq!(cache.apply(&[wire("a", 2, "", 3)]).len(), 1);
    }

    #[test]
    fn mark_offline_keeps_the_version_so_pushes_still_apply() {
        let mut cache = StatusCache::default();
        cache.apply(&[wire("me", 1, "x", 8)]);
        cache.mark_offline("me");
        assert!(cache.apply(&[wire("me", 1, "x", 8)]).is_empty());
        assert_eq!(cache.apply(&[wire("me", 1, "z", 9)]).len(), 1);
        let mut empty = StatusCache::default();
        assert_eq!(empty.mark_offline("me").user_id, "me");
        assert!(empty.get("me").is_some());
    }
}
