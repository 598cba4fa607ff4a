//! `imstatus-bench`: see the crate documentation and `docs/benchmarks.md`.
//!
//! ```text
//! imstatus-bench run --workload fanout --system imstatus --addr 127.0.0.1:7800 --server-pid PID \
//!     --n 10000 --k 200 --rates 50,250,500,1000 --duration 10
//! imstatus-bench sdk-cost --addr 127.0.0.1:7800 --app-id 1400000001 --key KEY
//! ```
//! Every result is one JSON line on stdout, and one human line on stderr.

use std::time::Duration;

use clap::{Parser, Subcommand};
use imstatus_bench::{inproc, procfs, restart, workloads, Opts, System, Workload};

#[derive(Parser)]
#[command(
    name = "imstatus-bench",
    about = "imstatus side by side with Mosquitto"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one workload against a running server or broker.
    Run(RunArgs),
    /// Memory and threads of one idle, logged-in SDK client (`imstatus::client::Client`).
    SdkCost {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        app_id: u32,
        #[arg(long)]
        key: String,
        /// How long the client idles before it is measured.
        #[arg(long, default_value_t = 3)]
        idle_secs: u64,
    },
    /// The hub path in process (engine, outboxes, one task per connection; no sockets) on 1 and
    /// 2 worker threads pinned to cores: deliveries/s of each and their ratio.
    HubScale {
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        #[arg(long, default_value_t = 50)]
        k: usize,
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        threads: Vec<usize>,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Seconds of warm-up before each measured run.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Seconds per measured run.
        #[arg(long, default_value_t = 4.0)]
        duration: f64,
        /// Cores the worker threads are pinned to, in turn.
        #[arg(long, value_delimiter = ',', default_value = "0,1")]
        cores: Vec<usize>,
        #[arg(long, default_value_t = 1)]
        publishers_per_thread: usize,
        /// Changes a publisher makes before it yields.
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
    /// What a full outbox costs (RSS per outbox over many full ones), in process.
    OutboxCost {
        #[arg(long, default_value_t = 64)]
        outboxes: usize,
        /// Bytes of each queued status's custom status (the bench's pushes carry ~25).
        #[arg(long, default_value_t = 25)]
        custom_len: usize,
    },
    /// Restart time of a real `imstatus serve` over a data directory of many stored users.
    Restart {
        /// The `imstatus` binary.
        #[arg(long)]
        imstatus: std::path::PathBuf,
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Of those, logged in when the server stopped.
        #[arg(long, default_value_t = 10_000)]
        online: usize,
        /// Subscriptions kept per user.
        #[arg(long, default_value_t = 0)]
        subs: usize,
        #[arg(long, default_value_t = 17810)]
        port: u16,
        /// Pin the server to this core (taskset).
        #[arg(long)]
        core: Option<usize>,
        #[arg(long, default_value_t = 1_400_000_001)]
        app_id: u32,
        #[arg(long, default_value = "bench-secret-key")]
        key: String,
        /// A configuration without `[limits]`, for builds from before it existed.
        #[arg(long)]
        legacy_config: bool,
        /// Skip the in-process recovery.
        #[arg(long)]
        no_in_process: bool,
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum)]
    workload: Workload,
    #[arg(long, value_enum)]
    system: System,
    /// host:port of the imstatus server or the broker (loopback). Repeat it for the nodes of a
    /// cluster: user u's clients connect to the (u mod nodes)-th, and every user watches only
    /// users on other nodes (every delivery crosses Redis).
    #[arg(long, required = true)]
    addr: Vec<String>,
    /// The server or broker process, measured through /proc; repeat it for every cluster node
    /// (their CPU and memory are summed).
    #[arg(long)]
    server_pid: Vec<u32>,
    /// A cluster's Redis server process: its CPU time per delivery is reported apart.
    #[arg(long)]
    redis_pid: Option<u32>,
    #[arg(long, default_value_t = 1000)]
    n: usize,
    #[arg(long, default_value_t = 50)]
    k: usize,
    /// Changes per second; a fanout runs one step per value.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    rates: Vec<f64>,
    /// Seconds per measured step (the churn length for churn-verify).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// imstatus heartbeat interval and MQTT keepalive, seconds.
    #[arg(long, default_value_t = 30.0)]
    heartbeat: f64,
    /// The server's offline timeout, seconds (reported against, not enforced).
    #[arg(long, default_value_t = 45.0)]
    detect_timeout: f64,
    #[arg(long, default_value_t = 1_400_000_001)]
    app_id: u32,
    #[arg(long, default_value = "bench-secret-key")]
    key: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 1.0)]
    cohort_pct: f64,
    #[arg(long, default_value_t = 200.0)]
    churn_rate: f64,
    #[arg(long, default_value_t = 1)]
    qos: u8,
    /// Keep stepping the fanout rate after a failed step.
    #[arg(long)]
    no_stop_on_fail: bool,
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    #[arg(long, default_value = "")]
    label: String,
    /// Shell command run with `start` / `stop` around every measured fanout step.
    #[arg(long)]
    hook: Option<String>,
    /// login-storm: new clients that log in at once.
    #[arg(long, default_value_t = 3000)]
    storm_clients: usize,
    /// slow-flood: clients that never read.
    #[arg(long, default_value_t = 20)]
    slow_clients: usize,
    /// slow-flood: reading watchers of every flooded user.
    #[arg(long, default_value_t = 10)]
    healthy_watchers: usize,
    /// imstatus over TLS, trusting the CA certificates in this PEM file (`imstatus dev-cert`'s
    /// ca.pem); `--addr` is then the server's TLS listener.
    #[arg(long)]
    tls_ca: Option<std::path::PathBuf>,
    /// The name the server's certificate must carry, with `--tls-ca`.
    #[arg(long, default_value = "localhost")]
    tls_name: String,
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run(args),
        Command::SdkCost {
            addr,
            app_id,
            key,
            idle_secs,
        } => sdk_cost(&addr, app_id, &key, idle_secs),
        Command::HubScale {
            n,
            k,
            threads,
            rounds,
            warmup,
            duration,
            cores,
            publishers_per_thread,
            batch,
        } => {
            let o = inproc::ScaleOpts {
                n,
                k,
                threads,
                rounds,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
                cores,
                publishers_per_thread,
                batch,
            };
            emit("hub-scale", inproc::hub_scale(&o))
        }
        Command::OutboxCost {
            outboxes,
            custom_len,
        } => emit("outbox-cost", Ok(inproc::outbox_cost(outboxes, custom_len))),
        Command::Restart {
            imstatus,
            users,
            online,
            subs,
            port,
            core,
            app_id,
            key,
            legacy_config,
            no_in_process,
            label,
        } => {
            procfs::raise_nofile();
            let o = restart::RestartOpts {
                imstatus,
                users,
                online,
                subs,
                port,
                core,
                app_id,
                key,
                legacy_config,
                in_process: !no_in_process,
                label,
            };
            emit("restart", restart::restart(&o))
        }
    };
    std::process::exit(code);
}

/// Prints a result (or the failure) as one JSON line, and its summary on stderr.
fn emit(workload: &str, result: Result<serde_json::Value, String>) -> i32 {
    match result {
        Ok(v) => {
            println!("{v}");
            eprintln!("{workload}: {}", v["summary"].as_str().unwrap_or(""));
            0
        }
        Err(e) => {
            println!("{}", serde_json::json!({"workload": workload, "error": e}));
            eprintln!("{workload}: FAILED: {e}");
            1
        }
    }
}

fn run(a: RunArgs) -> i32 {
    let mut opts = Opts::new(a.system, a.workload, a.addr[0].clone());
    if a.addr.len() > 1 {
        opts.nodes = a.addr;
    }
    opts.server_pid = a.server_pid.first().copied();
    opts.other_server_pids = a.server_pid.iter().skip(1).copied().collect();
    opts.redis_pid = a.redis_pid;
    opts.n = a.n;
    opts.k = a.k;
    opts.rates = a.rates;
    opts.duration = Duration::from_secs_f64(a.duration);
    opts.heartbeat = Duration::from_secs_f64(a.heartbeat);
    opts.detect_timeout = Duration::from_secs_f64(a.detect_timeout);
    opts.sdk_app_id = a.app_id;
    opts.secret_key = a.key;
    opts.seed = a.seed;
    opts.cohort_pct = a.cohort_pct;
    opts.churn_rate = a.churn_rate;
    opts.qos = a.qos;
    opts.stop_on_fail = !a.no_stop_on_fail;
    opts.connect_concurrency = a.connect_concurrency;
    opts.label = a.label;
    opts.hook = a.hook;
    opts.storm_clients = a.storm_clients;
    opts.slow_clients = a.slow_clients;
    opts.healthy_watchers = a.healthy_watchers;
    if let Some(ca) = &a.tls_ca {
        if opts.system != System::Imstatus {
            eprintln!("--tls-ca is for the imstatus system only");
            return 2;
        }
        match imstatus_bench::tls::Tls::from_file(ca, &a.tls_name) {
            Ok(tls) => opts.tls = Some(tls),
            Err(e) => {
                eprintln!("--tls-ca: {e}");
                return 2;
            }
        }
    }
    let (system, workload) = (opts.system, opts.workload);
    procfs::raise_nofile();
    match workloads::run(opts) {
        Ok(results) => {
            for r in results {
                println!("{r}");
                eprintln!(
                    "{system:?} {} n={} k={}: {}",
                    r["workload"].as_str().unwrap_or(""),
                    r["n"],
                    r["k"],
                    r["summary"].as_str().unwrap_or("")
                );
            }
            0
        }
        Err(e) => {
            let v = serde_json::json!({
                "system": system, "workload": workload, "error": e,
            });
            println!("{v}");
            eprintln!("{system:?} {workload:?}: FAILED: {e}");
            1
        }
    }
}

/// Measures one SDK client: RSS and threads of this process before creating it, and after it
/// logged in and idled. Nothing else runs in this process.
fn sdk_cost(addr: &str, app_id: u32, key: &str, idle_secs: u64) -> i32 {
    use imstatus::client::{Client, ClientConfig};
    let me = std::process::id();
    let rss0 = procfs::rss_kib(me);
    let threads0 = procfs::threads(me);
    let mut config = ClientConfig::new(app_id);
    config.server_addr = Some(addr.to_string());
    let client = match Client::new(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sdk-cost: cannot create a client: {e:?}");
            return 1;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sig = imstatus_server::usersig::generate(app_id, key, "sdk-cost", 3600, now);
    if let Err(e) = client.login_blocking("sdk-cost", &sig) {
        eprintln!("sdk-cost: login failed: {e:?}");
        return 1;
    }
    std::thread::sleep(Duration::from_secs(idle_secs));
    let rss1 = procfs::rss_kib(me);
    let threads1 = procfs::threads(me);
    let v = serde_json::json!({
        "workload": "sdk-cost",
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "client_rss_kib": rss1.zip(rss0).map(|(a, b)| a as i64 - b as i64),
        "threads_before": threads0,
        "threads_after": threads1,
        "client_threads": threads1.zip(threads0).map(|(a, b)| a as i64 - b as i64),
    });
    println!("{v}");
    eprintln!(
        "sdk-cost: one idle logged-in client adds {} KiB RSS and {} threads",
        v["client_rss_kib"], v["client_threads"]
    );
    drop(client);
    0
}
