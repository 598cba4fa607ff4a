//! A cluster of real `imstatus serve` processes on one Redis (standalone or a 3-master Redis
//! Cluster), and `Watcher`s: raw-protocol clients on a background thread that heartbeat, record
//! every status they are told, and check that versions per user only ever grow (N3).
// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use imstatus_protocol::{ServerMessage, WireStatus};
use imstatus_server::testing::{admin, TempDir, Wire, APP, KEY};

use crate::common::redis::{RedisCluster, RedisServer};

/// ONLINE, OFFLINE and UNLOGINED as `status_type` carries them.
pub const ONLINE: u8 = 1;
pub const OFFLINE: u8 = 2;
pub const UNLOGINED: u8 = 3;

/// How often a watcher heartbeats.
const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);

/// How long a request may wait for its reply (longer than a `CLIENT PAUSE 5000`).
const REPLY_DEADLINE: Duration = Duration::from_secs(20);

/// The Redis a cluster runs on.
pub enum Backend {
    Standalone(RedisServer),
    Cluster(RedisCluster),
}

impl Backend {
    /// The URLs the nodes are configured with.
    pub fn urls(&self) -> Vec<String> {
        match self {
            Backend::Standalone(r) => vec![r.url()],
            Backend::Cluster(c) => c.urls(),
        }
    }

    /// Runs `redis-cli args` against every Redis process and answers their outputs.
    pub fn cli_all(&self, args: &[&str]) -> Vec<String> {
        match self {
            Backend::Standalone(r) => vec![r.cli(args)],
            Backend::Cluster(c) => c.nodes().iter().map(|n| n.cli(args)).collect(),
        }
    }

    /// The standalone server; panics on a Redis Cluster.
    pub fn standalone(&mut self) -> &mut RedisServer {
        match self {
            Backend::Standalone(r) => r,
            Backend::Cluster(_) => panic!("this cluster runs on a Redis Cluster"),
        }
    }
}

/// One `imstatus serve` process of the cluster.
pub struct Node {
    child: Option<Child>,
    /// Where clients connect (changes when the node is started again).
    pub addr: SocketAddr,
    /// Where its admin API listens (changes when the node is started again).
    pub admin: SocketAddr,
    config: PathBuf,
}

impl Node {
    /// Starts `imstatus serve --config config` (its log in `log`) and waits until it listens.
    fn start(config: &Path) -> Node {
        let log = config.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let (child, addr, admin, lines) = crate::serve::spawn_serve(config, log.into());
        // The rest of stdout is drained so that the node never blocks writing to it.
        std::thread::spawn(move || for _ in lines {});
        let node = Node {
            child: Some(child),
            addr,
            admin,
            config: config.to_path_buf(),
        };
        node.wait_ready(Duration::from_secs(20));
        node
    }

    /// Waits until `/v1/health/ready` answers 200 (Redis answers, the subscriber subscribed).
    pub fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let (status, _) = admin(self.admin, "GET", "/v1/health/ready", None);
            if status == 200 {
                return;
            }
            assert!(Instant::now() < deadline, "node {} not ready", self.addr);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id; panics when the node is not running.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("the node runs").id() as i32
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with the pid of our own child process.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.pid());
    }

    /// `kill -9`, and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (a graceful stop), and waits until it exited (within 20 s).
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the node did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the node again with its configuration (on new ports).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the node still runs");
        *self = Node::start(&self.config.clone());
    }

    /// SIGSTOP: the process freezes, its sockets stay open.
    pub fn sigstop(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// SIGCONT: the process runs again.
    pub fn sigcont(&self) {
        self.signal(libc::SIGCONT);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // SAFETY: kill(2) with the pid of our own child; a stopped node must run to die.
            unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
        }
        self.kill9();
    }
}

/// Three (or more) nodes on one Redis. Dropped: nodes first, then Redis.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub redis: Backend,
    _dir: TempDir,
}

impl Cluster {
    /// `nodes` nodes on a fresh 3-master Redis Cluster.
    pub fn on_redis_cluster(nodes: usize) -> Cluster {
        Cluster::on(Backend::Cluster(RedisCluster::start(3)), nodes)
    }

    /// `nodes` nodes on a fresh standalone Redis (no persistence).
    pub fn on_standalone(nodes: usize) -> Cluster {
        Cluster::on(Backend::Standalone(RedisServer::start()), nodes)
    }

    /// `nodes` nodes on `redis`, each with the test app (both switches on, the set-status cap
    /// lifted, as `testing::app()`), admin token `admin-token`, and a 2 s lease.
    pub fn on(redis: Backend, nodes: usize) -> Cluster {
        Cluster::with_lease(redis, nodes, "2s")
    }

    /// As [`Cluster::on`] with another lease: an outage of Redis longer than the lease makes
    /// every node take itself for dead (it registers again and closes every connection), so a
    /// test of an outage the nodes should ride out gives them a lease longer than it.
    pub fn with_lease(redis: Backend, nodes: usize, lease: &str) -> Cluster {
        let dir = TempDir::new();
        let urls: Vec<String> = redis.urls().iter().map(|u| format!("\"{u}\"")).collect();
        let nodes = (0..nodes)
            .map(|i| {
                let config = dir.path().join(format!("node{i}.toml"));
                std::fs::write(
                    &config,
                    format!(
                        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
                         admin_token = \"admin-token\"\ndata_dir = \"{}\"\n\
                         [limits]\nmax_unauthenticated_per_ip = 100000\n\
                         [[app]]\nsdk_app_id = {APP}\nsecret_key = \"{KEY}\"\n\
                         status_enabled = true\nfriend_status_notify = true\n\
                         set_status_rate = {{ calls = 1000000, window = \"1s\" }}\n\
                         [cluster]\nredis = [{}]\nlease = \"{lease}\"\n",
                        dir.path().join(format!("data{i}")).display(),
                        urls.join(", "),
                    ),
                )
                .unwrap();
                Node::start(&config)
            })
            .collect();
        Cluster {
            nodes,
            redis,
            _dir: dir,
        }
    }

    /// Where clients of node `i` connect.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.nodes[i].addr
    }

    /// The admin API of node `i`.
    pub fn admin(&self, i: usize) -> SocketAddr {
        self.nodes[i].admin
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        // A failed test shows what the nodes logged (warnings and errors).
        if std::thread::panicking() {
            for (i, node) in self.nodes_configs().iter().enumerate() {
                let log = std::fs::read_to_string(node.with_extension("log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- node {i} log (last lines, newest first) ---");
                tail.iter().for_each(|l| eprintln!("{l}"));
            }
        }
    }
}

impl Cluster {
    fn nodes_configs(&self) -> Vec<PathBuf> {
        (0..3)
            .map(|i| self._dir.path().join(format!("node{i}.toml")))
            .filter(|p| p.exists())
            .collect()
    }
}

/// What a watcher was told.
#[derive(Default)]
struct Seen {
    /// Every pushed status, per user, in arrival order.
    pushes: HashMap<String, Vec<WireStatus>>,
    /// The latest status per user, from pushes and replies' snapshots.
    view: HashMap<String, WireStatus>,
    /// Pushes whose version did not grow (N3), described.
    backwards: Vec<String>,
    /// Snapshots in replies older than what was already known (the SDK drops those).
    stale_snapshots: Vec<String>,
    kicked: bool,
    closed: bool,
    /// `error` messages with id 0 (the server closing the connection).
    closing_errors: Vec<ServerMessage>,
}

impl Seen {
    fn take_push(&mut self, status: &WireStatus) {
        let user = &status.user_id;
        if let Some(last) = self.pushes.get(user).and_then(|p| p.last()) {
            if status.version <= last.version {
                self.backwards.push(format!(
                    "{user}: pushed v{} ({}) after pushed v{} ({})",
                    status.version, status.status_type, last.version, last.status_type
                ));
            }
        }
        if let Some(known) = self.view.get(user) {
            if status.version < known.version {
                self.backwards.push(format!(
                    "{user}: pushed v{} after knowing v{}",
                    status.version, known.version
                ));
            }
        }
        self.pushes
            .entry(user.clone())
            .or_default()
            .push(status.clone());
        self.take_view(status);
    }

    fn take_snapshot(&mut self, status: &WireStatus) {
        if let Some(known) = self.view.get(&status.user_id) {
            if status.version < known.version {
                self.stale_snapshots.push(format!(
                    "{}: snapshot v{} after v{}",
                    status.user_id, status.version, known.version
                ));
            }
        }
        self.take_view(status);
    }

    fn take_view(&mut self, status: &WireStatus) {
        let newer = self
            .view
            .get(&status.user_id)
            .is_none_or(|known| status.version >= known.version);
        if newer {
            self.view.insert(status.user_id.clone(), status.clone());
        }
    }

    fn take(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::StatusChanged { statuses } => {
                statuses.iter().for_each(|s| self.take_push(s));
            }
            ServerMessage::Ok { statuses, .. } => {
                statuses.iter().for_each(|s| self.take_snapshot(s));
            }
            ServerMessage::Kicked => self.kicked = true,
            ServerMessage::Error { id: 0, .. } => self.closing_errors.push(message.clone()),
            _ => {}
        }
    }
}

enum Command2 {
    Request(String, Sender<ServerMessage>),
    Stop,
}

/// A logged-in device speaking the raw protocol on a background thread: it heartbeats every
/// 500 ms, records every status it is told, and answers requests made from the test.
pub struct Watcher {
    /// The user it is logged in as.
    pub user: String,
    seen: Arc<Mutex<Seen>>,
    commands: Sender<Command2>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Logs `user` in on `platform` (device id `user-platform`) at `addr`; panics unless ok.
    pub fn login(addr: SocketAddr, user: &str, platform: &str) -> Watcher {
        Watcher::login_device(addr, user, platform, &format!("{user}-{platform}"))
    }

    /// Logs `user` in on `platform` with `device` at `addr`; panics unless the login is ok.
    pub fn login_device(addr: SocketAddr, user: &str, platform: &str, device: &str) -> Watcher {
        let (wire, reply) = Wire::login(addr, user, platform, device);
        assert!(
            matches!(reply, ServerMessage::Ok { .. }),
            "login of {user} on {addr}: {reply:?}"
        );
        let mut seen = Seen::default();
        for message in wire.pushes.iter().chain([&reply]) {
            seen.take(message);
        }
        let seen = Arc::new(Mutex::new(seen));
        let (commands, receiver) = channel();
        let thread = {
            let seen = seen.clone();
            std::thread::spawn(move || run(wire, seen, receiver))
        };
        Watcher {
            user: user.to_string(),
            seen,
            commands,
            thread: Some(thread),
        }
    }

    /// Sends `{"id":N,<fields>}` and answers the reply, or None when the connection closed or
    /// no reply came within 20 s.
    pub fn try_request(&self, fields: &str) -> Option<ServerMessage> {
        let (tx, rx) = channel();
        self.commands
            .send(Command2::Request(fields.to_string(), tx))
            .ok()?;
        rx.recv_timeout(REPLY_DEADLINE).ok()
    }

    /// As [`Watcher::try_request`], panicking when no reply came.
    pub fn request(&self, fields: &str) -> ServerMessage {
        self.try_request(fields)
            .unwrap_or_else(|| panic!("{}: no reply to {fields}", self.user))
    }

    /// Subscribes to `users`; panics unless ok.
    pub fn subscribe(&self, users: &[&str]) {
        let reply = self.request(&format!(
            r#""op":"subscribe","user_ids":{}"#,
            json_list(users)
        ));
        assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    }

    /// Sets the user's custom status; panics unless ok.
    pub fn set_status(&self, custom: &str) {
        let reply = self.set_status_reply(custom);
        assert!(matches!(reply, Some(ServerMessage::Ok { .. })), "{reply:?}");
    }

    /// Sets the user's custom status and answers the reply (None: no reply).
    pub fn set_status_reply(&self, custom: &str) -> Option<ServerMessage> {
        self.try_request(&format!(
            r#""op":"set_self_status","custom_status":"{custom}""#
        ))
    }

    /// Queries `users` and answers the reply.
    pub fn get(&self, users: &[&str]) -> ServerMessage {
        self.request(&format!(
            r#""op":"get_user_status","user_ids":{}"#,
            json_list(users)
        ))
    }

    /// The latest status of `user` this device knows.
    pub fn view(&self, user: &str) -> Option<WireStatus> {
        self.seen.lock().unwrap().view.get(user).cloned()
    }

    /// Every status of `user` pushed to this device, in order.
    pub fn pushes(&self, user: &str) -> Vec<WireStatus> {
        self.seen
            .lock()
            .unwrap()
            .pushes
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until this device's view of `user` satisfies `pred`; panics past `within`.
    pub fn wait_view(
        &self,
        user: &str,
        within: Duration,
        pred: impl Fn(&WireStatus) -> bool,
    ) -> WireStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.view(user).filter(|s| pred(s)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no matching view of {user} within {within:?}; view {:?}, pushes {:?}",
                self.user,
                self.view(user),
                self.pushes(user)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Panics when any pushed version did not grow (N3).
    pub fn assert_versions_grew(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.backwards.is_empty(),
            "{}: versions went backwards or repeated: {:?}",
            self.user,
            seen.backwards
        );
    }

    /// Whether the server closed this connection.
    pub fn closed(&self) -> bool {
        self.seen.lock().unwrap().closed
    }

    /// Whether this device was told `kicked`.
    pub fn kicked(&self) -> bool {
        self.seen.lock().unwrap().kicked
    }

    /// Waits until the server closed this connection; panics past `within`.
    pub fn wait_closed(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.closed() {
            assert!(
                Instant::now() < deadline,
                "{}: not closed within {within:?}",
                self.user
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.commands.send(Command2::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `["a","b"]`
pub fn json_list(users: &[&str]) -> String {
    serde_json::to_string(users).unwrap()
}

/// The watcher's thread: sends requests and heartbeats, reads frames (whole ones only, from a
/// buffer, so that a read timeout never splits one), records them, routes replies.
fn run(wire: Wire, seen: Arc<Mutex<Seen>>, commands: Receiver<Command2>) {
    let mut stream = wire.stream;
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    // Ids far above those Wire::login used.
    let mut next_id: u64 = 1_000;
    let mut waiting: HashMap<u64, Sender<ServerMessage>> = HashMap::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut next_heartbeat = Instant::now() + HEARTBEAT_EVERY;
    let mut send = |stream: &mut std::net::TcpStream, fields: &str| -> (u64, bool) {
        let id = next_id;
        next_id += 1;
        let bytes = format!(r#"{{"id":{id},{fields}}}"#);
        let mut frame = (bytes.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(bytes.as_bytes());
        (id, stream.write_all(&frame).is_ok())
    };
    let mut closed = false;
    while !closed {
        loop {
            match commands.try_recv() {
                Ok(Command2::Request(fields, reply)) => {
                    let (id, _) = send(&mut stream, &fields);
                    waiting.insert(id, reply);
                }
                Ok(Command2::Stop) | Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
            }
        }
        if Instant::now() >= next_heartbeat {
            next_heartbeat = Instant::now() + HEARTBEAT_EVERY;
            send(&mut stream, r#""op":"heartbeat""#);
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk) {
            Ok(0) => closed = true,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => closed = true,
        }
        while buffer.len() >= 4 {
            let len = u32::from_be_bytes(buffer[..4].try_into().unwrap()) as usize;
            if buffer.len() < 4 + len {
                break;
            }
            let body: Vec<u8> = buffer.drain(..4 + len).skip(4).collect();
            let message =
                imstatus_protocol::decode_server_message(&body).expect("a valid server message");
            seen.lock().unwrap().take(&message);
            if let ServerMessage::Ok { id, .. } | ServerMessage::Error { id, .. } = &message {
                if let Some(reply) = waiting.remove(id) {
                    let _ = reply.send(message.clone());
                }
            }
        }
    }
    seen.lock().unwrap().closed = true;
    // Requests still waiting get no reply: their senders drop. Later ones too.
    drop(waiting);
    while let Ok(Command2::Request(..)) = commands.recv() {}
}

/// The statuses of `users` as a fresh device of a fresh user sees them at `addr` (a query).
pub fn truth(addr: SocketAddr, users: &[&str]) -> HashMap<String, WireStatus> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let probe = format!(
        "probe{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let (mut wire, reply) = Wire::login(addr, &probe, "Web", &probe);
    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
    let reply = wire.request(&format!(
        r#""op":"get_user_status","user_ids":{}"#,
        json_list(users)
    ));
    let statuses = imstatus_server::testing::ok_statuses(&reply);
    let _ = wire.try_request(r#""op":"logout""#);
    statuses
        .into_iter()
        .map(|s| (s.user_id.clone(), s))
        .collect()
}

/// Whether two statuses say the same (type, custom status, version). Devices are left out: a
/// device coming or going that changes neither type nor custom status is pushed to nobody (N1).
fn same(a: &WireStatus, b: &WireStatus) -> bool {
    a.status_type == b.status_type && a.custom_status == b.custom_status && a.version == b.version
}

/// Waits until every watcher's view of every one of `users` equals the truth (a fresh query at
/// `addr`, asked again every 250 ms); panics past `within` naming what differs. Then checks that
/// no watcher saw a version go backwards.
pub fn assert_converged(watchers: &[&Watcher], users: &[&str], addr: SocketAddr, within: Duration) {
    let pairs: Vec<(&Watcher, &str)> = watchers
        .iter()
        .flat_map(|w| users.iter().map(move |u| (*w, *u)))
        .collect();
    assert_pairs_converged(&pairs, addr, within);
}

/// As [`assert_converged`], for the given (watcher, user) pairs.
pub fn assert_pairs_converged(pairs: &[(&Watcher, &str)], addr: SocketAddr, within: Duration) {
    let mut users: Vec<&str> = pairs.iter().map(|(_, u)| *u).collect();
    users.sort();
    users.dedup();
    let deadline = Instant::now() + within;
    loop {
        let truth = truth(addr, &users);
        let mut differs = Vec::new();
        for (w, user) in pairs {
            let t = &truth[*user];
            match w.view(user) {
                Some(v) if same(&v, t) => {}
                v => differs.push(format!("{} sees {user} as {v:?}, truth {t:?}", w.user)),
            }
        }
        if differs.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "views did not converge within {within:?}:\n{}",
            differs.join("\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    for (w, _) in pairs {
        w.assert_versions_grew();
    }
}

/// Asks the admin API at `admin_addr` whether `user` is Online/Offline/... (`Status`).
pub fn admin_status(admin_addr: SocketAddr, user: &str) -> String {
    let (status, answer) = admin(
        admin_addr,
        "POST",
        &format!("/v1/apps/{APP}/query_online_status"),
        Some(&format!(r#"{{"To_Account":["{user}"]}}"#)),
    );
    assert_eq!(status, 200, "{answer}");
    answer["QueryResult"][0]["Status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
