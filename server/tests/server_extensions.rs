//! The extensions beyond V2TIM (docs/behaviour-extensions.md, X1…X14) end to end: real
//! servers over real TCP, the admin API over real HTTP, a real `imstatus serve` killed and
//! started again on its data, and a real HTTP receiver for the state-change webhook. Each test
//! names the rules it covers. Absence is proven with a sentinel: a user the watcher also
//! watches changes after the change in question, and the watcher must see the sentinel's push
//! with nothing of the other user before it (one connection's pushes keep their order).

mod receiver;
#[path = "common/serve.rs"]
mod serve;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imstatus_protocol::{codes, ServerMessage, WireStatus};
use imstatus_server::engine::{AppSettings, RateLimit};
use imstatus_server::testing::{
    admin, app, error_code, ok_statuses, TempDir, TestServer, Wire, APP,
};
use receiver::{Received, Receiver};
use serde_json::{json, Value};
use serve::Serve;

const DEADLINE: Duration = Duration::from_secs(10);
const ONLINE: u8 = 1;
const OFFLINE: u8 = 2;
const UNLOGINED: u8 = 3;

/// Unix time in milliseconds.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn login(server: &TestServer, user: &str, platform: &str, device: &str) -> (Wire, Vec<WireStatus>) {
    let (wire, reply) = Wire::login(server.addr(), user, platform, device);
    (wire, ok_statuses(&reply))
}

fn ok(reply: ServerMessage) -> Vec<WireStatus> {
    ok_statuses(&reply)
}

fn set(wire: &mut Wire, custom: &str) {
    ok(wire.request(&format!(
        r#""op":"set_self_status","custom_status":"{custom}""#
    )));
}

fn invisible(wire: &mut Wire, on: bool) {
    ok(wire.request(&format!(r#""op":"set_invisible","on":{on}"#)));
}

fn visibility(wire: &mut Wire, to: &str) {
    ok(wire.request(&format!(r#""op":"set_visibility","visibility":"{to}""#)));
}

fn subscribe(wire: &mut Wire, ids: &[&str]) -> Vec<WireStatus> {
    ok(wire.request(&format!(r#""op":"subscribe","user_ids":{}"#, json!(ids))))
}

fn query(wire: &mut Wire, ids: &[&str]) -> Vec<WireStatus> {
    ok(wire.request(&format!(
        r#""op":"get_user_status","user_ids":{}"#,
        json!(ids)
    )))
}

fn status_of<'a>(statuses: &'a [WireStatus], user: &str) -> &'a WireStatus {
    statuses
        .iter()
        .find(|s| s.user_id == user)
        .unwrap_or_else(|| panic!("{user} not in {statuses:?}"))
}

/// What a watcher sees of a user who hides: `status_type`, nothing else but the last seen.
fn assert_hidden(status: &WireStatus, status_type: u8, last_seen: Option<u64>) {
    assert_eq!(status.status_type, status_type, "{status:?}");
    assert_eq!(status.custom_status, "", "{status:?}");
    assert!(status.online_devices.is_empty(), "{status:?}");
    assert_eq!(status.last_seen_ms, last_seen, "{status:?}");
    assert!(
        !status.invisible && status.visibility.is_none(),
        "{status:?}"
    );
}

/// Every status `wire` is pushed until the sentinel `zed` is pushed with custom status
/// `token`, in order (the sentinel's own push left out).
fn pushes_until(wire: &mut Wire, token: &str) -> Vec<WireStatus> {
    let deadline = Instant::now() + DEADLINE;
    let mut pending = std::mem::take(&mut wire.pushes).into_iter();
    let mut seen = Vec::new();
    loop {
        let message = match pending.next() {
            Some(m) => m,
            None => wire
                .read(deadline)
                .unwrap_or_else(|| panic!("no sentinel {token} within {DEADLINE:?}: {seen:?}")),
        };
        if let ServerMessage::StatusChanged { statuses } = message {
            for s in statuses {
                if s.user_id == "zed" && s.custom_status == token {
                    wire.pushes.extend(pending);
                    return seen;
                }
                seen.push(s);
            }
        }
    }
}

/// The sentinel: `zed` sets `token`, then each of `watchers` reads its pushes up to it and
/// answers what it was pushed of `user` meanwhile.
fn pushed_of(
    zed: &mut Wire,
    token: &str,
    user: &str,
    watchers: &mut [&mut Wire],
) -> Vec<Vec<WireStatus>> {
    set(zed, token);
    watchers
        .iter_mut()
        .map(|w| {
            pushes_until(w, token)
                .into_iter()
                .filter(|s| s.user_id == user)
                .collect()
        })
        .collect()
}

fn import_friends(server: &TestServer, owner: &str, friends: &[&str]) {
    let (status, body) = admin(
        server.admin_addr(),
        "POST",
        &format!("/v1/apps/{APP}/friends/import"),
        Some(&json!({"From_Account": owner, "To_Account": friends}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
}

/// The admin query's answer for one user (X8), with `LastSeen` asked for.
fn admin_query(addr: std::net::SocketAddr, user: &str) -> Value {
    let (status, body) = admin(
        addr,
        "POST",
        &format!("/v1/apps/{APP}/query_online_status"),
        Some(&json!({"To_Account": [user], "IsNeedDetail": 1, "IsReturnLastSeen": 1}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    body["QueryResult"][0].clone()
}

// ---------------------------------------------------------------------------------------------
// Last seen

#[test]
fn x1_x2_last_seen_travels_in_queries_snapshots_pushes_and_the_admin_query() {
    // covers: X1, X2, X8, D1, L4
    let server = TestServer::start(vec![app()]);
    let (mut bob, _) = login(&server, "bob", "Linux", "b");
    // Never seen: no last seen anywhere (X1).
    assert_eq!(query(&mut bob, &["alice"])[0].last_seen_ms, None);
    assert!(admin_query(server.admin_addr(), "alice")
        .get("LastSeen")
        .is_none());

    let (alice, own) = login(&server, "alice", "Android", "a");
    assert_eq!(own[0].last_seen_ms, None, "no last seen while ONLINE (X2)");
    let subscribed = subscribe(&mut bob, &["alice"]);
    assert_eq!(subscribed[0].status_type, ONLINE);
    assert_eq!(subscribed[0].last_seen_ms, None);
    assert_eq!(
        admin_query(server.admin_addr(), "alice")["Status"],
        "Online"
    );

    let before = now_ms();
    drop(alice);
    let pushed = bob.wait_status("alice", DEADLINE, |s| s.status_type == OFFLINE);
    let after = now_ms();
    let last_seen = pushed.last_seen_ms.expect("a push carries the last seen");
    assert!(
        (before..=after).contains(&last_seen),
        "{before} {last_seen} {after}"
    );
    assert_eq!(query(&mut bob, &["alice"])[0].last_seen_ms, Some(last_seen));

    // A login snapshot of a friend carries it too.
    import_friends(&server, "carol", &["alice"]);
    let (_carol, snapshot) = login(&server, "carol", "Mac", "c");
    assert_eq!(status_of(&snapshot, "alice").last_seen_ms, Some(last_seen));

    // The admin query: with IsReturnLastSeen only.
    let answer = admin_query(server.admin_addr(), "alice");
    assert_eq!(answer["Status"], "PushOnline");
    assert_eq!(answer["LastSeen"], json!(last_seen));
    let (_, plain) = admin(
        server.admin_addr(),
        "POST",
        &format!("/v1/apps/{APP}/query_online_status"),
        Some(r#"{"To_Account":["alice"]}"#),
    );
    assert!(plain["QueryResult"][0].get("LastSeen").is_none(), "{plain}");

    // Back ONLINE: none shown; leaving again moves it.
    let (alice, _) = login(&server, "alice", "Android", "a");
    let back = bob.wait_status("alice", DEADLINE, |s| s.status_type == ONLINE);
    assert_eq!(back.last_seen_ms, None);
    let mut alice = alice;
    ok(alice.request(r#""op":"logout""#));
    let gone = bob.wait_status("alice", DEADLINE, |s| s.status_type == UNLOGINED);
    assert!(gone.last_seen_ms.unwrap() > last_seen);
}

#[test]
fn x3_last_seen_survives_a_kill_and_a_device_online_then_is_last_seen_at_the_restart() {
    // covers: X3, L6
    let data = TempDir::new();
    let config = serve::write_config(
        data.path(),
        "status_enabled = true\nfriend_status_notify = true\n",
    );
    let mut serve = Serve::start(&config);
    let (mut watcher, _) = Wire::login(serve.addr, "watcher", "Linux", "w");
    let (alice, _) = Wire::login(serve.addr, "alice", "Android", "a");
    let (_bob, _) = Wire::login(serve.addr, "bob", "Android", "b");
    ok(watcher.request(r#""op":"subscribe","user_ids":["alice","bob"]"#));
    drop(alice);
    let alice_seen = watcher
        .wait_status("alice", DEADLINE, |s| s.status_type == OFFLINE)
        .last_seen_ms
        .unwrap();
    // A disconnect is answered to nobody; a login is answered once the group commit that holds
    // it is on disk, and the commits keep their order: after this one, alice's is there too.
    let (_carol, _) = Wire::login(serve.addr, "carol", "Web", "c");

    // kill -9 with bob ONLINE: the next run cannot know when he left, only that he was gone
    // by the time it started.
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    let killed = now_ms();
    let serve = Serve::start(&config);
    let started = now_ms();
    let (mut watcher, snapshot) = Wire::login(serve.addr, "watcher", "Linux", "w");
    let snapshot = ok_statuses(&snapshot);
    let alice = status_of(&snapshot, "alice");
    assert_eq!(
        (alice.status_type, alice.last_seen_ms),
        (OFFLINE, Some(alice_seen))
    );
    let bob = status_of(&snapshot, "bob");
    assert_eq!(bob.status_type, OFFLINE);
    let bob_seen = bob.last_seen_ms.unwrap();
    assert!(
        (killed..=started).contains(&bob_seen),
        "{killed} {bob_seen} {started}"
    );
    let queried = ok_statuses(&watcher.request(r#""op":"get_user_status","user_ids":["bob"]"#));
    assert_eq!(queried[0].last_seen_ms, Some(bob_seen));
    assert_eq!(admin_query(serve.admin, "bob")["LastSeen"], json!(bob_seen));
}

// ---------------------------------------------------------------------------------------------
// Appear offline

#[test]
fn x4_x5_x6_x7_an_invisible_user_looks_offline_to_others_and_true_to_their_own_devices() {
    // covers: X4, X5, X6, X7, X8, X12, X14, N1, L2
    let server = TestServer::start(vec![app()]);
    let (mut zed, _) = login(&server, "zed", "Linux", "z");
    let (mut bob, _) = login(&server, "bob", "Linux", "b");
    subscribe(&mut bob, &["alice", "zed"]);
    let (mut phone, _) = login(&server, "alice", "Android", "p");
    let (mut mac, _) = login(&server, "alice", "Mac", "m");
    set(&mut phone, "busy");
    bob.wait_status("alice", DEADLINE, |s| s.custom_status == "busy");
    mac.wait_status("alice", DEADLINE, |s| s.custom_status == "busy");

    // On, from the phone: bob is pushed the hidden view once, the Mac the switch (X6, X7).
    let before = now_ms();
    invisible(&mut phone, true);
    let after = now_ms();
    let own = mac.wait_status("alice", DEADLINE, |s| s.invisible);
    assert_eq!(
        (own.status_type, own.custom_status.as_str()),
        (ONLINE, "busy")
    );
    assert_eq!(own.visibility, None);
    let [seen] = <[_; 1]>::try_from(pushed_of(&mut zed, "s1", "alice", &mut [&mut bob])).unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let frozen = seen[0].last_seen_ms.expect("frozen at the switch (X5)");
    assert!((before..=after).contains(&frozen));
    assert_hidden(&seen[0], OFFLINE, Some(frozen));

    // Every path: a query, a subscribe answer, a new login's snapshot, the admin query (X8).
    let hidden = query(&mut bob, &["alice"]).remove(0);
    assert_hidden(&hidden, OFFLINE, Some(frozen));
    assert!(
        hidden.version <= seen[0].version,
        "the push was the newest (X12)"
    );
    assert_hidden(&subscribe(&mut bob, &["alice"])[0], OFFLINE, Some(frozen));
    import_friends(&server, "carol", &["alice"]);
    let (mut carol, snapshot) = login(&server, "carol", "Web", "c");
    assert_hidden(status_of(&snapshot, "alice"), OFFLINE, Some(frozen));
    let answer = admin_query(server.admin_addr(), "alice");
    assert_eq!(answer["Status"], "PushOnline");
    assert_eq!(answer["LastSeen"], json!(frozen));
    assert!(answer["Detail"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["Status"] == "PushOnline"));
    // The own devices: the truth and the switch, by query too.
    let mine = query(&mut mac, &["alice"]);
    assert_eq!((mine[0].status_type, mine[0].invisible), (ONLINE, true));

    // Meanwhile: a custom status, a device leaving and coming back reach the own devices only
    // (X14).
    set(&mut mac, "secret");
    phone.wait_status("alice", DEADLINE, |s| s.custom_status == "secret");
    drop(phone);
    let (_phone, _) = login(&server, "alice", "Android", "p2");
    subscribe(&mut carol, &["zed"]);
    let seen = pushed_of(&mut zed, "s2", "alice", &mut [&mut bob, &mut carol]);
    assert_eq!(
        seen,
        [Vec::new(), Vec::new()],
        "nothing of alice while invisible"
    );
    // Polling reveals nothing either: the same hidden view, at the same version (X12).
    assert_eq!(query(&mut bob, &["alice"])[0], hidden);

    // Off, from the Mac: the truth at once, as one change (X7).
    invisible(&mut mac, false);
    let seen = pushed_of(&mut zed, "s3", "alice", &mut [&mut bob, &mut carol]);
    for seen in seen {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].status_type, ONLINE);
        assert_eq!(seen[0].custom_status, "secret");
        assert_eq!(seen[0].last_seen_ms, None);
        assert!(!seen[0].invisible);
    }
    // Off again: nothing to anyone.
    invisible(&mut mac, false);
    let seen = pushed_of(&mut zed, "s4", "alice", &mut [&mut bob]);
    assert_eq!(seen, [Vec::new()]);
}

#[test]
fn x6_x3_invisible_is_kept_across_logout_and_restart() {
    // covers: X6, X3, L6
    let mut server = TestServer::start(vec![app()]);
    let (mut alice, _) = login(&server, "alice", "Android", "a");
    invisible(&mut alice, true);
    ok(alice.request(r#""op":"logout""#));
    drop(alice);
    server.restart();
    let (mut bob, _) = login(&server, "bob", "Linux", "b");
    let (_alice, own) = login(&server, "alice", "Android", "a");
    assert!(own[0].invisible, "the switch outlives logout and restart");
    assert_eq!(own[0].status_type, ONLINE);
    let seen = query(&mut bob, &["alice"]);
    assert_eq!(seen[0].status_type, OFFLINE);
    assert_eq!(seen[0].custom_status, "");
}

// ---------------------------------------------------------------------------------------------
// Custom status that expires

#[test]
fn x9_an_expiring_custom_status_is_cleared_and_pushed_then() {
    // covers: X9, N1, X13
    let server = TestServer::start(vec![app()]);
    let (mut bob, _) = login(&server, "bob", "Linux", "b");
    subscribe(&mut bob, &["alice"]);
    let (mut alice, _) = login(&server, "alice", "Android", "a");
    let (mut mac, _) = login(&server, "alice", "Mac", "m");

    let start = Instant::now();
    ok(alice.request(r#""op":"set_self_status","custom_status":"lunch","expire_after_ms":300"#));
    bob.wait_status("alice", DEADLINE, |s| s.custom_status == "lunch");
    let cleared = bob.wait_status("alice", DEADLINE, |s| s.custom_status.is_empty());
    let delay = start.elapsed();
    assert_eq!(cleared.status_type, ONLINE);
    assert!(delay >= Duration::from_millis(300), "{delay:?}");
    mac.wait_status("alice", DEADLINE, |s| s.custom_status.is_empty());
    println!("300 ms expiry pushed after {delay:?}");

    // A new set replaces the expiry: the first one (200 ms) no longer applies.
    let start = Instant::now();
    ok(alice.request(r#""op":"set_self_status","custom_status":"a","expire_after_ms":200"#));
    ok(alice.request(r#""op":"set_self_status","custom_status":"b","expire_after_ms":1500"#));
    bob.wait_status("alice", DEADLINE, |s| s.custom_status == "b");
    bob.wait_status("alice", DEADLINE, |s| s.custom_status.is_empty());
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(query(&mut bob, &["alice"])[0].custom_status, "");

    // Out of range: 6017, and nothing changes.
    for bad in [0u64, 365 * 24 * 3600 * 1000 + 1] {
        let reply = alice.request(&format!(
            r#""op":"set_self_status","custom_status":"x","expire_after_ms":{bad}"#
        ));
        assert_eq!(error_code(&reply), codes::ERR_INVALID_PARAMETERS);
    }
    assert_eq!(query(&mut bob, &["alice"])[0].custom_status, "");
}

// ---------------------------------------------------------------------------------------------
// Who may see me

#[test]
fn x10_x11_friends_only_and_nobody_against_a_friend_and_a_stranger() {
    // covers: X10, X11, X5, X8, X13, F1
    let server = TestServer::start(vec![app()]);
    import_friends(&server, "alice", &["fred"]);
    let (mut zed, _) = login(&server, "zed", "Linux", "z");
    let (mut fred, _) = login(&server, "fred", "Linux", "f");
    let (mut stan, _) = login(&server, "stan", "Linux", "s");
    subscribe(&mut fred, &["alice", "zed"]);
    subscribe(&mut stan, &["alice", "zed"]);
    let (mut alice, _) = login(&server, "alice", "Android", "a");
    set(&mut alice, "here");
    stan.wait_status("alice", DEADLINE, |s| s.custom_status == "here");

    // Friends only: the stranger is pushed the hidden view, the friend nothing (X10).
    let before = now_ms();
    visibility(&mut alice, "friends");
    let after = now_ms();
    fred.wait_status("alice", DEADLINE, |s| s.custom_status == "here");
    let own = alice.wait_status("alice", DEADLINE, |s| s.visibility.is_some());
    assert_eq!(own.visibility.as_deref(), Some("friends"));
    let [to_fred, to_stan] = <[_; 2]>::try_from(pushed_of(
        &mut zed,
        "v1",
        "alice",
        &mut [&mut fred, &mut stan],
    ))
    .unwrap();
    assert!(to_fred.is_empty(), "{to_fred:?}");
    assert_eq!(to_stan.len(), 1);
    let frozen = to_stan[0].last_seen_ms.unwrap();
    assert!((before..=after).contains(&frozen));
    assert_hidden(&to_stan[0], OFFLINE, Some(frozen));
    // No error gives it away: queries answer the hidden view.
    assert_hidden(&query(&mut stan, &["alice"])[0], OFFLINE, Some(frozen));
    assert_eq!(query(&mut fred, &["alice"])[0].custom_status, "here");
    // The backend is allowed (X8).
    assert_eq!(
        admin_query(server.admin_addr(), "alice")["Status"],
        "Online"
    );

    // A change reaches the friend only.
    set(&mut alice, "there");
    let [to_fred, to_stan] = <[_; 2]>::try_from(pushed_of(
        &mut zed,
        "v2",
        "alice",
        &mut [&mut fred, &mut stan],
    ))
    .unwrap();
    assert_eq!(to_fred.len(), 1);
    assert_eq!(to_fred[0].custom_status, "there");
    assert!(to_stan.is_empty(), "{to_stan:?}");

    // Stan becomes a friend: pushed the truth at once (X11).
    import_friends(&server, "alice", &["stan"]);
    let revealed = stan.wait_status("alice", DEADLINE, |s| s.status_type == ONLINE);
    assert_eq!(revealed.custom_status, "there");

    // Nobody: both are pushed the hidden view, with the freeze of when it narrowed first.
    visibility(&mut alice, "nobody");
    let seen = pushed_of(&mut zed, "v3", "alice", &mut [&mut fred, &mut stan]);
    for seen in seen {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_hidden(&seen[0], OFFLINE, Some(frozen));
    }
    let (_newcomer, snapshot) = login(&server, "fred", "Mac", "f2");
    assert_hidden(status_of(&snapshot, "alice"), OFFLINE, Some(frozen));

    // A bad value: 6017, and nothing changes.
    let reply = alice.request(r#""op":"set_visibility","visibility":"Friends""#);
    assert_eq!(error_code(&reply), codes::ERR_INVALID_PARAMETERS);
    let own = query(&mut alice, &["alice"]);
    assert_eq!(own[0].visibility.as_deref(), Some("nobody"));

    // Everyone again: the truth to both.
    visibility(&mut alice, "everyone");
    let seen = pushed_of(&mut zed, "v4", "alice", &mut [&mut fred, &mut stan]);
    for seen in seen {
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(
            (seen[0].status_type, seen[0].custom_status.as_str()),
            (ONLINE, "there")
        );
    }
}

#[test]
fn x10_x13_the_subscription_cap_and_rate_limits_hold_for_hidden_users() {
    // covers: X10, X13, S5, Q4
    let mut settings: AppSettings = app();
    settings.query_rate = RateLimit {
        calls: 3,
        window: Duration::from_secs(3600),
    };
    settings.set_status_rate = RateLimit {
        calls: 3,
        window: Duration::from_secs(3600),
    };
    settings.friend_status_notify = false;
    let server = TestServer::start(vec![settings]);
    let (mut zed, _) = login(&server, "zed", "Linux", "z");
    let (mut alice, _) = login(&server, "alice", "Android", "a");
    // The three switches share setSelfStatus's cap (X13).
    visibility(&mut alice, "nobody");
    invisible(&mut alice, true);
    set(&mut alice, "x");
    for request in [
        r#""op":"set_invisible","on":false"#,
        r#""op":"set_visibility","visibility":"everyone""#,
        r#""op":"set_self_status","custom_status":"y""#,
    ] {
        let reply = alice.request(request);
        assert_eq!(
            error_code(&reply),
            codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
        );
    }

    // A query of a hidden user counts like any other (Q4): the third, then 7008.
    let (mut stan, _) = login(&server, "stan", "Linux", "s");
    let frozen = query(&mut stan, &["alice"])[0].last_seen_ms;
    assert!(frozen.is_some(), "frozen when she narrowed to nobody");
    for _ in 0..2 {
        assert_hidden(&query(&mut stan, &["alice"])[0], OFFLINE, frozen);
    }
    let reply = stan.request(r#""op":"get_user_status","user_ids":["alice"]"#);
    assert_eq!(
        error_code(&reply),
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );

    // The 200 cap counts a hidden user like any (S5): subscribed first, then evicted by 200
    // more. `control` keeps watching her, to show what the evicted subscription would hear.
    let (mut hid, _) = login(&server, "hid", "Android", "h");
    visibility(&mut hid, "nobody");
    let (mut subscriber, _) = login(&server, "sub", "Linux", "s");
    let (mut control, _) = login(&server, "control", "Linux", "c");
    let answer = subscribe(&mut subscriber, &["hid", "zed"]);
    assert_hidden(status_of(&answer, "hid"), OFFLINE, answer[0].last_seen_ms);
    subscribe(&mut control, &["hid", "zed"]);
    let others: Vec<String> = (0..199).map(|n| format!("u{n}")).collect();
    let first: Vec<&str> = others[..100].iter().map(String::as_str).collect();
    let second: Vec<&str> = others[100..].iter().map(String::as_str).collect();
    assert_eq!(subscribe(&mut subscriber, &first).len(), 100);
    assert_eq!(subscribe(&mut subscriber, &second).len(), 99);
    // 201 asked, 200 kept: hid, the earliest, is gone; zed stays.
    visibility(&mut hid, "everyone");
    let [to_subscriber, to_control] = <[_; 2]>::try_from(pushed_of(
        &mut zed,
        "cap",
        "hid",
        &mut [&mut subscriber, &mut control],
    ))
    .unwrap();
    assert!(to_subscriber.is_empty(), "evicted: {to_subscriber:?}");
    assert_eq!(to_control.len(), 1);
    assert_eq!(to_control[0].status_type, ONLINE);
}

// ---------------------------------------------------------------------------------------------
// The app's backend

#[test]
fn x8_the_webhook_hears_the_truth_of_an_invisible_user() {
    // covers: X8, X14
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = rt.block_on(Receiver::start(receiver::ok()));
    let mut settings = app();
    settings.state_change_callback_url = receiver.url("/cb");
    let server = TestServer::start(vec![settings]);
    let (mut zed, _) = login(&server, "zed", "Linux", "z");
    let (mut bob, _) = login(&server, "bob", "Linux", "b");
    subscribe(&mut bob, &["alice", "zed"]);
    let (mut phone, _) = login(&server, "alice", "Android", "p");
    invisible(&mut phone, true);
    bob.wait_status("alice", DEADLINE, |s| s.status_type == OFFLINE);
    let (mut mac, _) = login(&server, "alice", "Mac", "m");
    set(&mut mac, "secret");
    ok(mac.request(r#""op":"logout""#));
    drop(phone);
    let got = rt.block_on(receiver.wait_for(7, DEADLINE));
    let alice: Vec<(String, String, String)> = got
        .iter()
        .map(Received::json)
        .filter(|b| b["Info"]["To_Account"] == "alice")
        .map(|b| {
            (
                b["Info"]["Action"].as_str().unwrap().to_string(),
                b["Info"]["Reason"].as_str().unwrap().to_string(),
                b["CustomStatus"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let row = |a: &str, r: &str, c: &str| (a.to_string(), r.to_string(), c.to_string());
    assert_eq!(
        alice,
        [
            row("Login", "Register", ""),
            row("Login", "Register", ""),
            row("CustomStatusChange", "SetCustomStatus", "secret"),
            row("Logout", "Unregister", ""),
            row("Disconnect", "LinkClose", ""),
        ]
    );
    // Watchers heard none of it; the admin query shows the hidden view.
    let seen = pushed_of(&mut zed, "w", "alice", &mut [&mut bob]);
    assert_eq!(seen, [Vec::new()]);
    assert_eq!(
        admin_query(server.admin_addr(), "alice")["Status"],
        "PushOnline"
    );
}
