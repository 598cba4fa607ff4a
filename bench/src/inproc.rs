//! In-process measurements of the server's own code, without sockets:
//!
//! - [`hub_scale`]: the hub path (the engine over [`imstatus_server::Hub`], delivering into each
//!   connection's [`Outbox`]) on a tokio runtime of 1 and of 2 worker threads, each pinned to a
//!   core: publisher tasks call `set_self_status`, and one task per connection waits on its
//!   outbox (`poll_ready`) and takes what it holds (`take_into`), as the connection task does
//!   before writing to its socket. Throughput: statuses taken per second.
//! - [`outbox_cost`]: what a full outbox holds (the limits `[limits] outbox_max_bytes` and
//!   `outbox_max_entries`), measured as the growth of this process's RSS over many full ones.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imstatus_server::engine::{AppSettings, Login, MemoryStore, Platform, RateLimit, Store};
use imstatus_server::{now_ms, EncodedStatus, Hub, Outbox, OutboxLimits};
use serde_json::{json, Value};

use crate::{procfs, Graph};

const APP: u32 = 1_400_000_001;
const KEY: &str = "bench-secret-key";

/// What [`hub_scale`] is told.
#[derive(Debug, Clone)]
pub struct ScaleOpts {
    /// Users, each with one logged-in connection.
    pub n: usize,
    /// Subscriptions per user (uniform random, as the socket workloads).
    pub k: usize,
    /// Worker-thread counts to compare, in order; the first is the baseline of the ratio.
    pub threads: Vec<usize>,
    /// Each thread count runs this many times, taking turns with the others; the median counts.
    pub rounds: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Cores the worker threads are pinned to, one each in turn.
    pub cores: Vec<usize>,
    /// Publisher tasks per worker thread (default 1: each core has a source of changes, as each
    /// core of the server handles its share of the clients' requests).
    pub publishers_per_thread: usize,
    /// Changes a publisher makes before it yields to the connection tasks (default 1: one
    /// request handled, then the connections it woke write, as in the server). With more, a
    /// publisher wakes more connection tasks at once than a worker's local run queue holds
    /// (256), and the rest go through the runtime's shared queue.
    pub batch: usize,
}

impl Default for ScaleOpts {
    fn default() -> ScaleOpts {
        ScaleOpts {
            n: 10_000,
            k: 50,
            threads: vec![1, 2],
            rounds: 3,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(4),
            cores: vec![0, 1],
            publishers_per_thread: 1,
            batch: 1,
        }
    }
}

/// Pins the calling thread to `core`; answers whether it worked.
pub fn pin_to(core: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes within it, and
    // sched_setaffinity reads it for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// What the connection tasks took from their outboxes, counted per worker thread (each in a
/// cache line of its own, so that counting adds no traffic between the cores).
#[derive(Default)]
#[repr(align(128))]
struct Taken {
    statuses: AtomicU64,
    frames: AtomicU64,
    bytes: AtomicU64,
}

/// Worker slots: more than any thread count asked for.
const SLOTS: usize = 64;

thread_local! {
    /// This worker thread's slot in the counters.
    static SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(SLOTS - 1) };
}

fn app() -> AppSettings {
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = true;
    app.friend_status_notify = false;
    app.subscription_limit = 1000;
    let lifted = RateLimit {
        calls: u32::MAX,
        window: Duration::from_secs(1),
    };
    app.set_status_rate = lifted;
    app.subscribe_rate = lifted;
    app.query_rate = lifted;
    app
}

/// The counts of a statuses-changed frame stream: (frames, statuses). Every status is one JSON
/// object and the frame's head holds one more; the custom statuses here hold no `{`.
fn count(bytes: &[u8]) -> (u64, u64) {
    let mut frames = 0u64;
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        frames += 1;
        rest = &rest[(4 + len).min(rest.len())..];
    }
    let braces = bytes.iter().filter(|&&b| b == b'{').count() as u64;
    (frames, braces.saturating_sub(frames))
}

async fn drain(outbox: Arc<Outbox>, taken: Arc<[Taken]>) {
    let mut buf = Vec::with_capacity(4096);
    // Bounded by the runtime: its tasks are dropped when it shuts down.
    loop {
        poll_fn(|cx| outbox.poll_ready(cx)).await;
        buf.clear();
        let end = outbox.take_into(&mut buf, |_| {});
        let (frames, statuses) = count(&buf);
        let mine = &taken[SLOT.with(|s| s.get())];
        mine.frames.fetch_add(frames, Ordering::Relaxed);
        mine.statuses.fetch_add(statuses, Ordering::Relaxed);
        mine.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        if end.is_some() {
            return;
        }
    }
}

async fn publish(
    hub: Arc<Hub>,
    conns: Vec<u64>,
    batch: usize,
    stop: Arc<AtomicBool>,
    changes: Arc<AtomicU64>,
) {
    let mut seq = 0u64;
    let mut i = 0usize;
    // Bounded by `stop`.
    while !stop.load(Ordering::Relaxed) && !conns.is_empty() {
        for _ in 0..batch.max(1) {
            let conn = conns[i % conns.len()];
            i += 1;
            seq += 1;
            // Fixed width, and different from the user's last one: every call is a change.
            let custom = format!("{seq:012}");
            if hub
                .engine
                .set_self_status(conn, Some(&custom), now_ms())
                .is_err()
            {
                stop.store(true, Ordering::Relaxed);
                return;
            }
        }
        changes.fetch_add(batch.max(1) as u64, Ordering::Relaxed);
        tokio::task::yield_now().await;
    }
}

/// A hub with its connections' outboxes (connection `i + 1` is user `i`'s), and who watches whom.
type Built = (Arc<Hub>, Vec<Arc<Outbox>>, Graph);

/// Builds the hub: `n` users logged in on a connection each, each subscribed to `k` others.
fn build_hub(n: usize, k: usize) -> Result<Built, String> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let limits = imstatus_server::Limits::default();
    let hub = Arc::new(Hub::new(
        store,
        None,
        1,
        OutboxLimits {
            max_bytes: limits.outbox_max_bytes,
            max_entries: limits.outbox_max_entries,
        },
        limits.login_timeout.as_millis() as u64,
    ));
    hub.engine.put_app(app()).map_err(|e| e.desc)?;
    let now = now_ms();
    let secs = now / 1000;
    let mut outboxes = Vec::with_capacity(n);
    for i in 0..n {
        let conn = i as u64 + 1;
        outboxes.push(hub.open(conn, now));
        let user = crate::user_id(i as u32);
        let sig = imstatus_server::usersig::generate(APP, KEY, &user, 86_400, secs);
        let device = format!("d{i}");
        let login = Login {
            sdk_app_id: APP,
            user_id: &user,
            user_sig: &sig,
            platform: Platform::Linux,
            device_id: &device,
        };
        hub.engine
            .login(conn, &login, now)
            .map_err(|e| format!("login of {user}: {}", e.desc))?;
    }
    let graph = Graph::uniform(n, k, 1);
    for (i, watches) in graph.watches.iter().enumerate() {
        for chunk in watches.chunks(100) {
            let ids: Vec<String> = chunk.iter().map(|&u| crate::user_id(u)).collect();
            hub.engine
                .subscribe(i as u64 + 1, &ids, now)
                .map_err(|e| format!("subscribe: {}", e.desc))?;
        }
    }
    // What the logins pushed.
    let mut scratch = Vec::new();
    for outbox in &outboxes {
        scratch.clear();
        let _ = outbox.take_into(&mut scratch, |_| {});
    }
    Ok((hub, outboxes, graph))
}

/// One measured run with `threads` workers; answers its numbers.
fn scale_run(
    hub: &Arc<Hub>,
    outboxes: &[Arc<Outbox>],
    threads: usize,
    o: &ScaleOpts,
) -> Result<Value, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let cores = o.cores.clone();
    let pinned = Arc::new(AtomicUsize::new(0));
    let runtime = {
        let (next, pinned) = (next.clone(), pinned.clone());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("hub-scale-worker")
            .on_thread_start(move || {
                let i = next.fetch_add(1, Ordering::Relaxed);
                SLOT.with(|s| s.set(i % (SLOTS - 1)));
                if let Some(&core) = cores.get(i % cores.len().max(1)) {
                    if pin_to(core) {
                        pinned.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .build()
            .map_err(|e| format!("cannot build a runtime: {e}"))?
    };
    let taken: Arc<[Taken]> = (0..SLOTS).map(|_| Taken::default()).collect();
    for outbox in outboxes {
        runtime.spawn(drain(outbox.clone(), taken.clone()));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = threads * o.publishers_per_thread;
    let changes: Vec<Arc<AtomicU64>> = (0..tasks).map(|_| Arc::default()).collect();
    for (p, counter) in changes.iter().enumerate() {
        let conns: Vec<u64> = (0..outboxes.len() as u64)
            .filter(|c| (*c as usize) % tasks == p)
            .map(|c| c + 1)
            .collect();
        runtime.spawn(publish(
            hub.clone(),
            conns,
            o.batch,
            stop.clone(),
            counter.clone(),
        ));
    }
    let sums = || {
        let s = |f: fn(&Taken) -> &AtomicU64| {
            taken
                .iter()
                .map(|t| f(t).load(Ordering::Relaxed))
                .sum::<u64>()
        };
        (
            changes
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum::<u64>(),
            s(|t| &t.statuses),
            s(|t| &t.frames),
            s(|t| &t.bytes),
        )
    };
    let me = std::process::id();
    std::thread::sleep(o.warmup);
    let (c0, s0, f0, b0) = sums();
    let cpu0 = procfs::cpu_us(me);
    let start = Instant::now();
    std::thread::sleep(o.duration);
    let (c1, s1, f1, b1) = sums();
    let cpu1 = procfs::cpu_us(me);
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    runtime.shutdown_timeout(Duration::from_secs(2));
    let stopped_early = c1 == c0;
    if stopped_early {
        return Err("no change was made: set_self_status was refused".into());
    }
    let cpu_pct = cpu0
        .zip(cpu1)
        .map(|(a, b)| (b - a) as f64 / 1e6 / secs * 100.0);
    let cpu_s = cpu0.zip(cpu1).map(|(a, b)| (b - a) as f64 / 1e6);
    Ok(json!({
        "threads": threads,
        "pinned_threads": pinned.load(Ordering::Relaxed),
        "deliveries_per_cpu_s": cpu_s.filter(|&c| c > 0.0).map(|c| (s1 - s0) as f64 / c),
        "seconds": secs,
        "changes_per_s": (c1 - c0) as f64 / secs,
        "deliveries_per_s": (s1 - s0) as f64 / secs,
        "frames_per_s": (f1 - f0) as f64 / secs,
        "bytes_per_s": (b1 - b0) as f64 / secs,
        "process_cpu_pct": cpu_pct,
    }))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    })
}

/// The hub path on 1 and on 2 worker threads (see the module's documentation).
pub fn hub_scale(o: &ScaleOpts) -> Result<Value, String> {
    let setup = Instant::now();
    let (hub, outboxes, graph) = build_hub(o.n, o.k)?;
    let setup_s = setup.elapsed().as_secs_f64();
    let fan_in = graph.watchers.iter().map(Vec::len).sum::<usize>() as f64 / o.n.max(1) as f64;
    let mut runs = Vec::new();
    for _ in 0..o.rounds.max(1) {
        for &t in &o.threads {
            let r = scale_run(&hub, &outboxes, t.max(1), o)?;
            eprintln!(
                "hub-scale: {t} thread(s): {:.0} changes/s, {:.0} deliveries/s, process CPU {:.0} %",
                r["changes_per_s"].as_f64().unwrap_or(0.0),
                r["deliveries_per_s"].as_f64().unwrap_or(0.0),
                r["process_cpu_pct"].as_f64().unwrap_or(0.0),
            );
            runs.push(r);
        }
    }
    let med = |t: usize, key: &str| {
        median(
            runs.iter()
                .filter(|r| r["threads"] == json!(t))
                .filter_map(|r| r[key].as_f64())
                .collect(),
        )
    };
    let per_threads: Vec<Value> = o
        .threads
        .iter()
        .map(|&t| {
            json!({
                "threads": t,
                "changes_per_s": med(t, "changes_per_s"),
                "deliveries_per_s": med(t, "deliveries_per_s"),
                "process_cpu_pct": med(t, "process_cpu_pct"),
                "deliveries_per_cpu_s": med(t, "deliveries_per_cpu_s"),
            })
        })
        .collect();
    let base = o.threads.first().copied().unwrap_or(1);
    let top = o.threads.last().copied().unwrap_or(1);
    let ratio = med(top, "deliveries_per_s")
        .zip(med(base, "deliveries_per_s"))
        .map(|(a, b)| a / b);
    // Throughput per CPU-second of the process, 2 threads against 1: 1.0 means the second
    // thread did as much per second of CPU as the first (less: contention, idle workers).
    let efficiency = med(top, "deliveries_per_cpu_s")
        .zip(med(base, "deliveries_per_cpu_s"))
        .map(|(a, b)| a / b);
    let summary = format!(
        "hub path in process, N = {}, K = {}: {} ; {top} vs {base} thread(s): {}× (goal ≥ 1.7×)",
        o.n,
        o.k,
        per_threads
            .iter()
            .map(|p| format!(
                "{} thread(s) {:.0} deliveries/s",
                p["threads"],
                p["deliveries_per_s"].as_f64().unwrap_or(0.0)
            ))
            .collect::<Vec<_>>()
            .join(", "),
        ratio.map_or("?".into(), |r| format!("{r:.2}")),
    );
    Ok(json!({
        "workload": "hub-scale",
        "n": o.n,
        "k": o.k,
        "fan_in": fan_in,
        "cores": o.cores,
        "rounds": o.rounds,
        "warmup_s": o.warmup.as_secs_f64(),
        "duration_s": o.duration.as_secs_f64(),
        "publishers_per_thread": o.publishers_per_thread,
        "batch": o.batch,
        "setup_s": setup_s,
        "load": std::fs::read_to_string("/proc/loadavg").ok().map(|l| l.trim().to_string()),
        "runs": runs,
        "per_threads": per_threads,
        "ratio": ratio,
        "efficiency_ratio": efficiency,
        "summary": summary,
    }))
}

/// A status as the hub encodes it for a push: `{"user_id":…,…}` with a custom status of
/// `custom_len` bytes.
fn encoded(user: &str, custom_len: usize, version: u64) -> Arc<EncodedStatus> {
    let status = imstatus_server::engine::UserStatus {
        user_id: user.to_string(),
        status_type: imstatus_server::engine::StatusType::Online,
        custom_status: "x".repeat(custom_len),
        online_devices: vec![Platform::Linux],
        version,
        last_seen: None,
        own: None,
    };
    let wire = imstatus_server::wire::status(&status);
    Arc::new(EncodedStatus::new(
        Arc::from(user),
        imstatus::protocol::encode(&wire),
    ))
}

/// Fills `outbox` with distinct users' statuses up to its byte limit (without overflowing it);
/// answers how many it took.
fn fill(outbox: &Outbox, statuses: &[Arc<EncodedStatus>], max_bytes: usize) -> usize {
    let mut pushed = 0;
    for s in statuses {
        if outbox.queued_bytes() + s.json.len() + 1 > max_bytes {
            break;
        }
        if !outbox.push(s).is_open() {
            break;
        }
        pushed += 1;
    }
    pushed
}

/// What a full outbox costs: `outboxes` outboxes with the default limits, each filled with
/// distinct users' statuses up to `outbox_max_bytes`; once with statuses of their own (the worst
/// case: every queued status goes to this connection only) and once sharing the same statuses
/// (a change goes to many watchers and is encoded once for all). The growth of this process's
/// RSS per outbox. Run in a process of its own.
pub fn outbox_cost(outboxes: usize, custom_len: usize) -> Value {
    let limits = imstatus_server::Limits::default();
    let ol = OutboxLimits {
        max_bytes: limits.outbox_max_bytes,
        max_entries: limits.outbox_max_entries,
    };
    let me = std::process::id();
    let entries_max = limits.outbox_max_entries;
    // Of their own.
    let rss0 = procfs::rss_kib(me);
    let mut held = Vec::new();
    let mut entries = 0;
    let mut queued = 0;
    for o in 0..outboxes {
        let outbox = Outbox::new(ol);
        let mut pushed = 0;
        while pushed < entries_max {
            let status = encoded(&format!("o{o:02}-user{pushed:05}"), custom_len, 1 << 32);
            if outbox.queued_bytes() + status.json.len() + 1 > ol.max_bytes
                || !outbox.push(&status).is_open()
            {
                break;
            }
            pushed += 1;
        }
        entries = pushed;
        queued = outbox.queued_bytes();
        held.push(outbox);
    }
    let rss1 = procfs::rss_kib(me);
    // Shared: the statuses are made first, then queued in every outbox.
    let statuses: Vec<Arc<EncodedStatus>> = (0..entries_max)
        .map(|i| encoded(&format!("shr-user{i:05}"), custom_len, 1 << 32))
        .collect();
    let rss2 = procfs::rss_kib(me);
    let mut shared = Vec::new();
    for _ in 0..outboxes {
        let outbox = Outbox::new(ol);
        fill(&outbox, &statuses, ol.max_bytes);
        shared.push(outbox);
    }
    let rss3 = procfs::rss_kib(me);
    let per = |a: Option<u64>, b: Option<u64>| {
        a.zip(b)
            .map(|(a, b)| (b as f64 - a as f64) * 1024.0 / outboxes as f64)
    };
    let own = per(rss0, rss1);
    let shared_cost = per(rss2, rss3);
    let status_bytes = statuses.first().map_or(0, |s| s.json.len());
    let summary = format!(
        "a full outbox (limits {} B, {} entries): {entries} statuses of {status_bytes} B, {queued} B counted; RSS {} B per outbox when its statuses are its own, {} B when shared with other watchers",
        ol.max_bytes,
        ol.max_entries,
        own.map_or("?".into(), |v| format!("{v:.0}")),
        shared_cost.map_or("?".into(), |v| format!("{v:.0}")),
    );
    drop(held);
    drop(shared);
    json!({
        "workload": "outbox-cost",
        "outboxes": outboxes,
        "max_bytes": ol.max_bytes,
        "max_entries": ol.max_entries,
        "custom_status_bytes": custom_len,
        "status_json_bytes": status_bytes,
        "entries": entries,
        "queued_bytes": queued,
        "own_bytes_per_outbox": own,
        "shared_bytes_per_outbox": shared_cost,
        "own_overhead_per_entry": own.map(|v| (v - queued as f64) / entries.max(1) as f64),
        "shared_bytes_per_entry": shared_cost.map(|v| v / entries.max(1) as f64),
        "summary": summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_frames_and_statuses() {
        let bytes = br#"{"type":"status_changed","statuses":[{"a":1},{"b":2}]}"#;
        let mut framed = (bytes.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(bytes);
        framed.extend_from_slice(&framed.clone());
        assert_eq!(count(&framed), (2, 4));
    }
}
