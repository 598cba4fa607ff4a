mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn debug_two_devices() {
    let t = Instant::now();
    let server = TestServer::start_cluster(vec![app()]);
    eprintln!("started in {:?}", t.elapsed());
    let a = server.addr();
    let b = server.addr();
    let (mut phone, r1) = Wire::login(a, "alice", "Android", "d1");
    eprintln!("phone login {r1:?}");
    let (mut desk, r2) = Wire::login(b, "alice", "Windows", "d2");
    eprintln!("desk login {r2:?}");
    let r = phone.request(r#""op":"set_self_status","custom_status":"on a call""#);
    eprintln!("set {r:?}");
    let s = desk.wait_status("alice", Duration::from_secs(5), |s| {
        s.custom_status == "on a call"
    });
    eprintln!("desk sees {s:?}");
    let t = Instant::now();
    drop(server);
    eprintln!("stopped in {:?}", t.elapsed());
}
