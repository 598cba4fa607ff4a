//! The admin HTTP API over real HTTP against a real server: auth, console settings (F2), friends
//! (F1), what survives a restart (L6), and `query_online_status` following a device that speaks
//! the wire protocol (L3, D1).
//!
//! Self-contained: a minimal HTTP/1.1 client and a minimal wire client live below.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imstatus_server::engine::AppSettings;
use imstatus_server::{spawn, Config, ServerHandle, DEFAULT_SDK_APP_ID};
use serde_json::{json, Value};

const TOKEN: &str = "secret";
const APP: u32 = 1_400_000_123;
const KEY: &str = "app-secret-key";

fn start(data_dir: &Path, apps: Vec<AppSettings>) -> ServerHandle {
    spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        admin_token: Some(TOKEN.into()),
        data_dir: Some(data_dir.to_path_buf()),
        apps,
        limits: Default::default(),
        ..Config::default()
    })
    .expect("the server starts")
}

fn admin(handle: &ServerHandle) -> SocketAddr {
    handle.started().admin_addr.expect("the admin API is on")
}

/// One HTTP/1.1 request on a fresh connection; answers the status and the JSON body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect to the admin API");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(auth) = auth {
        request.push_str(&format!("Authorization: {auth}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        request.push_str("Content-Type: application/json\r\n");
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    // A server refusing a body it has not read all of may reset the connection: a failed write
    // or a reset after the answer arrived still leaves the answer to read.
    let written = stream.write_all(request.as_bytes());
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    if raw.is_empty() {
        panic!("no answer to {method} {path}: write {written:?}, read {read:?}");
    }
    let text = String::from_utf8(raw).expect("a UTF-8 answer");
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete answer");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("a JSON body from {method} {path}: {e}: {body:?}"))
    };
    (status, value)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("a chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

fn bearer() -> Option<&'static str> {
    Some("Bearer secret")
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    http(addr, "GET", path, bearer(), None)
}

fn send(addr: SocketAddr, method: &str, path: &str, body: &Value) -> (u16, Value) {
    http(addr, method, path, bearer(), Some(&body.to_string()))
}

fn error_info(answer: &Value) -> &str {
    answer["ErrorInfo"].as_str().unwrap_or("")
}

fn app(status_enabled: bool) -> AppSettings {
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = status_enabled;
    app
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A device speaking the wire protocol by hand: 4-byte big-endian length, then JSON.
struct Device {
    stream: TcpStream,
    next_id: u64,
}

impl Device {
    fn connect(addr: SocketAddr) -> Device {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut device = Device { stream, next_id: 1 };
        let reply = device.call(json!({"op": "hello", "version": 1}));
        assert_eq!(reply["type"], "ok", "{reply}");
        device
    }

    fn login(addr: SocketAddr, app: u32, key: &str, user: &str, platform: &str) -> Device {
        let mut device = Device::connect(addr);
        let sig = imstatus_server::usersig::generate(app, key, user, 3600, now_secs());
        let reply = device.call(json!({
            "op": "login", "sdk_app_id": app, "user_id": user, "user_sig": sig,
            "platform": platform, "device_id": format!("{user}-{platform}"),
        }));
        assert_eq!(reply["type"], "ok", "login: {reply}");
        device
    }

    /// Sends a request and answers its reply, skipping pushes.
    fn call(&mut self, mut request: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = json!(id);
        let bytes = request.to_string().into_bytes();
        let mut frame = (bytes.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&bytes);
        self.stream.write_all(&frame).unwrap();
        loop {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).expect("a reply frame");
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            self.stream.read_exact(&mut body).unwrap();
            let message: Value = serde_json::from_slice(&body).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }
}

fn query(addr: SocketAddr, app: u32, ids: &[&str], detail: u8) -> Value {
    let (status, answer) = send(
        addr,
        "POST",
        &format!("/v1/apps/{app}/query_online_status"),
        &json!({"To_Account": ids, "IsNeedDetail": detail}),
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Polls `query_online_status` until `user` has `status`; answers how long it took.
fn wait_for_status(addr: SocketAddr, app: u32, user: &str, status: &str) -> Duration {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(5);
    loop {
        let answer = query(addr, app, &[user], 0);
        if answer["QueryResult"][0]["Status"] == status {
            return started.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{user} did not become {status}: {answer}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_endpoint_but_health_wants_the_token() {
    // covers: B1
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![app(false)]);
    let addr = admin(&server);

    let (status, answer) = http(addr, "GET", "/v1/health", None, None);
    assert_eq!(status, 200);
    assert_eq!(answer["ok"], true);
    assert!(answer["connections"].is_u64(), "{answer}");

    for path in ["/v1/apps", &format!("/v1/apps/{APP}"), "/v1/nowhere"] {
        let (status, answer) = http(addr, "GET", path, None, None);
        assert_eq!(status, 401, "{path}: {answer}");
        assert_eq!(answer["ErrorCode"], 401);
        assert!(error_info(&answer).contains("Authorization"), "{answer}");
        let (status, answer) = http(addr, "GET", path, Some("Bearer wrong"), None);
        assert_eq!(status, 401, "{path}: {answer}");
        assert!(error_info(&answer).contains("wrong"), "{answer}");
        let (status, _) = http(addr, "GET", path, Some("Basic c2VjcmV0"), None);
        assert_eq!(status, 401, "{path}");
        let (status, _) = http(addr, "GET", path, Some("Bearer secre"), None);
        assert_eq!(status, 401, "{path}");
    }
    let (status, answer) = http(
        addr,
        "POST",
        &format!("/v1/apps/{APP}/friends/import"),
        None,
        Some(r#"{"From_Account":"a","To_Account":["b"]}"#),
    );
    assert_eq!(status, 401, "{answer}");

    let (status, answer) = get(addr, "/v1/apps");
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = get(addr, "/v1/nowhere");
    assert_eq!((status, answer["ErrorCode"].clone()), (404, json!(404)));
    let (status, answer) = http(addr, "DELETE", "/v1/apps", bearer(), None);
    assert_eq!(status, 405, "{answer}");
}

#[test]
fn app_settings_can_be_read_replaced_and_patched_at_run_time() {
    // covers: F2, Q2, B1
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![app(false)]);
    let addr = admin(&server);
    let one = format!("/v1/apps/{APP}");

    let (status, list) = get(addr, "/v1/apps");
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["sdk_app_id"], APP);
    let (status, settings) = get(addr, &one);
    assert_eq!(status, 200);
    assert_eq!(settings["status_enabled"], false);
    assert_eq!(settings["secret_key"], KEY);
    let (status, answer) = get(addr, "/v1/apps/42");
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["ErrorCode"], 70014);
    let (status, answer) = get(addr, "/v1/apps/notanumber");
    assert_eq!(status, 400, "{answer}");
    assert!(error_info(&answer).contains("sdk_app_id"), "{answer}");

    // With the switch off, querying another user is 72001 (Q2); the patch turns it on at once.
    let mut alice = Device::login(server.addr(), APP, KEY, "alice", "Android");
    let reply = alice.call(json!({"op": "get_user_status", "user_ids": ["bob"]}));
    assert_eq!(reply["code"], 72001, "{reply}");

    let (status, patched) = send(addr, "PATCH", &one, &json!({"status_enabled": true}));
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["status_enabled"], true);
    assert_eq!(
        patched["secret_key"], KEY,
        "a patch changes only what it names"
    );
    let reply = alice.call(json!({"op": "get_user_status", "user_ids": ["bob"]}));
    assert_eq!(reply["type"], "ok", "{reply}");
    let (_, settings) = get(addr, &one);
    assert_eq!(settings["status_enabled"], true);

    // Nested fields merge; durations are humantime strings.
    let (status, patched) = send(
        addr,
        "PATCH",
        &one,
        &json!({"heartbeat_timeout": "90s", "query_rate": {"calls": 3}}),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["heartbeat_timeout"], "1m 30s");
    assert_eq!(patched["query_rate"]["calls"], 3);
    assert_eq!(patched["query_rate"]["window"], "5s");

    // Invalid settings are refused with what was wrong, and change nothing.
    for (patch, says) in [
        (json!({"heartbeat_timeout": "0s"}), "heartbeat_timeout"),
        (json!({"subscription_limit": 0}), "limits"),
        (json!({"status_enabld": true}), "status_enabld"),
        (json!({"edition": "platinum"}), "edition"),
        (json!({"heartbeat_timeout": "soon"}), "heartbeat_timeout"),
        (json!({"sdk_app_id": 7}), "sdk_app_id"),
        (json!([1, 2]), "object"),
    ] {
        let (status, answer) = send(addr, "PATCH", &one, &patch);
        assert_eq!(status, 400, "{patch}: {answer}");
        assert_eq!(answer["ErrorCode"], 6017, "{answer}");
        assert!(error_info(&answer).contains(says), "{patch}: {answer}");
    }
    let (status, answer) = http(
        addr,
        "PATCH",
        &one,
        bearer(),
        Some("{\"status_enabled\": tru"),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(error_info(&answer).contains("invalid JSON"), "{answer}");
    let (status, answer) = http(addr, "PATCH", &one, bearer(), Some(""));
    assert_eq!(status, 400, "{answer}");
    assert!(error_info(&answer).contains("empty"), "{answer}");
    let (status, answer) = send(addr, "PATCH", "/v1/apps/42", &json!({}));
    assert_eq!(status, 404, "{answer}");
    let (_, settings) = get(addr, &one);
    assert_eq!(settings["heartbeat_timeout"], "1m 30s");

    // PUT replaces everything: fields left out go back to their defaults.
    let (status, put) = send(
        addr,
        "PUT",
        &one,
        &json!({"sdk_app_id": APP, "secret_key": "new-key", "edition": "pro"}),
    );
    assert_eq!(status, 200, "{put}");
    let (_, settings) = get(addr, &one);
    assert_eq!(settings["edition"], "pro");
    assert_eq!(settings["status_enabled"], false);
    assert_eq!(settings["heartbeat_timeout"], "6m 40s");
    assert_eq!(settings["secret_key"], "new-key");
    let (status, answer) = send(
        addr,
        "PUT",
        &one,
        &json!({"sdk_app_id": APP + 1, "secret_key": "k"}),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(error_info(&answer).contains("does not match"), "{answer}");
    let (status, answer) = send(addr, "PUT", &one, &json!({"sdk_app_id": APP}));
    assert_eq!(status, 400, "{answer}");
    assert!(error_info(&answer).contains("secret_key"), "{answer}");
    let (status, answer) = send(
        addr,
        "PUT",
        &one,
        &json!({"sdk_app_id": APP, "secret_key": ""}),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        error_info(&answer).contains("secret_key must not be empty"),
        "{answer}"
    );

    // PUT of an unknown app creates it.
    let (status, created) = send(
        addr,
        "PUT",
        "/v1/apps/77",
        &json!({"sdk_app_id": 77, "secret_key": "k77"}),
    );
    assert_eq!(status, 201, "{created}");
    let (_, list) = get(addr, "/v1/apps");
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // Oversized bodies are refused.
    let huge = format!("{{\"secret_key\":\"{}\"}}", "x".repeat(2 << 20));
    let (status, answer) = http(addr, "PATCH", &one, bearer(), Some(&huge));
    assert_eq!(status, 413, "{answer}");
}

#[test]
fn friends_are_imported_listed_deleted_and_survive_a_restart() {
    // covers: F1, L6, B1
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![app(true)]);
    let addr = admin(&server);
    let import = format!("/v1/apps/{APP}/friends/import");
    let delete = format!("/v1/apps/{APP}/friends/delete");
    let list = |addr, user: &str| {
        let (status, answer) = get(addr, &format!("/v1/apps/{APP}/friends/{user}"));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["ActionStatus"], "OK");
        answer["Friends"].clone()
    };

    let body = json!({"From_Account": "alice", "To_Account": ["bob", "carol", "bob"]});
    let (status, answer) = send(addr, "POST", &import, &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "Added": 2})
    );
    let (_, answer) = send(addr, "POST", &import, &body);
    assert_eq!(answer["Added"], 0, "importing again adds nothing");
    let (_, answer) = send(
        addr,
        "POST",
        &import,
        &json!({"From_Account": "user with spaces", "To_Account": ["alice"]}),
    );
    assert_eq!(answer["Added"], 1);
    let (_, answer) = send(
        addr,
        "POST",
        &import,
        &json!({"From_Account": "import", "To_Account": ["dave"]}),
    );
    assert_eq!(answer["Added"], 1);

    assert_eq!(list(addr, "alice"), json!(["bob", "carol"]));
    assert_eq!(
        list(addr, "bob"),
        json!([]),
        "friendship is one-directional"
    );
    assert_eq!(list(addr, "user%20with%20spaces"), json!(["alice"]));
    assert_eq!(list(addr, "import"), json!(["dave"]));

    let (status, answer) = send(
        addr,
        "POST",
        &delete,
        &json!({"From_Account": "alice", "To_Account": ["carol", "zed"]}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["Removed"], 1);
    assert_eq!(list(addr, "alice"), json!(["bob"]));

    // Bad input: what was wrong, and nothing changes.
    let too_many: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
    for (body, says) in [
        (
            json!({"From_Account": "alice", "To_Account": too_many}),
            "1000",
        ),
        (json!({"From_Account": "alice", "To_Account": []}), "empty"),
        (
            json!({"From_Account": "alice", "To_Account": ["ok", ""]}),
            "empty",
        ),
        (
            json!({"From_Account": "al\u{e9}", "To_Account": ["x"]}),
            "printable ASCII",
        ),
        (
            json!({"From_Account": "alice", "To_Account": ["x".repeat(33)]}),
            "32",
        ),
        (json!({"From_Account": "alice"}), "To_Account"),
        (
            json!({"From_Account": "alice", "To_Account": [1]}),
            "To_Account[0]",
        ),
        (
            json!({"From_Account": "a", "To_Account": ["b"], "Extra": 1}),
            "Extra",
        ),
    ] {
        let (status, answer) = send(addr, "POST", &import, &body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(error_info(&answer).contains(says), "{body}: {answer}");
        assert_ne!(answer["ErrorCode"], 0);
    }
    let (status, answer) = send(
        addr,
        "POST",
        "/v1/apps/42/friends/import",
        &json!({"From_Account": "a", "To_Account": ["b"]}),
    );
    assert_eq!(status, 404, "{answer}");
    let (status, _) = get(addr, "/v1/apps/42/friends/alice");
    assert_eq!(status, 404);
    assert_eq!(list(addr, "alice"), json!(["bob"]));

    server.stop();
    let server = start(dir.path(), vec![app(true)]);
    let addr = admin(&server);
    assert_eq!(list(addr, "alice"), json!(["bob"]));
    assert_eq!(list(addr, "user%20with%20spaces"), json!(["alice"]));
    assert_eq!(list(addr, "import"), json!(["dave"]));
    assert_eq!(list(addr, "bob"), json!([]));
}

#[test]
fn settings_of_the_default_app_survive_a_restart() {
    // covers: F2, L6
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![]);
    let addr = admin(&server);
    let default = server
        .started()
        .default_app
        .clone()
        .expect("the default app");
    assert_eq!(default.sdk_app_id, DEFAULT_SDK_APP_ID);
    let one = format!("/v1/apps/{DEFAULT_SDK_APP_ID}");
    let (status, patched) = send(
        addr,
        "PATCH",
        &one,
        &json!({"subscription_limit": 50, "friend_status_notify": false}),
    );
    assert_eq!(status, 200, "{patched}");
    server.stop();

    let server = start(dir.path(), vec![]);
    let addr = admin(&server);
    let again = server
        .started()
        .default_app
        .clone()
        .expect("the default app");
    assert_eq!(again.secret_key, default.secret_key, "the key is kept");
    let (status, settings) = get(addr, &one);
    assert_eq!(status, 200);
    assert_eq!(settings["secret_key"], default.secret_key.as_str());
    assert_eq!(settings["subscription_limit"], 50);
    assert_eq!(settings["friend_status_notify"], false);
    assert_eq!(again.subscription_limit, 50);
}

#[test]
fn query_online_status_answers_like_tencent() {
    // covers: Q3, Q5, B1
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![app(false)]);
    let addr = admin(&server);

    let answer = query(addr, APP, &["nobody", "bad\u{1}id", "other", "nobody"], 0);
    assert_eq!(answer["ActionStatus"], "OK", "{answer}");
    assert_eq!(answer["ErrorCode"], 0);
    assert_eq!(
        answer["QueryResult"],
        json!([
            {"To_Account": "nobody", "Status": "Offline"},
            {"To_Account": "other", "Status": "Offline"},
        ]),
        "never-seen users are Offline, duplicates answered once, no Detail unless asked"
    );
    let errors = answer["ErrorList"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{answer}");
    assert_eq!(errors[0]["To_Account"], "bad\u{1}id");
    assert_eq!(errors[0]["ErrorCode"], 70107);

    let answer = query(addr, APP, &["nobody"], 1);
    assert_eq!(
        answer["QueryResult"],
        json!([{"To_Account": "nobody", "Status": "Offline", "Detail": []}])
    );

    let ids: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    for (ids, detail, says) in [
        (&ids[..], 0, "501"),
        (&ids[..0], 0, "empty"),
        (&ids[..1], 2, "IsNeedDetail"),
    ] {
        let answer = query(addr, APP, ids, detail);
        assert_eq!(answer["ActionStatus"], "FAIL", "{answer}");
        assert_eq!(answer["ErrorCode"], 6017, "{answer}");
        assert!(error_info(&answer).contains(says), "{answer}");
    }
    let answer = query(addr, APP, &ids[..500], 0);
    assert_eq!(answer["QueryResult"].as_array().unwrap().len(), 500);

    let (status, answer) = send(
        addr,
        "POST",
        "/v1/apps/42/query_online_status",
        &json!({"To_Account": ["a"]}),
    );
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = send(
        addr,
        "POST",
        &format!("/v1/apps/{APP}/query_online_status"),
        &json!({"To_Account": "a"}),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(error_info(&answer).contains("To_Account"), "{answer}");
}

#[test]
fn query_online_status_follows_a_device() {
    // covers: L3, D1, L6
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![app(false)]);
    let addr = admin(&server);

    let device = Device::login(server.addr(), APP, KEY, "dev", "Android");
    let answer = query(addr, APP, &["dev"], 1);
    assert_eq!(
        answer["QueryResult"],
        json!([{"To_Account": "dev", "Status": "Online",
                "Detail": [{"Platform": "Android", "Status": "Online"}]}]),
        "{answer}"
    );
    let (_, health) = http(addr, "GET", "/v1/health", None, None);
    assert_eq!(health["connections"], 1, "{health}");

    // Closed without logout: OFFLINE (PushOnline) within 1 s (D1), still one logged-in device.
    drop(device);
    let took = wait_for_status(addr, APP, "dev", "PushOnline");
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    let answer = query(addr, APP, &["dev"], 1);
    assert_eq!(
        answer["QueryResult"][0]["Detail"],
        json!([{"Platform": "Android", "Status": "PushOnline"}])
    );

    // A second device online makes the user Online again; the Detail lists both.
    let mut web = Device::login(server.addr(), APP, KEY, "dev", "Web");
    let answer = query(addr, APP, &["dev"], 1);
    assert_eq!(
        answer["QueryResult"][0],
        json!({"To_Account": "dev", "Status": "Online", "Detail": [
            {"Platform": "Android", "Status": "PushOnline"},
            {"Platform": "Web", "Status": "Online"},
        ]})
    );
    let reply = web.call(json!({"op": "logout"}));
    assert_eq!(reply["type"], "ok", "{reply}");
    let answer = query(addr, APP, &["dev"], 1);
    assert_eq!(
        answer["QueryResult"][0],
        json!({"To_Account": "dev", "Status": "PushOnline", "Detail": [
            {"Platform": "Android", "Status": "PushOnline"},
        ]}),
        "a logged-out device is gone; the disconnected one stays"
    );

    // After a restart, the device that never logged out is still OFFLINE, not UNLOGINED (L6).
    let _online = Device::login(server.addr(), APP, KEY, "kept", "iPhone");
    server.stop();
    let server = start(dir.path(), vec![app(false)]);
    let addr = admin(&server);
    let answer = query(addr, APP, &["dev", "kept", "never"], 1);
    assert_eq!(
        answer["QueryResult"],
        json!([
            {"To_Account": "dev", "Status": "PushOnline",
             "Detail": [{"Platform": "Android", "Status": "PushOnline"}]},
            {"To_Account": "kept", "Status": "PushOnline",
             "Detail": [{"Platform": "iPhone", "Status": "PushOnline"}]},
            {"To_Account": "never", "Status": "Offline", "Detail": []},
        ]),
        "{answer}"
    );
}

#[test]
fn app_ids_in_paths_are_taken_only_in_plain_digits() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), vec![app(true)]);
    let addr = admin(&server);
    assert_eq!(get(addr, &format!("/v1/apps/{APP}")).0, 200);
    for bad in [
        format!("+{APP}"),
        format!("0{APP}"),
        format!("{APP}%20"),
        "0".to_string(),
        "4294967296".to_string(),
        "-1".to_string(),
    ] {
        let (status, body) = get(addr, &format!("/v1/apps/{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(error_info(&body).contains("plain digits"), "{bad}: {body}");
    }
}

#[test]
fn idle_and_slow_admin_connections_are_closed_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: "127.0.0.1:0".into(),
        admin_token: Some(TOKEN.into()),
        data_dir: Some(dir.path().to_path_buf()),
        apps: vec![app(true)],
        limits: imstatus_server::Limits {
            admin_header_timeout: Duration::from_secs(1),
            admin_max_connections: 2,
            ..Default::default()
        },
        ..Config::default()
    })
    .expect("the server starts");
    let addr = admin(&server);
    let closed_within = |stream: &mut TcpStream, within: Duration| {
        let started = Instant::now();
        stream.set_read_timeout(Some(within)).unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        started.elapsed() < within
    };
    // One idle, one dripping its headers a byte at a time: both take the two places.
    let mut idle = TcpStream::connect(addr).unwrap();
    let mut dripping = TcpStream::connect(addr).unwrap();
    dripping.write_all(b"G").unwrap();
    // A third is refused while they are open.
    let mut third = TcpStream::connect(addr).unwrap();
    assert!(closed_within(&mut third, Duration::from_secs(5)));
    let started = Instant::now();
    for byte in b"ET /v1/health HTTP/1.1\r\nX-Slow: ".iter().cycle() {
        if dripping.write_all(&[*byte]).is_err() || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the dripping connection was still open after 10 s"
    );
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    // Their places are free again, and a kept-alive connection idle after an answer is closed.
    let mut kept = TcpStream::connect(addr).unwrap();
    kept.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 512];
    let n = kept.read(&mut answer).unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut kept, Duration::from_secs(5)));
}
