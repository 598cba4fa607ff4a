//! Tencent's state-change callback from a real server to a real HTTP receiver: switched on and
//! off through the admin API without a restart, one callback per login, logout, drop, timeout,
//! kick and custom status change, in the user's order, with the client's address; status
//! pushes unaffected by a receiver that fails or hangs; a restart's disconnects all told.

mod receiver;
#[path = "common/serve.rs"]
mod serve;

use std::time::Duration;

use hmac::{Hmac, Mac};
use hyper::StatusCode;
use imstatus_protocol::ServerMessage;
use imstatus_server::testing::{admin, app, Scrape, TempDir, TestServer, Wire, APP};
use receiver::{answer, ok, Received, Receiver};
use serde_json::{json, Value};
use serve::Serve;
use sha2::Sha256;

const DEADLINE: Duration = Duration::from_secs(20);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn patch_app(server: &TestServer, patch: Value) {
    let (status, body) = admin(
        server.admin_addr(),
        "PATCH",
        &format!("/v1/apps/{APP}"),
        Some(&patch.to_string()),
    );
    assert_eq!(status, 200, "{body}");
}

fn logged_in(reply: &ServerMessage) {
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
}

/// (To_Account, Action, Reason, OptPlatform, KickedDevice platforms, CustomStatus).
fn summary(request: &Received) -> (String, String, String, String, Vec<String>, String) {
    let body = request.json();
    let platform = request
        .target
        .split('&')
        .find_map(|p| p.strip_prefix("OptPlatform="))
        .unwrap_or_default()
        .to_string();
    (
        body["Info"]["To_Account"].as_str().unwrap().to_string(),
        body["Info"]["Action"].as_str().unwrap().to_string(),
        body["Info"]["Reason"].as_str().unwrap().to_string(),
        platform,
        body["KickedDevice"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["Platform"].as_str().unwrap().to_string())
            .collect(),
        body["CustomStatus"].as_str().unwrap().to_string(),
    )
}

fn of(user: &str, got: &[Received]) -> Vec<(String, String, String, String, Vec<String>, String)> {
    got.iter().map(summary).filter(|s| s.0 == user).collect()
}

fn row(
    user: &str,
    action: &str,
    reason: &str,
    platform: &str,
    kicked: &[&str],
    custom: &str,
) -> (String, String, String, String, Vec<String>, String) {
    (
        user.into(),
        action.into(),
        reason.into(),
        platform.into(),
        kicked.iter().map(|s| s.to_string()).collect(),
        custom.into(),
    )
}

fn webhook_series(result: &str) -> String {
    format!("imstatus_webhook_requests_total{{app=\"{APP}\",result=\"{result}\"}}")
}

#[test]
fn every_action_and_reason_reaches_the_apps_backend_signed_and_in_order() {
    let rt = runtime();
    let receiver = rt.block_on(Receiver::start(ok()));
    let server = TestServer::start(vec![app()]);
    // Off by default: nothing is sent for this login and logout.
    let (mut early, reply) = Wire::login(server.addr(), "early", "Web", "e");
    logged_in(&reply);
    logged_in(&early.request(r#""op":"logout""#));

    // On, through the admin API, without a restart (F2).
    patch_app(
        &server,
        json!({
            "state_change_callback_url": receiver.url("/im/state?token=t1"),
            "state_change_callback_secret": "s3cret",
        }),
    );
    let (mut alice, reply) = Wire::login(server.addr(), "alice", "Android", "a1");
    logged_in(&reply);
    let reply = alice.request(r#""op":"set_self_status","custom_status":"busy""#);
    logged_in(&reply);
    // A second Android device kicks the first (L2), then logs out.
    let (mut alice2, reply) = Wire::login(server.addr(), "alice", "Android", "a2");
    logged_in(&reply);
    assert!(alice.closed_within(Duration::from_secs(5)).0);
    logged_in(&alice2.request(r#""op":"logout""#));
    // Bob's socket closes (D1).
    let (bob, reply) = Wire::login(server.addr(), "bob", "iPhone", "b1");
    logged_in(&reply);
    drop(bob);
    let got = rt.block_on(receiver.wait_for(5, DEADLINE));
    // Carol falls silent past a heartbeat timeout made short for her (D2).
    patch_app(&server, json!({ "heartbeat_timeout": "1s" }));
    let (_carol, reply) = Wire::login(server.addr(), "carol", "Mac", "c1");
    logged_in(&reply);
    let got = rt.block_on(receiver.wait_for(got.len() + 3, DEADLINE));

    assert_eq!(
        of("alice", &got),
        [
            row("alice", "Login", "Register", "Android", &[], ""),
            row(
                "alice",
                "CustomStatusChange",
                "SetCustomStatus",
                "Android",
                &[],
                "busy"
            ),
            row(
                "alice",
                "Login",
                "Register",
                "Android",
                &["Android"],
                "busy"
            ),
            row("alice", "Logout", "Unregister", "Android", &[], ""),
        ]
    );
    assert_eq!(
        of("bob", &got),
        [
            row("bob", "Login", "Register", "iOS", &[], ""),
            row("bob", "Disconnect", "LinkClose", "iOS", &[], ""),
        ]
    );
    assert_eq!(
        of("carol", &got),
        [
            row("carol", "Login", "Register", "Mac", &[], ""),
            row("carol", "Disconnect", "TimeOut", "Mac", &[], ""),
        ]
    );
    assert!(
        of("early", &got).is_empty(),
        "sent before it was switched on"
    );
    assert_eq!(got.len(), 8);

    for request in &got {
        let platform = summary(request).3;
        assert_eq!(
            request.target,
            format!(
                "/im/state?token=t1&SdkAppid={APP}&CallbackCommand=State.StateChange&contenttype=json&ClientIP=127.0.0.1&OptPlatform={platform}"
            )
        );
        let body = request.json();
        assert_eq!(body["CallbackCommand"], "State.StateChange");
        assert!(body["EventTime"].as_u64().unwrap() > 1_700_000_000_000);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(request.body.as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            request.header("x-imstatus-signature"),
            format!("sha256={expected}")
        );
    }
    // The receiver has every request; the server counts each once it has read the answer.
    Scrape::until(server.admin_addr(), "8 callbacks counted ok", |s| {
        s.value(&webhook_series("ok")) == 8.0
    });

    // Off again: the next login is counted as a change, and no callback is queued for it.
    patch_app(&server, json!({ "state_change_callback_url": "" }));
    let (_dave, reply) = Wire::login(server.addr(), "dave", "Linux", "d1");
    logged_in(&reply);
    let after = Scrape::take(server.admin_addr());
    assert_eq!(
        after.value(&webhook_series("ok"))
            + after.value(&format!("imstatus_webhook_queued{{app=\"{APP}\"}}")),
        8.0
    );
    assert_eq!(
        after.value(&format!(
            "imstatus_status_changes_total{{app=\"{APP}\",reason=\"login\"}}"
        )),
        6.0
    );
}

#[test]
fn a_failing_or_hanging_receiver_never_holds_back_a_status_push() {
    let rt = runtime();
    // Every request hangs until the test lets go of it.
    let (release, released) = tokio::sync::watch::channel(false);
    let hanging = rt.block_on(Receiver::start(answer(move |_| {
        let mut released = released.clone();
        async move {
            let _ = released.wait_for(|r| *r).await;
            StatusCode::OK
        }
    })));
    let failing = rt.block_on(Receiver::start(answer(|_| async {
        StatusCode::INTERNAL_SERVER_ERROR
    })));
    let server = TestServer::start(vec![app()]);
    let (mut watcher, reply) = Wire::login(server.addr(), "watcher", "Linux", "w");
    logged_in(&reply);
    logged_in(&watcher.request(r#""op":"subscribe","user_ids":["alice"]"#));

    for receiver in [&hanging, &failing] {
        patch_app(
            &server,
            json!({ "state_change_callback_url": receiver.url("/cb") }),
        );
        let (mut alice, reply) = Wire::login(server.addr(), "alice", "Web", "a");
        logged_in(&reply);
        for n in 0..5 {
            logged_in(&alice.request(&format!(r#""op":"set_self_status","custom_status":"{n}""#)));
            watcher.wait_status("alice", DEADLINE, |s| s.custom_status == n.to_string());
        }
        logged_in(&alice.request(r#""op":"logout""#));
    }
    // Every push arrived while the hanging receiver still held its first request unanswered.
    let held = hanging.received();
    assert!(!held.is_empty() && held.iter().all(|r| r.answered.is_none()));
    let _ = release.send(true);

    // The failing receiver's callbacks were tried again, then dropped and counted: alice's
    // login, five custom statuses and her logout, four attempts each.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let scrape = Scrape::take(server.admin_addr());
        if scrape.value(&webhook_series("dropped")) == 7.0 {
            assert_eq!(
                scrape.value(&webhook_series("failed")),
                28.0,
                "{}",
                scrape.0
            );
            assert_eq!(
                scrape.value(&webhook_series("retried")),
                21.0,
                "{}",
                scrape.0
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", scrape.0);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(failing.received().len(), 28);
}

#[test]
fn a_crash_tells_every_device_that_was_online_once_after_the_restart() {
    // kill -9: the devices' connections end without the server seeing it. The next run finds
    // them ONLINE in its data (L6) and tells the app's backend each one disconnected, paced.
    let rt = runtime();
    let receiver = rt.block_on(Receiver::start(ok()));
    let data = TempDir::new();
    let config = serve::write_config(
        data.path(),
        &format!("state_change_callback_url = \"{}\"\n", receiver.url("/cb")),
    );
    const USERS: usize = 30;
    let mut serve = Serve::start(&config);
    let mut wires = Vec::new();
    for n in 0..USERS {
        let (wire, reply) = Wire::login(serve.addr, &format!("u{n}"), "Android", "d");
        logged_in(&reply);
        wires.push(wire);
    }
    rt.block_on(receiver.wait_for(USERS, DEADLINE));
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    drop(wires);

    let _restarted = Serve::start(&config);
    let got = rt.block_on(receiver.wait_for(2 * USERS, DEADLINE));
    let mut users: Vec<String> = got[USERS..].iter().map(|r| summary(r).0).collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), USERS, "one Disconnect per device, none twice");
    for request in &got[USERS..] {
        let summary = summary(request);
        assert_eq!(
            (summary.1.as_str(), summary.2.as_str()),
            ("Disconnect", "LinkClose")
        );
        // No connection of this run: no client address.
        assert!(request.target.contains("&ClientIP=&"), "{}", request.target);
    }
}
