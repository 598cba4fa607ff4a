//! CI smoke run of the benchmark harness: 1k clients × 50 subscriptions against an in-process
//! imstatus server, a small login storm, the same storm and a fanout over plaintext and TLS,
//! a tiny fanout and login storm across two cluster nodes on a real Redis, and the in-process
//! measurements at a tiny size. It
//! asserts correctness only (zero losses, zero version regressions, final state equal to the
//! server's truth, every storm login answered), never timings.

use std::time::{Duration, Instant};

use imstatus_bench::{inproc, tls, workloads, Opts, System, Workload};
use imstatus_server::engine::{AppSettings, RateLimit};
use imstatus_server::{self as server, Config};

// The server's test helper for a real `redis-server` (a file of this repository).
#[path = "../../server/tests/common/redis.rs"]
mod redis;

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

/// A server with the smoke app, its data in `dir`.
fn start_server(dir: &std::path::Path) -> server::ServerHandle {
    server::spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: String::new(),
        admin_token: Some("unused".into()),
        data_dir: Some(dir.to_path_buf()),
        apps: vec![app()],
        limits: Default::default(),
        ..Config::default()
    })
    .expect("server starts")
}

#[test]
fn smoke_1k_clients_50_subscriptions() {
    let started = Instant::now();
    let data_dir = tempfile::tempdir().unwrap();
    let server = start_server(data_dir.path());
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

    // A small login storm beside a watching cohort: every login answered, nothing lost. On a
    // server of its own: subscriptions belong to the user and outlive the connection, so the
    // churn's users, logging in again here, would still be pushed what they watched there.
    server.stop();
    let storm_dir = tempfile::tempdir().unwrap();
    let server = start_server(storm_dir.path());
    let mut opts = Opts::new(
        System::Imstatus,
        Workload::LoginStorm,
        server.addr().to_string(),
    );
    opts.n = 200;
    opts.k = 10;
    opts.rates = vec![20.0];
    opts.duration = Duration::from_secs(1);
    opts.storm_clients = 300;
    opts.label = "ci-smoke".into();
    let results = workloads::run(opts).expect("login-storm runs");
    let storm = &results[0];
    eprintln!("{}", storm["summary"]);
    assert_eq!(storm["answered"], 300, "{storm}");
    assert_eq!(storm["failed"], 0, "{storm}");
    for phase in ["before", "during"] {
        assert_eq!(storm[phase]["missed"], 0, "{phase}: {storm}");
        assert_eq!(storm[phase]["stale_views"], 0, "{phase}: {storm}");
        assert_eq!(storm[phase]["regressions"], 0, "{phase}: {storm}");
    }

    server.stop();
    eprintln!("smoke run took {:.1} s", started.elapsed().as_secs_f64());
}

/// The in-process measurements run and count what they should (no timing is asserted).
#[test]
fn smoke_in_process_measurements() {
    let o = inproc::ScaleOpts {
        n: 300,
        k: 10,
        threads: vec![1, 2],
        rounds: 1,
        warmup: Duration::from_millis(100),
        duration: Duration::from_millis(300),
        cores: vec![0],
        publishers_per_thread: 2,
        batch: 4,
    };
    let v = inproc::hub_scale(&o).expect("hub-scale runs");
    for run in v["runs"].as_array().unwrap() {
        assert!(run["changes_per_s"].as_f64().unwrap() > 0.0, "{v}");
        assert!(run["deliveries_per_s"].as_f64().unwrap() > 0.0, "{v}");
    }
    assert!(v["ratio"].as_f64().is_some(), "{v}");
    let cost = inproc::outbox_cost(2, 25);
    assert!(cost["entries"].as_u64().unwrap() > 1000, "{cost}");
    assert!(cost["queued_bytes"].as_u64().unwrap() <= cost["max_bytes"].as_u64().unwrap());
}

/// The same small login storm and fanout over plaintext and over TLS, against one server with
/// both listeners and a certificate from a CA made here: every login answered, nothing lost,
/// and the results say which transport they measured. A client that expects another name is
/// refused at the handshake.
#[test]
fn smoke_tls_beside_plaintext() {
    let ca = server::dev_cert::DevCa::new("bench smoke CA");
    let cert = ca.server_cert(&["localhost"]);
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let server = server::spawn(Config {
        listen: "127.0.0.1:0".into(),
        tls_listen: "127.0.0.1:0".into(),
        tls_cert: Some(cert_path),
        tls_key: Some(key_path),
        admin_listen: String::new(),
        admin_token: Some("unused".into()),
        data_dir: Some(data_dir.path().to_path_buf()),
        apps: vec![app()],
        limits: Default::default(),
        ..Config::default()
    })
    .expect("server starts");
    let plain_addr = server.addr().to_string();
    let tls_addr = server.started().tls_addr.expect("TLS listener").to_string();
    let tls = tls::Tls::new(ca.cert_pem().as_bytes(), "localhost").unwrap();

    for (addr, tls) in [(&plain_addr, None), (&tls_addr, Some(tls.clone()))] {
        let over = if tls.is_some() { "TLS" } else { "plaintext" };
        let mut opts = Opts::new(System::Imstatus, Workload::LoginStorm, addr.clone());
        opts.n = 100;
        opts.k = 10;
        opts.rates = vec![20.0];
        opts.duration = Duration::from_secs(1);
        opts.storm_clients = 100;
        opts.tls = tls.clone();
        let storm = &workloads::run(opts).expect("login-storm runs")[0];
        eprintln!("{over}: {}", storm["summary"]);
        assert_eq!(storm["tls"], tls.is_some(), "{storm}");
        assert_eq!(storm["answered"], 100, "{over}: {storm}");
        assert_eq!(storm["failed"], 0, "{over}: {storm}");
        assert_eq!(storm["connect_failures"], 0, "{over}: {storm}");
        for phase in ["before", "during"] {
            assert_eq!(storm[phase]["missed"], 0, "{over} {phase}: {storm}");
            assert_eq!(storm[phase]["stale_views"], 0, "{over} {phase}: {storm}");
        }

        let mut opts = Opts::new(System::Imstatus, Workload::Fanout, addr.clone());
        opts.n = 200;
        opts.k = 10;
        opts.rates = vec![20.0];
        opts.duration = Duration::from_secs(2);
        opts.tls = tls.clone();
        let results = workloads::run(opts).expect("fanout runs");
        assert_eq!(results.len(), 2, "{over}: {results:?}");
        assert_eq!(results[0]["synced"], 200, "{over}: {results:?}");
        let step = &results[1];
        eprintln!("{over}: {}", step["summary"]);
        assert_eq!(step["tls"], tls.is_some(), "{step}");
        assert!(step["expected"].as_u64().unwrap() > 100, "{over}: {step}");
        assert_eq!(step["missed"], 0, "{over}: {step}");
        assert_eq!(step["stale_views"], 0, "{over}: {step}");
        assert_eq!(step["regressions"], 0, "{over}: {step}");
    }

    // The harness verifies the certificate: another name is refused at the handshake.
    let wrong = tls::Tls::new(ca.cert_pem().as_bytes(), "elsewhere.example").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = rt.block_on(tls::connect(&tls_addr, Some(&wrong)));
    let err = refused.err().expect("a wrong name is refused");
    assert!(err.starts_with("TLS handshake"), "{err}");
    server.stop();
}

/// The harness's cluster path: two in-process nodes on a real Redis, the users spread over them
/// and every watch across them, so that every delivery crosses Redis. A tiny fanout and login
/// storm lose nothing, and the results carry the node count and Redis's CPU per delivery.
#[test]
fn smoke_cluster_two_nodes() {
    // Fanout first, then the storm on a fresh Redis: users and their statuses outlive their
    // connections, and the storm's cohort must start from nothing as the fanout's did.
    let (results, cluster) = on_cluster(Workload::Fanout, |_| {});
    drop(cluster);
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0]["synced"], 200, "{results:?}");
    let step = &results[1];
    eprintln!("cluster: {}", step["summary"]);
    assert_eq!(step["nodes"], 2, "{step}");
    assert!(step["expected"].as_u64().unwrap() > 100, "{step}");
    assert_eq!(step["missed"], 0, "lost across nodes: {step}");
    assert_eq!(step["stale_views"], 0, "{step}");
    assert_eq!(step["regressions"], 0, "{step}");
    assert_eq!(step["unexpected"], 0, "{step}");
    assert!(step["redis_cpu_us_per_delivery"].is_number(), "{step}");

    let (results, cluster) = on_cluster(Workload::LoginStorm, |o| {
        o.duration = Duration::from_secs(1);
        o.storm_clients = 100;
    });
    drop(cluster);
    let storm = &results[0];
    eprintln!("cluster: {}", storm["summary"]);
    assert_eq!(storm["answered"], 100, "{storm}");
    assert_eq!(storm["failed"], 0, "{storm}");
    for phase in ["before", "during"] {
        assert_eq!(storm[phase]["missed"], 0, "{phase}: {storm}");
        assert_eq!(storm[phase]["stale_views"], 0, "{phase}: {storm}");
    }
}

/// A fresh Redis and two in-process nodes on it, and the results of `workload` over both (200
/// users × 10 subscriptions, 20 changes/s), and the cluster. Dropping it stops the nodes before
/// Redis (a tuple drops in order): a node leaving a Redis that is gone waits out its retries.
fn on_cluster(
    workload: Workload,
    adjust: impl FnOnce(&mut Opts),
) -> (
    Vec<serde_json::Value>,
    ([server::ServerHandle; 2], redis::RedisServer),
) {
    let redis = redis::RedisServer::start();
    let node = || {
        server::spawn(Config {
            listen: "127.0.0.1:0".into(),
            admin_listen: String::new(),
            admin_token: Some("unused".into()),
            apps: vec![app()],
            limits: Default::default(),
            cluster: Some(server::ClusterConfig::new(vec![redis.url()])),
            ..Config::default()
        })
        .expect("node starts")
    };
    let nodes = [node(), node()];
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
    let mut opts = Opts::new(System::Imstatus, workload, addrs[0].clone());
    opts.nodes = addrs;
    opts.redis_pid = Some(redis.pid());
    opts.n = 200;
    opts.k = 10;
    opts.rates = vec![20.0];
    opts.duration = Duration::from_secs(2);
    opts.label = "ci-smoke-cluster".into();
    adjust(&mut opts);
    let results = workloads::run(opts).expect("the workload runs on the cluster");
    (results, (nodes, redis))
}
