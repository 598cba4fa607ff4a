//! The imstatus server: a tokio listener with one task per connection, a ticker that applies the
//! engine's deadlines, the admin HTTP API, and the store chosen by the configuration. It drives
//! the [`engine`] (where every rule of `behaviour.md` is decided) and decides nothing the engine
//! should. Clients speak the `imstatus-protocol` wire format; [`wire`] translates at the edge.

mod admin;
pub mod cluster;
mod config;
mod connection;
pub mod dev_cert;
mod durable;
mod effects;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
mod hub;
pub mod metrics;
mod outbox;
mod process;
pub mod testing;
mod tls;
mod transport;
mod unauthenticated;
pub mod usersig;
pub mod webhook;
pub mod wire;

use imstatus_protocol::codes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::{
    ClusterConfig, Config, Limits, DEFAULT_ADMIN_LISTEN, DEFAULT_LISTEN, DEFAULT_SDK_APP_ID,
};
pub use durable::DurableStore;
pub use hub::{now_ms, Hub, ServerEngine};
/// The outbox types [`Hub::new`] and [`Hub::open`] use, for embedders and the in-process
/// benchmarks (`imstatus-bench hub-scale`, `outbox-cost`).
pub use outbox::{EncodedStatus, Limits as OutboxLimits, Outbox};

use crate::engine::{AppSettings, MemoryStore, Store};
use unauthenticated::Unauthenticated;

/// Users kept from earlier runs loaded per tick after a start (10 ticks a second).
const RECOVERY_SLICE: usize = 2000;

/// How often the engine's deadlines (D2, L5, S7, UserSig expiry) are applied.
const TICK_INTERVAL: Duration = Duration::from_millis(100);

/// How long a shutdown waits for state-change callbacks still queued.
const WEBHOOK_DRAIN: Duration = Duration::from_secs(5);

/// How often the metrics fold what was recorded into their histograms (every second): what
/// the hot paths record meanwhile stays small.
const UPKEEP_EVERY_TICKS: u64 = 10;

/// What a started server tells its caller.
#[derive(Debug, Clone)]
pub struct Started {
    /// Where SDK clients connect: the plaintext listener, or the TLS one when that is the only.
    pub addr: SocketAddr,
    /// Where SDK clients connect over TLS, if TLS is on.
    pub tls_addr: Option<SocketAddr>,
    /// Where the admin HTTP API listens, if it is on.
    pub admin_addr: Option<SocketAddr>,
    /// The token the admin API wants as `Authorization: Bearer <token>`.
    pub admin_token: String,
    /// The embedded default app, when the configuration named none.
    pub default_app: Option<AppSettings>,
}

/// A server running on its own runtime thread; for tests, benchmarks and embedding.
pub struct ServerHandle {
    started: Started,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    pub fn started(&self) -> &Started {
        &self.started
    }

    pub fn addr(&self) -> SocketAddr {
        self.started.addr
    }

    /// Closes every connection, waits until the server is down, and releases its port.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts a server on a runtime thread of its own and returns once it is listening.
pub fn spawn(config: Config) -> Result<ServerHandle, String> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("imstatus-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("imstatus-server-worker")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot start a runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let ready = ready_tx.clone();
                let result = run(config, wait_for(shutdown_rx), move |s| {
                    let _ = ready.send(Ok(s.clone()));
                })
                .await;
                if let Err(e) = result {
                    let _ = ready_tx.send(Err(e));
                }
            });
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(started)) => Ok(ServerHandle {
            started,
            shutdown: shutdown_tx,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err("the server thread ended before it was ready".into())
        }
    }
}

async fn wait_for(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Runs a server until `shutdown` completes. `ready` is called once it listens.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
    ready: impl FnOnce(&Started),
) -> Result<(), String> {
    let limits = Arc::new(config.limits.clone());
    let outbox_limits = outbox::Limits {
        max_bytes: limits.outbox_max_bytes,
        max_entries: limits.outbox_max_entries,
    };
    let login_timeout = limits.login_timeout.as_millis() as u64;
    let (hub, node) = match &config.cluster {
        Some(cluster) => {
            if config.data_dir.is_some() {
                tracing::info!(
                    "a node of a cluster keeps everything in Redis: data_dir is not used"
                );
            }
            let cluster = cluster.clone();
            let node = tokio::task::spawn_blocking(move || cluster::node::Node::join(&cluster))
                .await
                .map_err(|e| format!("joining the cluster failed: {e}"))??;
            let hub = Arc::new(Hub::clustered(
                node.authority.clone(),
                outbox_limits,
                login_timeout,
            ));
            node.serve(&hub);
            (hub, Some(node))
        }
        None => {
            let (store, durable, epoch) = open_store(&config)?;
            let hub = Hub::new(store, durable, epoch, outbox_limits, login_timeout);
            (Arc::new(hub), None)
        }
    };
    let incarnation = node.as_ref().map(|n| n.incarnation());
    let default_app = configure_apps(&hub.engine, &config)?;

    let certificates = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::Certificates::load(cert, key)?),
        _ => None,
    };
    let acceptor = certificates.as_ref().map(|c| c.acceptor()).transpose()?;
    let plain = listen_on(&config.listen, limits.listen_backlog)?;
    let secure = match &acceptor {
        Some(_) => listen_on(&config.tls_listen, limits.listen_backlog)?,
        None => None,
    };
    let local = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
    let tls_addr = local(&secure);
    let addr = local(&plain)
        .or(tls_addr)
        .ok_or("neither listen nor tls_listen is set: there is nothing to serve clients on")?;
    let admin_token = config
        .admin_token
        .clone()
        .unwrap_or_else(admin::random_token);
    let admin_listener = if config.admin_listen.is_empty() {
        None
    } else {
        Some(
            TcpListener::bind(&config.admin_listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", config.admin_listen))?,
        )
    };
    let started = Started {
        addr,
        tls_addr,
        admin_addr: admin_listener.as_ref().and_then(|l| l.local_addr().ok()),
        admin_token: admin_token.clone(),
        default_app,
    };
    tracing::info!(%addr, tls = ?tls_addr, admin = ?started.admin_addr, ?incarnation, "imstatus server listening");
    ready(&started);

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    if let Some(listener) = admin_listener {
        let admin_acceptor = acceptor.clone().filter(|_| config.admin_tls);
        tasks.spawn(admin::serve(
            listener,
            admin_acceptor,
            hub.clone(),
            admin_token,
            limits.clone(),
            wait_for(stop_rx.clone()),
        ));
    }
    if let Some(certificates) = certificates {
        tasks.spawn(tls::reload_on_sighup(
            certificates,
            wait_for(stop_rx.clone()),
        ));
    }
    tasks.spawn(tick_loop(hub.clone(), stop_rx.clone()));
    let unauthenticated = Unauthenticated::new(limits.max_unauthenticated_per_ip);
    let mut connections = JoinSet::new();
    let mut next_conn: u64 = 1;
    tokio::pin!(shutdown);
    loop {
        let (accepted, over_tls) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = accept(&plain) => (accepted, false),
            accepted = accept(&secure) => (accepted, true),
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // Running out of file descriptors must not end the server: wait, then go on.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = unauthenticated.admit(peer.ip()) else {
            tracing::info!(%peer, "refusing a connection: too many from this address have not logged in");
            continue;
        };
        let conn = next_conn;
        next_conn += 1;
        let _ = stream.set_nodelay(true);
        let (hub, limits) = (hub.clone(), limits.clone());
        match (&acceptor, over_tls) {
            (Some(acceptor), true) => {
                let handshake = acceptor.accept(stream);
                connections.spawn(async move {
                    // The handshake counts against the login deadline too.
                    match tokio::time::timeout(limits.login_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            connection::serve(hub, (conn, peer.ip()), stream, limits, permit).await
                        }
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => {
                            tracing::info!(%peer, "no TLS handshake within the login timeout")
                        }
                    }
                });
            }
            _ => {
                connections.spawn(connection::serve(
                    hub,
                    (conn, peer.ip()),
                    stream,
                    limits,
                    permit,
                ));
            }
        }
    }
    tracing::info!("shutting down");
    drop(plain);
    drop(secure);
    let _ = stop_tx.send(true);
    // Every connection sends what is queued for it, then closes.
    hub.end_all();
    while connections.join_next().await.is_some() {}
    while tasks.join_next().await.is_some() {}
    hub.durable().await;
    hub.webhooks_drained(WEBHOOK_DRAIN).await;
    if let Some(node) = node {
        let _ = tokio::task::spawn_blocking(move || node.leave()).await;
    }
    Ok(())
}

/// Accepts on `listener`, or waits for ever when there is none.
async fn accept(
    listener: &Option<TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// A listener on `addr`, or none when `addr` is empty.
fn listen_on(addr: &str, backlog: u32) -> Result<Option<TcpListener>, String> {
    if addr.is_empty() {
        return Ok(None);
    }
    listen(addr, backlog)
        .map(Some)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// A listener on `addr` with room for `backlog` connections not yet accepted.
fn listen(addr: &str, backlog: u32) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in std::net::ToSocketAddrs::to_socket_addrs(addr)? {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // A restarted server takes its port back at once, as std's listeners do on Unix.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the address resolves to nothing")))
}

async fn tick_loop(hub: Arc<Hub>, stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(TICK_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stopped = wait_for(stop);
    tokio::pin!(stopped);
    let mut recovering = true;
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = interval.tick() => {
                hub.engine.tick(now_ms());
                ticks += 1;
                if ticks % UPKEEP_EVERY_TICKS == 0 {
                    hub.metrics.upkeep();
                }
                // After a start, bring back the users kept from earlier runs a slice at a
                // time, so their deadlines come due without the start waiting for them.
                if recovering {
                    recovering = hub.engine.recover_some(hub.recovery_slice(RECOVERY_SLICE));
                }
            }
        }
    }
}

/// The store the configuration asks for, the durable one again to wait on, and the boot epoch.
type Opened = (Arc<dyn Store>, Option<Arc<DurableStore>>, u32);

fn open_store(config: &Config) -> Result<Opened, String> {
    match &config.data_dir {
        Some(dir) => {
            let (store, epoch) = DurableStore::open(dir)?;
            let store = Arc::new(store);
            Ok((store.clone(), Some(store), epoch))
        }
        None => Ok((Arc::new(MemoryStore::new()), None, 1)),
    }
}

/// Applies the configured apps (the file wins over settings kept from an earlier run), or the
/// embedded default app when none is configured. Answers the default app when it was used.
fn configure_apps(engine: &ServerEngine, config: &Config) -> Result<Option<AppSettings>, String> {
    if config.apps.is_empty() {
        let app = match engine.app_settings(DEFAULT_SDK_APP_ID) {
            Some(kept) => kept,
            None => Config::default_app(admin::random_token()),
        };
        engine.put_app(app.clone()).map_err(|e| e.desc)?;
        return Ok(Some(app));
    }
    for app in &config.apps {
        if let Some(kept) = engine.app_settings(app.sdk_app_id) {
            if kept != *app {
                tracing::warn!(
                    sdk_app_id = app.sdk_app_id,
                    "settings changed through the admin API are replaced by the configuration file"
                );
            }
        }
        engine.put_app(app.clone()).map_err(|e| e.desc)?;
    }
    Ok(None)
}
