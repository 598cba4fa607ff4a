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
use imstatus_bench::{procfs, workloads, Opts, System, Workload};

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
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum)]
    workload: Workload,
    #[arg(long, value_enum)]
    system: System,
    /// host:port of the imstatus server or the broker (loopback).
    #[arg(long)]
    addr: String,
    /// The server or broker process, measured through /proc.
    #[arg(long)]
    server_pid: Option<u32>,
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
    };
    std::process::exit(code);
}

fn run(a: RunArgs) -> i32 {
    let mut opts = Opts::new(a.system, a.workload, a.addr);
    opts.server_pid = a.server_pid;
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
