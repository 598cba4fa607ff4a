//! The cluster's metrics and readiness on two in-process nodes over a real Redis: the
//! subscriber's connections killed under them are counted as resubscribes and changes flow
//! again; readiness says why while Redis is down and comes back with it.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::redis::{wait_until, RedisServer};
use common::{admin_text, app, Scrape, Wire};
use imstatus_protocol::ServerMessage;
use imstatus_server::{ClusterConfig, Config, ServerHandle};

/// How long the cluster may take to notice and recover (a loaded machine included).
const RECOVERY: Duration = Duration::from_secs(30);

const CLUSTER_SERIES: &[&str] = &[
    "imstatus_cluster_nodes",
    "imstatus_cluster_bus_errors_total",
    "imstatus_cluster_resubscribes_total",
    "imstatus_cluster_reaped_devices_total",
    "imstatus_cluster_lost_locks_total",
];

fn node(redis: &RedisServer) -> ServerHandle {
    imstatus_server::spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        admin_token: Some("admin-token".into()),
        apps: vec![app()],
        cluster: Some(ClusterConfig::new(vec![redis.url()])),
        ..Config::default()
    })
    .expect("a node starts")
}

fn admin_addr(node: &ServerHandle) -> SocketAddr {
    node.started().admin_addr.expect("an admin listener")
}

/// `GET /v1/health/ready`: (status, body).
fn ready(node: &ServerHandle) -> (u16, String) {
    admin_text(admin_addr(node), "GET", "/v1/health/ready", None)
}

fn ok(reply: ServerMessage) {
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
}

#[test]
fn resubscribes_are_counted_and_readiness_follows_redis() {
    let mut redis = RedisServer::start();
    let a = node(&redis);
    let b = node(&redis);
    for n in [&a, &b] {
        let scrape = Scrape::take(admin_addr(n));
        let names = scrape.names();
        for series in CLUSTER_SERIES {
            assert!(
                names.iter().any(|m| m == series),
                "{series} missing:\n{}",
                scrape.0
            );
        }
        assert!(scrape.value("imstatus_cluster_nodes") >= 1.0);
        wait_until(RECOVERY, "a new node is ready", || ready(n).0 == 200);
    }

    // Bob on node a watches alice on node b.
    let (mut bob, reply) = Wire::login(a.addr(), "bob", "Linux", "b1");
    ok(reply);
    let (mut alice, reply) = Wire::login(b.addr(), "alice", "Linux", "a1");
    ok(reply);
    ok(bob.request(r#""op":"subscribe","user_ids":["alice"]"#));
    wait_until(RECOVERY, "bob's node listens to alice", || {
        ready(&a).0 == 200
    });

    // Every subscriber connection is cut: both nodes subscribe again and say so.
    let before: Vec<f64> = [&a, &b]
        .iter()
        .map(|n| Scrape::take(admin_addr(n)).value("imstatus_cluster_resubscribes_total"))
        .collect();
    redis.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    for (n, before) in [&a, &b].into_iter().zip(before) {
        Scrape::until(admin_addr(n), "the resubscribes are counted", |s| {
            s.value("imstatus_cluster_resubscribes_total") > before
        });
        wait_until(
            RECOVERY,
            "a node is ready again after a resubscribe",
            || ready(n).0 == 200,
        );
    }
    // And changes flow again: alice's new status reaches bob across the nodes.
    ok(alice.request(r#""op":"set_self_status","custom_status":"after the cut""#));
    bob.wait_status("alice", RECOVERY, |s| s.custom_status == "after the cut");

    // Redis goes away: not ready, saying why.
    let errors_before = Scrape::take(admin_addr(&a)).value("imstatus_cluster_bus_errors_total");
    redis.stop();
    for n in [&a, &b] {
        let mut last = (0, String::new());
        wait_until(RECOVERY, "a node without Redis is not ready", || {
            last = ready(n);
            last.0 == 503
        });
        let why: serde_json::Value = serde_json::from_str(&last.1).expect("a JSON answer");
        assert_eq!(why["ready"], false, "{}", last.1);
        assert!(
            why["why"].as_str().is_some_and(|w| !w.is_empty()),
            "no reason: {}",
            last.1
        );
    }
    // Back: ready again, and the failures were counted meanwhile.
    redis.restart();
    for n in [&a, &b] {
        wait_until(RECOVERY, "a node is ready once Redis is back", || {
            ready(n).0 == 200
        });
    }
    assert!(
        Scrape::take(admin_addr(&a)).value("imstatus_cluster_bus_errors_total") > errors_before
    );
}
