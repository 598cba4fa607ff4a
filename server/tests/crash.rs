//! `kill -9` of a real `imstatus serve` process in the middle of a login storm: every login the
//! server acknowledged is still there after a restart (L6), because a login is answered only
//! once the group commit that holds it is on disk.

mod common;
#[path = "common/serve.rs"]
mod serve;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use imstatus_protocol::ServerMessage;
use serve::Serve;

#[test]
fn kill_9_during_a_login_storm_loses_no_acknowledged_login() {
    // covers: L6
    let data = TempDir::new();
    let config = serve::write_config(
        data.path(),
        "status_enabled = true\n[limits]\nmax_unauthenticated_per_ip = 100000\n",
    );
    let mut serve = Serve::start(&config);

    // 16 threads log users in on fresh connections, as fast as the server answers.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let addr = serve.addr;
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut open = Vec::new();
                for i in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let user = format!("u{t}x{i}");
                    let Some(mut wire) = Wire::try_connect(addr) else {
                        break;
                    };
                    let Some(ServerMessage::Ok { .. }) =
                        wire.try_request(r#""op":"hello","version":1"#)
                    else {
                        break;
                    };
                    let login = format!(
                        r#""op":"login","sdk_app_id":{APP},"user_id":"{user}","user_sig":"{}","platform":"Android","device_id":"d""#,
                        sig(&user)
                    );
                    match wire.try_request(&login) {
                        Some(ServerMessage::Ok { .. }) => {
                            acknowledged.lock().unwrap().push(user);
                            // Stay connected: the device is ONLINE when the server dies.
                            open.push(wire);
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "the storm did not get going");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL, mid-storm: no shutdown, no last commit.
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let serve = Serve::start(&config);
    for chunk in acknowledged.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|u| format!("\"{u}\"")).collect();
        let (status, body) = admin(
            serve.admin,
            "POST",
            &format!("/v1/apps/{APP}/query_online_status"),
            Some(&format!(
                r#"{{"To_Account":[{}],"IsNeedDetail":1}}"#,
                ids.join(",")
            )),
        );
        assert_eq!(status, 200, "{body}");
        let results = body["QueryResult"].as_array().unwrap();
        assert_eq!(results.len(), chunk.len());
        for result in results {
            assert_eq!(
                result["Status"], "PushOnline",
                "an acknowledged login was lost: {result}"
            );
        }
    }
    println!(
        "{} acknowledged logins before kill -9, all kept",
        acknowledged.len()
    );
}
