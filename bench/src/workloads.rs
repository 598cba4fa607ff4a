//! The six workloads, written once for both systems: they only send [`Cmd`]s to devices and
//! read the [`Shared`] counters and views.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::{
    ims, lock, mqtt, percentiles, procfs, raw, wait_until, Cmd, Opts, Reconnect, Shared, System,
    Workload, OFFLINE, ONLINE,
};

/// Runs one workload on a fresh single-threaded runtime (the harness is pinned to one core);
/// answers one JSON object per measured run (a fanout answers one per rate step).
pub fn run(opts: Opts) -> Result<Vec<Value>, String> {
    procfs::raise_nofile();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    rt.block_on(run_async(opts))
}

pub async fn run_async(opts: Opts) -> Result<Vec<Value>, String> {
    let multi = if opts.workload == Workload::ChurnVerify {
        10.0
    } else {
        0.0
    };
    let shared = if opts.workload == Workload::SlowFlood {
        // `n` publishers, and the reading watchers of all of them after them.
        let mut opts = opts;
        let publishers = opts.n;
        opts.n = publishers + opts.healthy_watchers;
        opts.k = publishers;
        let graph = crate::Graph::flood(publishers, opts.healthy_watchers);
        Shared::with_graph(opts, graph, multi)
    } else {
        Shared::new(opts, multi)
    };
    let mut fleet = Fleet::new(shared.clone());
    let result = match shared.opts.workload {
        Workload::ConnectIdle => connect_idle(&mut fleet).await,
        Workload::Fanout => fanout(&mut fleet).await,
        Workload::StopCohort => stop_cohort(&mut fleet).await,
        Workload::Storm => storm(&mut fleet).await,
        Workload::SlowConsumer => slow_consumer(&mut fleet).await,
        Workload::ChurnVerify => churn_verify(&mut fleet).await,
        Workload::LoginStorm => login_storm(&mut fleet).await,
        Workload::SlowFlood => slow_flood(&mut fleet).await,
        Workload::Unauth => unauth(&mut fleet).await,
    };
    fleet.shutdown().await;
    result
}

/// The server or broker process (every node of a cluster, summed), as `/proc` shows it; and
/// the cluster's Redis apart.
struct Probe {
    servers: Vec<u32>,
    redis: Option<u32>,
}

impl Probe {
    fn new(o: &Opts) -> Probe {
        Probe {
            servers: o
                .server_pid
                .into_iter()
                .chain(o.other_server_pids.iter().copied())
                .collect(),
            redis: o.redis_pid,
        }
    }
    fn rss_kib(&self) -> Option<u64> {
        sum(&self.servers, procfs::rss_kib)
    }
    fn cpu_us(&self) -> Option<u64> {
        sum(&self.servers, procfs::cpu_us)
    }
    fn redis_cpu_us(&self) -> Option<u64> {
        self.redis.and_then(procfs::cpu_us)
    }
    /// Servers and Redis together: what must fall quiet before a measurement.
    fn all_cpu_us(&self) -> Option<u64> {
        Some(self.cpu_us()? + self.redis_cpu_us().unwrap_or(0))
    }
}

/// `f` of every process, summed; `None` if there is none or one cannot be read.
fn sum(pids: &[u32], f: fn(u32) -> Option<u64>) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| f(p)).sum()
}

/// Every device of a run, and the channels to command them.
pub struct Fleet {
    pub shared: Arc<Shared>,
    senders: Vec<mpsc::UnboundedSender<Cmd>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    probe: Probe,
}

impl Fleet {
    pub fn new(shared: Arc<Shared>) -> Fleet {
        let probe = Probe::new(&shared.opts);
        Fleet {
            shared,
            senders: Vec::new(),
            tasks: Vec::new(),
            probe,
        }
    }

    fn n_devices(&self) -> usize {
        self.shared.devices.len()
    }

    pub fn send(&self, dev: usize, cmd: Cmd) {
        if let Some(tx) = self.senders.get(dev) {
            let _ = tx.send(cmd);
        }
    }

    /// Starts every device, at most `connect_concurrency` setups in flight; answers the time it
    /// took until all were connected.
    pub async fn connect_all(&mut self) -> Result<Duration, String> {
        let shared = self.shared.clone();
        let sigs: Vec<String> = match shared.opts.system {
            System::Imstatus => (0..shared.opts.n as u32)
                .map(|u| ims::user_sig(&shared, u))
                .collect(),
            System::Mosquitto => Vec::new(),
        };
        let total = self.n_devices();
        let deadline = Duration::from_secs(60) + Duration::from_millis(20 * total as u64);
        let start = Instant::now();
        let window = shared.opts.connect_concurrency.max(1) as u64;
        for dev in 0..total {
            // Bounded by the deadline.
            while (dev as u64).saturating_sub(shared.stats.connected.load(Ordering::Relaxed))
                >= window
            {
                if start.elapsed() > deadline {
                    return Err(self.stuck("connecting"));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let s = shared.clone();
            let task = match shared.opts.system {
                System::Imstatus => {
                    let sig = sigs[shared.devices[dev].user as usize].clone();
                    tokio::spawn(ims::device(s, dev, sig, rx))
                }
                System::Mosquitto => tokio::spawn(mqtt::device(s, dev, rx)),
            };
            self.senders.push(tx);
            self.tasks.push(task);
        }
        let all = total as u64;
        let left = deadline.saturating_sub(start.elapsed());
        if !wait_until(left, || {
            shared.stats.connected.load(Ordering::Relaxed) >= all
        })
        .await
        {
            return Err(self.stuck("connecting"));
        }
        Ok(start.elapsed())
    }

    /// Subscribes every device to its watch list; answers the time until all were acknowledged.
    pub async fn subscribe_all(&mut self) -> Result<Duration, String> {
        let start = Instant::now();
        let window = self.shared.opts.connect_concurrency.max(1) as u64;
        let total = self.n_devices();
        let deadline = Duration::from_secs(60) + Duration::from_millis(20 * total as u64);
        for dev in 0..total {
            while (dev as u64).saturating_sub(self.shared.stats.subscribed.load(Ordering::Relaxed))
                >= window
            {
                if start.elapsed() > deadline {
                    return Err(self.stuck("subscribing"));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            self.send(dev, Cmd::Subscribe);
        }
        let all = total as u64;
        let left = deadline.saturating_sub(start.elapsed());
        let stats = &self.shared.stats;
        if !wait_until(left, || stats.subscribed.load(Ordering::Relaxed) >= all).await {
            return Err(self.stuck("subscribing"));
        }
        Ok(start.elapsed())
    }

    fn stuck(&self, what: &str) -> String {
        let s = &self.shared.stats;
        format!(
            "{what} did not finish in time: {} of {} connected, {} subscribed, {} errors (first: {:?})",
            s.connected.load(Ordering::Relaxed),
            self.n_devices(),
            s.subscribed.load(Ordering::Relaxed),
            s.errors.load(Ordering::Relaxed),
            lock(&s.last_error).clone()
        )
    }

    /// Connects and subscribes everyone, then waits until every view shows every watched user
    /// ONLINE (the retained snapshot or subscribe replies have arrived) and the server is idle.
    async fn setup(&mut self) -> Result<(Duration, Duration), String> {
        let c = self.connect_all().await?;
        let s = self.subscribe_all().await?;
        self.settle().await;
        Ok((c, s))
    }

    /// Waits (at most 300 s) until every view is complete and the server or broker has worked
    /// off its backlog: less than 10 % CPU over one second. A broker that acknowledged the
    /// subscriptions may still be sending their retained messages.
    async fn settle(&self) -> Duration {
        let start = Instant::now();
        let all = self.n_devices() as u64;
        let stats = &self.shared.stats;
        let limit = Duration::from_secs(300);
        wait_until(limit, || stats.synced.load(Ordering::Relaxed) >= all).await;
        // Bounded by the same limit.
        while start.elapsed() < limit {
            let before = self.probe.all_cpu_us();
            tokio::time::sleep(Duration::from_secs(1)).await;
            match kib_delta(before, self.probe.all_cpu_us()) {
                Some(us) if us >= 100_000 => continue,
                _ => break,
            }
        }
        start.elapsed()
    }

    pub async fn shutdown(&mut self) {
        for tx in &self.senders {
            let _ = tx.send(Cmd::Shutdown);
        }
        self.senders.clear();
        let tasks = std::mem::take(&mut self.tasks);
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
    }
}

/// The fields every result carries.
fn base(shared: &Shared, extra: Value) -> Value {
    let o = &shared.opts;
    let mut v = json!({
        "system": o.system,
        "workload": o.workload,
        "n": o.n,
        "k": o.k,
        "devices": shared.devices.len(),
        "heartbeat_s": o.heartbeat.as_secs_f64(),
        "detect_timeout_s": o.detect_timeout.as_secs_f64(),
        "qos": o.qos,
        "tls": o.tls.is_some(),
        "label": o.label,
        "nodes": o.node_count(),
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut v, extra) {
        a.extend(b);
    }
    let s = &shared.stats;
    if let Value::Object(a) = &mut v {
        a.insert("errors".into(), json!(s.errors.load(Ordering::Relaxed)));
        a.insert(
            "first_error".into(),
            json!(lock(&s.last_error).clone().unwrap_or_default()),
        );
        a.insert(
            "connect_failures".into(),
            json!(s.connect_failures.load(Ordering::Relaxed)),
        );
    }
    v
}

fn kib_delta(a: Option<u64>, b: Option<u64>) -> Option<i64> {
    Some(b? as i64 - a? as i64)
}

async fn connect_idle(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    let (n, k) = (shared.opts.n as f64, shared.opts.k as f64);
    let rss0 = fleet.probe.rss_kib();
    let tcp0 = procfs::tcp_mem_kib();
    let connect = fleet.connect_all().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1 = fleet.probe.rss_kib();
    let tcp1 = procfs::tcp_mem_kib();
    let subscribe = fleet.subscribe_all().await?;
    let stats = &shared.stats;
    let settle = fleet.settle().await;
    let rss2 = fleet.probe.rss_kib();
    let tcp2 = procfs::tcp_mem_kib();
    let cpu_a = fleet.probe.cpu_us();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_cpu_pct = kib_delta(cpu_a, fleet.probe.cpu_us()).map(|us| us as f64 / 30_000.0);
    let per_conn = kib_delta(rss0, rss1).map(|d| d as f64 * 1024.0 / n);
    let per_sub = kib_delta(rss1, rss2).map(|d| d as f64 * 1024.0 / (n * k));
    let kernel_per_conn = kib_delta(tcp0, tcp1).map(|d| d as f64 * 1024.0 / n);
    let summary = format!(
        "connect {:.1}/s, subscribe {:.1}/s; server {} B/conn + {} B/subscription (kernel TCP {} B/conn)",
        n / connect.as_secs_f64(),
        n / subscribe.as_secs_f64(),
        fmt_opt(per_conn),
        fmt_opt(per_sub),
        fmt_opt(kernel_per_conn)
    );
    let mut result = base(
        &shared,
        json!({
            "connect_s": connect.as_secs_f64(),
            "connects_per_s": n / connect.as_secs_f64(),
            "subscribe_s": subscribe.as_secs_f64(),
            "settle_s": settle.as_secs_f64(),
            "rss_kib": [rss0, rss1, rss2],
            "tcp_mem_kib": [tcp0, tcp1, tcp2],
            "bytes_per_conn": per_conn,
            "bytes_per_sub": per_sub,
            "kernel_tcp_bytes_per_conn": kernel_per_conn,
            "kernel_tcp_bytes_per_sub": kib_delta(tcp1, tcp2).map(|d| d as f64 * 1024.0 / (n * k)),
            "idle_cpu_pct": idle_cpu_pct,
            "synced": stats.synced.load(Ordering::Relaxed),
            "summary": summary,
        }),
    );
    result["workload"] = json!(Workload::ConnectIdle);
    Ok(vec![result])
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("?".into(), |v| format!("{v:.0}"))
}

/// The state a fanout carries from step to step.
struct Fanout {
    /// Users that publish, in a fixed random order; the cursor walks it round-robin, so one
    /// user changes again only after every other publisher did (no coalescing at any rate
    /// the harness reaches).
    publishers: Vec<u32>,
    cursor: usize,
    /// Per user: the receiving devices that watch them.
    fan_in: Vec<u64>,
    /// Per device: whether it reads (slow consumers do not).
    receiving: Vec<bool>,
    seq: Vec<u32>,
}

impl Fanout {
    fn new(shared: &Shared, receiving: &[bool], publishers: Vec<u32>) -> Fanout {
        let mut fan_in = vec![0u64; shared.opts.n];
        for (dev, d) in shared.devices.iter().enumerate() {
            if receiving[dev] {
                for &w in &shared.graph.watches[d.user as usize] {
                    fan_in[w as usize] += 1;
                }
            }
        }
        Fanout {
            publishers,
            cursor: 0,
            fan_in,
            receiving: receiving.to_vec(),
            seq: vec![0; shared.opts.n],
        }
    }
}

/// One fanout step: `rate` changes per second for `duration`, then a drain.
async fn fanout_step(
    fleet: &Fleet,
    state: &mut Fanout,
    rate: f64,
    duration: Duration,
    record: bool,
) -> Value {
    fanout_window(fleet, state, rate, (duration, duration), &|| true, record).await
}

/// A fanout step that lasts at least `min` and at most `max`, and ends in between once
/// `done()` says so; then a drain.
async fn fanout_window(
    fleet: &Fleet,
    state: &mut Fanout,
    rate: f64,
    (min, max): (Duration, Duration),
    done: &dyn Fn() -> bool,
    record: bool,
) -> Value {
    let shared = &fleet.shared;
    let stats = &shared.stats;
    lock(&stats.latency).reset();
    stats.recording.store(record, Ordering::Relaxed);
    if record {
        crate::run_hook(&shared.opts, "start");
    }
    let d0 = stats.deliveries.load(Ordering::Relaxed);
    let r0 = stats.regressions.load(Ordering::Relaxed);
    let dup0 = stats.duplicates.load(Ordering::Relaxed);
    let cpu0 = fleet.probe.cpu_us();
    let redis0 = fleet.probe.redis_cpu_us();
    let self0 = procfs::cpu_us(std::process::id());
    let start = Instant::now();
    let mut issued = 0u64;
    let mut expected = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    // Bounded by `max`.
    while start.elapsed() < max && !(start.elapsed() >= min && done()) {
        tick.tick().await;
        let target = (rate * start.elapsed().as_secs_f64()) as u64;
        while issued < target && !state.publishers.is_empty() {
            let u = state.publishers[state.cursor % state.publishers.len()];
            state.cursor += 1;
            state.seq[u as usize] += 1;
            fleet.send(
                u as usize,
                Cmd::SetCustom {
                    seq: state.seq[u as usize],
                    ts_ns: shared.now_ns(),
                },
            );
            expected += state.fan_in[u as usize];
            issued += 1;
        }
    }
    let send_s = start.elapsed().as_secs_f64();
    // Drain: until everything expected arrived, nothing moved for 3 s, or 15 s passed.
    let drain_start = Instant::now();
    let mut last = stats.deliveries.load(Ordering::Relaxed);
    let mut last_move = Instant::now();
    while drain_start.elapsed() < Duration::from_secs(15) {
        let now = stats.deliveries.load(Ordering::Relaxed);
        if now - d0 >= expected {
            break;
        }
        if now != last {
            last = now;
            last_move = Instant::now();
        } else if last_move.elapsed() > Duration::from_secs(3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let total_s = start.elapsed().as_secs_f64();
    stats.recording.store(false, Ordering::Relaxed);
    if record {
        crate::run_hook(&shared.opts, "stop");
    }
    // A missed delivery is a loss only if the view did not end at the latest change: under a
    // backlog imstatus may coalesce a user's changes into the latest (N5), and a user can change
    // again before the previous change reached everyone when λ is close to N per second.
    let mut stale = 0u64;
    for (dev, d) in shared.devices.iter().enumerate() {
        if !state.receiving[dev] {
            continue;
        }
        let view = lock(&shared.views[dev]);
        for (pos, &w) in shared.graph.watches[d.user as usize].iter().enumerate() {
            if view.entries[pos].custom_seq != state.seq[w as usize] {
                stale += 1;
            }
        }
    }
    let delivered = stats.deliveries.load(Ordering::Relaxed) - d0;
    let regressions = stats.regressions.load(Ordering::Relaxed) - r0;
    let cpu = kib_delta(cpu0, fleet.probe.cpu_us());
    let redis_cpu = kib_delta(redis0, fleet.probe.redis_cpu_us());
    let harness_cpu = kib_delta(self0, procfs::cpu_us(std::process::id()));
    let lat = lock(&stats.latency).clone();
    let missed = expected.saturating_sub(delivered);
    let p99_ms = if lat.is_empty() {
        0.0
    } else {
        lat.value_at_quantile(0.99) as f64 / 1000.0
    };
    let achieved = issued as f64 / send_s;
    let pass = stale == 0 && regressions == 0 && p99_ms <= 1000.0 && achieved >= 0.95 * rate;
    json!({
        "rate": rate,
        "achieved_rate": achieved,
        "send_s": send_s,
        "drain_s": total_s - send_s,
        "changes": issued,
        "expected": expected,
        "delivered": delivered,
        "missed": missed,
        "stale_views": stale,
        "extra": delivered.saturating_sub(expected),
        "deliveries_per_s": delivered as f64 / send_s,
        "latency_ms": percentiles(&lat, 1000.0),
        "server_cpu_us_per_delivery": cpu.map(|us| us as f64 / delivered.max(1) as f64),
        "server_cpu_pct": cpu.map(|us| us as f64 / total_s / 10_000.0),
        "redis_cpu_us_per_delivery": redis_cpu.map(|us| us as f64 / delivered.max(1) as f64),
        "redis_cpu_pct": redis_cpu.map(|us| us as f64 / total_s / 10_000.0),
        "harness_cpu_pct": harness_cpu.map(|us| us as f64 / total_s / 10_000.0),
        "server_rss_kib": fleet.probe.rss_kib(),
        "regressions": regressions,
        "duplicates": stats.duplicates.load(Ordering::Relaxed) - dup0,
        "unexpected": stats.unexpected.load(Ordering::Relaxed),
        "pass": pass,
    })
}

fn step_summary(v: &Value) -> String {
    format!(
        "rate {}/s: {:.0} deliveries/s, missed {}, stale views {}, p50 {} ms, p99 {} ms, p99.9 {} ms, {} µs CPU/delivery{}, server CPU {}%, harness CPU {}% -> {}",
        v["rate"],
        v["deliveries_per_s"].as_f64().unwrap_or(0.0),
        v["missed"],
        v["stale_views"],
        v["latency_ms"]["p50"],
        v["latency_ms"]["p99"],
        v["latency_ms"]["p999"],
        v["server_cpu_us_per_delivery"].as_f64().map_or("?".into(), |x| format!("{x:.2}")),
        v["redis_cpu_us_per_delivery"].as_f64().map_or(String::new(), |x| format!(" (+ Redis {x:.2})")),
        v["server_cpu_pct"].as_f64().map_or("?".into(), |x| format!("{x:.0}")),
        v["harness_cpu_pct"].as_f64().map_or("?".into(), |x| format!("{x:.0}")),
        if v["pass"].as_bool() == Some(true) { "pass" } else { "FAIL" }
    )
}

async fn fanout(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    // The setup is the connect-idle workload: its result comes first, then one per rate step.
    let mut out = connect_idle(fleet).await?;
    let connect = out[0]["connect_s"].as_f64().unwrap_or(0.0);
    let subscribe = out[0]["subscribe_s"].as_f64().unwrap_or(0.0);
    let mut rng = StdRng::seed_from_u64(shared.opts.seed ^ 0xfa);
    let mut publishers: Vec<u32> = (0..shared.opts.n as u32).collect();
    publishers.shuffle(&mut rng);
    let receiving = vec![true; shared.devices.len()];
    let mut state = Fanout::new(&shared, &receiving, publishers);
    let first = shared.opts.rates.first().copied().unwrap_or(50.0);
    // Warm-up at the lowest rate, not reported.
    fanout_step(fleet, &mut state, first, Duration::from_secs(2), false).await;
    for &rate in &shared.opts.rates {
        let mut step = fanout_step(fleet, &mut state, rate, shared.opts.duration, true).await;
        step["summary"] = json!(step_summary(&step));
        step["connect_s"] = json!(connect);
        step["subscribe_s"] = json!(subscribe);
        let pass = step["pass"].as_bool() == Some(true);
        out.push(base(&shared, step));
        if !pass && shared.opts.stop_on_fail {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(out)
}

/// Picks `pct` percent of the users (at least one) among `from`.
fn cohort(rng: &mut StdRng, from: &[u32], pct: f64, n: usize) -> Vec<u32> {
    let count = ((n as f64 * pct / 100.0).round() as usize).clamp(1, from.len());
    from.choose_multiple(rng, count).copied().collect()
}

/// Detection pairs for `users`: devices that watch them and are still receiving.
fn pairs(shared: &Shared, users: &[u32], receiving: &[bool]) -> u64 {
    users
        .iter()
        .map(|&u| {
            shared.graph.watchers[u as usize]
                .iter()
                .filter(|&&w| receiving[w as usize])
                .count() as u64
        })
        .sum()
}

async fn detect(
    fleet: &Fleet,
    phase: usize,
    users: &[u32],
    expected: u64,
    deadline: Duration,
    cmd: Cmd,
) -> Value {
    let shared = &fleet.shared;
    let stats = &shared.stats;
    lock(&stats.detect[phase]).reset();
    stats.detect_start[phase].store(shared.now_ns(), Ordering::Relaxed);
    for &u in users {
        stats.detect_phase[u as usize].store(phase as u8, Ordering::Relaxed);
    }
    for &u in users {
        fleet.send(u as usize, cmd);
    }
    let start = Instant::now();
    wait_until(deadline, || lock(&stats.detect[phase]).len() >= expected).await;
    let h = lock(&stats.detect[phase]).clone();
    json!({
        "users": users.len(),
        "pairs": expected,
        "detected": h.len(),
        "undetected": expected.saturating_sub(h.len()),
        "waited_s": start.elapsed().as_secs_f64(),
        "detect_ms": percentiles(&h, 1.0),
    })
}

async fn stop_cohort(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    fleet.setup().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = shared.opts.n;
    let mut rng = StdRng::seed_from_u64(shared.opts.seed ^ 0x5c);
    let everyone: Vec<u32> = (0..n as u32).collect();
    let frozen = cohort(&mut rng, &everyone, shared.opts.cohort_pct, n);
    let mut receiving = vec![true; shared.devices.len()];
    for &u in &frozen {
        receiving[u as usize] = false;
    }
    let expected = pairs(&shared, &frozen, &receiving);
    let timeout = shared.opts.detect_timeout;
    let deadline = timeout + shared.opts.heartbeat + Duration::from_secs(15);
    let frozen_result = detect(fleet, 1, &frozen, expected, deadline, Cmd::Freeze).await;

    // Graceful logout of another cohort: T5 wants it seen within 100 ms.
    let rest: Vec<u32> = everyone
        .iter()
        .copied()
        .filter(|&u| receiving[u as usize])
        .collect();
    let leaving = cohort(&mut rng, &rest, shared.opts.cohort_pct, n);
    for &u in &leaving {
        receiving[u as usize] = false;
    }
    let expected = pairs(&shared, &leaving, &receiving);
    let logout_result = detect(
        fleet,
        2,
        &leaving,
        expected,
        Duration::from_secs(10),
        Cmd::Logout {
            back: Reconnect::Never,
        },
    )
    .await;
    let target_ms = timeout.as_millis() as f64 + 1000.0;
    let max_ms = frozen_result["detect_ms"]["max"].as_f64();
    let within = frozen_result["undetected"] == json!(0) && max_ms.is_some_and(|m| m <= target_ms);
    let summary = format!(
        "frozen cohort of {} users ({} watcher pairs): seen OFFLINE p50 {} ms, max {} ms, {} undetected (target ≤ {} ms: {}); graceful logout p50 {} ms, max {} ms",
        frozen.len(),
        frozen_result["pairs"],
        frozen_result["detect_ms"]["p50"],
        frozen_result["detect_ms"]["max"],
        frozen_result["undetected"],
        target_ms,
        if within { "met" } else { "MISSED" },
        logout_result["detect_ms"]["p50"],
        logout_result["detect_ms"]["max"],
    );
    Ok(vec![base(
        &shared,
        json!({
            "frozen": frozen_result,
            "logout": logout_result,
            "target_ms": target_ms,
            "within_target": within,
            "regressions": shared.stats.regressions.load(Ordering::Relaxed),
            "summary": summary,
        }),
    )])
}

async fn storm(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    fleet.setup().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = &shared.stats;
    let all = shared.devices.len() as u64;
    let synced_before = stats.synced.load(Ordering::Relaxed);
    let rss_before = fleet.probe.rss_kib();
    let cpu0 = fleet.probe.cpu_us();
    let r0 = stats.regressions.load(Ordering::Relaxed);
    let start = Instant::now();
    let back = Reconnect::Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(30),
    };
    for dev in 0..shared.devices.len() {
        fleet.send(dev, Cmd::Kill { back });
    }
    // Every device drops its connection first.
    wait_until(Duration::from_secs(10), || {
        stats.synced.load(Ordering::Relaxed) == 0
    })
    .await;
    let deadline = Duration::from_secs(120);
    let mut reconnected_s = None;
    let mut resynced_s = None;
    // Bounded by the deadline.
    while start.elapsed() < deadline {
        if reconnected_s.is_none() && stats.connected.load(Ordering::Relaxed) >= all {
            reconnected_s = Some(start.elapsed().as_secs_f64());
        }
        if stats.synced.load(Ordering::Relaxed) >= all {
            resynced_s = Some(start.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = kib_delta(cpu0, fleet.probe.cpu_us());
    let rss_after = fleet.probe.rss_kib();
    let synced_after = stats.synced.load(Ordering::Relaxed);
    let summary = format!(
        "storm of {all} devices: all reconnected in {} s, all resynchronised in {} s (target ≤ 30 s); {synced_after}/{all} synced; server RSS {} → {} KiB",
        reconnected_s.map_or("> 120".into(), |s| format!("{s:.1}")),
        resynced_s.map_or("> 120".into(), |s| format!("{s:.1}")),
        rss_before.map_or("?".into(), |v| v.to_string()),
        rss_after.map_or("?".into(), |v| v.to_string()),
    );
    Ok(vec![base(
        &shared,
        json!({
            "synced_before": synced_before,
            "reconnected_s": reconnected_s,
            "resynced_s": resynced_s,
            "synced_after": synced_after,
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "server_cpu_s": cpu.map(|us| us as f64 / 1e6),
            "regressions": stats.regressions.load(Ordering::Relaxed) - r0,
            "within_target": resynced_s.is_some_and(|s| s <= 30.0),
            "summary": summary,
        }),
    )])
}

async fn slow_consumer(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    fleet.setup().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = shared.opts.n;
    let rate = shared.opts.rates.first().copied().unwrap_or(500.0);
    let duration = shared.opts.duration;
    let mut rng = StdRng::seed_from_u64(shared.opts.seed ^ 0x51);
    let everyone: Vec<u32> = (0..n as u32).collect();
    let slow = cohort(&mut rng, &everyone, shared.opts.cohort_pct, n);
    let mut receiving = vec![true; shared.devices.len()];
    for &u in &slow {
        receiving[u as usize] = false;
    }
    // The same healthy publishers in both phases, so the phases differ only in the slow readers.
    let mut publishers: Vec<u32> = everyone
        .iter()
        .copied()
        .filter(|&u| receiving[u as usize])
        .collect();
    publishers.shuffle(&mut rng);
    let all_receiving = vec![true; shared.devices.len()];
    let mut state = Fanout::new(&shared, &all_receiving, publishers.clone());
    fanout_step(fleet, &mut state, rate, Duration::from_secs(2), false).await;
    let healthy = fanout_step(fleet, &mut state, rate, duration, true).await;

    let rss_before = fleet.probe.rss_kib();
    for &u in &slow {
        fleet.send(u as usize, Cmd::Freeze);
    }
    let mut state_b = Fanout::new(&shared, &receiving, publishers);
    state_b.seq = state.seq.clone();
    state_b.cursor = state.cursor;
    let with_slow = fanout_step(fleet, &mut state_b, rate, duration, true).await;
    let rss_after = fleet.probe.rss_kib();
    let p99 = |v: &Value| v["latency_ms"]["p99"].as_f64();
    let ratio = match (p99(&healthy), p99(&with_slow)) {
        (Some(a), Some(b)) if a > 0.0 => Some(b / a),
        _ => None,
    };
    let summary = format!(
        "{} slow readers at {rate} changes/s: healthy p99 {} ms → {} ms (×{}), missed {} (healthy only), server RSS +{} KiB",
        slow.len(),
        healthy["latency_ms"]["p99"],
        with_slow["latency_ms"]["p99"],
        ratio.map_or("?".into(), |r| format!("{r:.2}")),
        with_slow["missed"],
        kib_delta(rss_before, rss_after).map_or("?".into(), |d| d.to_string()),
    );
    Ok(vec![base(
        &shared,
        json!({
            "rate": rate,
            "slow": slow.len(),
            "healthy_phase": healthy,
            "slow_phase": with_slow,
            "p99_ratio": ratio,
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "rss_growth_kib": kib_delta(rss_before, rss_after),
            "summary": summary,
        }),
    )])
}

async fn churn_verify(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    fleet.setup().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = &shared.stats;
    let n = shared.opts.n;
    let devices = shared.devices.len();
    let second: Vec<usize> = (n..devices).collect();
    let mut rng = StdRng::seed_from_u64(shared.opts.seed ^ 0xc4);
    let mut busy_until = vec![Instant::now(); devices];
    let mut seq = vec![0u32; n];
    let (mut sets, mut flaps, mut relogins) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let rate = shared.opts.churn_rate.max(1.0);
    let mut issued = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let d0 = stats.deliveries.load(Ordering::Relaxed);
    // Bounded by the duration.
    while start.elapsed() < shared.opts.duration {
        tick.tick().await;
        let target = (rate * start.elapsed().as_secs_f64()) as u64;
        while issued < target {
            issued += 1;
            let r: f64 = rng.gen();
            let dev = if r >= 0.85 && !second.is_empty() {
                second[rng.gen_range(0..second.len())]
            } else {
                rng.gen_range(0..n)
            };
            let now = Instant::now();
            if busy_until[dev] > now || !lock(&shared.views[dev]).connected {
                continue;
            }
            let user = shared.devices[dev].user as usize;
            if !(0.6..0.95).contains(&r) {
                // A custom status change, from either device of the user.
                seq[user] += 1;
                fleet.send(
                    dev,
                    Cmd::SetCustom {
                        seq: seq[user],
                        ts_ns: shared.now_ns(),
                    },
                );
                // No close right behind a set: the harness must not lose its own writes.
                busy_until[dev] = now + Duration::from_millis(300);
                sets += 1;
            } else if r < 0.85 {
                // A flap: the connection dies (no logout) and the device comes back.
                let down = Duration::from_millis(rng.gen_range(0..500));
                fleet.send(
                    dev,
                    Cmd::Kill {
                        back: Reconnect::After(down),
                    },
                );
                busy_until[dev] = now + Duration::from_secs(3);
                flaps += 1;
            } else {
                // The second device logs out and in again (multi-device).
                fleet.send(
                    dev,
                    Cmd::Logout {
                        back: Reconnect::After(Duration::from_millis(200)),
                    },
                );
                busy_until[dev] = now + Duration::from_secs(3);
                relogins += 1;
            }
        }
    }
    let churn_s = start.elapsed().as_secs_f64();
    // Quiescence: everyone back, then 2 s of nothing.
    let all = devices as u64;
    let back = wait_until(Duration::from_secs(60), || {
        stats.connected.load(Ordering::Relaxed) >= all
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut mismatches = 0u64;
    let mut compared = 0u64;
    let mut stale = 0u64;
    let mut lost_sets = 0u64;
    let mut truth_missing = 0u64;
    let mut example = None;
    match shared.opts.system {
        System::Imstatus => {
            let truth = ims::truth(&shared).await?;
            for t in &truth {
                if t.0 != ONLINE {
                    stale += 1;
                }
            }
            for dev in 0..devices {
                let user = shared.devices[dev].user as usize;
                let view = lock(&shared.views[dev]);
                for (pos, &w) in shared.graph.watches[user].iter().enumerate() {
                    let e = view.entries[pos];
                    let t = truth[w as usize];
                    compared += 1;
                    if (e.status, e.custom_seq, e.version) != t {
                        mismatches += 1;
                        example.get_or_insert(format!(
                            "device {dev} sees u{w} as (status {}, seq {}, version {}), server says {:?}",
                            e.status, e.custom_seq, e.version, t
                        ));
                    }
                }
            }
        }
        System::Mosquitto => {
            let truth = mqtt::truth(&shared).await?;
            for (u, t) in truth.iter().enumerate() {
                if t.0 == OFFLINE {
                    // Every device is connected: a retained "off" here is the last-will race.
                    stale += 1;
                } else if t.0 != ONLINE {
                    truth_missing += 1;
                }
                if t.1 != seq[u] {
                    lost_sets += 1;
                }
            }
            for dev in 0..devices {
                let user = shared.devices[dev].user as usize;
                let view = lock(&shared.views[dev]);
                for (pos, &w) in shared.graph.watches[user].iter().enumerate() {
                    let e = view.entries[pos];
                    let t = truth[w as usize];
                    compared += 1;
                    if (e.status, e.custom_seq) != t {
                        mismatches += 1;
                        example.get_or_insert(format!(
                            "device {dev} sees u{w} as (status {}, seq {}), broker holds {:?}",
                            e.status, e.custom_seq, t
                        ));
                    }
                }
            }
        }
    }
    let offline_views = (0..devices)
        .map(|d| {
            lock(&shared.views[d])
                .entries
                .iter()
                .filter(|e| e.status == OFFLINE)
                .count() as u64
        })
        .sum::<u64>();
    let regressions = stats.regressions.load(Ordering::Relaxed);
    let summary = format!(
        "{churn_s:.0} s of churn ({sets} sets, {flaps} flaps, {relogins} re-logins), {} deliveries: {mismatches} of {compared} views differ from the truth, {regressions} version regressions, {stale} stale states, {lost_sets} lost sets, {truth_missing} users missing from the truth{}",
        stats.deliveries.load(Ordering::Relaxed) - d0,
        if back { "" } else { " (NOT everyone came back)" },
    );
    Ok(vec![base(
        &shared,
        json!({
            "churn_s": churn_s,
            "ops": {"sets": sets, "flaps": flaps, "relogins": relogins},
            "deliveries": stats.deliveries.load(Ordering::Relaxed) - d0,
            "all_back": back,
            "compared": compared,
            "mismatches": mismatches,
            "mismatch_example": example,
            "regressions": regressions,
            "duplicates": stats.duplicates.load(Ordering::Relaxed),
            "unexpected": stats.unexpected.load(Ordering::Relaxed),
            "stale_states": stale,
            "lost_sets": lost_sets,
            "truth_missing": truth_missing,
            "offline_views": offline_views,
            "summary": summary,
        }),
    )])
}

/// The port of a `host:port` address.
fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

/// Percentiles of a microsecond histogram, in milliseconds.
fn ms(h: &hdrhistogram::Histogram<u64>) -> Value {
    percentiles(h, 1000.0)
}

/// A healthy cohort (N watchers, K subscriptions each) under a steady fanout; then
/// `storm_clients` new users connect and log in at once (all started within 0.3 s). Measures the
/// storm's logins/s and login latency, and the healthy watchers' delivery latency before and
/// during the storm.
async fn login_storm(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    fleet.setup().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let o = &shared.opts;
    let rate = o.rates.first().copied().unwrap_or(100.0);
    let clients = o.storm_clients;
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0x1057);
    let mut publishers: Vec<u32> = (0..o.n as u32).collect();
    publishers.shuffle(&mut rng);
    let receiving = vec![true; shared.devices.len()];
    let mut state = Fanout::new(&shared, &receiving, publishers);
    fanout_step(fleet, &mut state, rate, Duration::from_secs(2), false).await;
    let before = fanout_step(fleet, &mut state, rate, o.duration, true).await;

    // The storm: users after the cohort, watched by nobody, their UserSigs made up front.
    let first = o.n as u32;
    let frames: Vec<Vec<u8>> = match o.system {
        System::Imstatus => (0..clients as u32)
            .map(|i| {
                let user = first + i;
                raw::ims_hello_login(
                    o.sdk_app_id,
                    &crate::user_id(user),
                    &ims::user_sig(&shared, user),
                    &format!("storm-u{user}"),
                )
            })
            .collect(),
        System::Mosquitto => Vec::new(),
    };
    let rss_before = fleet.probe.rss_kib();
    let storm = raw::Storm::new();
    // All started within 0.3 s: 30 waves, 10 ms apart.
    let waves = 30usize;
    let per_wave = clients.div_ceil(waves).max(1);
    let driver = {
        let (storm, addr, system, tls) = (storm.clone(), o.addr.clone(), o.system, o.tls.clone());
        let nodes = o.nodes.clone();
        let (keepalive, qos) = (o.heartbeat, mqtt::qos(&shared));
        let mut frames = frames.into_iter();
        tokio::spawn(async move {
            for wave in 0..waves {
                for i in wave * per_wave..((wave + 1) * per_wave).min(clients) {
                    match system {
                        System::Imstatus => {
                            let bytes = frames.next().unwrap_or_default();
                            // Spread over the nodes as the cohort is (user `u` on node `u % m`).
                            let addr = nodes
                                .get((first as usize + i) % nodes.len().max(1))
                                .unwrap_or(&addr);
                            tokio::spawn(raw::ims_storm_client(
                                storm.clone(),
                                addr.clone(),
                                tls.clone(),
                                bytes,
                            ));
                        }
                        System::Mosquitto => {
                            tokio::spawn(raw::mqtt_storm_client(
                                storm.clone(),
                                addr.clone(),
                                first + i as u32,
                                keepalive,
                                qos,
                            ));
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // The watchers' latency while the storm lasts, and half a second after its last answer.
    let finished_at = std::cell::Cell::new(None::<Instant>);
    let done = || {
        if !storm.finished(clients) {
            return false;
        }
        let at = finished_at.get().unwrap_or_else(Instant::now);
        finished_at.set(Some(at));
        at.elapsed() >= Duration::from_millis(500)
    };
    let during = fanout_window(
        fleet,
        &mut state,
        rate,
        (Duration::from_secs(1), Duration::from_secs(90)),
        &done,
        true,
    )
    .await;
    let _ = driver.await;
    let rss_after = fleet.probe.rss_kib();
    let answered = storm.answered.load(Ordering::Relaxed);
    let failed = storm.failed.load(Ordering::Relaxed);
    let last_answer = lock(&storm.last_answer).map(|d| d.as_secs_f64());
    let spread = lock(&storm.last_start).map(|d| d.as_secs_f64());
    let logins_per_s = last_answer
        .filter(|&s| s > 0.0)
        .map(|s| answered as f64 / s);
    let latency = ms(&lock(&storm.latency));
    let written = ms(&lock(&storm.written_latency));
    let connected = ms(&lock(&storm.connected_latency));
    let p99 = |v: &Value| v["latency_ms"]["p99"].as_f64();
    let within = failed == 0 && p99(&during).is_some_and(|p| p <= 50.0);
    let summary = format!(
        "{answered}/{clients} storm logins answered ({failed} failed) in {} s: {} logins/s, login p50 {} ms, p99 {} ms, max {} ms; healthy watchers' p99 {} ms before, {} ms during (target ≤ 50 ms: {}); server RSS {} → {} KiB",
        last_answer.map_or("?".into(), |s| format!("{s:.2}")),
        logins_per_s.map_or("?".into(), |v| format!("{v:.0}")),
        latency["p50"],
        latency["p99"],
        latency["max"],
        before["latency_ms"]["p99"],
        during["latency_ms"]["p99"],
        if within { "met" } else { "MISSED" },
        rss_before.map_or("?".into(), |v| v.to_string()),
        rss_after.map_or("?".into(), |v| v.to_string()),
    );
    let first_error = lock(&storm.first_error).clone();
    storm.release();
    Ok(vec![base(
        &shared,
        json!({
            "rate": rate,
            "storm_clients": clients,
            "answered": answered,
            "failed": failed,
            "storm_first_error": first_error,
            "started_within_s": spread,
            "storm_s": last_answer,
            "logins_per_s": logins_per_s,
            "login_ms": latency,
            "login_after_write_ms": written,
            "connected_ms": connected,
            "before": before,
            "during": during,
            "rss_before_kib": rss_before,
            "rss_after_kib": rss_after,
            "within_target": within,
            "summary": summary,
        }),
    )])
}

/// What the server holds of a set of client connections, sampled while they run.
struct Watch {
    pid: Option<u32>,
    port: u16,
    /// The clients' local ports, and when (s since `start`) the server no longer held each.
    peers: Vec<u16>,
    /// Whether the server was seen holding each (it counts as closed only after that).
    seen: Vec<bool>,
    closed_at: Vec<Option<f64>>,
    start: Instant,
    rss: Vec<(f64, Option<u64>)>,
    /// The kernel's TCP memory (every socket of the machine), KiB.
    tcp: Vec<(f64, Option<u64>)>,
}

impl Watch {
    fn new(pid: Option<u32>, port: u16, peers: Vec<u16>) -> Watch {
        let closed_at = vec![None; peers.len()];
        Watch {
            pid,
            port,
            seen: vec![false; peers.len()],
            peers,
            closed_at,
            start: Instant::now(),
            rss: Vec::new(),
            tcp: Vec::new(),
        }
    }

    fn sample(&mut self) {
        let t = self.start.elapsed().as_secs_f64();
        self.rss.push((t, self.pid.and_then(procfs::rss_kib)));
        self.tcp.push((t, procfs::tcp_mem_kib()));
        let owned = self
            .pid
            .and_then(|pid| procfs::tcp_peers_owned(pid, self.port));
        if let Some(owned) = owned {
            for (i, p) in self.peers.iter().enumerate() {
                if owned.contains(p) {
                    self.seen[i] = true;
                } else if self.seen[i] && self.closed_at[i].is_none() {
                    self.closed_at[i] = Some(t);
                }
            }
        }
    }

    /// Waits (at most 2 s) until the server holds every client's connection (it has accepted
    /// them), so that a close right after is seen as one.
    async fn wait_held(&mut self) {
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            self.sample();
            if self.seen.iter().all(|&s| s) || self.pid.is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn all_closed(&self) -> bool {
        self.closed_at.iter().all(Option::is_some)
    }

    fn rss_max_between(&self, from: f64, to: f64) -> Option<u64> {
        self.rss
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .filter_map(|(_, r)| *r)
            .max()
    }

    fn rss_first(&self) -> Option<u64> {
        self.rss.iter().find_map(|(_, r)| *r)
    }

    fn rss_at(&self, t: f64) -> Option<u64> {
        self.rss
            .iter()
            .filter(|(s, _)| *s <= t)
            .filter_map(|(_, r)| *r)
            .next_back()
    }

    fn closed(&self) -> Value {
        let mut times: Vec<f64> = self.closed_at.iter().flatten().copied().collect();
        times.sort_by(f64::total_cmp);
        json!({
            "clients": self.peers.len(),
            "closed": times.len(),
            "first_s": times.first(),
            "last_s": times.last(),
            "times_s": times,
        })
    }
}

/// `slow_clients` connections log in, subscribe to every publisher, and then never read (they
/// keep sending heartbeats / PINGREQs, so that only the server's delivery bounds can close
/// them); the publishers change at `rate` for `duration` while `healthy_watchers` read. Measures
/// the server's RSS over the flood and when (whether) it closed each slow client; the healthy
/// watchers' latency meanwhile.
async fn slow_flood(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    fleet.setup().await?;
    let o = &shared.opts;
    let publishers = o.k;
    let rate = o.rates.first().copied().unwrap_or(2000.0);
    let beat = o.heartbeat;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let write_errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut peers = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..o.slow_clients {
        let mut stream = tokio::net::TcpStream::connect(&o.addr)
            .await
            .map_err(|e| format!("slow client connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        peers.push(stream.local_addr().map_err(|e| e.to_string())?.port());
        let targets: Vec<u32> = (0..publishers as u32).collect();
        let setup = match o.system {
            System::Imstatus => {
                let id = format!("slow{i}");
                let mut bytes = raw::ims_hello_login(
                    o.sdk_app_id,
                    &id,
                    &ims::sig_for(&shared, &id),
                    "slow-device",
                );
                for (j, chunk) in targets.chunks(100).enumerate() {
                    bytes.extend(raw::ims_frame(
                        3 + j as u64,
                        imstatus::protocol::Request::Subscribe {
                            user_ids: chunk.iter().map(|&u| crate::user_id(u)).collect(),
                        },
                    ));
                }
                bytes
            }
            System::Mosquitto => {
                let mut bytes = raw::mqtt_connect(&format!("slow-{i}"), beat.as_secs() as u16);
                let filters: Vec<String> = targets
                    .iter()
                    .flat_map(|u| [format!("presence/u{u}/+"), format!("status/u{u}/custom")])
                    .collect();
                for (j, chunk) in filters.chunks(100).enumerate() {
                    bytes.extend(raw::mqtt_subscribe(1 + j as u16, chunk, o.qos.min(1)));
                }
                bytes
            }
        };
        raw::write_within(&mut stream, &setup, Duration::from_secs(10)).await?;
        let (stop, errors, system) = (stop.clone(), write_errors.clone(), o.system);
        tasks.push(tokio::spawn(async move {
            let mut id = 1000u64;
            // Bounded by `stop` (or the first failed write).
            while !stop.load(Ordering::Relaxed) {
                let mut slept = Duration::ZERO;
                while slept < beat && !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    slept += Duration::from_millis(100);
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                id += 1;
                let beat = match system {
                    System::Imstatus => raw::ims_frame(id, imstatus::protocol::Request::Heartbeat),
                    System::Mosquitto => raw::MQTT_PINGREQ.to_vec(),
                };
                if raw::write_within(&mut stream, &beat, Duration::from_secs(1))
                    .await
                    .is_err()
                {
                    errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }));
    }
    // Their logins and subscriptions go through, and the server is idle again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    fleet.settle().await;
    let mut watch = Watch::new(o.server_pid, port_of(&o.addr), peers);
    watch.wait_held().await;
    let rss_before = watch.rss_first();
    let held_before = watch.seen.iter().filter(|&&s| s).count();
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0xf1);
    let mut order: Vec<u32> = (0..publishers as u32).collect();
    order.shuffle(&mut rng);
    let receiving = vec![true; shared.devices.len()];
    let mut state = Fanout::new(&shared, &receiving, order);
    let flooding = std::cell::Cell::new(true);
    let watching = async {
        // Bounded: the flood, then at most 30 s more until every slow client is closed.
        let mut flood_end = None;
        loop {
            watch.sample();
            let t = watch.start.elapsed().as_secs_f64();
            if !flooding.get() {
                let end = *flood_end.get_or_insert(t);
                if watch.all_closed() || t > end + 30.0 {
                    return end;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let flood = async {
        let step = fanout_step(fleet, &mut state, rate, o.duration, true).await;
        flooding.set(false);
        step
    };
    let (healthy, flood_end) = tokio::join!(flood, watching);
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
    }
    let rss_max = watch.rss_max_between(0.0, flood_end);
    let rss_end = watch.rss_at(flood_end);
    let rss_last = watch.rss.last().and_then(|(_, r)| *r);
    let growth = |v: Option<u64>| kib_delta(rss_before, v);
    let closed = watch.closed();
    let within = growth(rss_max).is_some_and(|g| g <= 20 * 1024);
    let summary = format!(
        "{} slow clients on {publishers} users changing {rate}/s for {} s: server RSS +{} KiB at most (target ≤ 20 MiB: {}), +{} KiB at the end; {} of them closed by the server (first at {} s, last at {} s); {} healthy watchers' p99 {} ms",
        o.slow_clients,
        o.duration.as_secs(),
        growth(rss_max).map_or("?".into(), |g| g.to_string()),
        if within { "met" } else { "MISSED" },
        growth(rss_end).map_or("?".into(), |g| g.to_string()),
        closed["closed"],
        closed["first_s"],
        closed["last_s"],
        o.healthy_watchers,
        healthy["latency_ms"]["p99"],
    );
    Ok(vec![base(
        &shared,
        json!({
            "publishers": publishers,
            "slow_clients": o.slow_clients,
            "healthy_watchers": o.healthy_watchers,
            "rate": rate,
            "flood_s": o.duration.as_secs_f64(),
            "observed_s": watch.start.elapsed().as_secs_f64(),
            "held_before_flood": held_before,
            "slow_closed": closed,
            "slow_write_errors": write_errors.load(Ordering::Relaxed),
            "rss_before_kib": rss_before,
            "rss_max_kib": rss_max,
            "rss_end_kib": rss_end,
            "rss_last_kib": rss_last,
            "rss_growth_max_kib": growth(rss_max),
            "rss_growth_end_kib": growth(rss_end),
            "rss_series": watch.rss.iter().step_by(4).map(|(t, r)| json!([(t * 10.0).round() / 10.0, r])).collect::<Vec<_>>(),
            "kernel_tcp_kib_before": watch.tcp.first().and_then(|(_, v)| *v),
            "kernel_tcp_kib_max": watch.tcp.iter().filter_map(|(_, v)| *v).max(),
            "kernel_tcp_kib_last": watch.tcp.last().and_then(|(_, v)| *v),
            "healthy_phase": healthy,
            "within_target": within,
            "summary": summary,
        }),
    )])
}

/// One connection that never logs in and never reads. First it pipelines requests as fast as
/// the socket takes them for `duration` (imstatus: `hello`, then heartbeats; MQTT: PINGREQs
/// without a CONNECT); then another drips a login (imstatus: `hello`, then a `login` frame a
/// byte a second; MQTT: a CONNECT a byte a second) for up to 40 s. Measures the server's RSS and
/// when it closed each.
async fn unauth(fleet: &mut Fleet) -> Result<Vec<Value>, String> {
    let shared = fleet.shared.clone();
    let o = &shared.opts;
    let port = port_of(&o.addr);
    let (prefix, repeat): (Vec<u8>, Vec<u8>) = match o.system {
        System::Imstatus => {
            let hello = raw::ims_frame(
                1,
                imstatus::protocol::Request::Hello {
                    version: imstatus::protocol::PROTOCOL_VERSION,
                },
            );
            let mut beats = Vec::new();
            let mut id = 2;
            while beats.len() < 64 * 1024 {
                beats.extend(raw::ims_frame(id, imstatus::protocol::Request::Heartbeat));
                id += 1;
            }
            (hello, beats)
        }
        System::Mosquitto => (Vec::new(), raw::MQTT_PINGREQ.repeat(32 * 1024)),
    };
    // Pipelining.
    let mut stream = tokio::net::TcpStream::connect(&o.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut watch = Watch::new(
        o.server_pid,
        port,
        vec![stream.local_addr().map_err(|e| e.to_string())?.port()],
    );
    watch.wait_held().await;
    let rss_before = watch.rss_first();
    let mut written = 0u64;
    let mut error: Option<(f64, String)> = None;
    let mut pending: &[u8] = &prefix;
    let mut last_sample = Instant::now();
    let limit = o.duration;
    // Bounded by `limit`.
    while watch.start.elapsed() < limit {
        if error.is_none() {
            if pending.is_empty() {
                pending = &repeat;
            }
            match tokio::time::timeout(
                Duration::from_millis(50),
                tokio::io::AsyncWriteExt::write(&mut stream, pending),
            )
            .await
            {
                Ok(Ok(0)) => error = Some((watch.start.elapsed().as_secs_f64(), "closed".into())),
                Ok(Ok(n)) => {
                    written += n as u64;
                    pending = &pending[n..];
                }
                Ok(Err(e)) => error = Some((watch.start.elapsed().as_secs_f64(), e.to_string())),
                Err(_) => {}
            }
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let every = if watch.start.elapsed() < Duration::from_secs(1) {
            10
        } else {
            100
        };
        if last_sample.elapsed() >= Duration::from_millis(every) {
            last_sample = Instant::now();
            watch.sample();
        }
    }
    watch.sample();
    let end = watch.start.elapsed().as_secs_f64();
    drop(stream);
    tokio::time::sleep(Duration::from_secs(2)).await;
    watch.sample();
    let after = watch.rss.last().and_then(|(_, r)| *r);
    let pipeline = json!({
        "seconds": end,
        "bytes_written": written,
        "write_error": error.as_ref().map(|(t, e)| json!({"at_s": t, "error": e})),
        "closed_at_s": watch.closed_at[0],
        "rss_before_kib": rss_before,
        "rss_max_kib": watch.rss_max_between(0.0, end),
        "rss_end_kib": watch.rss_at(end),
        "rss_after_kib": after,
        "rss_growth_max_kib": kib_delta(rss_before, watch.rss_max_between(0.0, end)),
        "rss_growth_after_kib": kib_delta(rss_before, after),
    });

    // Dripping: a frame that never completes within the window.
    let drip: Vec<u8> = match o.system {
        System::Imstatus => raw::ims_hello_login(
            o.sdk_app_id,
            "dripper",
            &ims::sig_for(&shared, "dripper"),
            "drip-device",
        ),
        System::Mosquitto => raw::mqtt_connect(&"d".repeat(200), 30),
    };
    let head = match o.system {
        System::Imstatus => u32::from_be_bytes(drip[..4].try_into().unwrap_or([0; 4])) as usize + 4,
        System::Mosquitto => 0,
    };
    let mut stream = tokio::net::TcpStream::connect(&o.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut watch = Watch::new(
        o.server_pid,
        port,
        vec![stream.local_addr().map_err(|e| e.to_string())?.port()],
    );
    watch.wait_held().await;
    raw::write_within(&mut stream, &drip[..head], Duration::from_secs(1)).await?;
    let mut sent = head;
    let mut eof_at = None;
    let mut error = None;
    let window = Duration::from_secs(40);
    let mut next_byte = Instant::now() + Duration::from_secs(1);
    // Bounded by the window.
    while watch.start.elapsed() < window && eof_at.is_none() {
        let t = watch.start.elapsed().as_secs_f64();
        if Instant::now() >= next_byte && sent < drip.len() && error.is_none() {
            next_byte += Duration::from_secs(1);
            match raw::write_within(
                &mut stream,
                &drip[sent..sent + 1],
                Duration::from_millis(100),
            )
            .await
            {
                Ok(()) => sent += 1,
                Err(e) => error = Some((t, e)),
            }
        }
        // The client still reads nothing: its socket's state says whether the peer closed.
        if procfs::peer_closed(&stream) {
            eof_at = Some(t);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        watch.sample();
    }
    watch.sample();
    let dripped = json!({
        "seconds": watch.start.elapsed().as_secs_f64(),
        "bytes_dripped": sent - head,
        "frame_bytes": drip.len() - head,
        "write_error": error.as_ref().map(|(t, e)| json!({"at_s": t, "error": e})),
        "closed_at_s": watch.closed_at[0],
        "eof_at_s": eof_at,
        "rss_growth_max_kib": kib_delta(watch.rss_first(), watch.rss_max_between(0.0, f64::MAX)),
    });
    drop(stream);
    let fmt = |v: &Value| v.as_f64().map_or("never".into(), |s| format!("{s:.2} s"));
    let growth = pipeline["rss_growth_max_kib"].as_i64();
    let within = growth.is_some_and(|g| g <= 5 * 1024);
    let summary = format!(
        "pipelining without logging in or reading: {} bytes written, closed by the server after {}, server RSS +{} KiB at most (target ≤ 5 MiB: {}), +{} KiB after; dripping a login a byte a second: closed after {}",
        written,
        fmt(&pipeline["closed_at_s"]),
        growth.map_or("?".into(), |g| g.to_string()),
        if within { "met" } else { "MISSED" },
        pipeline["rss_growth_after_kib"],
        fmt(&dripped["closed_at_s"]),
    );
    Ok(vec![base(
        &shared,
        json!({
            "pipeline": pipeline,
            "drip": dripped,
            "within_target": within,
            "summary": summary,
        }),
    )])
}
