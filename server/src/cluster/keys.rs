//! Where the cluster keeps things in Redis, and the channels it speaks on.
//!
//! Everything of one user lives under one hash tag, `{app:user}`, so that it sits in one slot
//! of a Redis Cluster: the record, its lock, its friends, its call windows and its channel can
//! be read, checked and written by one script on one node.

use crate::engine::UserKey;

/// The hash tag of a user's keys.
fn tag(key: &UserKey) -> String {
    format!("{{{}:{}}}", key.app, key.user)
}

/// The user's record: everything the engine knows of them, as JSON.
pub fn record(key: &UserKey) -> Vec<u8> {
    format!("ims:u:{}", tag(key)).into_bytes()
}

/// The user's cluster-wide lock: the token of the node that holds it.
pub fn lock(key: &UserKey) -> Vec<u8> {
    format!("ims:l:{}", tag(key)).into_bytes()
}

/// The user's friends (a set of userIDs).
pub fn friends(key: &UserKey) -> Vec<u8> {
    format!("ims:f:{}", tag(key)).into_bytes()
}

/// The times of the user's accepted calls of one API (a list, oldest first).
pub fn rate(key: &UserKey, api: &str) -> Vec<u8> {
    format!("ims:r:{}:{api}", tag(key)).into_bytes()
}

/// Where the user's changes are published.
pub fn channel(key: &UserKey) -> Vec<u8> {
    format!("ims:c:{}", tag(key)).into_bytes()
}

/// The user a channel of [`channel`] is about.
pub fn user_of_channel(channel: &[u8]) -> Option<UserKey> {
    let inner = std::str::from_utf8(channel)
        .ok()?
        .strip_prefix("ims:c:{")?
        .strip_suffix('}')?;
    member_key(inner)
}

/// A user as a member of a node's set of users with devices there: `app:user`.
pub fn member(key: &UserKey) -> String {
    format!("{}:{}", key.app, key.user)
}

/// The user a [`member`] names.
pub fn member_key(member: &str) -> Option<UserKey> {
    let (app, user) = member.split_once(':')?;
    Some(UserKey::new(app.parse().ok()?, user))
}

/// Every app's settings (a hash: sdkAppID → JSON).
pub const APPS: &[u8] = b"ims:apps";
/// Published to when an app's settings change.
pub const APPS_CHANNEL: &[u8] = b"ims:apps:changed";
/// The counter incarnations are drawn from.
pub const INCARNATIONS: &[u8] = b"ims:incarnations";
/// The incarnations that registered and were not reaped yet (a set).
pub const NODES: &[u8] = b"ims:nodes";

/// A node's lease: present while the node lives.
pub fn lease(incarnation: u64) -> Vec<u8> {
    format!("ims:lease:{incarnation}").into_bytes()
}

/// The users with a device connected to a node (a set of [`member`]s).
pub fn node_users(incarnation: u64) -> Vec<u8> {
    format!("ims:nd:{incarnation}").into_bytes()
}

/// Taken by the node that reaps a dead node, so that one does it.
pub fn reaper(incarnation: u64) -> Vec<u8> {
    format!("ims:reap:{incarnation}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_names_its_user_back() {
        let key = UserKey::new(1400000000, "a:b}c{d");
        assert_eq!(user_of_channel(&channel(&key)), Some(key.clone()));
        assert_eq!(member_key(&member(&key)), Some(key));
        assert_eq!(user_of_channel(b"ims:apps:changed"), None);
    }
}
