//! Connection hygiene and bounded delivery, tried from outside as a hostile or broken client
//! would: connections that never log in, never read, or never stop sending, against a real
//! server over TCP. Every wait has a deadline; nothing sleeps and hopes.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use imstatus_protocol::codes;
use imstatus_protocol::ServerMessage;
use imstatus_server::Limits;

/// Waits until the server closes `stream` (reading and dropping whatever it sends), or the
/// deadline passes. Answers how long that took.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(started.elapsed())
            }
            Err(_) => {
                if started.elapsed() >= within {
                    return None;
                }
            }
        }
    }
}

#[test]
fn an_unauthenticated_connection_is_closed_at_its_deadline_whatever_it_sends() {
    // covers: B2 (hygiene: the login deadline counts from the accept)
    let limits = Limits {
        login_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = TestServer::start_with(vec![app()], limits);
    let accepted = Instant::now();
    // One says nothing; one says hello and then drips a frame a byte at a time, for ever.
    let mut silent = TcpStream::connect(server.addr()).unwrap();
    let mut dripper = Wire::connect(server.addr());
    assert!(matches!(
        dripper.request(r#""op":"hello","version":1"#),
        ServerMessage::Ok { .. }
    ));
    let frame = br#"{"id":2,"op":"heartbeat"}"#;
    let mut drip = (frame.len() as u32).to_be_bytes().to_vec();
    drip.extend_from_slice(frame);
    let mut closed = false;
    for byte in drip.iter().cycle() {
        if dripper.stream.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        if accepted.elapsed() > Duration::from_secs(10) {
            break;
        }
        dripper
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0u8; 64];
        if matches!(dripper.stream.read(&mut buf), Ok(0)) {
            closed = true;
            break;
        }
    }
    assert!(closed, "the dripping connection was still open after 10 s");
    let dripped_for = accepted.elapsed();
    assert!(
        dripped_for >= Duration::from_millis(900),
        "closed before its deadline, after {dripped_for:?}"
    );
    assert!(
        closed_by_server(&mut silent, Duration::from_secs(5)).is_some(),
        "the silent connection was not closed"
    );
    // Everyone else is served.
    let (_alice, reply) = Wire::login(server.addr(), "alice", "Linux", "a1");
    assert!(matches!(reply, ServerMessage::Ok { .. }));
}

#[test]
fn connections_that_never_log_in_are_capped_per_address() {
    let limits = Limits {
        max_unauthenticated_per_ip: 3,
        ..Limits::default()
    };
    let server = TestServer::start_with(vec![app()], limits);
    let mut waiting: Vec<Wire> = (0..3)
        .map(|_| {
            let mut wire = Wire::connect(server.addr());
            assert!(matches!(
                wire.request(r#""op":"hello","version":1"#),
                ServerMessage::Ok { .. }
            ));
            wire
        })
        .collect();
    // The fourth is closed at once, without a word.
    let mut fourth = TcpStream::connect(server.addr()).unwrap();
    assert!(closed_by_server(&mut fourth, Duration::from_secs(5)).is_some());
    // Once one of them logs in, its place is free again.
    let login = waiting[0].request(&format!(
        r#""op":"login","sdk_app_id":{APP},"user_id":"bob","user_sig":"{}","platform":"Web","device_id":"b""#,
        sig("bob")
    ));
    assert!(matches!(login, ServerMessage::Ok { .. }), "{login:?}");
    let (_carol, reply) = Wire::login(server.addr(), "carol", "Linux", "c1");
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
}

/// An app whose users may query others as often as they like: `stop_reading` asks a lot.
fn querying_app() -> imstatus_server::engine::AppSettings {
    let mut app = app();
    app.query_rate.calls = 1_000_000;
    app
}

/// Makes `wire` stop reading: it asks for large answers (500 users' statuses, some 30 KB, for
/// a request of 4 KB) and reads none, until the kernel's buffers between it and the server are
/// full and the server, blocked on its write, stops reading too.
fn stop_reading(wire: &mut Wire) {
    let ids = (0..500)
        .map(|i| format!("\"someone{i}\""))
        .collect::<Vec<_>>()
        .join(",");
    let query = format!(r#"{{"id":7,"op":"get_user_status","user_ids":[{ids}]}}"#);
    let mut frame = (query.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(query.as_bytes());
    wire.stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    while wire.stream.write_all(&frame).is_ok() && started.elapsed() < Duration::from_secs(60) {}
}

#[test]
fn a_client_that_never_reads_is_closed_when_its_outbox_is_full() {
    // covers: D1 (a slow consumer is closed and OFFLINE), N5
    let limits = Limits {
        outbox_max_entries: 20,
        write_stall_timeout: Some(Duration::from_secs(3600)),
        ..Limits::default()
    };
    let server = TestServer::start_with(vec![querying_app()], limits);
    let users: Vec<String> = (0..30).map(|i| format!("u{i}")).collect();
    let (mut sloth, _) = Wire::login(server.addr(), "sloth", "Linux", "s1");
    let list = users
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(",");
    ok_statuses(&sloth.request(&format!(r#""op":"subscribe","user_ids":[{list}]"#)));
    let (mut watcher, _) = Wire::login(server.addr(), "watcher", "Web", "w1");
    ok_statuses(&watcher.request(r#""op":"subscribe","user_ids":["sloth"]"#));
    let mut writers: Vec<Wire> = users
        .iter()
        .map(|u| Wire::login(server.addr(), u, "Android", "d").0)
        .collect();
    stop_reading(&mut sloth);
    // Now 30 users change: more distinct users than the sloth's outbox may hold, and the
    // stall timeout is an hour away.
    for (i, writer) in writers.iter_mut().enumerate() {
        let reply = writer.request(&format!(r#""op":"set_self_status","custom_status":"x{i}""#));
        assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    }
    // Its connection is closed and its device OFFLINE, as its watcher hears.
    let offline = watcher.wait_status("sloth", Duration::from_secs(10), |s| s.status_type == 2);
    assert!(offline.online_devices.is_empty());
}

#[test]
fn a_client_whose_socket_stops_taking_data_is_closed_after_the_stall_timeout() {
    // covers: D1 (no writer blocks for ever)
    let limits = Limits {
        write_stall_timeout: Some(Duration::from_secs(1)),
        outbox_max_bytes: 64 << 20,
        outbox_max_entries: 1 << 20,
        ..Limits::default()
    };
    let server = TestServer::start_with(vec![querying_app()], limits);
    let (mut sloth, _) = Wire::login(server.addr(), "sloth", "Linux", "s1");
    let (mut watcher, _) = Wire::login(server.addr(), "watcher", "Web", "w1");
    ok_statuses(&watcher.request(r#""op":"subscribe","user_ids":["sloth"]"#));
    stop_reading(&mut sloth);
    // Once the server's writes stall for a second, it closes the connection: the watcher
    // hears the sloth go OFFLINE.
    let offline = watcher.wait_status("sloth", Duration::from_secs(30), |s| s.status_type == 2);
    assert!(offline.online_devices.is_empty());
}

#[test]
fn heartbeats_beyond_the_budget_are_refused_without_closing() {
    let limits = Limits {
        heartbeats_per_second: 1,
        heartbeat_burst: 3,
        ..Limits::default()
    };
    let server = TestServer::start_with(vec![app()], limits);
    let (mut alice, _) = Wire::login(server.addr(), "alice", "Linux", "a1");
    let mut refused = 0;
    for _ in 0..10 {
        if let ServerMessage::Error { code, .. } = alice.request(r#""op":"heartbeat""#) {
            assert_eq!(code, codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT);
            refused += 1;
        }
    }
    assert!((6..=7).contains(&refused), "{refused} of 10 refused");
    // Other requests are not counted against it.
    let me = ok_statuses(&alice.request(r#""op":"get_user_status","user_ids":["alice"]"#));
    assert_eq!(me[0].status_type, 1);
}
