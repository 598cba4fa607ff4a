//! Real `redis-server` processes for the tests: a standalone server, or a Redis Cluster of
//! several masters, each on free loopback ports in a temporary directory, killed on drop.
//! A missing `redis-server` or `redis-cli` fails the test (scripts/test installs them).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer PING after it was started.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// How long a new cluster may take to agree on its slots.
const CLUSTER_DEADLINE: Duration = Duration::from_secs(60);

/// How many times a start is tried again after a port clash with a test running alongside.
const START_ATTEMPTS: usize = 10;

/// A port that is free now, below 55535 and with port+10000 free too (a cluster node's bus).
/// Another test may take it before the server binds it: starts retry on a clash.
pub fn free_port() -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = listener.local_addr().unwrap().port();
        if !(1024..55535).contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair found");
}

/// Runs `redis-cli -p port args...` and answers its output (trimmed); panics if it fails.
pub fn cli_at(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli runs (install redis-server: scripts/test does)");
    assert!(
        output.status.success(),
        "redis-cli -p {port} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Whether the server answering on `port` is process `pid` (and not the server of a test
/// running alongside that took the port first).
fn answers_as(port: u16, pid: u32) -> bool {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "INFO", "server"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.trim() == format!("process_id:{pid}"))
        })
        .unwrap_or(false)
}

/// Polls `check` every 20 ms until it holds; panics with `what` past `within`.
pub fn wait_until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `redis-server` on `port` in `dir` with `extra` arguments and waits until it answers
/// (as itself). None if it exited first (the port was taken meanwhile).
fn spawn_redis(dir: &Path, port: u16, extra: &[&str]) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join(format!("redis-{port}.log")))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server runs (install redis-server: scripts/test does)");
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if answers_as(port, child.id()) {
            return Some(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join(format!("redis-{port}.log")));
            panic!("redis-server on port {port} did not answer PING in time: {log:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills `child` and reaps it.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A standalone `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: super::TempDir,
    /// Arguments after the defaults (persistence on, for [`RedisServer::start_persistent`]).
    extra: &'static [&'static str],
}

/// Arguments that turn the append-only file on, written through on every command, so that a
/// kill and a start again keep every acknowledged write.
const PERSISTENT: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

impl RedisServer {
    /// Starts one on a free port (no persistence) and waits until it answers PING.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// Starts one on a free port with the append-only file on (fsync on every write): a
    /// [`RedisServer::restart`] then comes back with the data it had, as a production Redis
    /// with persistence does.
    pub fn start_persistent() -> RedisServer {
        RedisServer::start_with(PERSISTENT)
    }

    fn start_with(extra: &'static [&'static str]) -> RedisServer {
        let dir = super::TempDir::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            if let Some(child) = spawn_redis(dir.path(), port, extra) {
                return RedisServer {
                    child: Some(child),
                    port,
                    dir,
                    extra,
                };
            }
        }
        panic!("redis-server could not start on a free port");
    }

    /// Kills the server and starts it again on the same port, waiting until it answers PING.
    /// Without persistence ([`RedisServer::start`]) it comes back empty; with it
    /// ([`RedisServer::start_persistent`]) it comes back with its data.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(child) = spawn_redis(self.dir.path(), self.port, self.extra) {
                self.child = Some(child);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server could not start again on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server; [`RedisServer::restart`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }

    /// The port it listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id (to stop it with SIGSTOP, say); panics when it is not running.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// `redis://127.0.0.1:port`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against this server and answers its output.
    pub fn cli(&self, args: &[&str]) -> String {
        cli_at(self.port, args)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One master of a [`RedisCluster`].
pub struct ClusterNode {
    child: Child,
    /// The port the node serves clients on (its cluster bus is on port + 10000).
    pub port: u16,
}

impl ClusterNode {
    /// `redis://127.0.0.1:port`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:port`, as the cluster names the node in `-MOVED` and CLUSTER SLOTS.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against this node and answers its output.
    pub fn cli(&self, args: &[&str]) -> String {
        cli_at(self.port, args)
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The node's id in the cluster.
    pub fn id(&self) -> String {
        self.cli(&["CLUSTER", "MYID"])
    }
}

/// A Redis Cluster of masters only (no replicas).
pub struct RedisCluster {
    nodes: Vec<ClusterNode>,
    _dir: super::TempDir,
}

impl RedisCluster {
    /// Starts `masters` nodes (at least 3, as `redis-cli --cluster create` wants), creates the
    /// cluster with the slots spread over them, and waits until every node says
    /// `cluster_state:ok` and all agree on who masters which slots.
    pub fn start(masters: usize) -> RedisCluster {
        assert!(masters >= 3, "Redis Cluster wants at least 3 masters");
        let dir = super::TempDir::new();
        let mut nodes = Vec::new();
        for i in 0..masters {
            let node_dir = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir).unwrap();
            let mut started = None;
            for _ in 0..START_ATTEMPTS {
                let port = free_port();
                let extra = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ];
                if let Some(child) = spawn_redis(&node_dir, port, &extra) {
                    started = Some(ClusterNode { child, port });
                    break;
                }
            }
            nodes.push(started.expect("a cluster node could not start on a free port"));
        }
        let cluster = RedisCluster { nodes, _dir: dir };
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for node in &cluster.nodes {
            create.arg(node.addr());
        }
        let output = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_agreed();
        cluster
    }

    /// Waits until every node says `cluster_state:ok` and every node has the same view of
    /// which master serves which slots, all 16384 of them.
    pub fn wait_agreed(&self) {
        wait_until(CLUSTER_DEADLINE, "the cluster agrees on its slots", || {
            let views: Vec<Option<BTreeSet<String>>> = self
                .nodes
                .iter()
                .map(|n| {
                    let info = n.cli(&["CLUSTER", "INFO"]);
                    if !info.lines().any(|l| l.trim() == "cluster_state:ok") {
                        return None;
                    }
                    Some(slot_view(&n.cli(&["CLUSTER", "NODES"])))
                })
                .collect();
            views.iter().all(|v| v.is_some()) && views.windows(2).all(|w| w[0] == w[1]) && {
                let view = views[0].as_ref().unwrap();
                covered_slots(view) == 16384
            }
        });
    }

    /// `redis://127.0.0.1:port` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(ClusterNode::url).collect()
    }

    /// The masters, in the order they were started.
    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// The node that masters `slot` now (as the first node sees it).
    pub fn owner_of(&self, slot: u16) -> &ClusterNode {
        let slots = self.nodes[0].cli(&["CLUSTER", "NODES"]);
        for line in slots.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port: u16 = fields[1]
                .split('@')
                .next()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse().ok())
                .unwrap();
            for range in fields.iter().skip(8) {
                if range.starts_with('[') {
                    continue;
                }
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                let (a, b): (u16, u16) = (a.parse().unwrap(), b.parse().unwrap());
                if (a..=b).contains(&slot) {
                    return self.nodes.iter().find(|n| n.port == port).unwrap();
                }
            }
        }
        panic!("nobody masters slot {slot}");
    }

    /// Moves `slot` (and its keys) from its master to `to` as a resharding does (IMPORTING,
    /// MIGRATING, MIGRATE, SETSLOT NODE on every node), then waits until the cluster agrees.
    pub fn move_slot(&self, slot: u16, to: &ClusterNode) {
        let from = self.owner_of(slot);
        assert_ne!(from.port, to.port, "slot {slot} is already on {}", to.port);
        let (from_id, to_id) = (from.id(), to.id());
        let slot_s = slot.to_string();
        assert_eq!(
            to.cli(&["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &from_id]),
            "OK"
        );
        assert_eq!(
            from.cli(&["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &to_id]),
            "OK"
        );
        loop {
            let keys = from.cli(&["CLUSTER", "GETKEYSINSLOT", &slot_s, "100"]);
            let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
            if keys.is_empty() {
                break;
            }
            let port = to.port.to_string();
            let mut args = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
            args.extend(keys);
            assert_eq!(from.cli(&args), "OK");
        }
        // The new owner first, then the old one, then the rest, as redis-cli does.
        assert_eq!(
            to.cli(&["CLUSTER", "SETSLOT", &slot_s, "NODE", &to_id]),
            "OK"
        );
        assert_eq!(
            from.cli(&["CLUSTER", "SETSLOT", &slot_s, "NODE", &to_id]),
            "OK"
        );
        for node in &self.nodes {
            if node.port != from.port && node.port != to.port {
                assert_eq!(
                    node.cli(&["CLUSTER", "SETSLOT", &slot_s, "NODE", &to_id]),
                    "OK"
                );
            }
        }
        self.wait_agreed();
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            kill(&mut node.child);
        }
    }
}

/// From `CLUSTER NODES`: each master's `ip:port` with its slot ranges, without what changes
/// from node to node (flags like `myself`, ping times); importing/migrating marks left out.
fn slot_view(nodes: &str) -> BTreeSet<String> {
    nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 || !fields[2].contains("master") {
                return None;
            }
            let addr = fields[1].split('@').next()?;
            let ranges: Vec<&str> = fields[8..]
                .iter()
                .copied()
                .filter(|r| !r.starts_with('['))
                .collect();
            Some(format!("{addr} {}", ranges.join(" ")))
        })
        .collect()
}

/// How many slots the view assigns.
fn covered_slots(view: &BTreeSet<String>) -> usize {
    view.iter()
        .flat_map(|line| line.split(' ').skip(1))
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            }
        })
        .sum()
}
