//! What the engine decided, carried out: statuses pushed into the outboxes of the connections
//! that watch, connections closed, and device events counted (and, where the app asks for it,
//! called back). The engine calls in while it holds the changed user's lock, so nothing here
//! waits: an outbox push is a leaf lock, a count an atomic add.

use std::net::IpAddr;
use std::sync::Arc;

use imstatus_protocol::encode;

use crate::engine::{
    AppSettings, CloseReason, ConnId, DeviceEvent, FastMap, Sharded, Sink, StatusChange, SHARDS,
};
use crate::metrics::Metrics;
use crate::outbox::{EncodedStatus, End, Outbox, Pushed};

/// One open connection, as the effects need it.
struct Open {
    outbox: Arc<Outbox>,
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
    pub fn insert(&self, conn: ConnId, outbox: Arc<Outbox>, _peer: Option<IpAddr>) {
        self.shard(conn).insert(conn, Open { outbox });
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

    fn device_event(&self, event: &DeviceEvent, _app: &AppSettings) {
        self.metrics.device_event(event);
    }
}
