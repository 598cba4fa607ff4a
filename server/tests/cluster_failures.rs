//! Failures a cluster must survive: a node killed (`kill -9`), a node frozen past its lease
//! (SIGSTOP, then SIGCONT), Redis restarted, its pub/sub connections killed, its clients
//! paused. After each, once things are quiet, every watcher's view equals the truth (a fresh
//! query) and no version went backwards (N3). Leases are 2 s, so a dead node is found out in
//! about 3 s.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/serve.rs"]
mod serve;

use std::time::{Duration, Instant};

use cluster::*;
use common::redis::RedisServer;
use imstatus_protocol::{ServerMessage, WireStatus};

/// How long a dead node's users may stay ONLINE at watchers elsewhere.
const REAPED_WITHIN: Duration = Duration::from_secs(20);

/// How long anything else may take before a test fails.
const WITHIN: Duration = Duration::from_secs(10);

/// How long views may take to converge once Redis answers again.
const CONVERGED_WITHIN: Duration = Duration::from_secs(5);

fn online(s: &WireStatus) -> bool {
    s.status_type == ONLINE
}

/// Whether any status of `user` pushed to any of `watchers` was not ONLINE.
fn ever_not_online(watchers: &[&Watcher], user: &str) -> Vec<WireStatus> {
    watchers
        .iter()
        .flat_map(|w| w.pushes(user))
        .filter(|s| s.status_type != ONLINE)
        .collect()
}

#[test]
fn kill_9_of_a_node_turns_only_its_users_offline_elsewhere() {
    // covers: D1, L3, N1, N3 (cluster: node leases and the janitor)
    let mut c = Cluster::on_redis_cluster(3);
    let users = ["a", "b", "c", "d"];
    let _a = Watcher::login(c.addr(0), "a", "Android");
    let b = Watcher::login(c.addr(1), "b", "Android");
    let _c = Watcher::login(c.addr(2), "c", "Android");
    let _d_phone = Watcher::login(c.addr(0), "d", "Android");
    let _d_desktop = Watcher::login(c.addr(1), "d", "Windows");
    let w1 = Watcher::login(c.addr(1), "w1", "Android");
    let w2 = Watcher::login(c.addr(2), "w2", "Android");
    for w in [&w1, &w2] {
        w.subscribe(&users);
        for user in users {
            w.wait_view(user, WITHIN, online);
        }
    }

    let killed = Instant::now();
    c.nodes[0].kill9();
    for w in [&w1, &w2] {
        let s = w.wait_view("a", REAPED_WITHIN, |s| !online(s));
        assert_eq!(s.status_type, OFFLINE, "{s:?}");
    }
    let took = killed.elapsed();
    eprintln!("a killed node's user was OFFLINE everywhere after {took:?}");
    // d's device on the dead node is reaped too; the one on node 1 keeps d ONLINE.
    let deadline = Instant::now() + WITHIN;
    loop {
        let t = &truth(c.addr(2), &["d"])["d"];
        if t.online_devices == ["Windows"] {
            assert!(online(t), "{t:?}");
            break;
        }
        assert!(Instant::now() < deadline, "d's devices: {t:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A change after the kill reaches everyone.
    b.set_status("still here");
    for w in [&w1, &w2] {
        w.wait_view("b", WITHIN, |s| s.custom_status == "still here");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_converged(&[&w1, &w2], &users, c.addr(1), WITHIN);
    for user in ["b", "c", "d"] {
        let seen = ever_not_online(&[&w1, &w2], user);
        assert!(seen.is_empty(), "{user} was shown not ONLINE: {seen:?}");
    }
}

#[test]
fn sigstop_past_the_lease_then_sigcont_brings_no_stale_device_back() {
    // covers: D1, L3, N3 (cluster: a node that lost its lease)
    let c = Cluster::on_redis_cluster(3);
    let a = Watcher::login(c.addr(0), "a", "Android");
    let w1 = Watcher::login(c.addr(1), "w1", "Android");
    let w2 = Watcher::login(c.addr(2), "w2", "Android");
    for w in [&w1, &w2] {
        w.subscribe(&["a"]);
        w.wait_view("a", WITHIN, online);
    }

    let stopped = Instant::now();
    c.nodes[0].sigstop();
    for w in [&w1, &w2] {
        let s = w.wait_view("a", REAPED_WITHIN, |s| !online(s));
        assert_eq!(s.status_type, OFFLINE, "{s:?}");
    }
    eprintln!(
        "a frozen node's user was OFFLINE everywhere after {:?}",
        stopped.elapsed()
    );
    let frozen_for = Duration::from_secs(5);
    if let Some(left) = frozen_for.checked_sub(stopped.elapsed()) {
        std::thread::sleep(left);
    }
    c.nodes[0].sigcont();
    let offline_pushes = |w: &Watcher| w.pushes("a").len();
    let before = [offline_pushes(&w1), offline_pushes(&w2)];

    // The stale connection is closed, or its requests fail: it never counts as ONLINE again.
    let deadline = Instant::now() + WITHIN;
    while !a.closed() {
        match a.set_status_reply("stale") {
            None => break,
            Some(error @ ServerMessage::Error { .. }) => {
                eprintln!("the stale device's request was refused: {error:?}");
                break;
            }
            Some(reply) => {
                assert!(
                    Instant::now() < deadline,
                    "the stale device still works: {reply:?}"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    for (w, before) in [&w1, &w2].into_iter().zip(before) {
        let after: Vec<_> = w.pushes("a").into_iter().skip(before).collect();
        assert!(
            after.iter().all(|s| !online(s)),
            "{} saw the stale device come back: {after:?}",
            w.user
        );
        assert_ne!(w.view("a").unwrap().custom_status, "stale");
    }

    // Logging in again is a new login, ONLINE everywhere.
    let again = Watcher::login(c.addr(0), "a", "Android");
    for w in [&w1, &w2] {
        w.wait_view("a", WITHIN, online);
    }
    again.set_status("new login");
    assert_converged(&[&w1, &w2, &again], &["a"], c.addr(2), WITHIN);
}

/// Users a0..a2 on nodes 0..2 and a watcher on each node subscribed to all of them.
fn spread(c: &Cluster) -> (Vec<Watcher>, Vec<Watcher>) {
    let users = ["a0", "a1", "a2"];
    let devices: Vec<Watcher> = (0..3)
        .map(|i| Watcher::login(c.addr(i), users[i], "Android"))
        .collect();
    let watchers: Vec<Watcher> = (0..3)
        .map(|i| {
            let w = Watcher::login(c.addr(i), &format!("w{i}"), "Android");
            w.subscribe(&users);
            for user in users {
                w.wait_view(user, WITHIN, online);
            }
            w
        })
        .collect();
    (devices, watchers)
}

/// Sets `custom` on every device, retrying each until it is accepted (Redis may just be back).
fn set_everywhere(devices: &[Watcher], custom: &str) {
    for d in devices {
        let deadline = Instant::now() + WITHIN;
        loop {
            match d.set_status_reply(custom) {
                Some(ServerMessage::Ok { .. }) => break,
                other => assert!(
                    Instant::now() < deadline,
                    "{} could not set {custom}: {other:?} (closed: {})",
                    d.user,
                    d.closed()
                ),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Every watcher's view of every user, and every device's of its own user, is the truth.
fn converged(c: &Cluster, devices: &[Watcher], watchers: &[Watcher]) {
    let users = ["a0", "a1", "a2"];
    let mut pairs: Vec<(&Watcher, &str)> = watchers
        .iter()
        .flat_map(|w| users.iter().map(move |u| (w, *u)))
        .collect();
    pairs.extend(devices.iter().zip(users));
    assert_pairs_converged(&pairs, c.addr(0), CONVERGED_WITHIN);
}

#[test]
fn redis_restarted_with_its_data_every_view_converges() {
    // covers: N4, N3 (cluster: the subscriber reconnects and re-reads)
    // With persistence (AOF, fsync always): without it Redis comes back empty, leases and all,
    // and every node takes itself for dead. The lease (5 s) outlasts the restart.
    let mut c = Cluster::with_lease(
        Backend::Standalone(RedisServer::start_persistent()),
        3,
        "5s",
    );
    let (devices, watchers) = spread(&c);

    c.redis.standalone().stop();
    std::thread::scope(|s| {
        // A change while Redis is down waits for it or fails; either way the views must end
        // up right.
        s.spawn(|| devices[0].set_status_reply("during"));
        std::thread::sleep(Duration::from_millis(300));
        c.redis.standalone().restart();
    });
    set_everywhere(&devices, "after");
    for w in &watchers {
        for user in ["a0", "a1", "a2"] {
            w.wait_view(user, CONVERGED_WITHIN, |s| s.custom_status == "after");
        }
    }
    converged(&c, &devices, &watchers);
}

#[test]
fn pubsub_connections_killed_every_view_converges() {
    // covers: N4, N3 (cluster: sharded subscriptions re-made)
    let c = Cluster::on_redis_cluster(3);
    let (devices, watchers) = spread(&c);
    for killed in c.redis.cli_all(&["CLIENT", "KILL", "TYPE", "pubsub"]) {
        eprintln!("CLIENT KILL TYPE pubsub: {killed}");
    }
    set_everywhere(&devices, "after kill");
    for w in &watchers {
        for user in ["a0", "a1", "a2"] {
            w.wait_view(user, CONVERGED_WITHIN, |s| s.custom_status == "after kill");
        }
    }
    converged(&c, &devices, &watchers);
}

#[test]
fn client_pause_every_view_converges() {
    // covers: N4, N3 (cluster: Redis slow to answer)
    // The lease (10 s) outlasts the pause: the nodes must ride it out, not take themselves for
    // dead.
    let c = Cluster::with_lease(Backend::Standalone(RedisServer::start()), 3, "10s");
    let (devices, watchers) = spread(&c);
    c.redis.cli_all(&["CLIENT", "PAUSE", "5000"]);
    let paused = Instant::now();
    // Changes made while Redis is paused wait for it (or fail); the last one must win.
    std::thread::scope(|s| {
        for d in &devices {
            s.spawn(move || d.set_status_reply("during pause"));
        }
    });
    eprintln!(
        "changes during the pause answered after {:?}",
        paused.elapsed()
    );
    set_everywhere(&devices, "after pause");
    for w in &watchers {
        for user in ["a0", "a1", "a2"] {
            w.wait_view(user, CONVERGED_WITHIN, |s| s.custom_status == "after pause");
        }
    }
    converged(&c, &devices, &watchers);
}
