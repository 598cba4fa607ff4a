//! A count of what the engine holds, per app: what the metrics' gauges show.

use std::collections::BTreeMap;

use super::store::Store;
use super::Engine;

/// What one app has on this node right now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppCensus {
    /// Connections logged in as one of the app's devices.
    pub sessions: u64,
    /// Devices logged in (L1), ONLINE or not.
    pub devices_logged_in: u64,
    /// Devices ONLINE (L3).
    pub devices_online: u64,
    /// Users with at least one ONLINE device.
    pub users_online: u64,
    /// Subscriptions held (S1).
    pub subscriptions: u64,
}

impl<S: Store> Engine<S> {
    /// Counts, per app, the users this engine has loaded (every user with a device or a
    /// subscription, once recovery after a start is done) and the sessions on this node; in a
    /// cluster, the users connected to this node. One
    /// shard at a time, each for a moment: a scrape never stops the engine.
    pub fn census(&self) -> BTreeMap<u32, AppCensus> {
        let mut apps: BTreeMap<u32, AppCensus> = self
            .all_apps()
            .iter()
            .map(|app| (app.sdk_app_id, AppCensus::default()))
            .collect();
        // A node of a cluster holds copies of users connected elsewhere: it counts only its
        // own users and their devices connected here, so that the nodes' counts add up.
        let me = self.incarnation();
        for index in 0..super::SHARDS {
            let shard = self.users.lock(index);
            for (key, record) in &shard.records {
                if self.clustered() && !self.is_live(key) {
                    continue;
                }
                let app = apps.entry(key.app).or_default();
                let online = record
                    .devices
                    .values()
                    .filter(|d| d.online && d.node == me)
                    .count() as u64;
                app.devices_logged_in += record.devices.len() as u64;
                app.devices_online += online;
                app.users_online += u64::from(online > 0);
                app.subscriptions += record.subscriptions.len() as u64;
            }
        }
        for (app, sessions) in self.conns.sessions_per_app() {
            apps.entry(app).or_default().sessions += sessions;
        }
        apps
    }
}
