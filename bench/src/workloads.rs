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
    ims, lock, mqtt, percentiles, procfs, wait_until, Cmd, Opts, Reconnect, Shared, System,
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
    let shared = Shared::new(opts, multi);
    let mut fleet = Fleet::new(shared.clone());
    let result = match shared.opts.workload {
        Workload::ConnectIdle => connect_idle(&mut fleet).await,
        Workload::Fanout => fanout(&mut fleet).await,
        Workload::StopCohort => stop_cohort(&mut fleet).await,
        Workload::Storm => storm(&mut fleet).await,
        Workload::SlowConsumer => slow_consumer(&mut fleet).await,
        Workload::ChurnVerify => churn_verify(&mut fleet).await,
    };
    fleet.shutdown().await;
    result
}

/// The server or broker process, as `/proc` shows it.
struct Probe(Option<u32>);

impl Probe {
    fn rss_kib(&self) -> Option<u64> {
        self.0.and_then(procfs::rss_kib)
    }
    fn cpu_us(&self) -> Option<u64> {
        self.0.and_then(procfs::cpu_us)
    }
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
        let probe = Probe(shared.opts.server_pid);
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
            let before = self.probe.cpu_us();
            tokio::time::sleep(Duration::from_secs(1)).await;
            match kib_delta(before, self.probe.cpu_us()) {
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
        "label": o.label,
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
    let self0 = procfs::cpu_us(std::process::id());
    let start = Instant::now();
    let mut issued = 0u64;
    let mut expected = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    // Bounded by `duration`.
    while start.elapsed() < duration {
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
        "rate {}/s: {:.0} deliveries/s, missed {}, stale views {}, p50 {} ms, p99 {} ms, p99.9 {} ms, {} µs CPU/delivery, server CPU {}%, harness CPU {}% -> {}",
        v["rate"],
        v["deliveries_per_s"].as_f64().unwrap_or(0.0),
        v["missed"],
        v["stale_views"],
        v["latency_ms"]["p50"],
        v["latency_ms"]["p99"],
        v["latency_ms"]["p999"],
        v["server_cpu_us_per_delivery"].as_f64().map_or("?".into(), |x| format!("{x:.2}")),
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
