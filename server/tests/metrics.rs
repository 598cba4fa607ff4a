//! `GET /metrics` during a scripted run over real TCP: every counter moves by exactly what the
//! script did, and the gauges show what the server holds.

use std::time::Duration;

use imstatus_protocol::ServerMessage;
use imstatus_server::testing::{admin_text, app, error_code, sig, Scrape, TestServer, Wire, APP};
use imstatus_server::usersig;

const APP2: u32 = 1_400_000_999;
const KEY2: &str = "second-app-key";

fn changes(reason: &str) -> String {
    format!("imstatus_status_changes_total{{app=\"{APP}\",reason=\"{reason}\"}}")
}

fn replies(command: &str, code: i32) -> String {
    format!("imstatus_replies_total{{command=\"{command}\",code=\"{code}\"}}")
}

/// How many statuses a client received in pushes.
fn statuses_received(wire: &Wire) -> usize {
    wire.pushes
        .iter()
        .map(|m| match m {
            ServerMessage::StatusChanged { statuses } => statuses.len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn counters_move_by_exactly_what_happened() {
    let mut quick = imstatus_server::engine::AppSettings::new(APP2, KEY2);
    quick.heartbeat_timeout = Duration::from_secs(1);
    let server = TestServer::start(vec![app(), quick]);
    let admin = server.admin_addr();

    // The metrics want the admin token.
    let mut anonymous = std::net::TcpStream::connect(admin).unwrap();
    std::io::Write::write_all(
        &mut anonymous,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut anonymous, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    let before = Scrape::take(admin);
    assert_eq!(before.value("imstatus_connections"), 0.0);
    assert_eq!(before.value(&changes("login")), 0.0);
    assert_eq!(
        before.value(&format!(
            "imstatus_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );

    // Two users log in; bob watches alice.
    let (mut bob, reply) = Wire::login(server.addr(), "bob", "Linux", "b1");
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    let (mut alice, reply) = Wire::login(server.addr(), "alice", "Linux", "a1");
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    let reply = bob.request(r#""op":"subscribe","user_ids":["alice"]"#);
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");

    let held = Scrape::take(admin);
    assert_eq!(held.value("imstatus_connections"), 2.0);
    let app_gauge = |name: &str| format!("{name}{{app=\"{APP}\"}}");
    assert_eq!(
        held.value(&app_gauge("imstatus_connections_logged_in")),
        2.0
    );
    assert_eq!(held.value(&app_gauge("imstatus_devices_logged_in")), 2.0);
    assert_eq!(held.value(&app_gauge("imstatus_devices_online")), 2.0);
    assert_eq!(held.value(&app_gauge("imstatus_users_online")), 2.0);
    assert_eq!(held.value(&app_gauge("imstatus_subscriptions")), 1.0);
    assert_eq!(held.value(&changes("login")), 2.0);
    assert_eq!(held.value(&replies("login", 0)), 2.0);
    assert_eq!(held.value(&replies("hello", 0)), 2.0);
    assert_eq!(held.value(&replies("subscribe", 0)), 1.0);
    assert_eq!(
        held.value("imstatus_command_duration_seconds_count{command=\"login\"}"),
        2.0
    );
    // The logins were made durable before they were answered.
    assert!(held.value("imstatus_store_commit_rows_count") >= 1.0);
    assert!(held.value("imstatus_store_commit_rows_sum") >= 2.0);

    // Three custom statuses, and one that changes nothing.
    for custom in ["busy", "away", "away", "lunch"] {
        let reply = alice.request(&format!(
            r#""op":"set_self_status","custom_status":"{custom}""#
        ));
        assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    }
    assert_eq!(Scrape::take(admin).value(&changes("custom")), 3.0);

    // Read everything on its way to the two clients: the pushes were queued before the
    // heartbeats arrived, so they come before the replies.
    for wire in [&mut bob, &mut alice] {
        let reply = wire.request(r#""op":"heartbeat""#);
        assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    }
    let received = statuses_received(&bob) + statuses_received(&alice);
    // Every notification queued was written and received, or coalesced into a later one (N5).
    let settled = Scrape::take(admin);
    assert_eq!(
        settled.value("imstatus_push_latency_seconds_count"),
        received as f64,
        "{}",
        settled.0
    );
    assert_eq!(
        settled.value(&format!("imstatus_notifications_total{{app=\"{APP}\"}}"))
            - settled.value("imstatus_coalesced_pushes_total"),
        received as f64
    );
    assert!(statuses_received(&bob) >= 1);

    // A second Linux device of alice kicks the first (one instance per platform, L2).
    let (mut alice2, reply) = Wire::login(server.addr(), "alice", "Linux", "a2");
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    assert!(alice.closed_within(Duration::from_secs(5)).0);
    // Then it logs out.
    let reply = alice2.request(r#""op":"logout""#);
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    // Bob's socket closes.
    drop(bob);
    let after = Scrape::until(server.admin_addr(), "bob's close is counted", |s| {
        s.value(&changes("disconnect")) == 1.0
    });
    assert_eq!(after.value(&changes("login")), 3.0);
    assert_eq!(after.value(&changes("kick")), 1.0);
    assert_eq!(after.value(&changes("logout")), 1.0);
    assert_eq!(after.value(&changes("timeout")), 0.0);
    assert_eq!(after.value(&app_gauge("imstatus_devices_online")), 0.0);
    assert_eq!(after.value(&app_gauge("imstatus_users_online")), 0.0);
    // Bob's device stays logged in, OFFLINE (L5); alice's last device logged out.
    assert_eq!(after.value(&app_gauge("imstatus_devices_logged_in")), 1.0);

    // Refused logins, by app and code: a wrong UserSig, and an app that does not exist (which
    // must not become a label of its own).
    let mut bad = Wire::connect(server.addr());
    bad.request(r#""op":"hello","version":1"#);
    let refused = bad.request(&format!(
        r#""op":"login","sdk_app_id":{APP},"user_id":"eve","user_sig":"{}","platform":"Linux","device_id":"e""#,
        sig("mallory")
    ));
    let bad_sig = error_code(&refused);
    let mut stranger = Wire::connect(server.addr());
    stranger.request(r#""op":"hello","version":1"#);
    let refused = stranger.request(
        r#""op":"login","sdk_app_id":777,"user_id":"eve","user_sig":"x","platform":"Linux","device_id":"e""#,
    );
    let no_app = error_code(&refused);
    let refusals = Scrape::take(admin);
    assert_eq!(
        refusals.value(&format!(
            "imstatus_rejected_logins_total{{app=\"{APP}\",code=\"{bad_sig}\"}}"
        )),
        1.0
    );
    assert_eq!(
        refusals.value(&format!(
            "imstatus_rejected_logins_total{{app=\"unknown\",code=\"{no_app}\"}}"
        )),
        1.0
    );
    assert!(!refusals.0.contains("app=\"777\""));
    assert_eq!(refusals.value(&replies("login", bad_sig)), 1.0);

    // A device of the second app falls silent past its heartbeat timeout (D2).
    let mut carol = Wire::connect(server.addr());
    carol.request(r#""op":"hello","version":1"#);
    let reply = carol.request(&format!(
        r#""op":"login","sdk_app_id":{APP2},"user_id":"carol","user_sig":"{}","platform":"Android","device_id":"c""#,
        usersig::generate(APP2, KEY2, "carol", 3600, imstatus_server::testing::now_secs())
    ));
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    let timed_out = format!("imstatus_status_changes_total{{app=\"{APP2}\",reason=\"timeout\"}}");
    let last = Scrape::until(server.admin_addr(), "carol's timeout is counted", |s| {
        s.value(&timed_out) == 1.0
    });
    assert_eq!(
        last.value(&format!(
            "imstatus_status_changes_total{{app=\"{APP2}\",reason=\"login\"}}"
        )),
        1.0
    );
    assert_eq!(last.value(&changes("timeout")), 0.0);

    // Health: live and ready (the store takes writes).
    let (status, body) = admin_text(admin, "GET", "/v1/health/ready", None);
    assert_eq!(status, 200, "{body}");
    let (status, _) = admin_text(admin, "GET", "/v1/health/live", None);
    assert_eq!(status, 200);
}
