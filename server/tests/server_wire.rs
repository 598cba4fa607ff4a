//! The server alone, spoken to over the wire protocol by hand: bad input, liveness, kicks.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use imstatus_protocol::codes;
use imstatus_protocol::ServerMessage;

#[test]
fn garbage_closes_only_that_connection_and_loses_nothing() {
    // covers: B1, B2
    let server = TestServer::start(vec![app()]);
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    assert_eq!(
        ok_statuses(&alice.request(r#""op":"set_self_status","custom_status":"busy""#)).len(),
        0
    );

    let bad_frames: Vec<Vec<u8>> = vec![
        b"\xff\xfe\xfd".to_vec(),
        b"{\"id\":1,\"op\":\"fly\"}".to_vec(),
        b"[1,2,3]".to_vec(),
        b"{\"id\":\"x\",\"op\":\"hello\",\"version\":1}".to_vec(),
    ];
    for bad in bad_frames {
        let mut wire = Wire::connect(server.addr());
        wire.send_raw(&bad);
        let (closed, seen) = wire.closed_within(Duration::from_secs(5));
        assert!(closed, "server must close a connection that sent {bad:?}");
        assert!(
            matches!(seen.first(), Some(ServerMessage::Error { id: 0, code, desc }) if *code == codes::ERR_INVALID_PARAMETERS && desc.contains("malformed")),
            "{seen:?}"
        );
    }

    // A length prefix over the cap is refused before the body is even sent.
    let mut wire = Wire::connect(server.addr());
    wire.stream.write_all(&(64u32 << 20).to_be_bytes()).unwrap();
    let (closed, seen) = wire.closed_within(Duration::from_secs(5));
    assert!(closed);
    assert!(
        matches!(seen.first(), Some(ServerMessage::Error { desc, .. }) if desc.contains("exceeds"))
    );

    // Zero-length frame, and a request before hello.
    let mut wire = Wire::connect(server.addr());
    wire.stream.write_all(&0u32.to_be_bytes()).unwrap();
    assert!(wire.closed_within(Duration::from_secs(5)).0);
    let mut wire = Wire::connect(server.addr());
    let reply = wire.request(r#""op":"heartbeat""#);
    assert_eq!(error_code(&reply), codes::ERR_SDK_INVALID_OPERATION);
    let mut wire = Wire::connect(server.addr());
    let reply = wire.request(r#""op":"hello","version":99"#);
    assert_eq!(error_code(&reply), codes::ERR_SDK_INVALID_OPERATION);

    // Alice was never disturbed, and her state is intact.
    let statuses = ok_statuses(&alice.request(r#""op":"get_user_status","user_ids":["alice"]"#));
    assert_eq!(statuses[0].status_type, 1);
    assert_eq!(statuses[0].custom_status, "busy");
}

#[test]
fn requests_before_login_are_refused_with_6014() {
    // covers: B1
    let server = TestServer::start(vec![app()]);
    let greeted = || {
        let mut wire = Wire::connect(server.addr());
        assert!(matches!(
            wire.request(r#""op":"hello","version":1"#),
            ServerMessage::Ok { .. }
        ));
        wire
    };
    // Before login only a login may come: anything else is refused, and the connection closed.
    for op in [
        r#""op":"set_self_status","custom_status":"x""#,
        r#""op":"get_user_status","user_ids":["a"]"#,
        r#""op":"subscribe","user_ids":["a"]"#,
        r#""op":"unsubscribe","user_ids":null"#,
        r#""op":"logout""#,
        r#""op":"heartbeat""#,
    ] {
        let mut wire = greeted();
        assert_eq!(
            error_code(&wire.request(op)),
            codes::ERR_SDK_NOT_LOGGED_IN,
            "{op}"
        );
        assert!(wire.closed_within(Duration::from_secs(5)).0, "{op}");
    }
    // A bad UserSig is refused with the server's code and a description, once: the
    // connection is closed after it.
    let mut wire = greeted();
    let reply = wire.request(&format!(
        r#""op":"login","sdk_app_id":{APP},"user_id":"bob","user_sig":"{}","platform":"Web","device_id":"d""#,
        sig("alice")
    ));
    assert_eq!(
        error_code(&reply),
        codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID
    );
    assert!(wire.closed_within(Duration::from_secs(5)).0);
    // hello is said once.
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    assert_eq!(
        error_code(&alice.request(r#""op":"hello","version":1"#)),
        codes::ERR_SDK_INVALID_OPERATION
    );
    assert!(alice.closed_within(Duration::from_secs(5)).0);
}

#[test]
fn dropped_socket_is_offline_for_subscribers_within_a_second() {
    // covers: D1, C3, N1
    let server = TestServer::start(vec![app()]);
    let (mut bob, _) = Wire::login(server.addr(), "bob", "Android", "b1");
    ok_statuses(&bob.request(r#""op":"subscribe","user_ids":["alice"]"#));
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    bob.wait_status("alice", Duration::from_secs(2), |s| s.status_type == 1);
    alice.request(r#""op":"set_self_status","custom_status":"typing""#);
    bob.wait_status("alice", Duration::from_secs(2), |s| {
        s.custom_status == "typing"
    });

    drop(alice);
    let offline = bob.wait_status("alice", Duration::from_secs(1), |s| s.status_type == 2);
    assert_eq!(
        offline.custom_status, "",
        "C3: leaving ONLINE clears the custom status"
    );
    assert!(offline.online_devices.is_empty());
}

#[test]
fn silent_connection_times_out_after_the_heartbeat_timeout() {
    // covers: D2
    let mut settings = app();
    settings.heartbeat_timeout = Duration::from_millis(1000);
    let server = TestServer::start(vec![settings]);
    let (mut bob, _) = Wire::login(server.addr(), "bob", "Android", "b1");
    ok_statuses(&bob.request(r#""op":"subscribe","user_ids":["alice"]"#));
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    bob.wait_status("alice", Duration::from_secs(2), |s| s.status_type == 1);

    // Bob keeps talking; Alice goes silent without closing her socket.
    let started = std::time::Instant::now();
    let mut offline = None;
    while started.elapsed() < Duration::from_secs(5) && offline.is_none() {
        bob.request(r#""op":"heartbeat""#);
        offline = bob
            .pushes
            .iter()
            .filter_map(|m| match m {
                ServerMessage::StatusChanged { statuses } => statuses
                    .iter()
                    .find(|s| s.user_id == "alice" && s.status_type == 2)
                    .cloned(),
                _ => None,
            })
            .next();
        let _ = bob
            .read(std::time::Instant::now() + Duration::from_millis(200))
            .map(|m| bob.pushes.push(m));
    }
    let elapsed = started.elapsed();
    assert!(
        offline.is_some(),
        "alice must go OFFLINE after the heartbeat timeout"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "not before the timeout: {elapsed:?}"
    );
    assert!(
        alice.closed_within(Duration::from_secs(2)).0,
        "the server closes the silent connection"
    );
    // Bob, who kept talking, is still served.
    assert_eq!(
        ok_statuses(&bob.request(r#""op":"get_user_status","user_ids":["bob"]"#))[0].status_type,
        1
    );
}

#[test]
fn second_login_on_the_same_platform_kicks_the_first() {
    // covers: L2
    let server = TestServer::start(vec![app()]);
    let (mut first, _) = Wire::login(server.addr(), "alice", "Windows", "w1");
    let (mut other_platform, _) = Wire::login(server.addr(), "alice", "Android", "p1");
    let (mut second, _) = Wire::login(server.addr(), "alice", "Windows", "w2");
    let (closed, seen) = first.closed_within(Duration::from_secs(2));
    assert!(closed);
    assert!(seen.contains(&ServerMessage::Kicked), "{seen:?}");
    // The other platform and the new device are untouched; the user is ONLINE on both.
    let me = ok_statuses(&second.request(r#""op":"get_user_status","user_ids":["alice"]"#));
    assert_eq!(me[0].status_type, 1);
    assert_eq!(me[0].online_devices, vec!["Android", "Windows"]);
    assert!(matches!(
        other_platform.request(r#""op":"heartbeat""#),
        ServerMessage::Ok { .. }
    ));
}

#[test]
fn reconnect_of_the_same_device_is_not_a_kick() {
    // covers: L2, D3
    let server = TestServer::start(vec![app()]);
    let (mut old, _) = Wire::login(server.addr(), "alice", "Mac", "m1");
    let (mut new, _) = Wire::login(server.addr(), "alice", "Mac", "m1");
    let (closed, seen) = old.closed_within(Duration::from_secs(2));
    assert!(closed, "the stale connection of the same device is closed");
    assert!(!seen.contains(&ServerMessage::Kicked), "{seen:?}");
    let me = ok_statuses(&new.request(r#""op":"get_user_status","user_ids":["alice"]"#));
    assert_eq!(me[0].online_devices, vec!["Mac"]);
}

#[test]
fn a_burst_arrives_in_order_and_ends_at_the_latest() {
    // covers: N3, N5, C4
    let server = TestServer::start(vec![app()]);
    let (mut bob, _) = Wire::login(server.addr(), "bob", "Android", "b1");
    ok_statuses(&bob.request(r#""op":"subscribe","user_ids":["alice","carol"]"#));
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    let (mut carol, _) = Wire::login(server.addr(), "carol", "Linux", "c1");
    // Bob reads nothing while both change many times; the same value twice notifies nobody.
    for i in 0..200 {
        alice.request(&format!(r#""op":"set_self_status","custom_status":"a{i}""#));
        alice.request(&format!(r#""op":"set_self_status","custom_status":"a{i}""#));
        carol.request(&format!(r#""op":"set_self_status","custom_status":"c{i}""#));
    }
    let mut last_version = std::collections::HashMap::new();
    let mut last_custom = std::collections::HashMap::new();
    let mut pushes = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while last_custom.get("alice") != Some(&"a199".to_string())
        || last_custom.get("carol") != Some(&"c199".to_string())
    {
        let message = bob.read(deadline).expect("the latest statuses arrive");
        let ServerMessage::StatusChanged { statuses } = message else {
            continue;
        };
        pushes += 1;
        for s in statuses {
            let previous = last_version.insert(s.user_id.clone(), s.version);
            assert!(
                previous.is_none_or(|v| v < s.version),
                "{}: version {} after {previous:?}",
                s.user_id,
                s.version
            );
            let old = last_custom.insert(s.user_id.clone(), s.custom_status.clone());
            assert_ne!(
                old.as_ref(),
                Some(&s.custom_status),
                "a repeated status was pushed"
            );
            if let (Some(old), Some(n)) = (old, s.custom_status.strip_prefix('a')) {
                if let Some(o) = old.strip_prefix('a') {
                    assert!(
                        o.parse::<u32>().unwrap() < n.parse::<u32>().unwrap(),
                        "reordered"
                    );
                }
            }
        }
    }
    assert!(pushes >= 1);
}
