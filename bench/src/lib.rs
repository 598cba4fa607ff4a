//! `imstatus-bench`: a load harness that drives imstatus (through `imstatus::protocol`, the wire
//! code the SDK uses) and Mosquitto (through `rumqttc`, with the topic layout of the presence
//! anchors §2.1) with the same workloads, on one shared tokio runtime.
//!
//! Every simulated device is a pair of tasks (one writing, one reading) fed by a command
//! channel; both systems understand the same [`Cmd`]s and report into the same [`Shared`]
//! state, so every workload in [`workloads`] is written once for both systems. Every loop is
//! bounded in count and time; all traffic stays on loopback.

pub mod ims;
pub mod inproc;
pub mod mqtt;
pub mod procfs;
pub mod raw;
pub mod restart;
pub mod tls;
pub mod workloads;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Which system a run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Imstatus,
    Mosquitto,
}

/// The workloads of the anchors' plan (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    ConnectIdle,
    Fanout,
    StopCohort,
    Storm,
    SlowConsumer,
    ChurnVerify,
    /// A healthy cohort under a steady fanout while thousands of new clients log in at once.
    LoginStorm,
    /// Clients that never read, subscribed to users who change, under a flood.
    SlowFlood,
    /// One connection that never logs in and never reads: pipelining, then dripping bytes.
    Unauth,
}

/// Everything a run is told.
#[derive(Debug, Clone)]
pub struct Opts {
    pub system: System,
    pub workload: Workload,
    /// `host:port` of the imstatus server or the broker.
    pub addr: String,
    /// The server or broker process, for RSS and CPU; `None` when it is not measurable.
    pub server_pid: Option<u32>,
    /// Cluster: every node's `host:port` (`addr` is the first). User `u`'s devices connect to
    /// `nodes[u % nodes.len()]` and every user watches only users of other nodes, so that every
    /// delivery crosses Redis. Empty (or one) for a single server.
    pub nodes: Vec<String>,
    /// Cluster: the other nodes' processes, measured together with `server_pid`.
    pub other_server_pids: Vec<u32>,
    /// Cluster: the Redis server's process, for its CPU time per delivery.
    pub redis_pid: Option<u32>,
    /// Users; each has one device, plus a second one for 10 % of them in `churn-verify`.
    pub n: usize,
    /// Subscriptions (watched users) per user.
    pub k: usize,
    /// Status changes per second, one fanout step per value.
    pub rates: Vec<f64>,
    /// Length of one measured step.
    pub duration: Duration,
    /// imstatus client heartbeat interval, and the MQTT keepalive.
    pub heartbeat: Duration,
    /// The server's offline-detection timeout (imstatus `heartbeat_timeout`, 1.5 × keepalive
    /// for MQTT), only reported against.
    pub detect_timeout: Duration,
    pub sdk_app_id: u32,
    pub secret_key: String,
    pub seed: u64,
    /// Percentage of users frozen / slow in `stop-cohort` and `slow-consumer`.
    pub cohort_pct: f64,
    /// Operations per second in `churn-verify`.
    pub churn_rate: f64,
    /// MQTT QoS for publishes and subscriptions (0 or 1).
    pub qos: u8,
    /// Stop stepping the fanout rate after the first failed step.
    pub stop_on_fail: bool,
    /// Setups in flight at once while connecting.
    pub connect_concurrency: usize,
    /// Free-form label copied into every result.
    pub label: String,
    /// A shell command run with the argument `start` before, and `stop` after, every measured
    /// fanout step (e.g. to toggle a profiler); none by default.
    pub hook: Option<String>,
    /// New clients that log in at once in `login-storm`.
    pub storm_clients: usize,
    /// Clients that never read in `slow-flood`.
    pub slow_clients: usize,
    /// Reading watchers of the flooded users in `slow-flood`.
    pub healthy_watchers: usize,
    /// imstatus over TLS (`addr` is then the server's TLS listener); plaintext when `None`.
    pub tls: Option<tls::Tls>,
}

impl Opts {
    /// Defaults suited to a quick run against a local server.
    pub fn new(system: System, workload: Workload, addr: impl Into<String>) -> Opts {
        Opts {
            system,
            workload,
            addr: addr.into(),
            server_pid: None,
            nodes: Vec::new(),
            other_server_pids: Vec::new(),
            redis_pid: None,
            n: 1000,
            k: 50,
            rates: vec![50.0],
            duration: Duration::from_secs(10),
            heartbeat: Duration::from_secs(30),
            detect_timeout: Duration::from_secs(45),
            sdk_app_id: 1_400_000_001,
            secret_key: "bench-secret-key".into(),
            seed: 1,
            cohort_pct: 1.0,
            churn_rate: 200.0,
            qos: 1,
            stop_on_fail: true,
            connect_concurrency: 256,
            label: String::new(),
            hook: None,
            storm_clients: 3000,
            slow_clients: 20,
            healthy_watchers: 10,
            tls: None,
        }
    }

    /// How many servers the clients are spread over (1 unless a cluster run).
    pub fn node_count(&self) -> usize {
        self.nodes.len().max(1)
    }

    /// The server `user`'s devices (and storm clients) connect to.
    pub fn addr_of(&self, user: u32) -> &str {
        if self.nodes.is_empty() {
            &self.addr
        } else {
            &self.nodes[user as usize % self.nodes.len()]
        }
    }
}

/// What the controller asks a device to do.
#[derive(Debug, Clone, Copy)]
pub enum Cmd {
    /// Subscribe to the user's watch list (K users; 2K topic filters on MQTT).
    Subscribe,
    /// Set the custom status to the payload `"{seq}:{ts_ns}"`.
    SetCustom { seq: u32, ts_ns: u64 },
    /// Stop reading and heartbeating; the socket stays open (a frozen process).
    Freeze,
    /// Close the connection abruptly (no logout, no DISCONNECT), then come back.
    Kill { back: Reconnect },
    /// Log out gracefully (imstatus `logout`; MQTT retained "off" then DISCONNECT), then come
    /// back after `back` if it says so.
    Logout { back: Reconnect },
    /// Close and end the device.
    Shutdown,
}

/// When a device reconnects after it was closed.
#[derive(Debug, Clone, Copy)]
pub enum Reconnect {
    Never,
    After(Duration),
    /// Full-jitter exponential backoff: attempt n sleeps `rand(0, min(cap, base * 2^n))`.
    Backoff {
        base: Duration,
        cap: Duration,
    },
}

impl Reconnect {
    /// The sleep before attempt `attempt` (0-based), or `None` for never.
    pub fn delay(self, attempt: u32, rng: &mut impl Rng) -> Option<Duration> {
        match self {
            Reconnect::Never => None,
            Reconnect::After(d) => Some(if attempt == 0 {
                d
            } else {
                backoff(
                    Duration::from_millis(200),
                    Duration::from_secs(5),
                    attempt,
                    rng,
                )
            }),
            Reconnect::Backoff { base, cap } => Some(backoff(base, cap, attempt, rng)),
        }
    }
}

fn backoff(base: Duration, cap: Duration, attempt: u32, rng: &mut impl Rng) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(cap)
        .as_millis() as u64;
    Duration::from_millis(rng.gen_range(0..=ceiling.max(1)))
}

/// Who watches whom: user `i` watches `watches[i]` (sorted, K distinct others, uniform random:
/// the anchors' graph A).
pub struct Graph {
    pub watches: Vec<Vec<u32>>,
    pub watchers: Vec<Vec<u32>>,
}

impl Graph {
    pub fn uniform(n: usize, k: usize, seed: u64) -> Graph {
        Graph::across(n, k, seed, 1)
    }

    /// As [`Graph::uniform`], but user `i` watches only users `j` with `j % groups != i % groups`
    /// (the cluster layout: user `u` is on node `u % groups`, so every watch crosses nodes). With
    /// one group it is the uniform graph, pick for pick.
    pub fn across(n: usize, k: usize, seed: u64, groups: usize) -> Graph {
        let groups = groups.max(1);
        let others = if groups == 1 {
            n.saturating_sub(1)
        } else {
            n - n.div_ceil(groups)
        };
        let k = k.min(others);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut watches = Vec::with_capacity(n);
        let mut watchers = vec![Vec::new(); n];
        for i in 0..n {
            let mut set = std::collections::BTreeSet::new();
            // Bounded: K < n distinct picks, each try succeeds with probability ≥ 1/n.
            let mut tries = 0usize;
            while set.len() < k && tries < 100 * n.max(k) {
                tries += 1;
                let j = rng.gen_range(0..n);
                if j != i && (groups == 1 || j % groups != i % groups) {
                    set.insert(j as u32);
                }
            }
            let list: Vec<u32> = set.into_iter().collect();
            for &j in &list {
                watchers[j as usize].push(i as u32);
            }
            watches.push(list);
        }
        Graph { watches, watchers }
    }
}

impl Graph {
    /// The `slow-flood` layout: users `0..publishers` watch nobody; each of the `watchers`
    /// users after them watches every publisher.
    pub fn flood(publishers: usize, watchers: usize) -> Graph {
        let n = publishers + watchers;
        let all: Vec<u32> = (0..publishers as u32).collect();
        let watches: Vec<Vec<u32>> = (0..n)
            .map(|i| {
                if i < publishers {
                    Vec::new()
                } else {
                    all.clone()
                }
            })
            .collect();
        let mut watchers_of = vec![Vec::new(); n];
        for (i, list) in watches.iter().enumerate() {
            for &j in list {
                watchers_of[j as usize].push(i as u32);
            }
        }
        Graph {
            watches,
            watchers: watchers_of,
        }
    }
}

/// One device: which user it belongs to and its number among the user's devices (0 or 1).
#[derive(Debug, Clone, Copy)]
pub struct Device {
    pub user: u32,
    pub no: u8,
}

pub fn user_id(i: u32) -> String {
    format!("u{i}")
}

pub fn parse_user(id: &str) -> Option<u32> {
    id.strip_prefix('u')?.parse().ok()
}

/// What a device holds about one watched user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    /// imstatus: the status version. MQTT: unused.
    pub version: u64,
    /// Sequence number of the custom status; 0 for none. MQTT: the version of the custom topic.
    pub custom_seq: u32,
    /// 0 unknown, 1 ONLINE, 2 OFFLINE, 3 UNLOGINED.
    pub status: u8,
    /// MQTT: per device, `epoch * 2 + off`, the last-writer-wins key of its presence topic.
    pub presence: [u64; 2],
}

pub const ONLINE: u8 = 1;
pub const OFFLINE: u8 = 2;

/// A device's view of everyone it watches.
#[derive(Debug, Default)]
pub struct View {
    pub entries: Vec<Entry>,
    /// Watched users currently ONLINE in this view.
    pub online: usize,
    /// Logged in (imstatus) or CONNACKed (MQTT), and not since closed.
    pub connected: bool,
    /// Counted in [`Stats::synced`].
    pub synced: bool,
    /// Counted in [`Stats::subscribed`].
    pub subscribed: bool,
}

/// Counters and histograms every device reports into.
pub struct Stats {
    /// Live notifications (pushes, non-retained publishes) about watched users that advanced
    /// the view.
    pub deliveries: AtomicU64,
    /// Notifications older than what the view held (versions going backwards).
    pub regressions: AtomicU64,
    /// Live notifications equal to what the view held.
    pub duplicates: AtomicU64,
    /// Notifications about users the device does not watch (nor itself).
    pub unexpected: AtomicU64,
    /// Error replies, failed connects, undecodable frames.
    pub errors: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// Devices connected (logged in / CONNACKed).
    pub connected: AtomicU64,
    /// Devices whose subscriptions were all acknowledged (counted once per device).
    pub subscribed: AtomicU64,
    /// Devices connected whose every watched user is ONLINE in their view.
    pub synced: AtomicU64,
    /// Setup attempts that failed (a device then retries with backoff).
    pub connect_failures: AtomicU64,
    /// End-to-end latency of custom-status changes, microseconds.
    pub latency: Mutex<Histogram<u64>>,
    /// Whether latencies are recorded right now.
    pub recording: AtomicBool,
    /// Offline detection: per user the phase (1 or 2) they are being watched for, else 0.
    pub detect_phase: Vec<AtomicU8>,
    /// Per phase: when it started (ns since `base`), and the detection times (ms).
    pub detect_start: [AtomicU64; 3],
    pub detect: [Mutex<Histogram<u64>>; 3],
}

fn histogram(max: u64) -> Histogram<u64> {
    Histogram::new_with_bounds(1, max, 3).expect("valid histogram bounds")
}

impl Stats {
    fn new(n: usize) -> Stats {
        Stats {
            deliveries: AtomicU64::new(0),
            regressions: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
            connected: AtomicU64::new(0),
            subscribed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            latency: Mutex::new(histogram(600_000_000)),
            recording: AtomicBool::new(false),
            detect_phase: (0..n).map(|_| AtomicU8::new(0)).collect(),
            detect_start: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
            detect: [
                Mutex::new(histogram(3_600_000)),
                Mutex::new(histogram(3_600_000)),
                Mutex::new(histogram(3_600_000)),
            ],
        }
    }

    pub fn error(&self, what: impl Into<String>) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut last = lock(&self.last_error);
        if last.is_none() {
            *last = Some(what.into());
        }
    }
}

/// Locks, ignoring poisoning (a panicking device task must not hide the results).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State shared by the controller and every device task.
pub struct Shared {
    pub opts: Opts,
    pub graph: Graph,
    pub devices: Vec<Device>,
    /// Per device, its view of the users it watches (aligned with `graph.watches[user]`).
    pub views: Vec<Mutex<View>>,
    pub stats: Stats,
    /// The one clock: latency payloads carry nanoseconds since this instant.
    pub base: Instant,
}

impl Shared {
    /// Builds the population: `n` users, one device each, plus a second device for
    /// `multi_device_pct` percent of them.
    pub fn new(opts: Opts, multi_device_pct: f64) -> Arc<Shared> {
        let graph = Graph::across(opts.n, opts.k, opts.seed, opts.node_count());
        Shared::with_graph(opts, graph, multi_device_pct)
    }

    /// Builds the population over a given graph of `opts.n` users.
    pub fn with_graph(opts: Opts, graph: Graph, multi_device_pct: f64) -> Arc<Shared> {
        assert_eq!(graph.watches.len(), opts.n, "one watch list per user");
        let mut devices: Vec<Device> = (0..opts.n as u32)
            .map(|user| Device { user, no: 0 })
            .collect();
        let extra = ((opts.n as f64) * multi_device_pct / 100.0).round() as usize;
        let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
        let mut users: Vec<u32> = (0..opts.n as u32).collect();
        users.shuffle(&mut rng);
        for &user in users.iter().take(extra) {
            devices.push(Device { user, no: 1 });
        }
        let views = devices
            .iter()
            .map(|d| {
                Mutex::new(View {
                    entries: vec![Entry::default(); graph.watches[d.user as usize].len()],
                    ..View::default()
                })
            })
            .collect();
        let n = opts.n;
        Arc::new(Shared {
            opts,
            graph,
            devices,
            views,
            stats: Stats::new(n),
            base: Instant::now(),
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Position of `user` in the watch list of device `dev`'s user.
    pub fn watch_pos(&self, dev: usize, user: u32) -> Option<usize> {
        let owner = self.devices[dev].user as usize;
        self.graph.watches[owner].binary_search(&user).ok()
    }

    /// Marks a device connected or not, keeping the counters in step.
    pub fn set_connected(&self, dev: usize, connected: bool) {
        let mut view = lock(&self.views[dev]);
        if view.connected != connected {
            view.connected = connected;
            let c = &self.stats.connected;
            if connected {
                c.fetch_add(1, Ordering::Relaxed);
            } else {
                c.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.update_synced(&mut view);
    }

    pub fn mark_subscribed(&self, dev: usize) {
        let mut view = lock(&self.views[dev]);
        if !view.subscribed {
            view.subscribed = true;
            self.stats.subscribed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets the status types a view holds but keeps its last-writer-wins keys: an MQTT
    /// clean-session reconnect learns every watched user's state again from the retained
    /// snapshot, and an older message must still count as a regression.
    pub fn reset_view(&self, dev: usize) {
        let mut view = lock(&self.views[dev]);
        for e in view.entries.iter_mut() {
            e.status = 0;
        }
        view.online = 0;
        self.update_synced(&mut view);
    }

    fn update_synced(&self, view: &mut View) {
        let synced = view.connected && view.online == view.entries.len();
        if synced != view.synced {
            view.synced = synced;
            if synced {
                self.stats.synced.fetch_add(1, Ordering::Relaxed);
            } else {
                self.stats.synced.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Records a latency from a `"{seq}:{ts_ns}"` payload's timestamp.
    fn record_latency(&self, ts_ns: u64) {
        if !self.stats.recording.load(Ordering::Relaxed) {
            return;
        }
        let now = self.now_ns();
        let us = now.saturating_sub(ts_ns) / 1000;
        let _ = lock(&self.stats.latency).record(us.max(1));
    }

    /// Applies a change of a watched user's status type to a view entry, counting the
    /// ONLINE set and offline detections.
    fn set_status(&self, view: &mut View, pos: usize, user: u32, status: u8) {
        let was = view.entries[pos].status;
        if was == status {
            return;
        }
        view.entries[pos].status = status;
        if was == ONLINE {
            view.online -= 1;
            let phase = self.stats.detect_phase[user as usize].load(Ordering::Relaxed);
            if phase != 0 {
                let start = self.stats.detect_start[phase as usize].load(Ordering::Relaxed);
                let ms = self.now_ns().saturating_sub(start) / 1_000_000;
                let _ = lock(&self.stats.detect[phase as usize]).record(ms.max(1));
            }
        } else if status == ONLINE {
            view.online += 1;
        }
        self.update_synced(view);
    }

    /// Applies one imstatus status (from a push when `live`, else from a reply's snapshot).
    pub fn apply_ims(&self, dev: usize, status: &imstatus::protocol::WireStatus, live: bool) {
        let Some(user) = parse_user(&status.user_id) else {
            self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if user == self.devices[dev].user {
            return; // the multi-device echo of the user's own change
        }
        let Some(pos) = self.watch_pos(dev, user) else {
            self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let (seq, ts) = parse_custom(&status.custom_status);
        let mut view = lock(&self.views[dev]);
        let held = view.entries[pos].version;
        if status.version < held {
            self.stats.regressions.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if status.version == held {
            if live {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        view.entries[pos].version = status.version;
        view.entries[pos].custom_seq = seq;
        self.set_status(&mut view, pos, user, status.status_type);
        drop(view);
        if live {
            self.stats.deliveries.fetch_add(1, Ordering::Relaxed);
            if let Some(ts) = ts {
                self.record_latency(ts);
            }
        }
    }

    /// Applies one MQTT publish on `presence/u{user}/d{no}` or `status/u{user}/custom`.
    pub fn apply_mqtt(&self, dev: usize, topic: &str, payload: &[u8], retained: bool) {
        let mut parts = topic.split('/');
        let (kind, user, leaf) = (parts.next(), parts.next(), parts.next());
        let Some(user) = user.and_then(parse_user) else {
            self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let Some(pos) = self.watch_pos(dev, user) else {
            if user != self.devices[dev].user {
                self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            }
            return;
        };
        let payload = std::str::from_utf8(payload).unwrap_or("");
        let live = !retained;
        let mut view = lock(&self.views[dev]);
        match kind {
            Some("status") => {
                let (seq, ts) = parse_custom(payload);
                let held = view.entries[pos].custom_seq;
                if seq < held {
                    self.stats.regressions.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                if seq == held {
                    if live {
                        self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    return;
                }
                view.entries[pos].custom_seq = seq;
                drop(view);
                if live {
                    self.stats.deliveries.fetch_add(1, Ordering::Relaxed);
                    if let Some(ts) = ts {
                        self.record_latency(ts);
                    }
                }
            }
            Some("presence") => {
                let no = match leaf {
                    Some("d1") => 1,
                    _ => 0,
                };
                let Some(key) = presence_key(payload) else {
                    self.stats
                        .error(format!("bad presence payload {payload:?}"));
                    return;
                };
                let held = view.entries[pos].presence[no];
                if key < held {
                    // e.g. an old connection's Will arriving after the new "on": the MQTT
                    // last-will race; dropped by last-writer-wins on (epoch, state).
                    self.stats.regressions.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                if key == held && live {
                    self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                // A retained copy of what the view held still re-establishes the status after
                // a reset_view.
                view.entries[pos].presence[no] = key;
                let p = view.entries[pos].presence;
                let status = mqtt_status(p);
                self.set_status(&mut view, pos, user, status);
                drop(view);
                if live && key > held {
                    self.stats.deliveries.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {
                self.stats.unexpected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The aggregated status of an MQTT user from its devices' presence keys: ONLINE if any device's
/// latest state is "on", OFFLINE if some device was seen, else unknown.
pub fn mqtt_status(presence: [u64; 2]) -> u8 {
    if presence.iter().any(|&k| k != 0 && k % 2 == 0) {
        ONLINE
    } else if presence.iter().any(|&k| k != 0) {
        OFFLINE
    } else {
        0
    }
}

/// `"on:{epoch}"` → `epoch * 2`, `"off:{epoch}"` → `epoch * 2 + 1`.
pub fn presence_key(payload: &str) -> Option<u64> {
    let (state, epoch) = payload.split_once(':')?;
    let epoch: u64 = epoch.parse().ok()?;
    match state {
        "on" => Some(epoch * 2),
        "off" => Some(epoch * 2 + 1),
        _ => None,
    }
}

/// The custom-status payload: `"{seq}:{ts_ns}"`; empty is sequence 0.
pub fn custom_payload(seq: u32, ts_ns: u64) -> String {
    format!("{seq}:{ts_ns}")
}

pub fn parse_custom(s: &str) -> (u32, Option<u64>) {
    if s.is_empty() {
        return (0, None);
    }
    match s.split_once(':') {
        Some((seq, ts)) => (seq.parse().unwrap_or(u32::MAX), ts.parse().ok()),
        None => (s.parse().unwrap_or(u32::MAX), None),
    }
}

/// Percentiles of a histogram as a JSON object.
pub fn percentiles(h: &Histogram<u64>, unit_div: f64) -> serde_json::Value {
    if h.is_empty() {
        return serde_json::json!({"count": 0});
    }
    let q = |p: f64| h.value_at_quantile(p) as f64 / unit_div;
    serde_json::json!({
        "count": h.len(),
        "p50": q(0.5),
        "p99": q(0.99),
        "p999": q(0.999),
        "max": h.max() as f64 / unit_div,
    })
}

/// Runs the profiling hook, if any, with `arg`.
pub fn run_hook(opts: &Opts, arg: &str) {
    if let Some(cmd) = &opts.hook {
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{cmd} {arg}"))
            .status();
    }
}

/// Waits until `done()` or the deadline; answers whether it was done. Polls every 20 ms.
pub async fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        assert_eq!(parse_custom(&custom_payload(7, 123)), (7, Some(123)));
        assert_eq!(parse_custom(""), (0, None));
        assert_eq!(presence_key("on:3"), Some(6));
        assert_eq!(presence_key("off:3"), Some(7));
        assert!(presence_key("off:4") > presence_key("off:3"));
        assert_eq!(mqtt_status([6, 0]), ONLINE);
        assert_eq!(mqtt_status([7, 0]), OFFLINE);
        assert_eq!(mqtt_status([7, 4]), ONLINE);
        assert_eq!(mqtt_status([0, 0]), 0);
    }

    #[test]
    fn graph_is_k_regular_out() {
        let g = Graph::uniform(100, 10, 3);
        assert!(g.watches.iter().enumerate().all(|(i, w)| w.len() == 10
            && !w.contains(&(i as u32))
            && w.windows(2).all(|p| p[0] < p[1])));
        assert_eq!(g.watchers.iter().map(Vec::len).sum::<usize>(), 1000);
    }

    #[test]
    fn cross_graph_watches_only_other_groups() {
        let g = Graph::across(100, 10, 3, 2);
        assert!(g
            .watches
            .iter()
            .enumerate()
            .all(|(i, w)| w.len() == 10 && w.iter().all(|&j| j as usize % 2 != i % 2)));
        let three = Graph::across(100, 10, 3, 3);
        assert!(three
            .watches
            .iter()
            .enumerate()
            .all(|(i, w)| w.iter().all(|&j| j as usize % 3 != i % 3)));
    }
}
