//! Helpers for tests of the server and of programs that talk to it (the SDK's tests, the
//! benchmarks): a real server on loopback port 0 with a data directory of its own, UserSigs for
//! a test app, a raw protocol client over std TCP, and a minimal admin API call.

pub mod redis;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imstatus_protocol::{ServerMessage, WireStatus};

use crate::dev_cert::DevCa;
use crate::engine::AppSettings;
use crate::{spawn, usersig, Config, Limits, ServerHandle};

/// The sdkAppID of the test app.
pub const APP: u32 = 1_400_000_123;
/// The secret key of the test app.
pub const KEY: &str = "test-secret-key";

/// An Ultimate app with both switches on. Tests drive status changes much faster than a
/// person does, so its abuse cap on setSelfStatus is lifted (tests of the cap set their own).
pub fn app() -> AppSettings {
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = true;
    app.friend_status_notify = true;
    app.set_status_rate.calls = 1_000_000;
    app
}

/// A server on loopback port 0 with `apps` and a fresh data directory.
pub struct TestServer {
    /// The running server; `None` only inside [`TestServer::restart`].
    pub handle: Option<ServerHandle>,
    /// Its data directory, removed when the test server is dropped.
    pub data_dir: TempDir,
    /// The apps it was started with.
    pub apps: Vec<AppSettings>,
    /// The limits it was started with.
    pub limits: Limits,
    /// The CA its TLS certificate comes from, when it has a TLS listener.
    pub tls_ca: Option<Arc<DevCa>>,
    /// When the server is a cluster: its other nodes and the Redis Cluster they share.
    cluster: Option<TestCluster>,
}

/// The rest of a test cluster: `handle` is its first node.
struct TestCluster {
    // The nodes stop before Redis does (fields drop in order).
    others: Vec<ServerHandle>,
    redis: redis::RedisCluster,
    /// Which node [`TestServer::addr`] names next.
    next: AtomicU64,
}

/// How many nodes a test cluster has.
const CLUSTER_NODES: usize = 3;

impl TestServer {
    /// Starts a server with `apps`, a fresh data directory and admin token `admin-token`.
    pub fn start(apps: Vec<AppSettings>) -> TestServer {
        TestServer::start_with(apps, Limits::default())
    }

    /// Starts a server with `apps` and `limits`.
    pub fn start_with(apps: Vec<AppSettings>, limits: Limits) -> TestServer {
        let data_dir = TempDir::new();
        let mut server = TestServer {
            handle: None,
            data_dir,
            apps,
            limits,
            tls_ca: None,
            cluster: None,
        };
        server.handle = Some(server.spawn_on("127.0.0.1:0", "127.0.0.1:0"));
        server
    }

    /// Starts a cluster with `apps`: three nodes (in this process) on a real 3-master Redis
    /// Cluster started for it. [`TestServer::addr`] names the nodes in turn, so that clients
    /// spread over them; the admin API is the first node's (any node answers for all).
    pub fn start_cluster(apps: Vec<AppSettings>) -> TestServer {
        let mut server = TestServer {
            handle: None,
            data_dir: TempDir::new(),
            apps,
            limits: Limits::default(),
            tls_ca: None,
            cluster: Some(TestCluster {
                others: Vec::new(),
                redis: redis::RedisCluster::start(3),
                next: AtomicU64::new(0),
            }),
        };
        server.handle = Some(server.spawn_on("127.0.0.1:0", "127.0.0.1:0"));
        let others = (1..CLUSTER_NODES)
            .map(|_| server.spawn_on("127.0.0.1:0", "127.0.0.1:0"))
            .collect();
        if let Some(cluster) = &mut server.cluster {
            cluster.others = others;
        }
        server
    }

    /// Starts a server with `apps` and, beside the plaintext listener, a TLS one whose
    /// certificate (for `localhost` and `127.0.0.1`) comes from a CA made here
    /// ([`TestServer::tls_ca_pem`]).
    pub fn start_tls(apps: Vec<AppSettings>) -> TestServer {
        let data_dir = TempDir::new();
        let mut server = TestServer {
            handle: None,
            data_dir,
            apps,
            limits: Limits::default(),
            tls_ca: Some(Arc::new(DevCa::new("imstatus test CA"))),
            cluster: None,
        };
        server.handle = Some(server.spawn_on("127.0.0.1:0", "127.0.0.1:0"));
        server
    }

    /// Where SDK clients connect over TLS.
    pub fn tls_addr(&self) -> SocketAddr {
        self.handle
            .as_ref()
            .unwrap()
            .started()
            .tls_addr
            .expect("started with start_tls")
    }

    /// The PEM of the CA the TLS certificate comes from.
    pub fn tls_ca_pem(&self) -> &str {
        self.tls_ca
            .as_ref()
            .expect("started with start_tls")
            .cert_pem()
    }

    /// Where SDK clients connect: in a cluster, each call names the next node.
    pub fn addr(&self) -> SocketAddr {
        let first = self.handle.as_ref().unwrap();
        match &self.cluster {
            None => first.addr(),
            Some(cluster) => {
                let turn = cluster.next.fetch_add(1, Ordering::Relaxed) as usize;
                match turn % CLUSTER_NODES {
                    0 => first.addr(),
                    n => cluster.others[n - 1].addr(),
                }
            }
        }
    }

    /// Where the admin API listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.handle.as_ref().unwrap().started().admin_addr.unwrap()
    }

    /// Stops the server and starts it again on the same ports with the same data. A cluster's
    /// nodes all stop, then start again (Redis keeps the data).
    pub fn restart(&mut self) {
        let first = self.handle.as_ref().unwrap().started().clone();
        let others: Vec<_> = match &mut self.cluster {
            Some(cluster) => std::mem::take(&mut cluster.others)
                .into_iter()
                .map(|node| {
                    let started = node.started().clone();
                    node.stop();
                    started
                })
                .collect(),
            None => Vec::new(),
        };
        self.handle.take().unwrap().stop();
        let tls = |s: &crate::Started| {
            s.tls_addr
                .map_or("127.0.0.1:0".to_string(), |a| a.to_string())
        };
        self.handle = Some(self.spawn_on(&first.addr.to_string(), &tls(&first)));
        let others: Vec<_> = others
            .iter()
            .map(|s| self.spawn_on(&s.addr.to_string(), &tls(s)))
            .collect();
        if let Some(cluster) = &mut self.cluster {
            cluster.others = others;
        }
    }

    fn spawn_on(&self, listen: &str, tls_listen: &str) -> ServerHandle {
        let (tls_listen, tls_cert, tls_key) = match &self.tls_ca {
            Some(ca) => {
                let cert = ca.server_cert(&["localhost", "127.0.0.1"]);
                let dir = self.data_dir.path();
                let (cert_path, key_path) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
                std::fs::write(&cert_path, cert.cert_pem).expect("the certificate is written");
                std::fs::write(&key_path, cert.key_pem).expect("the key is written");
                (tls_listen.to_string(), Some(cert_path), Some(key_path))
            }
            None => (String::new(), None, None),
        };
        spawn(Config {
            listen: listen.into(),
            admin_listen: "127.0.0.1:0".into(),
            admin_token: Some("admin-token".into()),
            data_dir: Some(self.data_dir.path().join("data")),
            tls_listen,
            tls_cert,
            tls_key,
            apps: self.apps.clone(),
            limits: self.limits.clone(),
            cluster: self
                .cluster
                .as_ref()
                .map(|c| crate::ClusterConfig::new(c.redis.urls())),
            ..Config::default()
        })
        .expect("server starts")
    }
}

/// A UserSig of the test app for `user`, valid for an hour.
pub fn sig(user: &str) -> String {
    usersig::generate(APP, KEY, user, 3600, now_secs())
}

/// Unix time in seconds.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A client that speaks the wire protocol by hand, to test the server alone.
pub struct Wire {
    /// The connection to the server.
    pub stream: TcpStream,
    next_id: u64,
    /// Pushes read while waiting for a reply.
    pub pushes: Vec<ServerMessage>,
}

impl Wire {
    /// Connects without saying anything.
    pub fn connect(addr: SocketAddr) -> Wire {
        Wire::try_connect(addr).expect("the server accepts the connection")
    }

    /// Connects without saying anything, or answers None when that fails.
    pub fn try_connect(addr: SocketAddr) -> Option<Wire> {
        let stream = TcpStream::connect(addr).ok()?;
        stream.set_nodelay(true).ok()?;
        Some(Wire {
            stream,
            next_id: 1,
            pushes: Vec::new(),
        })
    }

    /// Connects, says hello and logs in as `user` on `platform` with `device`.
    pub fn login(
        addr: SocketAddr,
        user: &str,
        platform: &str,
        device: &str,
    ) -> (Wire, ServerMessage) {
        let mut wire = Wire::connect(addr);
        let hello = wire.request(r#""op":"hello","version":1"#);
        assert!(matches!(hello, ServerMessage::Ok { .. }), "{hello:?}");
        let reply = wire.request(&format!(
            r#""op":"login","sdk_app_id":{APP},"user_id":"{user}","user_sig":"{}","platform":"{platform}","device_id":"{device}""#,
            sig(user)
        ));
        (wire, reply)
    }

    /// Sends `bytes` as one frame.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(&(bytes.len() as u32).to_be_bytes())
            .unwrap();
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends `{"id":N,<fields>}` and returns the reply to it, keeping pushes read meanwhile.
    pub fn request(&mut self, fields: &str) -> ServerMessage {
        self.try_request(fields)
            .expect("a reply before the deadline")
    }

    /// As [`Wire::request`], but answers None when the connection fails or no reply comes
    /// within 5 s.
    pub fn try_request(&mut self, fields: &str) -> Option<ServerMessage> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = format!(r#"{{"id":{id},{fields}}}"#);
        self.stream
            .write_all(&(bytes.len() as u32).to_be_bytes())
            .ok()?;
        self.stream.write_all(bytes.as_bytes()).ok()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let message = self.read(deadline)?;
            match &message {
                ServerMessage::Ok { id: got, .. } | ServerMessage::Error { id: got, .. }
                    if *got == id || *got == 0 =>
                {
                    return Some(message)
                }
                _ => self.pushes.push(message),
            }
        }
    }

    /// Reads one message, or None on close or when the deadline passes.
    pub fn read(&mut self, deadline: Instant) -> Option<ServerMessage> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).ok()?;
        Some(imstatus_protocol::decode_server_message(&body).expect("valid server message"))
    }

    /// Waits until a push carrying `user`'s status that satisfies `pred` arrives.
    pub fn wait_status(
        &mut self,
        user: &str,
        within: Duration,
        pred: impl Fn(&WireStatus) -> bool,
    ) -> WireStatus {
        let deadline = Instant::now() + within;
        let mut pending = std::mem::take(&mut self.pushes).into_iter();
        loop {
            let message = match pending.next() {
                Some(m) => m,
                None => self
                    .read(deadline)
                    .unwrap_or_else(|| panic!("no matching status of {user} within {within:?}")),
            };
            if let ServerMessage::StatusChanged { statuses } = message {
                if let Some(s) = statuses.iter().find(|s| s.user_id == user && pred(s)) {
                    self.pushes.extend(pending);
                    return s.clone();
                }
            }
        }
    }

    /// True when the server closed the connection before the deadline (reading past pushes).
    pub fn closed_within(&mut self, within: Duration) -> (bool, Vec<ServerMessage>) {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            if Instant::now() >= deadline {
                return (false, seen);
            }
            match self.read(deadline) {
                Some(m) => seen.push(m),
                None => return (Instant::now() < deadline, seen),
            }
        }
    }
}

/// The statuses of an `ok` reply; panics on anything else.
pub fn ok_statuses(message: &ServerMessage) -> Vec<WireStatus> {
    match message {
        ServerMessage::Ok { statuses, .. } => statuses.clone(),
        other => panic!("expected ok, got {other:?}"),
    }
}

/// The code of an `error` reply; panics on anything else.
pub fn error_code(message: &ServerMessage) -> i32 {
    match message {
        ServerMessage::Error { code, .. } => *code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A minimal HTTP/1.1 call to the admin API: answers (status code, JSON body).
pub fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let (status, body) = admin_text(addr, method, path, body);
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// A minimal HTTP/1.1 call to the admin API: answers (status code, body).
pub fn admin_text(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: imstatus\r\nAuthorization: Bearer admin-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, body.to_string())
}

/// One scrape of `GET /metrics`, to read series from.
pub struct Scrape(pub String);

impl Scrape {
    /// Scrapes the server whose admin API is at `addr`.
    pub fn take(addr: SocketAddr) -> Scrape {
        let (status, body) = admin_text(addr, "GET", "/metrics", None);
        assert_eq!(status, 200, "{body}");
        Scrape(body)
    }

    /// Scrapes the server whose admin API is at `addr` until `done` holds; panics after 10 s
    /// saying `what` was not seen, with the last scrape.
    pub fn until(addr: SocketAddr, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let scrape = Scrape::take(addr);
            if done(&scrape) {
                return scrape;
            }
            assert!(
                Instant::now() < deadline,
                "{what}; last scrape:\n{}",
                scrape.0
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The value of one series, written as the scrape writes it (`name` or
    /// `name{label="value",...}`, labels in their registered order); 0 when it is absent.
    pub fn value(&self, series: &str) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == series).then(|| value.parse().expect("a number"))
            })
            .unwrap_or(0.0)
    }

    /// The names of every metric in the scrape (from its `# TYPE` lines).
    pub fn names(&self) -> Vec<String> {
        self.0
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split(' ').next())
            .map(str::to_string)
            .collect()
    }
}

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates an empty directory that no other test (in this process or another) uses.
    pub fn new() -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "imstatus-test-{}-{}-{:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).expect("a temporary directory can be made");
        TempDir { path }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempDir {
    fn default() -> TempDir {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
