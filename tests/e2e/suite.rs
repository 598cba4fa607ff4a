// The end-to-end suite, included by tests/e2e.rs (one node) and tests/e2e_cluster.rs (a cluster),
// which each define `start`: the system under test, with `apps`.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use imstatus::client::{Client, ClientConfig, ClientError, Listener, LoginStatus, UserStatus};
use imstatus::client::{Platform, StatusType};
use imstatus::codes;
use imstatus_server::engine::Edition;

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Connecting,
    ConnectSuccess,
    ConnectFailed(i32),
    Kicked,
    SigExpired,
    Changed(Vec<UserStatus>),
}

struct Recorder(Mutex<Sender<Event>>);

impl Recorder {
    fn send(&self, event: Event) {
        let _ = self.0.lock().unwrap().send(event);
    }
}

impl Listener for Recorder {
    fn on_connecting(&self) {
        self.send(Event::Connecting);
    }
    fn on_connect_success(&self) {
        self.send(Event::ConnectSuccess);
    }
    fn on_connect_failed(&self, code: i32, _desc: &str) {
        self.send(Event::ConnectFailed(code));
    }
    fn on_kicked_offline(&self) {
        self.send(Event::Kicked);
    }
    fn on_user_sig_expired(&self) {
        self.send(Event::SigExpired);
    }
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        self.send(Event::Changed(statuses.to_vec()));
    }
}

/// A logged-in SDK client and the events it delivered.
struct Sdk {
    client: Client,
    events: Receiver<Event>,
    user: String,
}

const WAIT: Duration = Duration::from_secs(5);

fn config(server: &TestServer, platform: Platform) -> ClientConfig {
    let mut config = ClientConfig::new(APP);
    config.server_addr = Some(server.addr().to_string());
    config.platform = platform;
    config.heartbeat_interval = Duration::from_millis(300);
    config.reconnect_base = Duration::from_millis(50);
    config.reconnect_max = Duration::from_millis(500);
    config
}

fn sdk_with(config: ClientConfig, user: &str, user_sig: &str) -> Result<Sdk, ClientError> {
    let client = Client::new(config)?;
    let (tx, events) = channel();
    client.add_listener(Arc::new(Recorder(Mutex::new(tx))));
    call(|done| client.login(user, user_sig, done))?;
    Ok(Sdk {
        client,
        events,
        user: user.to_string(),
    })
}

fn sdk(server: &TestServer, user: &str, platform: Platform) -> Sdk {
    sdk_with(config(server, platform), user, &sig(user)).expect("login")
}

/// Runs a callback-style call and waits for its one answer.
fn call<T: Send + 'static>(
    f: impl FnOnce(Box<dyn FnOnce(Result<T, ClientError>) + Send>),
) -> Result<T, ClientError> {
    let (tx, rx) = channel();
    f(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv_timeout(WAIT).expect("every call answers")
}

impl Sdk {
    fn set(&self, text: &str) -> Result<(), ClientError> {
        call(|done| self.client.set_self_status(Some(text), done))
    }
    fn get(&self, ids: &[&str]) -> Result<Vec<UserStatus>, ClientError> {
        let ids = ids.iter().map(|s| s.to_string()).collect();
        call(|done| self.client.get_user_status(ids, done))
    }
    fn subscribe(&self, ids: &[&str]) -> Result<(), ClientError> {
        let ids = ids.iter().map(|s| s.to_string()).collect();
        call(|done| self.client.subscribe_user_status(ids, done))
    }
    fn unsubscribe(&self, ids: Option<&[&str]>) -> Result<(), ClientError> {
        let ids = ids.map(|ids| ids.iter().map(|s| s.to_string()).collect());
        call(|done| self.client.unsubscribe_user_status(ids, done))
    }

    /// Waits for a change of `user` that satisfies `pred`.
    fn wait_change(&self, user: &str, pred: impl Fn(&UserStatus) -> bool) -> UserStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Changed(list)) => {
                    if let Some(s) = list.iter().find(|s| s.user_id == user && pred(s)) {
                        return s.clone();
                    }
                }
                Ok(_) => {}
                Err(_) => panic!(
                    "{}: no matching change of {user} within {WAIT:?}",
                    self.user
                ),
            }
        }
    }

    fn wait_event(&self, wanted: &Event) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) if e == *wanted => return,
                Ok(_) => {}
                Err(_) => panic!("{}: no {wanted:?} within {WAIT:?}", self.user),
            }
        }
    }

    /// No change of `user` arrives within `quiet`; a later marker change proves delivery works.
    fn assert_no_change_of(&self, user: &str, marker: (&Sdk, &str)) {
        marker.0.set(marker.1).unwrap();
        loop {
            match self.events.recv_timeout(WAIT) {
                Ok(Event::Changed(list)) => {
                    assert!(
                        list.iter().all(|s| s.user_id != user),
                        "{}: unexpected change of {user}: {list:?}",
                        self.user
                    );
                    if list
                        .iter()
                        .any(|s| s.user_id == marker.0.user && s.custom_status == marker.1)
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => panic!("{}: the marker change never arrived", self.user),
            }
        }
    }
}

#[test]
fn custom_status_syncs_to_every_device_of_the_user() {
    // covers: N1, C1, I3
    let server = start(vec![app()]);
    let phone = sdk(&server, "alice", Platform::Android);
    let desktop = sdk(&server, "alice", Platform::Windows);
    phone.set("on a call").unwrap();
    let seen = desktop.wait_change("alice", |s| s.custom_status == "on a call");
    assert_eq!(seen.status_type, StatusType::Online);
    let mut devices = seen.online_devices.clone();
    devices.sort();
    assert_eq!(devices, vec!["Android", "Windows"]);
    phone.wait_change("alice", |s| s.custom_status == "on a call");
    // Clearing with an empty value syncs too.
    desktop.set("").unwrap();
    phone.wait_change("alice", |s| s.custom_status.is_empty());
}

#[test]
fn kicked_device_is_told_and_its_calls_fail() {
    // covers: L2, B1
    let server = start(vec![app()]);
    let first = sdk(&server, "alice", Platform::Mac);
    let _second = sdk(&server, "alice", Platform::Mac);
    first.wait_event(&Event::Kicked);
    assert_eq!(first.client.login_status(), LoginStatus::Logout);
    let err = first.set("x").unwrap_err();
    assert!(
        err.code == codes::ERR_SDK_NOT_LOGGED_IN
            || err.code == codes::ERR_LOGIN_KICKED_OFF_BY_OTHER,
        "{err:?}"
    );
}

#[test]
fn stopped_client_is_offline_for_subscribers_within_a_second() {
    // covers: D1, C3
    let server = start(vec![app()]);
    let bob = sdk(&server, "bob", Platform::IPhone);
    bob.subscribe(&["alice"]).unwrap();
    let alice = sdk(&server, "alice", Platform::Linux);
    bob.wait_change("alice", |s| s.status_type == StatusType::Online);
    alice.set("typing").unwrap();
    bob.wait_change("alice", |s| s.custom_status == "typing");
    let dropped = Instant::now();
    alice.client.shutdown();
    let offline = bob.wait_change("alice", |s| s.status_type == StatusType::Offline);
    assert!(
        dropped.elapsed() < Duration::from_secs(1),
        "{:?}",
        dropped.elapsed()
    );
    assert_eq!(offline.custom_status, "");
}

#[test]
fn heartbeats_keep_a_client_online_past_the_timeout() {
    // covers: D2, D3
    let mut settings = app();
    settings.heartbeat_timeout = Duration::from_millis(1000);
    let server = start(vec![settings]);
    let watcher = sdk(&server, "bob", Platform::Web);
    watcher.subscribe(&["alice", "carol"]).unwrap();
    let alice = sdk(&server, "alice", Platform::Android);
    // Carol logs in by hand and then says nothing: the server times her out.
    let (_carol, _) = Wire::login(server.addr(), "carol", "Android", "c1");
    watcher.wait_change("carol", |s| s.status_type == StatusType::Online);
    let silent_since = Instant::now();
    watcher.wait_change("carol", |s| s.status_type == StatusType::Offline);
    assert!(silent_since.elapsed() >= Duration::from_millis(800));
    // Alice's SDK heartbeats every 300 ms: for three timeouts the watcher hears no change of hers
    // (any OFFLINE would arrive as an event within that window).
    let until = Instant::now() + Duration::from_millis(3000);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if let Ok(Event::Changed(list)) = watcher.events.recv_timeout(left) {
            assert!(
                list.iter().all(|s| s.user_id != "alice"),
                "alice changed while heartbeating: {list:?}"
            );
        }
    }
    let statuses = watcher.get(&["alice"]).unwrap();
    assert_eq!(statuses[0].status_type, StatusType::Online);
    assert_eq!(alice.client.login_status(), LoginStatus::Logined);
}

#[test]
fn a_short_heartbeat_timeout_is_negotiated_and_never_flaps() {
    // covers: D2, D3 (the login reply carries the app's heartbeat timeout)
    let mut settings = app();
    settings.heartbeat_timeout = Duration::from_secs(2);
    let server = start(vec![settings]);
    let watcher = sdk(&server, "bob", Platform::Web);
    watcher.subscribe(&["alice"]).unwrap();
    // Alice's SDK keeps the default configuration: a heartbeat every 120 s.
    let mut defaults = ClientConfig::new(APP);
    defaults.server_addr = Some(server.addr().to_string());
    assert_eq!(defaults.heartbeat_interval, Duration::from_secs(120));
    let alice = sdk_with(defaults, "alice", &sig("alice")).expect("login");
    watcher.wait_change("alice", |s| s.status_type == StatusType::Online);
    // For ten timeouts the watcher hears no change of hers (an OFFLINE would be an event).
    let until = Instant::now() + Duration::from_secs(20);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if let Ok(Event::Changed(list)) = watcher.events.recv_timeout(left) {
            assert!(
                list.iter().all(|s| s.user_id != "alice"),
                "alice flapped with a 2 s timeout: {list:?}"
            );
        }
    }
    assert_eq!(
        watcher.get(&["alice"]).unwrap()[0].status_type,
        StatusType::Online
    );
    assert_eq!(alice.client.login_status(), LoginStatus::Logined);
}

#[test]
fn the_21st_call_in_five_seconds_is_refused() {
    // covers: Q4, S3, Q1
    let server = start(vec![app()]);
    let alice = sdk(&server, "alice", Platform::Linux);
    for i in 0..20 {
        alice
            .get(&["bob"])
            .unwrap_or_else(|e| panic!("call {i}: {e:?}"));
    }
    assert_eq!(
        alice.get(&["bob"]).unwrap_err().code,
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
    // Her own status is never rate-limited.
    for _ in 0..30 {
        assert_eq!(alice.get(&["alice"]).unwrap().len(), 1);
    }
    for i in 0..20 {
        alice
            .subscribe(&["bob"])
            .unwrap_or_else(|e| panic!("call {i}: {e:?}"));
    }
    assert_eq!(
        alice.subscribe(&["bob"]).unwrap_err().code,
        codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    );
}

#[test]
fn batch_limits_and_partial_answers() {
    // covers: Q3, Q5, S2, S4, I2
    let server = start(vec![app()]);
    let alice = sdk(&server, "alice", Platform::Linux);
    let many: Vec<String> = (0..501).map(|i| format!("user{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        alice.get(&refs).unwrap_err().code,
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(alice.get(&refs[..500]).unwrap().len(), 500);
    assert_eq!(
        alice.get(&[]).unwrap_err().code,
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(
        alice.subscribe(&refs[..101]).unwrap_err().code,
        codes::ERR_INVALID_PARAMETERS
    );
    assert_eq!(
        alice.subscribe(&["alice"]).unwrap_err().code,
        codes::ERR_INVALID_PARAMETERS
    );
    // One bad ID among good ones: only the good ones are answered; a never-seen user is UNLOGINED.
    let long = "x".repeat(33);
    let answered = alice.get(&["nobody", &long, "nobody", "alice"]).unwrap();
    let ids: Vec<&str> = answered.iter().map(|s| s.user_id.as_str()).collect();
    assert_eq!(ids, vec!["nobody", "alice"]);
    assert_eq!(answered[0].status_type, StatusType::Unlogined);
    assert_eq!(
        alice.get(&[&long]).unwrap_err().code,
        codes::ERR_INVALID_PARAMETERS
    );
}

#[test]
fn the_201st_subscription_evicts_the_earliest() {
    // covers: S5, S6, N1
    let server = start(vec![app()]);
    let watcher = sdk(&server, "watcher", Platform::Linux);
    let ids: Vec<String> = (0..201).map(|i| format!("u{i:03}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    watcher.subscribe(&refs[..100]).unwrap();
    watcher.subscribe(&refs[100..200]).unwrap();
    watcher.subscribe(&refs[200..]).unwrap();
    // u000 was evicted; u001 is still watched.
    let evicted = sdk(&server, "u000", Platform::Linux);
    let kept = sdk(&server, "u001", Platform::Linux);
    watcher.wait_change("u001", |s| s.status_type == StatusType::Online);
    watcher.assert_no_change_of("u000", (&kept, "marker"));
    evicted.set("unseen").unwrap();
    watcher.assert_no_change_of("u000", (&kept, "marker2"));
    // Unsubscribing everything (S6) stops the rest.
    watcher.unsubscribe(None).unwrap();
    let newest = sdk(&server, "u200", Platform::Linux);
    newest.set("x").unwrap();
    watcher.subscribe(&["u001"]).unwrap();
    watcher.assert_no_change_of("u200", (&kept, "marker3"));
}

#[test]
fn friends_are_notified_only_with_the_switch_on() {
    // covers: N1, F1, F2, N2
    let server = start(vec![app()]);
    let (status, _) = admin(
        server.admin_addr(),
        "POST",
        &format!("/v1/apps/{APP}/friends/import"),
        Some(r#"{"From_Account":"bob","To_Account":["alice"]}"#),
    );
    assert_eq!(status, 200);
    let bob = sdk(&server, "bob", Platform::Android);
    // Bob also subscribes to alice: he must still get each change once (N2).
    bob.subscribe(&["alice"]).unwrap();
    let alice = sdk(&server, "alice", Platform::Windows);
    bob.wait_change("alice", |s| s.status_type == StatusType::Online);
    alice.set("one").unwrap();
    bob.wait_change("alice", |s| s.custom_status == "one");
    alice.set("two").unwrap();
    let next = bob.wait_change("alice", |_| true);
    assert_eq!(next.custom_status, "two", "no duplicate of \"one\" (N2)");
    // Alice does not have bob as a friend: she hears nothing of him (F1 is one-directional).
    alice.assert_no_change_of("bob", (&alice, "mine"));
    bob.set("bob's").unwrap();
    alice.assert_no_change_of("bob", (&alice, "mine again"));

    // Without the subscription, the friend switch alone decides.
    bob.unsubscribe(None).unwrap();
    alice.set("three").unwrap();
    bob.wait_change("alice", |s| s.custom_status == "three");
    let (status, _) = admin(
        server.admin_addr(),
        "PATCH",
        &format!("/v1/apps/{APP}"),
        Some(r#"{"friend_status_notify":false}"#),
    );
    assert_eq!(status, 200);
    alice.set("four").unwrap();
    let carol = sdk(&server, "carol", Platform::Mac);
    bob.subscribe(&["carol"]).unwrap();
    bob.assert_no_change_of("alice", (&carol, "marker"));
}

#[test]
fn edition_and_switch_are_enforced() {
    // covers: Q2, S1, C2, Q1
    let mut basic = app();
    basic.edition = Edition::Basic;
    let server = start(vec![basic]);
    let alice = sdk(&server, "alice", Platform::Linux);
    assert_eq!(
        alice.get(&["bob"]).unwrap_err().code,
        codes::ERR_SDK_INTERFACE_NOT_SUPPORT
    );
    assert_eq!(
        alice.subscribe(&["bob"]).unwrap_err().code,
        codes::ERR_SDK_INTERFACE_NOT_SUPPORT
    );
    assert_eq!(
        alice.unsubscribe(None).unwrap_err().code,
        codes::ERR_SDK_INTERFACE_NOT_SUPPORT
    );
    alice.set("fine without ultimate").unwrap();
    assert_eq!(
        alice.get(&["alice"]).unwrap()[0].custom_status,
        "fine without ultimate"
    );

    let (status, _) = admin(
        server.admin_addr(),
        "PATCH",
        &format!("/v1/apps/{APP}"),
        Some(r#"{"edition":"ultimate","status_enabled":false}"#),
    );
    assert_eq!(status, 200);
    assert_eq!(
        alice.get(&["bob"]).unwrap_err().code,
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(
        alice.subscribe(&["bob"]).unwrap_err().code,
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(
        alice.unsubscribe(Some(&["bob"])).unwrap_err().code,
        codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED
    );
    assert_eq!(alice.get(&["alice"]).unwrap().len(), 1);
}

#[test]
fn after_a_server_restart_every_client_holds_the_current_status() {
    // covers: N4, L6, D3, D4
    let mut server = start(vec![app()]);
    let alice = sdk(&server, "alice", Platform::Linux);
    alice.subscribe(&["bob", "carol"]).unwrap();
    let bob = sdk(&server, "bob", Platform::Android);
    let carol = sdk(&server, "carol", Platform::IPhone);
    bob.set("before").unwrap();
    alice.wait_change("bob", |s| s.custom_status == "before");
    carol.set("gone soon").unwrap();
    alice.wait_change("carol", |s| s.custom_status == "gone soon");
    // Carol's app dies while the server is down: she will be OFFLINE after the restart (L6).
    carol.client.shutdown();
    server.restart();

    // D4: alice's SDK noticed its own account went offline, then came back with the server's status.
    alice.wait_change("alice", |s| {
        s.status_type == StatusType::Offline && s.custom_status.is_empty()
    });
    alice.wait_change("alice", |s| s.status_type == StatusType::Online);
    bob.wait_change("bob", |s| s.status_type == StatusType::Offline);
    bob.wait_change("bob", |s| s.status_type == StatusType::Online);
    bob.set("after").unwrap();
    alice.wait_change("bob", |s| s.custom_status == "after");
    let deadline = Instant::now() + WAIT;
    loop {
        let carol_seen = alice.client.cached_status("carol");
        if carol_seen.as_ref().map(|s| s.status_type) == Some(StatusType::Offline) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alice must hold carol as OFFLINE: {carol_seen:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        alice.client.cached_status("bob").unwrap().custom_status,
        "after"
    );
    let carol_now = alice.get(&["carol"]).unwrap();
    assert_eq!(
        carol_now[0].status_type,
        StatusType::Offline,
        "L6: not UNLOGINED"
    );
}

#[test]
fn a_usersig_made_by_the_python_package_logs_in() {
    // covers: L1
    let server = start(vec![app()]);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            &format!(
                "import TLSSigAPIv2; api = TLSSigAPIv2.TLSSigAPIv2({APP}, '{KEY}'); \
                 f = getattr(api, 'gen_sig', None) or api.genUserSig; print(f('pyuser', 3600))"
            ),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{python} is needed: {e}"));
    assert!(
        out.status.success(),
        "the PyPI package tls-sig-api-v2 is needed (pip install tls-sig-api-v2): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python_sig = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let pyuser = sdk_with(config(&server, Platform::Linux), "pyuser", &python_sig).unwrap();
    assert_eq!(pyuser.client.login_user().as_deref(), Some("pyuser"));
    // The same sig for another user is refused with 70013; a wrong key with 70003.
    let err = sdk_with(config(&server, Platform::Linux), "other", &python_sig)
        .err()
        .unwrap();
    assert_eq!(err.code, codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID);
    let forged = imstatus_server::usersig::generate(APP, "wrong key", "eve", 3600, now_secs());
    let err = sdk_with(config(&server, Platform::Linux), "eve", &forged)
        .err()
        .unwrap();
    assert_eq!(err.code, codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED);
}

#[test]
fn the_server_time_is_the_real_servers_clock() {
    // The server runs on this machine, so its clock is the local one: after the login the
    // client's answer comes from the server's stamp and agrees with the local clock.
    let server = start(vec![app()]);
    let client = Client::new(config(&server, Platform::Linux)).unwrap();
    assert!(!client.server_time_is_known());
    call(|done| client.login("alice", &sig("alice"), done)).unwrap();
    assert!(client.server_time_is_known());
    let local = imstatus::client::local_unix_ms() as i64;
    let server_ms = client.server_time_ms() as i64;
    assert!(
        (server_ms - local).abs() < 2000,
        "server {server_ms} ms, local {local} ms"
    );
}
