//! The engine as the server runs it, and the outboxes it delivers into.
//!
//! There is no lock over all users: the engine locks per user, and delivers a user's changes
//! into the outboxes of the receiving connections (leaf locks) while it holds that user's lock,
//! so they arrive in the order made (N3). A reply keeps the place reserved when its request
//! arrived ([`Outbox::reserve`]), so it leaves before the pushes it caused.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::durable::DurableStore;
use crate::effects::{Effects, Outboxes};
use crate::engine::{ConnId, Engine, Millis, Store};
use crate::metrics::{Metrics, Snapshot};
use crate::outbox::{End, Limits, Outbox};

/// The engine as the server runs it: over whichever store the configuration chose.
pub type ServerEngine = Engine<Arc<dyn Store>>;

/// Unix time in milliseconds: the clock the server injects into the engine.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The engine, the outboxes it delivers into, the store to wait on for durability, and the
/// metrics.
pub struct Hub {
    pub engine: ServerEngine,
    pub metrics: Arc<Metrics>,
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
        let metrics = Arc::new(Metrics::new());
        if let Some(durable) = &durable {
            let metrics = metrics.clone();
            durable.on_commit(move |took, rows| metrics.store_commit(took, rows));
        }
        let effects = Arc::new(Effects {
            outboxes: outboxes.clone(),
            metrics: metrics.clone(),
        });
        let engine =
            Engine::with_sink(store, epoch, now_ms(), effects).with_login_timeout(login_timeout);
        Hub {
            engine,
            metrics,
            outboxes,
            durable,
            limits,
        }
    }

    /// Registers a new connection and answers its outbox.
    pub fn open(&self, conn: ConnId, now: Millis) -> Arc<Outbox> {
        self.open_from(conn, None, now)
    }

    /// Registers a new connection from `peer` and answers its outbox.
    pub fn open_from(&self, conn: ConnId, peer: Option<IpAddr>, now: Millis) -> Arc<Outbox> {
        let outbox = Arc::new(Outbox::new(self.limits));
        self.outboxes.insert(conn, outbox.clone(), peer);
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

    /// Whether this node can serve: its store takes writes within `within` (readiness). Says
    /// why not.
    pub async fn ready(&self, within: std::time::Duration) -> Result<(), String> {
        let Some(durable) = &self.durable else {
            return Ok(());
        };
        if let Some(why) = durable.failing() {
            return Err(format!("the data file takes no writes: {why}"));
        }
        tokio::time::timeout(within, durable.probe())
            .await
            .map_err(|_| format!("the data file took no write within {within:?}"))
    }

    /// Closes every connection (at shutdown), once each has sent what is queued for it.
    pub fn end_all(&self) {
        self.outboxes.end_all();
    }

    /// How many connections are open on this node.
    pub fn connection_count(&self) -> usize {
        self.outboxes.count()
    }

    /// The metrics in Prometheus' text format, gauges taken now.
    pub fn render_metrics(&self) -> String {
        self.metrics.render(&Snapshot {
            connections: self.connection_count(),
            apps: self.engine.census(),
            webhooks: Default::default(),
        })
    }
}
