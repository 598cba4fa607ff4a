//! The client against a fake server that speaks the protocol by hand, one frame at a time, so
//! each test decides exactly what the server says and when.
//!
//! Every wait is a channel receive with a deadline; nothing sleeps and hopes.

use std::net::SocketAddr;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imstatus::client::{Client, ClientConfig, ClientError, Listener, LoginStatus, UserStatus};
use imstatus::codes;
use imstatus::protocol::{
    decode_request, encode, read_frame, write_frame, ClientFrame, Platform, Request, ServerMessage,
    StatusType, WireStatus, MAX_REQUEST_FRAME_LEN, PROTOCOL_VERSION,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);
const APP: u32 = 1400000000;

// ---- the fake server ---------------------------------------------------------------------

enum Out {
    Message(ServerMessage),
    Raw(Vec<u8>),
    Close,
}

/// One accepted connection, driven by the test.
struct FakeConn {
    requests: Receiver<ClientFrame>,
    out: mpsc::UnboundedSender<Out>,
}

impl FakeConn {
    fn next(&self) -> ClientFrame {
        self.requests
            .recv_timeout(WAIT)
            .expect("the client sent nothing")
    }

    /// The next frame that is not a heartbeat (answering heartbeats on the way).
    fn next_non_heartbeat(&self) -> ClientFrame {
        loop {
            let frame = self.next();
            if frame.request == Request::Heartbeat {
                self.ok(frame.id, vec![]);
            } else {
                return frame;
            }
        }
    }

    fn send(&self, message: ServerMessage) {
        self.out.send(Out::Message(message)).unwrap();
    }

    fn ok(&self, id: u64, statuses: Vec<WireStatus>) {
        self.ok_stamped(id, statuses, None);
    }

    /// An `ok` carrying the server's clock, as login and heartbeat replies do.
    fn ok_stamped(&self, id: u64, statuses: Vec<WireStatus>, server_time_ms: Option<u64>) {
        self.send(ServerMessage::Ok {
            id,
            statuses,
            protocol_version: None,
            server_time_ms,
            heartbeat_timeout_ms: None,
        });
    }

    fn error(&self, id: u64, code: i32, desc: &str) {
        self.send(ServerMessage::Error {
            id,
            code,
            desc: desc.into(),
        });
    }

    fn push(&self, statuses: Vec<WireStatus>) {
        self.send(ServerMessage::StatusChanged { statuses });
    }

    fn close(&self) {
        let _ = self.out.send(Out::Close);
    }

    fn hello(&self) {
        let frame = self.next();
        assert_eq!(
            frame.request,
            Request::Hello {
                version: PROTOCOL_VERSION
            }
        );
        self.send(ServerMessage::Ok {
            id: frame.id,
            statuses: vec![],
            protocol_version: Some(PROTOCOL_VERSION),
            server_time_ms: None,
            heartbeat_timeout_ms: None,
        });
    }

    /// Expects a login and returns it without answering.
    fn expect_login(&self) -> (u64, String, String, String) {
        let frame = self.next();
        match frame.request {
            Request::Login {
                sdk_app_id,
                user_id,
                user_sig,
                platform,
                device_id,
            } => {
                assert_eq!(sdk_app_id, APP);
                assert_eq!(platform, Platform::Linux);
                (frame.id, user_id, user_sig, device_id)
            }
            other => panic!("expected a login, got {other:?}"),
        }
    }

    /// Handshake and a successful login with `snapshot`; returns the login's device ID.
    fn accept_login(&self, snapshot: Vec<WireStatus>) -> String {
        self.hello();
        let (id, _, _, device_id) = self.expect_login();
        self.ok(id, snapshot);
        device_id
    }

    /// Whether the client closed the connection (its frames stopped with an end of stream).
    fn wait_closed(&self) {
        loop {
            match self.requests.recv_timeout(WAIT) {
                Ok(frame) if frame.request == Request::Heartbeat => continue,
                Ok(frame) => panic!("unexpected frame {frame:?}"),
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => panic!("the client kept the connection open"),
            }
        }
    }
}

struct FakeServer {
    addr: SocketAddr,
    conns: Receiver<FakeConn>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeServer {
    fn start() -> FakeServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let (conns_tx, conns) = channel();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (requests_tx, requests) = channel();
                let (out, mut out_rx) = mpsc::unbounded_channel::<Out>();
                if conns_tx.send(FakeConn { requests, out }).is_err() {
                    return;
                }
                let (mut reader, mut writer) = stream.into_split();
                let reading = tokio::spawn(async move {
                    while let Ok(bytes) = read_frame(&mut reader, MAX_REQUEST_FRAME_LEN).await {
                        let frame = decode_request(&bytes).expect("the client sent garbage");
                        if requests_tx.send(frame).is_err() {
                            return;
                        }
                    }
                });
                tokio::spawn(async move {
                    while let Some(out) = out_rx.recv().await {
                        let bytes = match out {
                            Out::Message(message) => encode(&message),
                            Out::Raw(bytes) => bytes,
                            Out::Close => break,
                        };
                        if write_frame(&mut writer, &bytes).await.is_err()
                            || writer.flush().await.is_err()
                        {
                            break;
                        }
                    }
                    reading.abort();
                });
            }
        });
        FakeServer {
            addr,
            conns,
            _runtime: runtime,
        }
    }

    fn accept(&self) -> FakeConn {
        self.conns
            .recv_timeout(WAIT)
            .expect("the client did not connect")
    }

    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(APP);
        config.server_addr = Some(self.addr.to_string());
        config.platform = Platform::Linux;
        config.heartbeat_interval = Duration::from_secs(60);
        config.request_timeout = Duration::from_secs(5);
        config.reconnect_base = Duration::from_millis(20);
        config.reconnect_max = Duration::from_millis(200);
        config
    }
}

fn wire(user: &str, status_type: StatusType, custom: &str, version: u64) -> WireStatus {
    WireStatus {
        user_id: user.into(),
        status_type: status_type as u8,
        custom_status: custom.into(),
        online_devices: if status_type == StatusType::Online {
            vec!["Linux".into()]
        } else {
            vec![]
        },
        version,
    }
}

// ---- what the client reports, in one ordered stream ---------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Connecting,
    ConnectSuccess,
    ConnectFailed(i32),
    Kicked,
    SigExpired,
    /// (user, status, custom status) of each entry.
    Changed(Vec<(String, StatusType, String)>),
    Done(&'static str, Result<(), i32>),
    Statuses(&'static str, Result<Vec<(String, StatusType, String)>, i32>),
}

struct Recorder(Mutex<Sender<Ev>>);

impl Recorder {
    fn send(&self, ev: Ev) {
        let _ = self.0.lock().unwrap().send(ev);
    }
}

impl Listener for Recorder {
    fn on_connecting(&self) {
        self.send(Ev::Connecting);
    }
    fn on_connect_success(&self) {
        self.send(Ev::ConnectSuccess);
    }
    fn on_connect_failed(&self, code: i32, _desc: &str) {
        self.send(Ev::ConnectFailed(code));
    }
    fn on_kicked_offline(&self) {
        self.send(Ev::Kicked);
    }
    fn on_user_sig_expired(&self) {
        self.send(Ev::SigExpired);
    }
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        self.send(Ev::Changed(brief(statuses)));
    }
}

fn brief(statuses: &[UserStatus]) -> Vec<(String, StatusType, String)> {
    statuses
        .iter()
        .map(|s| (s.user_id.clone(), s.status_type, s.custom_status.clone()))
        .collect()
}

fn entry(user: &str, status_type: StatusType, custom: &str) -> (String, StatusType, String) {
    (user.into(), status_type, custom.into())
}

struct Harness {
    client: Client,
    events: Receiver<Ev>,
    tx: Sender<Ev>,
}

impl Harness {
    fn new(config: ClientConfig) -> Harness {
        let client = Client::new(config).unwrap();
        let (tx, events) = channel();
        client.add_listener(Arc::new(Recorder(Mutex::new(tx.clone()))));
        Harness { client, events, tx }
    }

    fn done(&self, label: &'static str) -> impl FnOnce(Result<(), ClientError>) + Send {
        let tx = self.tx.clone();
        move |r| {
            let _ = tx.send(Ev::Done(label, r.map_err(|e| e.code)));
        }
    }

    fn statuses(
        &self,
        label: &'static str,
    ) -> impl FnOnce(Result<Vec<UserStatus>, ClientError>) + Send {
        let tx = self.tx.clone();
        move |r| {
            let _ = tx.send(Ev::Statuses(
                label,
                r.map(|s| brief(&s)).map_err(|e| e.code),
            ));
        }
    }

    fn next(&self) -> Ev {
        self.events
            .recv_timeout(WAIT)
            .expect("the client reported nothing")
    }

    fn expect(&self, expected: Ev) {
        assert_eq!(self.next(), expected);
    }

    /// Logs in through the fake server with `snapshot`.
    fn login(&self, server: &FakeServer, user: &str, snapshot: Vec<WireStatus>) -> FakeConn {
        self.client.login(user, "sig", self.done("login"));
        self.expect(Ev::Connecting);
        let conn = server.accept();
        conn.hello();
        self.expect(Ev::ConnectSuccess);
        let (id, user_id, user_sig, device_id) = conn.expect_login();
        assert_eq!(user_id, user);
        assert_eq!(user_sig, "sig");
        assert_eq!(device_id, self.client.device_id());
        conn.ok(id, snapshot);
        self.expect(Ev::Done("login", Ok(())));
        conn
    }
}

// ---- tests --------------------------------------------------------------------------------

#[test]
fn pushes_disconnect_reconnect_and_resync() {
    // covers: N3, N4, N5, D3, D4
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    let conn = h.login(
        &server,
        "me",
        vec![
            wire("me", StatusType::Online, "hi", 3),
            wire("bob", StatusType::Online, "", 5),
        ],
    );
    // The first snapshot fills the cache silently.
    assert_eq!(h.client.login_status(), LoginStatus::Logined);
    assert_eq!(h.client.login_user().as_deref(), Some("me"));
    assert_eq!(
        h.client.cached_status("bob").unwrap().status_type,
        StatusType::Online
    );
    assert_eq!(h.client.cached_status("me").unwrap().custom_status, "hi");

    // One push, several users (N5).
    conn.push(vec![
        wire("bob", StatusType::Offline, "", 6),
        wire("carol", StatusType::Online, "x", 1),
    ]);
    h.expect(Ev::Changed(vec![
        entry("bob", StatusType::Offline, ""),
        entry("carol", StatusType::Online, "x"),
    ]));
    // An older version is dropped (N3): the next event is the push after it.
    conn.push(vec![wire("bob", StatusType::Online, "stale", 4)]);
    conn.push(vec![
        wire("bob", StatusType::Online, "old", 5),
        wire("carol", StatusType::Online, "y", 2),
    ]);
    h.expect(Ev::Changed(vec![entry("carol", StatusType::Online, "y")]));

    // A query answer updates the cache but fires no listener event.
    h.client
        .get_user_status(vec!["bob".into()], h.statuses("query"));
    let frame = conn.next_non_heartbeat();
    assert_eq!(
        frame.request,
        Request::GetUserStatus {
            user_ids: vec!["bob".into()]
        }
    );
    conn.ok(frame.id, vec![wire("bob", StatusType::Online, "back", 7)]);
    h.expect(Ev::Statuses(
        "query",
        Ok(vec![entry("bob", StatusType::Online, "back")]),
    ));
    assert_eq!(h.client.cached_status("bob").unwrap().custom_status, "back");

    // The reply is delivered before the push the same request caused.
    h.client.set_self_status(Some("new"), h.done("set"));
    let frame = conn.next_non_heartbeat();
    assert_eq!(
        frame.request,
        Request::SetSelfStatus {
            custom_status: Some("new".into())
        }
    );
    conn.ok(frame.id, vec![]);
    conn.push(vec![wire("me", StatusType::Online, "new", 4)]);
    h.expect(Ev::Done("set", Ok(())));
    h.expect(Ev::Changed(vec![entry("me", StatusType::Online, "new")]));

    // The connection drops: D4 first, then reconnecting.
    conn.close();
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);
    assert_eq!(h.client.login_status(), LoginStatus::Logined);
    let own = h.client.cached_status("me").unwrap();
    assert_eq!(own.status_type, StatusType::Offline);
    assert!(own.custom_status.is_empty() && own.online_devices.is_empty());

    // Reconnect with the same device; the server hands over before answering the handshake,
    // so a call made now finds the client disconnected.
    let conn = server.accept();
    h.client
        .subscribe_user_status(vec!["x".into()], h.done("early"));
    h.expect(Ev::Done("early", Err(codes::ERR_SDK_NET_DISCONNECT)));
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let (id, user, sig, device) = conn.expect_login();
    assert_eq!(
        (user.as_str(), sig.as_str(), device.as_str()),
        ("me", "sig", h.client.device_id())
    );
    // The server still says "new" for me at the same version (it saw a replaced connection,
    // not a change); bob unchanged; dave is new. Only me and dave are notified.
    conn.ok(
        id,
        vec![
            wire("me", StatusType::Online, "new", 4),
            wire("bob", StatusType::Online, "back", 7),
            wire("dave", StatusType::Offline, "", 2),
        ],
    );
    h.expect(Ev::Changed(vec![
        entry("me", StatusType::Online, "new"),
        entry("dave", StatusType::Offline, ""),
    ]));
    assert_eq!(h.client.cached_status("me").unwrap().custom_status, "new");

    // Pushes flow again after the resync.
    conn.push(vec![wire("bob", StatusType::Offline, "", 8)]);
    h.expect(Ev::Changed(vec![entry("bob", StatusType::Offline, "")]));

    // Logout: the server is told and answers; the client closes and forgets.
    h.client.logout(h.done("logout"));
    let frame = conn.next_non_heartbeat();
    assert_eq!(frame.request, Request::Logout);
    conn.ok(frame.id, vec![]);
    h.expect(Ev::Done("logout", Ok(())));
    conn.wait_closed();
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
    assert_eq!(h.client.login_user(), None);
    assert!(h.client.cached_status("bob").is_none());
}

#[test]
fn kicked_offline_ends_the_session_without_reconnecting() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);
    conn.send(ServerMessage::Kicked);
    conn.close();
    h.expect(Ev::Kicked);
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
    h.client.set_self_status(None, h.done("after"));
    h.expect(Ev::Done("after", Err(codes::ERR_SDK_NOT_LOGGED_IN)));
    // No D4, no reconnect: the listener heard nothing else. A fresh login works.
    assert!(h.events.try_recv().is_err());
    let _conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 2)]);
}

#[test]
fn user_sig_expired_push_and_expired_relogin_stop_the_session() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());

    let conn = h.login(&server, "me", vec![]);
    conn.send(ServerMessage::UserSigExpired);
    h.expect(Ev::SigExpired);
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
    conn.wait_closed();

    // A reconnect whose re-login is refused with 70001 gives up too; other refusals retry.
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);
    conn.close();
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);
    let conn = server.accept();
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let (id, ..) = conn.expect_login();
    conn.error(id, codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED, "bad sig");
    h.expect(Ev::ConnectFailed(
        codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED,
    ));
    h.expect(Ev::Connecting);
    assert_eq!(h.client.login_status(), LoginStatus::Logined);
    let conn = server.accept();
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let (id, ..) = conn.expect_login();
    conn.error(id, codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED, "expired");
    h.expect(Ev::SigExpired);
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
    conn.wait_closed();
}

#[test]
fn a_refused_login_reports_the_servers_code_only_to_the_caller() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    h.client.login("me", "bad", h.done("login"));
    h.expect(Ev::Connecting);
    let conn = server.accept();
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let (id, ..) = conn.expect_login();
    conn.error(id, codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED, "expired");
    h.expect(Ev::Done(
        "login",
        Err(codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED),
    ));
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
    conn.wait_closed();
    assert!(h.events.try_recv().is_err());
}

#[test]
fn in_flight_requests_fail_on_disconnect_timeout_and_shutdown() {
    let server = FakeServer::start();
    let mut config = server.config();
    config.request_timeout = Duration::from_secs(1);
    let h = Harness::new(config);
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);

    // Unanswered: 6012 after the request timeout.
    h.client
        .get_user_status(vec!["bob".into()], h.statuses("slow"));
    let _ = conn.next_non_heartbeat();
    h.expect(Ev::Statuses("slow", Err(codes::ERR_REQUEST_TIME_OUT)));

    // In flight when the connection drops: 9508, before the D4 notification.
    h.client
        .subscribe_user_status(vec!["bob".into()], h.done("sub"));
    let _ = conn.next_non_heartbeat();
    conn.close();
    h.expect(Ev::Done("sub", Err(codes::ERR_SDK_NET_DISCONNECT)));
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);

    // In flight at shutdown: 6013, once.
    let conn = server.accept();
    conn.accept_login(vec![wire("me", StatusType::Online, "", 2)]);
    h.expect(Ev::ConnectSuccess);
    h.expect(Ev::Changed(vec![entry("me", StatusType::Online, "")]));
    h.client.unsubscribe_user_status(None, h.done("unsub"));
    let frame = conn.next_non_heartbeat();
    assert_eq!(frame.request, Request::Unsubscribe { user_ids: None });
    h.client.shutdown();
    h.expect(Ev::Done("unsub", Err(codes::ERR_SDK_NOT_INITIALIZED)));
    h.client.logout(h.done("late"));
    h.expect(Ev::Done("late", Err(codes::ERR_SDK_NOT_INITIALIZED)));
    conn.wait_closed();
    assert!(h.events.try_recv().is_err());
}

#[test]
fn heartbeats_are_sent_and_a_silent_server_is_declared_dead() {
    // covers: D3
    let server = FakeServer::start();
    let mut config = server.config();
    config.heartbeat_interval = Duration::from_millis(100);
    config.request_timeout = Duration::from_millis(500);
    let h = Harness::new(config);
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);
    // Answered heartbeats keep the connection.
    for _ in 0..3 {
        let frame = conn.next();
        assert_eq!(frame.request, Request::Heartbeat);
        conn.ok(frame.id, vec![]);
    }
    // Then the server goes silent without closing: the client gives up on it and reconnects.
    let frame = conn.next();
    assert_eq!(frame.request, Request::Heartbeat);
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);
    let conn2 = server.accept();
    conn.wait_closed();
    conn2.accept_login(vec![wire("me", StatusType::Online, "", 1)]);
    h.expect(Ev::ConnectSuccess);
    h.expect(Ev::Changed(vec![entry("me", StatusType::Online, "")]));
}

#[test]
fn garbage_from_the_server_breaks_only_the_connection() {
    // covers: B1
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);
    conn.out
        .send(Out::Raw(b"{\"type\":\"no such thing\"}".to_vec()))
        .unwrap();
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);
    conn.wait_closed();
    let conn = server.accept();
    conn.accept_login(vec![wire("me", StatusType::Online, "", 2)]);
    h.expect(Ev::ConnectSuccess);
    h.expect(Ev::Changed(vec![entry("me", StatusType::Online, "")]));
    // Bytes that are not even UTF-8 are garbage too.
    conn.out.send(Out::Raw(vec![0xff; 16])).unwrap();
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);
}

#[test]
fn login_as_the_same_user_is_a_no_op_and_another_user_logs_out_first() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    let conn = h.login(
        &server,
        "alice",
        vec![wire("alice", StatusType::Online, "", 1)],
    );
    h.client.login("alice", "sig2", h.done("again"));
    h.expect(Ev::Done("again", Ok(())));

    h.client.login("bob", "sig", h.done("switch"));
    let frame = conn.next_non_heartbeat();
    assert_eq!(frame.request, Request::Logout);
    conn.ok(frame.id, vec![]);
    h.expect(Ev::Connecting);
    conn.wait_closed();
    let conn = server.accept();
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let (id, user, ..) = conn.expect_login();
    assert_eq!(user, "bob");
    conn.ok(id, vec![wire("bob", StatusType::Online, "", 1)]);
    h.expect(Ev::Done("switch", Ok(())));
    assert_eq!(h.client.login_user().as_deref(), Some("bob"));
    assert!(h.client.cached_status("alice").is_none());
}

#[test]
fn blocking_calls_work_from_other_threads() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    let client = Arc::new(h.client);
    let worker = {
        let client = Arc::clone(&client);
        std::thread::spawn(move || {
            client.login_blocking("me", "sig")?;
            client.get_user_status_blocking(vec!["me".into()])
        })
    };
    let conn = server.accept();
    conn.accept_login(vec![wire("me", StatusType::Online, "x", 1)]);
    let frame = conn.next_non_heartbeat();
    conn.ok(frame.id, vec![wire("me", StatusType::Online, "x", 1)]);
    let statuses = worker.join().unwrap().unwrap();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].custom_status, "x");
    assert_eq!(statuses[0].online_devices, vec!["Linux".to_owned()]);
}

#[test]
fn a_connection_lost_during_the_first_login_fails_it_with_9508() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    h.client.login("me", "sig", h.done("login"));
    h.expect(Ev::Connecting);
    let conn = server.accept();
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let _ = conn.expect_login();
    conn.close();
    h.expect(Ev::ConnectFailed(codes::ERR_SDK_NET_DISCONNECT));
    h.expect(Ev::Done("login", Err(codes::ERR_SDK_NET_DISCONNECT)));
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
}

#[test]
fn logout_while_reconnecting_ends_the_session_locally() {
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);
    conn.close();
    h.expect(Ev::Changed(vec![entry("me", StatusType::Offline, "")]));
    h.expect(Ev::Connecting);
    // The reconnect is held at the handshake: the client is logged in but not connected.
    let pending = server.accept();
    h.client.logout(h.done("logout"));
    h.expect(Ev::Done("logout", Ok(())));
    assert_eq!(h.client.login_status(), LoginStatus::Logout);
    assert!(h.client.cached_status("me").is_none());
    // The half-open attempt is abandoned (its hello, if sent, is never answered).
    let _ = pending.requests.recv_timeout(WAIT);
    pending.wait_closed();
    h.client.logout(h.done("again"));
    h.expect(Ev::Done("again", Err(codes::ERR_SDK_NOT_LOGGED_IN)));
}

// ---- the server's clock -------------------------------------------------------------------

const HOUR_MS: i64 = 3_600_000;

/// How far the client's idea of the server's clock is from the local clock, in ms.
fn server_clock_offset(client: &Client) -> i64 {
    client.server_time_ms() as i64 - imstatus::client::local_unix_ms() as i64
}

#[test]
fn the_server_time_comes_from_the_login_reply() {
    // The fake server's clock runs an hour ahead: only its stamp can explain the answer.
    let server = FakeServer::start();
    let h = Harness::new(server.config());
    assert!(server_clock_offset(&h.client).abs() < 1000);
    assert!(!h.client.server_time_is_known());
    h.client.login("me", "sig", h.done("login"));
    h.expect(Ev::Connecting);
    let conn = server.accept();
    conn.hello();
    h.expect(Ev::ConnectSuccess);
    let (id, ..) = conn.expect_login();
    let stamp = imstatus::client::local_unix_ms() + HOUR_MS as u64;
    conn.ok_stamped(id, vec![wire("me", StatusType::Online, "", 1)], Some(stamp));
    h.expect(Ev::Done("login", Ok(())));
    assert!(h.client.server_time_is_known());
    let offset = server_clock_offset(&h.client);
    assert!((offset - HOUR_MS).abs() < 5000, "offset {offset} ms");
    // Kept after logout and shutdown: the clock is still the server's.
    h.client.logout(h.done("logout"));
    let frame = conn.next_non_heartbeat();
    conn.ok(frame.id, vec![]);
    h.expect(Ev::Done("logout", Ok(())));
    h.client.shutdown();
    let offset = server_clock_offset(&h.client);
    assert!(
        (offset - HOUR_MS).abs() < 5000,
        "offset {offset} ms after shutdown"
    );
}

#[test]
fn the_server_time_comes_from_heartbeat_replies() {
    // No stamp at login; the first heartbeat reply says the server is two hours behind.
    let server = FakeServer::start();
    let mut config = server.config();
    config.heartbeat_interval = Duration::from_millis(100);
    let h = Harness::new(config);
    let conn = h.login(&server, "me", vec![wire("me", StatusType::Online, "", 1)]);
    assert!(!h.client.server_time_is_known());
    let frame = conn.next();
    assert_eq!(frame.request, Request::Heartbeat);
    let stamp = imstatus::client::local_unix_ms() - 2 * HOUR_MS as u64;
    conn.ok_stamped(frame.id, vec![], Some(stamp));
    // The reply is handled on the client's own task: wait for it, with a deadline.
    let deadline = std::time::Instant::now() + WAIT;
    while !h.client.server_time_is_known() {
        assert!(
            std::time::Instant::now() < deadline,
            "the heartbeat reply was not taken"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let offset = server_clock_offset(&h.client);
    assert!((offset + 2 * HOUR_MS).abs() < 5000, "offset {offset} ms");
}
