//! CI smoke run of the benchmark harness: 1k clients × 50 subscriptions against an in-process
//! imstatus server. It asserts correctness only (zero losses, zero version regressions, final
//! state equal to the server's truth), never timings.

use std::time::{Duration, Instant};

use imstatus_bench::{workloads, Opts, System, Workload};
use imstatus_server::engine::{AppSettings, RateLimit};
use imstatus_server::{self as server, Config};

const APP: u32 = 1_400_000_001;
const KEY: &str = "bench-secret-key";

fn app() -> AppSettings {
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = true;
    app.heartbeat_timeout = Duration::from_secs(45);
    app.query_rate = RateLimit {
        calls: 1000,
        window: Duration::from_secs(1),
    };
    app
}

#[test]
fn smoke_1k_clients_50_subscriptions() {
    let started = Instant::now();
    let data_dir = tempfile::tempdir().unwrap();
    let server = server::spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: String::new(),
        admin_token: Some("unused".into()),
        data_dir: Some(data_dir.path().to_path_buf()),
        apps: vec![app()],
        limits: Default::default(),
        ..Config::default()
    })
    .expect("server starts");
    let addr = server.addr().to_string();

    // Fanout: 50 changes/s for 6 s, every one to ~50 watchers.
    let mut opts = Opts::new(System::Imstatus, Workload::Fanout, addr.clone());
    opts.n = 1000;
    opts.k = 50;
    opts.rates = vec![50.0];
    opts.duration = Duration::from_secs(6);
    opts.label = "ci-smoke".into();
    let results = workloads::run(opts).expect("fanout runs");
    // The connect-idle phase, then the one rate step.
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0]["workload"], "connect-idle", "{results:?}");
    assert_eq!(results[0]["synced"], 1000, "{results:?}");
    let step = &results[1];
    eprintln!("{step}");
    assert!(step["expected"].as_u64().unwrap() > 10_000, "{step}");
    assert_eq!(step["missed"], 0, "lost notifications: {step}");
    assert_eq!(
        step["stale_views"], 0,
        "views not at the latest change: {step}"
    );
    assert_eq!(step["regressions"], 0, "version regressions: {step}");
    assert_eq!(
        step["unexpected"], 0,
        "notifications to non-watchers: {step}"
    );

    // Churn, then the final state of every view against the server's truth.
    let mut opts = Opts::new(System::Imstatus, Workload::ChurnVerify, addr);
    opts.n = 1000;
    opts.k = 50;
    opts.churn_rate = 100.0;
    opts.duration = Duration::from_secs(6);
    opts.label = "ci-smoke".into();
    let results = workloads::run(opts).expect("churn-verify runs");
    let churn = &results[0];
    eprintln!("{churn}");
    assert!(churn["ops"]["sets"].as_u64().unwrap() > 100, "{churn}");
    assert!(churn["ops"]["flaps"].as_u64().unwrap() > 20, "{churn}");
    assert_eq!(churn["all_back"], true, "{churn}");
    assert_eq!(churn["compared"], 1100 * 50, "{churn}");
    assert_eq!(
        churn["mismatches"], 0,
        "views differ from the truth: {churn}"
    );
    assert_eq!(churn["regressions"], 0, "version regressions: {churn}");
    assert_eq!(churn["stale_states"], 0, "stale states: {churn}");
    assert_eq!(churn["unexpected"], 0, "{churn}");

    server.stop();
    eprintln!("smoke run took {:.1} s", started.elapsed().as_secs_f64());
}
