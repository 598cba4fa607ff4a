//! The rules of behaviour across the nodes of a cluster: three real `imstatus serve` processes
//! on one Redis Cluster (or standalone Redis), clients spread over them, watchers speaking the
//! raw protocol so that versions are checked at the wire (N3).

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/serve.rs"]
mod serve;

use std::time::{Duration, Instant};

use cluster::*;
use common::*;
use imstatus_protocol::ServerMessage;

/// How long anything that crosses nodes may take before a test fails.
const WITHIN: Duration = Duration::from_secs(10);

fn online(s: &imstatus_protocol::WireStatus) -> bool {
    s.status_type == ONLINE
}

#[test]
fn i3_one_user_with_devices_on_two_nodes_is_one_status() {
    // covers: I3, N1
    let c = Cluster::on_redis_cluster(3);
    let bob = Watcher::login(c.addr(2), "bob", "Android");
    bob.subscribe(&["alice"]);
    let phone = Watcher::login(c.addr(0), "alice", "Android");
    let desktop = Watcher::login(c.addr(1), "alice", "Windows");
    bob.wait_view("alice", WITHIN, online);
    let both = |devices: &[String]| {
        let mut devices = devices.to_vec();
        devices.sort();
        devices == ["Android", "Windows"]
    };
    let t = &truth(c.addr(2), &["alice"])["alice"];
    assert!(both(&t.online_devices), "one user, two devices: {t:?}");

    phone.set_status("busy");
    for w in [&phone, &desktop, &bob] {
        w.wait_view("alice", WITHIN, |s| s.custom_status == "busy");
    }
    desktop.set_status("free");
    for w in [&phone, &desktop, &bob] {
        w.wait_view("alice", WITHIN, |s| s.custom_status == "free");
    }
    assert_converged(&[&phone, &desktop, &bob], &["alice"], c.addr(1), WITHIN);
    let t = &truth(c.addr(0), &["alice"])["alice"];
    assert!(both(&t.online_devices), "both devices stay: {t:?}");
}

#[test]
fn l2_second_login_on_another_node_kicks_the_first_without_an_offline_blip() {
    // covers: L2, N3
    let c = Cluster::on_redis_cluster(3);
    let bob = Watcher::login(c.addr(2), "bob", "Android");
    bob.subscribe(&["alice"]);
    let first = Watcher::login_device(c.addr(0), "alice", "Android", "phone-1");
    bob.wait_view("alice", WITHIN, online);
    let second = Watcher::login_device(c.addr(1), "alice", "Android", "phone-2");
    first.wait_closed(WITHIN);
    assert!(
        first.kicked(),
        "the first device was not told it was kicked"
    );
    assert!(!second.closed(), "the second device stays");

    second.set_status("moved");
    bob.wait_view("alice", WITHIN, |s| s.custom_status == "moved");
    assert_converged(&[&bob, &second], &["alice"], c.addr(2), WITHIN);
    let blips: Vec<_> = bob
        .pushes("alice")
        .into_iter()
        .filter(|s| s.status_type != ONLINE)
        .collect();
    assert!(blips.is_empty(), "bob saw alice leave ONLINE: {blips:?}");
}

#[test]
fn q4_query_rate_counts_across_nodes() {
    // covers: Q4 (20 calls per 5 s per user, settings.rs RateLimit::default)
    let c = Cluster::on_standalone(3);
    let phone = Watcher::login(c.addr(0), "alice", "Android");
    let desktop = Watcher::login(c.addr(1), "alice", "Windows");
    let started = Instant::now();
    for i in 0..20 {
        let device = if i % 2 == 0 { &phone } else { &desktop };
        let reply = device.get(&["bob"]);
        assert!(
            matches!(reply, ServerMessage::Ok { .. }),
            "call {i}: {reply:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the calls were too slow to fall in one window"
    );
    for device in [&phone, &desktop] {
        let reply = device.get(&["bob"]);
        assert_eq!(
            error_code(&reply),
            7008,
            "the 21st call on any node is refused"
        );
    }
}

#[test]
fn s5_subscription_cap_evicts_the_earliest_across_nodes() {
    // covers: S5, S2
    let c = Cluster::on_redis_cluster(3);
    let phone = Watcher::login(c.addr(0), "alice", "Android");
    let desktop = Watcher::login(c.addr(1), "alice", "Windows");
    let ids: Vec<String> = (0..210).map(|i| format!("u{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    phone.subscribe(&ids[..100]);
    desktop.subscribe(&ids[100..200]);
    // Past the cap: u0..u9, the earliest, are evicted.
    phone.subscribe(&ids[200..]);

    let _evicted = Watcher::login(c.addr(2), "u5", "Android");
    let _kept = Watcher::login(c.addr(2), "u15", "Android");
    let _last = Watcher::login(c.addr(2), "u209", "Android");
    for device in [&phone, &desktop] {
        device.wait_view("u15", WITHIN, online);
        device.wait_view("u209", WITHIN, online);
    }
    // u5 logged in before u15: had it still been subscribed, its change would have come too.
    std::thread::sleep(Duration::from_millis(500));
    for device in [&phone, &desktop] {
        assert!(
            device.pushes("u5").is_empty(),
            "u5 was evicted, yet pushed: {:?}",
            device.pushes("u5")
        );
        device.assert_versions_grew();
    }
}

#[test]
fn f1_friends_imported_on_one_node_are_notified_of_changes_on_another() {
    // covers: F1, N1
    let c = Cluster::on_redis_cluster(3);
    let bob = Watcher::login(c.addr(2), "bob", "Android");
    let carol = Watcher::login(c.addr(2), "carol", "Android");
    let (status, answer) = admin(
        c.admin(0),
        "POST",
        &format!("/v1/apps/{APP}/friends/import"),
        Some(r#"{"From_Account":"bob","To_Account":["alice"]}"#),
    );
    assert_eq!(status, 200, "{answer}");
    let alice = Watcher::login(c.addr(1), "alice", "Android");
    bob.wait_view("alice", WITHIN, online);
    alice.set_status("hello friends");
    bob.wait_view("alice", WITHIN, |s| s.custom_status == "hello friends");
    assert_converged(&[&bob], &["alice"], c.addr(0), WITHIN);
    assert!(
        carol.pushes("alice").is_empty(),
        "carol is not alice's friend nor subscribed"
    );
}

#[test]
fn l6_node_restarted_its_users_go_offline_and_come_back() {
    // covers: L6, D1, N3
    let mut c = Cluster::on_redis_cluster(3);
    let bob = Watcher::login(c.addr(0), "bob", "Android");
    let carol = Watcher::login(c.addr(2), "carol", "Android");
    let alice = Watcher::login(c.addr(1), "alice", "Android");
    for w in [&bob, &carol] {
        w.subscribe(&["alice"]);
        w.wait_view("alice", WITHIN, online);
    }

    c.nodes[1].stop();
    alice.wait_closed(WITHIN);
    for w in [&bob, &carol] {
        let s = w.wait_view("alice", WITHIN, |s| s.status_type != ONLINE);
        assert_eq!(s.status_type, OFFLINE, "OFFLINE, not UNLOGINED (L6): {s:?}");
    }
    c.nodes[1].start_again();
    let again = Watcher::login(c.addr(1), "alice", "Android");
    for w in [&bob, &carol] {
        w.wait_view("alice", WITHIN, online);
    }
    again.set_status("back");
    assert_converged(&[&bob, &carol, &again], &["alice"], c.addr(0), WITHIN);
}

#[test]
fn the_admin_api_of_any_node_answers_for_the_whole_cluster() {
    // covers: F2, Q1 (admin query_online_status)
    let c = Cluster::on_standalone(3);
    let alice = Watcher::login(c.addr(0), "alice", "Android");
    let deadline = Instant::now() + WITHIN;
    while admin_status(c.admin(1), "alice") != "Online" {
        assert!(
            Instant::now() < deadline,
            "node 1 never said alice is online"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(admin_status(c.admin(2), "nobody"), "Offline");

    // A setting changed through node 2 applies on node 0: the status switch off is 72001.
    let (status, answer) = admin(
        c.admin(2),
        "PATCH",
        &format!("/v1/apps/{APP}"),
        Some(r#"{"status_enabled":false}"#),
    );
    assert_eq!(status, 200, "{answer}");
    let deadline = Instant::now() + WITHIN;
    loop {
        let reply = alice.get(&["bob"]);
        match reply {
            ServerMessage::Error { code: 72001, .. } => break,
            ServerMessage::Ok { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(Instant::now() < deadline, "node 0 never applied the patch");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_, settings) = admin(c.admin(1), "GET", &format!("/v1/apps/{APP}"), None);
    assert_eq!(settings["status_enabled"], false, "{settings}");
}

#[test]
fn n1_n2_watchers_see_every_change_of_other_nodes_once_in_order() {
    // covers: N1, N2, N3, N5
    let c = Cluster::on_redis_cluster(3);
    let users = ["a0", "a1", "a2"];
    let devices: Vec<Watcher> = (0..3)
        .map(|i| Watcher::login(c.addr(i), users[i], "Android"))
        .collect();
    let watchers: Vec<Watcher> = (0..3)
        .map(|i| {
            let w = Watcher::login(c.addr(i), &format!("w{i}"), "Android");
            w.subscribe(&users);
            w
        })
        .collect();
    for w in &watchers {
        for user in users {
            w.wait_view(user, WITHIN, online);
        }
    }
    for round in 0..10 {
        for d in &devices {
            d.set_status(&format!("s{round}"));
        }
    }
    // Every watcher sees every user; each device sees its own user (multi-device sync).
    let mut pairs: Vec<(&Watcher, &str)> = watchers
        .iter()
        .flat_map(|w| users.iter().map(move |u| (w, *u)))
        .collect();
    pairs.extend(devices.iter().zip(users));
    for (w, user) in &pairs {
        w.wait_view(user, WITHIN, |s| s.custom_status == "s9");
    }
    assert_pairs_converged(&pairs, c.addr(0), WITHIN);
    for w in &watchers {
        for user in users {
            // Each change at most once, in the order made (a burst may be coalesced, N5).
            let rounds: Vec<usize> = w
                .pushes(user)
                .iter()
                .filter_map(|s| s.custom_status.strip_prefix('s')?.parse().ok())
                .collect();
            assert!(
                rounds.windows(2).all(|p| p[0] < p[1]),
                "{} saw {user}'s changes out of order or twice: {rounds:?}",
                w.user
            );
        }
    }
}
