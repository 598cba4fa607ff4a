//! The engine as the server runs it, and the outboxes it delivers into.
//!
//! There is no lock over all users: the engine locks per user, and delivers a user's changes
//! into the outboxes of the receiving connections (leaf locks) while it holds that user's lock,
//! so they arrive in the order made (N3). A reply keeps the place reserved when its request
//! arrived ([`Outbox::reserve`]), so it leaves before the pushes it caused.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::durable::DurableStore;
use crate::effects::{Effects, Outboxes};
use crate::engine::{ConnId, Engine, Millis, Store};
use crate::metrics::{ClusterSnapshot, Metrics, Snapshot};
use crate::outbox::{End, Limits, Outbox};
use crate::webhook::{WebhookLimits, Webhooks};

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
    /// State-change callbacks, once an app has asked for them.
    webhooks: Arc<OnceLock<Webhooks>>,
    outboxes: Arc<Outboxes>,
    durable: Option<Arc<DurableStore>>,
    limits: Limits,
    /// The cluster's shared state, when this is one node of a cluster.
    cluster: Option<Arc<crate::cluster::authority::RedisAuthority>>,
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
        Hub::build(store, durable, epoch, limits, login_timeout, None)
    }

    /// A hub for one node of a cluster over `authority` (which is its store too).
    pub fn clustered(
        authority: Arc<crate::cluster::authority::RedisAuthority>,
        limits: Limits,
        login_timeout: Millis,
    ) -> Hub {
        use crate::engine::Authority;
        let epoch = authority.incarnation() as u32;
        Hub::build(
            authority.clone(),
            None,
            epoch,
            limits,
            login_timeout,
            Some(authority),
        )
    }

    fn build(
        store: Arc<dyn Store>,
        durable: Option<Arc<DurableStore>>,
        epoch: u32,
        limits: Limits,
        login_timeout: Millis,
        cluster: Option<Arc<crate::cluster::authority::RedisAuthority>>,
    ) -> Hub {
        let outboxes = Arc::new(Outboxes::default());
        let metrics = Arc::new(Metrics::new());
        if let Some(durable) = &durable {
            let metrics = metrics.clone();
            durable.on_commit(move |took, rows| metrics.store_commit(took, rows));
        }
        let webhooks = Arc::new(OnceLock::new());
        let effects = Arc::new(Effects {
            outboxes: outboxes.clone(),
            metrics: metrics.clone(),
            webhooks: webhooks.clone(),
            webhook_limits: WebhookLimits::default(),
        });
        let mut engine =
            Engine::with_sink(store, epoch, now_ms(), effects).with_login_timeout(login_timeout);
        if let Some(cluster) = &cluster {
            engine = engine.with_authority(cluster.clone());
        }
        Hub {
            engine,
            metrics,
            webhooks,
            outboxes,
            durable,
            limits,
            cluster,
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
        // The engine first: what it tells the app's backend names the connection's address,
        // which is forgotten with the outbox.
        self.engine.close(conn, now);
        if let Some(outbox) = self.outboxes.remove(conn) {
            outbox.end(End::Done);
        }
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
        if let Some(cluster) = &self.cluster {
            return cluster_ready(cluster.clone(), within).await;
        }
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
        let mut webhooks = std::collections::BTreeMap::new();
        let mut webhooks_queued = std::collections::BTreeMap::new();
        for (app, counts) in self.webhooks.get().map(|w| w.counts()).unwrap_or_default() {
            webhooks_queued.insert(app, counts.queued);
            for (result, count) in [
                ("ok", counts.sent),
                ("failed", counts.failed),
                ("timeout", counts.timeouts),
                ("retried", counts.retries),
                ("rejected", counts.rejected),
                ("dropped", counts.dropped),
            ] {
                webhooks.insert((app, result), count);
            }
        }
        self.metrics.render(&Snapshot {
            connections: self.connection_count(),
            apps: self.engine.census(),
            webhooks,
            webhooks_queued,
            cluster: self.cluster_snapshot(),
        })
    }

    /// The cluster's counters for a scrape (a server of its own: one node, nothing failed).
    fn cluster_snapshot(&self) -> ClusterSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(cluster) = &self.cluster else {
            return ClusterSnapshot::default();
        };
        let subscriber = cluster.subscriber();
        let counts = &cluster.counts;
        ClusterSnapshot {
            // 0 until the janitor's first round (a third of the lease after the start); this
            // node is alive, so it counts at least itself.
            nodes: counts.nodes.load(Relaxed).max(1),
            bus_errors: cluster.redis().errors() + subscriber.map_or(0, |s| s.errors()),
            resubscribes: subscriber.map_or(0, |s| s.resubscribes()),
            reaped_devices: counts.reaped_devices.load(Relaxed),
            lost_locks: counts.lost_locks.load(Relaxed),
        }
    }

    /// How many kept users the recovery after a start may load now: all it likes, unless an
    /// app wants state-change callbacks. Then each recovered device is a callback, paced for
    /// the receiver, and the recovery goes no faster than they leave, keeping at least half of
    /// every app's callback queue for what happens live meanwhile.
    pub fn recovery_slice(&self, most: usize) -> usize {
        let Some(webhooks) = self.webhooks.get() else {
            return most;
        };
        let half = WebhookLimits::default().queue_per_app / 2;
        self.engine
            .all_app_settings()
            .iter()
            .filter(|app| !app.state_change_callback_url.is_empty())
            .map(|app| webhooks.room(app.sdk_app_id).saturating_sub(half))
            .min()
            .map_or(most, |room| room.clamp(1, most))
    }

    /// Waits (at most `within`) until every state-change callback queued so far was delivered
    /// or given up: at shutdown.
    pub async fn webhooks_drained(&self, within: std::time::Duration) {
        if let Some(webhooks) = self.webhooks.get() {
            let _ = tokio::time::timeout(within, webhooks.drained()).await;
        }
    }
}

/// Whether a node of a cluster can serve: Redis answers within `within`, and every channel
/// the node listens on is subscribed.
async fn cluster_ready(
    cluster: Arc<crate::cluster::authority::RedisAuthority>,
    within: std::time::Duration,
) -> Result<(), String> {
    let ping = tokio::task::spawn_blocking(move || {
        let answered = cluster.redis().call(b"ping", &[b"PING"]);
        let listening = cluster.subscriber().is_some_and(|s| s.healthy());
        (answered.map(|_| ()).map_err(|e| e.to_string()), listening)
    });
    match tokio::time::timeout(within, ping).await {
        Err(_) => Err(format!("Redis did not answer within {within:?}")),
        Ok(Err(e)) => Err(format!("the Redis probe failed: {e}")),
        Ok(Ok((Err(e), _))) => Err(format!("Redis does not answer: {e}")),
        Ok(Ok((Ok(()), false))) => {
            Err("not every channel this node listens on is subscribed yet".into())
        }
        Ok(Ok((Ok(()), true))) => Ok(()),
    }
}
