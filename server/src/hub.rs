//! The engine as the server runs it, and the outboxes it delivers into.
//!
//! There is no lock over all users: the engine locks per user, and delivers a user's changes
//! into the outboxes of the receiving connections (leaf locks) while it holds that user's lock,
//! so they arrive in the order made (N3). A reply keeps the place reserved when its request
//! arrived ([`Outbox::reserve`]), so it leaves before the pushes it caused.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use imstatus_protocol::encode;

use crate::durable::DurableStore;
use crate::engine::{
    CloseReason, ConnId, Engine, FastMap, Millis, Sharded, Sink, StatusChange, Store, SHARDS,
};
use crate::outbox::{EncodedStatus, End, Limits, Outbox};

/// The engine as the server runs it: over whichever store the configuration chose.
pub type ServerEngine = Engine<Arc<dyn Store>>;

/// Unix time in milliseconds: the clock the server injects into the engine.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Every open connection's outbox, sharded by connection: the engine's [`Sink`].
#[derive(Default)]
pub struct Outboxes {
    table: Sharded<FastMap<ConnId, Arc<Outbox>>>,
}

impl Outboxes {
    fn shard(&self, conn: ConnId) -> std::sync::MutexGuard<'_, FastMap<ConnId, Arc<Outbox>>> {
        self.table.lock_for(&conn)
    }

    fn get(&self, conn: ConnId) -> Option<Arc<Outbox>> {
        self.shard(conn).get(&conn).cloned()
    }

    fn insert(&self, conn: ConnId, outbox: Arc<Outbox>) {
        self.shard(conn).insert(conn, outbox);
    }

    fn remove(&self, conn: ConnId) -> Option<Arc<Outbox>> {
        self.shard(conn).remove(&conn)
    }

    /// Ends every outbox: each connection sends what is queued for it, then closes.
    fn end_all(&self) {
        for index in 0..SHARDS {
            for outbox in self.table.lock(index).values() {
                outbox.end(End::Done);
            }
        }
    }

    /// How many connections are open.
    pub fn count(&self) -> usize {
        (0..SHARDS).map(|i| self.table.lock(i).len()).sum()
    }
}

impl Sink for Outboxes {
    fn changed(&self, change: &StatusChange, to: &[ConnId]) {
        if to.is_empty() {
            return;
        }
        let wire = crate::wire::status(&change.status);
        let encoded = Arc::new(EncodedStatus {
            user_id: Arc::from(wire.user_id.as_str()),
            json: encode(&wire),
        });
        for &conn in to {
            // Pushed under the table's shard lock (a leaf, like the outbox's): no reference to
            // count up and down per delivery.
            if let Some(outbox) = self.shard(conn).get(&conn) {
                if !outbox.push(&encoded) {
                    tracing::info!(conn, "closing a slow consumer: its outbox is full");
                }
            }
        }
    }

    fn close(&self, conn: ConnId, reason: CloseReason) {
        if let Some(outbox) = self.get(conn) {
            outbox.end(End::Close(reason));
        }
    }
}

/// The engine, the outboxes it delivers into, and the store to wait on for durability.
pub struct Hub {
    pub engine: ServerEngine,
    outboxes: Arc<Outboxes>,
    durable: Option<Arc<DurableStore>>,
    limits: Limits,
}

impl Hub {
    /// A hub over `store` (and, when it is the durable store, able to wait for it).
    pub fn new(
        store: Arc<dyn Store>,
        durable: Option<Arc<DurableStore>>,
        epoch: u32,
        limits: Limits,
        login_timeout: Millis,
    ) -> Hub {
        let outboxes = Arc::new(Outboxes::default());
        let engine = Engine::with_sink(store, epoch, now_ms(), outboxes.clone())
            .with_login_timeout(login_timeout);
        Hub {
            engine,
            outboxes,
            durable,
            limits,
        }
    }

    /// Registers a new connection and answers its outbox.
    pub fn open(&self, conn: ConnId, now: Millis) -> Arc<Outbox> {
        let outbox = Arc::new(Outbox::new(self.limits));
        self.outboxes.insert(conn, outbox.clone());
        self.engine.open(conn, now);
        outbox
    }

    /// Forgets a connection that is gone (D1); its writer finishes what is queued.
    pub fn closed(&self, conn: ConnId, now: Millis) {
        if let Some(outbox) = self.outboxes.remove(conn) {
            outbox.end(End::Done);
        }
        self.engine.close(conn, now);
    }

    /// Completes once everything the engine wrote so far is on disk (at once without a data
    /// directory).
    pub fn durable(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let flushed = self.durable.as_ref().map(|d| d.flushed());
        async move {
            if let Some(flushed) = flushed {
                flushed.await;
            }
        }
    }

    /// Closes every connection (at shutdown), once each has sent what is queued for it.
    pub fn end_all(&self) {
        self.outboxes.end_all();
    }

    /// How many connections are open on this node.
    pub fn connection_count(&self) -> usize {
        self.outboxes.count()
    }
}
