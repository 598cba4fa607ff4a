//! The server's Prometheus metrics, served at `GET /metrics` on the admin listener.
//!
//! One recorder per server, not the process-wide one of the `metrics` facade: several servers
//! in one process (the tests, an embedding app) each count only their own. Handles are
//! registered once and kept (per app, per command, per code), so counting on the hot paths is
//! an atomic add, never a key built and looked up. Gauges (connections, devices, users,
//! subscriptions) are taken from the engine when scraped, so they cannot drift from the truth.
//!
//! Names and labels are listed in docs/operations.md; docs/grafana/ is built from them only.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::engine::{Action, AppCensus, DeviceEvent, FastMap, Reason};

/// Seconds: from 100 µs to 10 s, for push latency and command duration.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Rows per store commit.
const ROWS_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];

/// Why a device's status changed, as the metrics count it (label `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeReason {
    Login,
    Logout,
    Disconnect,
    Timeout,
    Kick,
    Custom,
}

impl ChangeReason {
    const ALL: [ChangeReason; 6] = [
        ChangeReason::Login,
        ChangeReason::Logout,
        ChangeReason::Disconnect,
        ChangeReason::Timeout,
        ChangeReason::Kick,
        ChangeReason::Custom,
    ];

    fn label(self) -> &'static str {
        match self {
            ChangeReason::Login => "login",
            ChangeReason::Logout => "logout",
            ChangeReason::Disconnect => "disconnect",
            ChangeReason::Timeout => "timeout",
            ChangeReason::Kick => "kick",
            ChangeReason::Custom => "custom",
        }
    }
}

/// One app's counters.
struct AppCounters {
    changes: [Counter; 6],
    notifications: Counter,
}

/// The server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    push_latency: Histogram,
    coalesced: Counter,
    slow_consumers: Counter,
    commit_duration: Histogram,
    commit_rows: Histogram,
    apps: RwLock<FastMap<u32, Arc<AppCounters>>>,
    commands: RwLock<FastMap<&'static str, Histogram>>,
    replies: RwLock<FastMap<(&'static str, i32), Counter>>,
    rejected_logins: RwLock<FastMap<(Option<u32>, i32), Counter>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A recorder of its own, with every metric that has no label already at zero (so that a
    /// dashboard shows 0, not "no data", before the first event).
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_rows".into()), ROWS_BUCKETS))
            .expect("the buckets are not empty")
            .build_recorder();
        describe(&recorder);
        let handle = recorder.handle();
        let counter =
            |name: &'static str| recorder.register_counter(&Key::from_static_name(name), METADATA);
        let histogram = |name: &'static str| {
            recorder.register_histogram(&Key::from_static_name(name), METADATA)
        };
        recorder
            .register_gauge(
                &Key::from_static_parts("imstatus_build_info", BUILD_LABELS),
                METADATA,
            )
            .set(1.0);
        Metrics {
            push_latency: histogram("imstatus_push_latency_seconds"),
            coalesced: counter("imstatus_coalesced_pushes_total"),
            slow_consumers: counter("imstatus_slow_consumer_closes_total"),
            commit_duration: histogram("imstatus_store_commit_duration_seconds"),
            commit_rows: histogram("imstatus_store_commit_rows"),
            apps: RwLock::default(),
            commands: RwLock::default(),
            replies: RwLock::default(),
            rejected_logins: RwLock::default(),
            recorder,
            handle,
        }
    }

    fn app(&self, app: u32) -> Arc<AppCounters> {
        if let Some(counters) = read(&self.apps).get(&app) {
            return counters.clone();
        }
        let app_label = app.to_string();
        let counter = |name: &'static str, labels: Vec<Label>| {
            self.recorder
                .register_counter(&Key::from_parts(name, labels), METADATA)
        };
        let counters = Arc::new(AppCounters {
            changes: ChangeReason::ALL.map(|reason| {
                counter(
                    "imstatus_status_changes_total",
                    vec![
                        Label::new("app", app_label.clone()),
                        Label::from_static_parts("reason", reason.label()),
                    ],
                )
            }),
            notifications: counter(
                "imstatus_notifications_total",
                vec![Label::new("app", app_label.clone())],
            ),
        });
        write(&self.apps).entry(app).or_insert(counters).clone()
    }

    /// Counts what happened to a device (and the devices its login kicked).
    pub fn device_event(&self, event: &DeviceEvent) {
        let reason = match (event.action, event.reason) {
            (Action::Login, _) => ChangeReason::Login,
            (Action::Logout, _) => ChangeReason::Logout,
            (Action::Disconnect, Reason::TimeOut) => ChangeReason::Timeout,
            (Action::Disconnect, _) => ChangeReason::Disconnect,
            (Action::CustomStatusChange, _) => ChangeReason::Custom,
        };
        let app = self.app(event.app);
        app.changes[reason as usize].increment(1);
        if !event.kicked.is_empty() {
            app.changes[ChangeReason::Kick as usize].increment(event.kicked.len() as u64);
        }
    }

    /// Counts status notifications queued for `receivers` connections of `app`.
    pub fn notified(&self, app: u32, receivers: usize) {
        self.app(app).notifications.increment(receivers as u64);
    }

    /// Pushes that took the place of an older one of the same user still waiting (N5).
    pub fn coalesced(&self, pushes: u64) {
        if pushes > 0 {
            self.coalesced.increment(pushes);
        }
    }

    /// A connection closed because its outbox outgrew its limits.
    pub fn slow_consumer(&self) {
        self.slow_consumers.increment(1);
    }

    /// A push written `latency` after its change was decided.
    pub fn push_written(&self, latency: Duration) {
        self.push_latency.record(latency);
    }

    /// A request of kind `command` answered with `code` (0 for success) after `took`.
    pub fn reply(&self, command: &'static str, code: i32, took: Duration) {
        cached(&self.commands, command, || {
            self.recorder.register_histogram(
                &Key::from_parts(
                    "imstatus_command_duration_seconds",
                    vec![Label::from_static_parts("command", command)],
                ),
                METADATA,
            )
        })
        .record(took);
        self.refused(command, code);
    }

    /// A request of kind `command` answered with `code` without reaching the engine.
    pub fn refused(&self, command: &'static str, code: i32) {
        cached(&self.replies, (command, code), || {
            self.recorder.register_counter(
                &Key::from_parts(
                    "imstatus_replies_total",
                    vec![
                        Label::from_static_parts("command", command),
                        Label::new("code", code.to_string()),
                    ],
                ),
                METADATA,
            )
        })
        .increment(1);
    }

    /// A login refused with `code`, to `app` when it is one of the server's (labelled
    /// `unknown` otherwise).
    pub fn login_rejected(&self, app: Option<u32>, code: i32) {
        cached(&self.rejected_logins, (app, code), || {
            let app = app.map_or_else(|| "unknown".to_string(), |app| app.to_string());
            self.recorder.register_counter(
                &Key::from_parts(
                    "imstatus_rejected_logins_total",
                    vec![Label::new("app", app), Label::new("code", code.to_string())],
                ),
                METADATA,
            )
        })
        .increment(1);
    }

    /// A store commit of `rows` rows that took `took` (write and fsync).
    pub fn store_commit(&self, took: Duration, rows: usize) {
        self.commit_duration.record(took);
        self.commit_rows.record(rows as f64);
    }

    /// Folds recorded samples into the histograms: run every second or so, so that what the
    /// hot paths record between scrapes stays small.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The text a scrape gets, with the gauges set from `snapshot` first.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let gauge = |name: &'static str, labels: Vec<Label>| -> Gauge {
            self.recorder
                .register_gauge(&Key::from_parts(name, labels), METADATA)
        };
        gauge("imstatus_connections", Vec::new()).set(snapshot.connections as f64);
        for (&app, census) in &snapshot.apps {
            let label = || vec![Label::new("app", app.to_string())];
            gauge("imstatus_connections_logged_in", label()).set(census.sessions as f64);
            gauge("imstatus_devices_logged_in", label()).set(census.devices_logged_in as f64);
            gauge("imstatus_devices_online", label()).set(census.devices_online as f64);
            gauge("imstatus_users_online", label()).set(census.users_online as f64);
            gauge("imstatus_subscriptions", label()).set(census.subscriptions as f64);
        }
        for (&(app, result), &count) in &snapshot.webhooks {
            self.recorder
                .register_counter(
                    &Key::from_parts(
                        "imstatus_webhook_requests_total",
                        vec![
                            Label::new("app", app.to_string()),
                            Label::from_static_parts("result", result),
                        ],
                    ),
                    METADATA,
                )
                .absolute(count);
        }
        for (&app, &queued) in &snapshot.webhooks_queued {
            gauge(
                "imstatus_webhook_queued",
                vec![Label::new("app", app.to_string())],
            )
            .set(queued as f64);
        }
        let cluster = &snapshot.cluster;
        gauge("imstatus_cluster_nodes", Vec::new()).set(cluster.nodes as f64);
        for (name, count) in [
            ("imstatus_cluster_bus_errors_total", cluster.bus_errors),
            ("imstatus_cluster_resubscribes_total", cluster.resubscribes),
            (
                "imstatus_cluster_reaped_devices_total",
                cluster.reaped_devices,
            ),
            ("imstatus_cluster_lost_locks_total", cluster.lost_locks),
        ] {
            self.recorder
                .register_counter(&Key::from_static_name(name), METADATA)
                .absolute(count);
        }
        if let Some(process) = crate::process::sample() {
            gauge("imstatus_process_resident_memory_bytes", Vec::new())
                .set(process.resident_bytes as f64);
            gauge("imstatus_process_open_fds", Vec::new()).set(process.open_fds as f64);
            // A gauge: a counter holds whole numbers, and rate() needs the fractions.
            gauge("imstatus_process_cpu_seconds_total", Vec::new()).set(process.cpu_seconds);
        }
        self.handle.render()
    }
}

/// What a scrape reads from the rest of the server.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Open connections on this node, logged in or not.
    pub connections: usize,
    /// The engine's census, per app.
    pub apps: BTreeMap<u32, AppCensus>,
    /// Webhook requests by (app, result), counted since the start.
    pub webhooks: BTreeMap<(u32, &'static str), u64>,
    /// State-change callbacks waiting to be sent, per app.
    pub webhooks_queued: BTreeMap<u32, u64>,
    /// The cluster's side of this node (a server on its own is a cluster of one node that
    /// never fails on a bus).
    pub cluster: ClusterSnapshot,
}

/// What a scrape shows of the cluster, counted by this node since its start.
#[derive(Debug)]
pub struct ClusterSnapshot {
    /// Live nodes as this node's janitor last saw them (itself included, so at least 1).
    pub nodes: u64,
    /// Redis commands that failed, and failures of the subscriber's connections.
    pub bus_errors: u64,
    /// Channels subscribed again after a reconnect or a slot move.
    pub resubscribes: u64,
    /// Devices of dead nodes this node turned OFFLINE.
    pub reaped_devices: u64,
    /// Changes not written because this node no longer held the user's lock.
    pub lost_locks: u64,
}

impl Default for ClusterSnapshot {
    fn default() -> ClusterSnapshot {
        ClusterSnapshot {
            nodes: 1,
            bus_errors: 0,
            resubscribes: 0,
            reaped_devices: 0,
            lost_locks: 0,
        }
    }
}

const BUILD_LABELS: &[Label] = &[Label::from_static_parts(
    "version",
    env!("CARGO_PKG_VERSION"),
)];

static METADATA_VALUE: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
const METADATA: &Metadata<'static> = &METADATA_VALUE;

/// The help text of every metric.
fn describe(recorder: &PrometheusRecorder) {
    let help: &[(&'static str, Option<Unit>, &'static str)] = &[
        ("imstatus_build_info", None, "The running version (always 1)."),
        ("imstatus_connections", None, "Open SDK connections on this node, logged in or not."),
        ("imstatus_connections_logged_in", None, "Connections logged in, per app."),
        ("imstatus_devices_logged_in", None, "Devices logged in (ONLINE or OFFLINE), per app."),
        ("imstatus_devices_online", None, "Devices ONLINE, per app."),
        ("imstatus_users_online", None, "Users with at least one ONLINE device, per app."),
        ("imstatus_subscriptions", None, "Status subscriptions held, per app."),
        ("imstatus_status_changes_total", None, "Device status changes, per app and reason (login, logout, disconnect, timeout, kick, custom)."),
        ("imstatus_notifications_total", None, "Status pushes queued for watching connections, per app."),
        ("imstatus_push_latency_seconds", Some(Unit::Seconds), "From a change being decided to its push being written to a watcher's socket."),
        ("imstatus_command_duration_seconds", Some(Unit::Seconds), "Time to answer a request, per command (a login includes its durable write)."),
        ("imstatus_replies_total", None, "Replies, per command and code (0 is success)."),
        ("imstatus_coalesced_pushes_total", None, "Pushes that replaced an older one of the same user still waiting in an outbox (N5)."),
        ("imstatus_slow_consumer_closes_total", None, "Connections closed because their outbox outgrew its limits."),
        ("imstatus_rejected_logins_total", None, "Logins refused, per app and code."),
        ("imstatus_store_commit_duration_seconds", Some(Unit::Seconds), "Embedded store commits: write and fsync of one batch."),
        ("imstatus_store_commit_rows", None, "Rows per embedded store commit."),
        ("imstatus_webhook_requests_total", None, "State-change callback requests, per app and result: ok (2xx), failed (attempts answered with an error or not at all), timeout (attempts), retried, rejected (4xx but 429: not retried), dropped (queue full or every attempt failed)."),
        ("imstatus_webhook_queued", None, "State-change callbacks waiting to be sent, per app."),
        ("imstatus_cluster_nodes", None, "Live nodes of the cluster as this node's janitor last saw them (1 on a server of its own)."),
        ("imstatus_cluster_bus_errors_total", None, "Redis commands that failed and failures of the subscriber's connections, on this node."),
        ("imstatus_cluster_resubscribes_total", None, "Channels this node subscribed again after a reconnect or a slot move."),
        ("imstatus_cluster_reaped_devices_total", None, "Devices of dead nodes (lease lapsed) this node turned OFFLINE."),
        ("imstatus_cluster_lost_locks_total", None, "Changes not written because this node no longer held the user's lock."),
        ("imstatus_process_resident_memory_bytes", Some(Unit::Bytes), "Resident memory of the server process."),
        ("imstatus_process_open_fds", None, "Open file descriptors of the server process."),
        ("imstatus_process_cpu_seconds_total", Some(Unit::Seconds), "CPU time of the server process, user and system."),
    ];
    for &(name, unit, text) in help {
        if name.ends_with("_total") {
            recorder.describe_counter(name.into(), unit, text.into());
        } else if name.ends_with("_seconds") || name.ends_with("_rows") {
            recorder.describe_histogram(name.into(), unit, text.into());
        } else {
            recorder.describe_gauge(name.into(), unit, text.into());
        }
    }
}

/// The handle cached under `key`, registered by `make` the first time.
fn cached<K: std::hash::Hash + Eq + Copy, H: Clone>(
    cache: &RwLock<FastMap<K, H>>,
    key: K,
    make: impl FnOnce() -> H,
) -> H {
    if let Some(handle) = read(cache).get(&key) {
        return handle.clone();
    }
    let handle = make();
    write(cache).entry(key).or_insert(handle).clone()
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
