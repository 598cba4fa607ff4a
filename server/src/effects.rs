//! What the engine decided, carried out: statuses pushed into the outboxes of the connections
//! that watch, connections closed, and device events counted (and, where the app asks for it,
//! called back). The engine calls in while it holds the changed user's lock, so nothing here
//! waits: an outbox push is a leaf lock, a count an atomic add.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use imstatus_protocol::encode;

use crate::engine::{
    AppSettings, CloseReason, ConnId, DeviceEvent, FastMap, Platform, Sharded, Sink, StatusChange,
    SHARDS,
};
use crate::metrics::Metrics;
use crate::outbox::{EncodedStatus, End, Outbox, Pushed};
use crate::webhook::{Callback, Target, WebhookLimits, Webhooks};

/// One open connection, as the effects need it.
struct Open {
    outbox: Arc<Outbox>,
    /// Where it came from (a state-change callback tells the app's backend).
    peer: Option<IpAddr>,
}

/// Every open connection's outbox, sharded by connection.
#[derive(Default)]
pub struct Outboxes {
    table: Sharded<FastMap<ConnId, Open>>,
}

impl Outboxes {
    fn shard(&self, conn: ConnId) -> std::sync::MutexGuard<'_, FastMap<ConnId, Open>> {
        self.table.lock_for(&conn)
    }

    /// Registers the outbox of a connection from `peer`.
    pub fn insert(&self, conn: ConnId, outbox: Arc<Outbox>, peer: Option<IpAddr>) {
        self.shard(conn).insert(conn, Open { outbox, peer });
    }

    /// Where `conn` came from, if it is open and that is known.
    fn peer(&self, conn: ConnId) -> Option<IpAddr> {
        self.shard(conn).get(&conn).and_then(|open| open.peer)
    }

    /// Forgets a connection; answers its outbox.
    pub fn remove(&self, conn: ConnId) -> Option<Arc<Outbox>> {
        self.shard(conn).remove(&conn).map(|open| open.outbox)
    }

    /// Ends every outbox: each connection sends what is queued for it, then closes.
    pub fn end_all(&self) {
        for index in 0..SHARDS {
            for open in self.table.lock(index).values() {
                open.outbox.end(End::Done);
            }
        }
    }

    /// How many connections are open.
    pub fn count(&self) -> usize {
        (0..SHARDS).map(|i| self.table.lock(i).len()).sum()
    }
}

/// The engine's [`Sink`] in the server.
pub struct Effects {
    pub outboxes: Arc<Outboxes>,
    pub metrics: Arc<Metrics>,
    /// Made when the first app with a callback URL needs it (it needs the runtime, which a
    /// hub driven by hand, as in the benchmarks, does not have).
    pub webhooks: Arc<OnceLock<Webhooks>>,
    pub webhook_limits: WebhookLimits,
}

impl Sink for Effects {
    fn changed(&self, change: &StatusChange, to: &[ConnId]) {
        if to.is_empty() {
            return;
        }
        let wire = crate::wire::status(&change.status);
        let encoded = Arc::new(EncodedStatus::new(
            Arc::from(wire.user_id.as_str()),
            encode(&wire),
        ));
        let mut coalesced = 0;
        for &conn in to {
            // Pushed under the table's shard lock (a leaf, like the outbox's): no reference to
            // count up and down per delivery.
            if let Some(open) = self.outboxes.shard(conn).get(&conn) {
                // An overflowed outbox is closed (and logged) by its connection's task.
                if open.outbox.push(&encoded) == Pushed::Coalesced {
                    coalesced += 1;
                }
            }
        }
        self.metrics.notified(change.app, to.len());
        self.metrics.coalesced(coalesced);
    }

    fn close(&self, conn: ConnId, reason: CloseReason) {
        let outbox = self
            .outboxes
            .shard(conn)
            .get(&conn)
            .map(|open| open.outbox.clone());
        if let Some(outbox) = outbox {
            outbox.end(End::Close(reason));
        }
    }

    fn device_event(&self, event: &DeviceEvent, app: &AppSettings) {
        self.metrics.device_event(event);
        if app.state_change_callback_url.is_empty() {
            return;
        }
        let Some(webhooks) = self.webhooks() else {
            return;
        };
        let target = Target {
            sdk_app_id: app.sdk_app_id,
            url: Arc::from(app.state_change_callback_url.as_str()),
            secret: Arc::from(app.callback_secret()),
        };
        webhooks.submit(&target, self.callback(event));
    }
}

impl Effects {
    fn webhooks(&self) -> Option<&Webhooks> {
        if let Some(webhooks) = self.webhooks.get() {
            return Some(webhooks);
        }
        tokio::runtime::Handle::try_current().ok()?;
        Some(
            self.webhooks
                .get_or_init(|| Webhooks::new(self.webhook_limits.clone())),
        )
    }

    /// The callback that tells `event` to the app's backend.
    fn callback(&self, event: &DeviceEvent) -> Callback {
        Callback {
            user: event.user.clone(),
            action: event.action.name(),
            reason: event.reason.name(),
            platform: opt_platform(event.platform),
            client_ip: event.conn.and_then(|conn| self.outboxes.peer(conn)),
            kicked: event.kicked.iter().map(|&p| opt_platform(p)).collect(),
            custom_status: event.custom_status.clone(),
            event_time_ms: event.at,
            recovered: event.recovered,
        }
    }
}

/// A platform as Tencent's callbacks name it (`OptPlatform`, `KickedDevice.Platform`): iPhone
/// is `iOS` there.
fn opt_platform(platform: Platform) -> &'static str {
    match platform {
        Platform::Android => "Android",
        Platform::IPhone => "iOS",
        Platform::IPad => "iPad",
        Platform::Windows => "Windows",
        Platform::Mac => "Mac",
        Platform::Linux => "Linux",
        Platform::Web => "Web",
    }
}
