//! The Redis client of cluster mode (`imstatus_server::cluster`) against real `redis-server`
//! processes, standalone and a 3-master Redis Cluster: routing, scripts, pipelines,
//! redirections after a slot moved, and pub/sub that survives killed connections, restarts and
//! slot moves. Every wait has a deadline.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::redis::{RedisCluster, RedisServer};
use imstatus_server::cluster::pubsub::{Listener, Subscriber};
use imstatus_server::cluster::redis::{Redis, Script};
use imstatus_server::cluster::resp::Value;

/// How long anything asynchronous may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

fn connect(urls: &[String]) -> Redis {
    Redis::connect(urls).expect("the client connects")
}

fn set(redis: &Redis, key: &str, value: &str) {
    let reply = redis
        .call(key.as_bytes(), &[b"SET", key.as_bytes(), value.as_bytes()])
        .unwrap();
    assert_eq!(reply, Value::Status("OK".into()));
}

fn get(redis: &Redis, key: &str) -> Value {
    redis
        .call(key.as_bytes(), &[b"GET", key.as_bytes()])
        .unwrap()
}

fn data(s: &str) -> Value {
    Value::Data(s.as_bytes().to_vec())
}

/// The slot Redis computes for `key` (CLUSTER KEYSLOT works on any cluster node).
fn slot_of(cluster: &RedisCluster, key: &str) -> u16 {
    cluster.nodes()[0]
        .cli(&["CLUSTER", "KEYSLOT", key])
        .parse()
        .unwrap()
}

#[test]
fn standalone_commands_scripts_pipelines_and_error_replies() {
    let server = RedisServer::start();
    // Without the scheme too.
    let redis = connect(&[format!("127.0.0.1:{}", server.port())]);
    assert!(!redis.is_cluster());
    for i in 0..200 {
        set(&redis, &format!("key:{i}"), &format!("value {i}"));
    }
    for i in 0..200 {
        assert_eq!(
            get(&redis, &format!("key:{i}")),
            data(&format!("value {i}"))
        );
    }
    assert_eq!(server.cli(&["DBSIZE"]), "200");

    // An error reply is an Err that says it is one, and the connection stays usable.
    let e = redis.call(b"key:1", &[b"INCR", b"key:1"]).unwrap_err();
    assert!(e.is_reply(), "{e}");
    assert!(e.to_string().contains(&server.port().to_string()), "{e}");
    assert_eq!(get(&redis, "key:1"), data("value 1"));

    // A paused Redis is waited for, not failed.
    assert_eq!(server.cli(&["CLIENT", "PAUSE", "1500"]), "OK");
    let paused = Instant::now();
    set(&redis, "paused", "yes");
    assert!(paused.elapsed() >= Duration::from_millis(1000));

    check_scripts(&redis, &[server.port()], |port, args| {
        common::redis::cli_at(port, args)
    });

    let cmds: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0..50)
        .map(|i| {
            let key = format!("key:{i}").into_bytes();
            (key.clone(), vec![b"GET".to_vec(), key])
        })
        .collect();
    let answers = redis.pipeline(&cmds);
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap(), data(&format!("value {i}")));
    }
    assert_eq!(redis.errors(), 0);
}

/// EVALSHA of a script Redis has not seen falls back to EVAL, after which EVALSHA works; and
/// again once the nodes' script caches were flushed.
fn check_scripts(redis: &Redis, ports: &[u16], cli: impl Fn(u16, &[&str]) -> String) {
    let script =
        Script::new("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])");
    for round in 0..2 {
        for i in 0..30 {
            let key = format!("script:{i}");
            let value = format!("v{round}.{i}");
            let reply = redis
                .eval(&script, &[key.as_bytes()], &[value.as_bytes()])
                .unwrap();
            assert_eq!(reply, data(&value));
        }
        for &port in ports {
            // The SHA-1 we computed is the one Redis knows the script by.
            assert_eq!(cli(port, &["SCRIPT", "EXISTS", script.sha1()]), "1");
            assert_eq!(cli(port, &["SCRIPT", "FLUSH"]), "OK");
        }
    }
    let broken = Script::new("return redis.call('NOSUCHCOMMAND')");
    let e = redis.eval(&broken, &[b"script:0"], &[]).unwrap_err();
    assert!(e.is_reply(), "{e}");
}

#[test]
fn cluster_commands_are_routed_to_the_master_of_their_slot() {
    let cluster = RedisCluster::start(3);
    let redis = connect(&cluster.urls()[..1]);
    assert!(redis.is_cluster());
    let keys: Vec<String> = (0..300).map(|i| format!("user:{i}")).collect();
    for key in &keys {
        set(&redis, key, &format!("{key}!"));
    }
    for key in &keys {
        assert_eq!(get(&redis, key), data(&format!("{key}!")));
    }
    // Each key is stored on the master of its slot (read there directly), and every node has
    // some.
    let mut per_node: HashMap<u16, usize> = HashMap::new();
    for key in keys.iter().step_by(10) {
        let owner = cluster.owner_of(slot_of(&cluster, key));
        assert_eq!(owner.cli(&["GET", key]), format!("{key}!"));
    }
    for node in cluster.nodes() {
        let n: usize = node.cli(&["DBSIZE"]).parse().unwrap();
        assert!(n > 0, "node {} got no key", node.port);
        per_node.insert(node.port, n);
    }
    assert_eq!(per_node.values().sum::<usize>(), keys.len());
    assert_eq!(redis.errors(), 0, "no command failed");
}

#[test]
fn cluster_scripts_fall_back_to_eval_on_every_node() {
    let cluster = RedisCluster::start(3);
    let redis = connect(&cluster.urls());
    let ports: Vec<u16> = cluster.nodes().iter().map(|n| n.port).collect();
    check_scripts(&redis, &ports, common::redis::cli_at);
    // A script may publish to a shard channel of the slot of its keys.
    let script = Script::new(
        "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('SPUBLISH', ARGV[2], ARGV[1])",
    );
    let reply = redis.eval(&script, &[b"a{u1}"], &[b"x", b"c{u1}"]).unwrap();
    assert_eq!(reply, Value::Int(0), "nobody listens yet");
}

#[test]
fn cluster_pipeline_spans_every_node_and_answers_in_order() {
    let cluster = RedisCluster::start(3);
    let redis = connect(&cluster.urls());
    let sets: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0..300)
        .map(|i| {
            let key = format!("p:{i}").into_bytes();
            (
                key.clone(),
                vec![b"SET".to_vec(), key, format!("{i}").into_bytes()],
            )
        })
        .collect();
    for answer in redis.pipeline(&sets) {
        assert_eq!(answer.unwrap(), Value::Status("OK".into()));
    }
    let mut gets: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    for i in 0..300 {
        let key = format!("p:{i}").into_bytes();
        gets.push((key.clone(), vec![b"GET".to_vec(), key.clone()]));
        gets.push((key.clone(), vec![b"INCR".to_vec(), key]));
    }
    // One command fails alone, the rest are answered.
    gets.push((b"p:0".to_vec(), vec![b"NOSUCHCOMMAND".to_vec()]));
    let answers = redis.pipeline(&gets);
    assert_eq!(answers.len(), 601);
    for i in 0..300 {
        assert_eq!(answers[2 * i].clone().unwrap(), data(&i.to_string()));
        assert_eq!(
            answers[2 * i + 1].clone().unwrap(),
            Value::Int(i as i64 + 1)
        );
    }
    assert!(answers[600].as_ref().unwrap_err().is_reply());
    for node in cluster.nodes() {
        let n: usize = node.cli(&["DBSIZE"]).parse().unwrap();
        assert!(n > 0, "node {} got no key", node.port);
    }
}

#[test]
fn cluster_moved_and_ask_are_followed_and_a_stale_slot_map_is_corrected() {
    let cluster = RedisCluster::start(3);
    let redis = connect(&cluster.urls());
    let key = "moving:{m1}";
    set(&redis, key, "before");
    let slot = slot_of(&cluster, key);
    let from_port = cluster.owner_of(slot).port;
    let to = cluster
        .nodes()
        .iter()
        .find(|n| n.port != from_port)
        .unwrap();

    // Mid-migration: the key is already on the new node, the old one answers -ASK.
    let from = cluster.owner_of(slot);
    let slot_s = slot.to_string();
    let (from_id, to_id) = (from.id(), to.id());
    assert_eq!(
        to.cli(&["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &from_id]),
        "OK"
    );
    assert_eq!(
        from.cli(&["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &to_id]),
        "OK"
    );
    let port = to.port.to_string();
    assert_eq!(
        from.cli(&["MIGRATE", "127.0.0.1", &port, key, "0", "5000"]),
        "OK"
    );
    assert_eq!(get(&redis, key), data("before"), "followed -ASK");
    // Finish the move; the client's slot map is now stale: -MOVED corrects it.
    assert_eq!(
        to.cli(&["CLUSTER", "SETSLOT", &slot_s, "NODE", &to_id]),
        "OK"
    );
    for node in cluster.nodes() {
        if node.port != to.port {
            assert_eq!(
                node.cli(&["CLUSTER", "SETSLOT", &slot_s, "NODE", &to_id]),
                "OK"
            );
        }
    }
    cluster.wait_agreed();
    assert_eq!(get(&redis, key), data("before"), "followed -MOVED");
    set(&redis, key, "after");
    assert_eq!(to.cli(&["GET", key]), "after");

    // A whole slot moved by the helper, with keys in it: calls and pipelines follow.
    let other = "other:{o7}";
    set(&redis, other, "kept");
    let slot = slot_of(&cluster, other);
    let dest = cluster
        .nodes()
        .iter()
        .find(|n| n.port != cluster.owner_of(slot).port)
        .unwrap();
    cluster.move_slot(slot, dest);
    let answers = redis.pipeline(&[
        (
            other.as_bytes().to_vec(),
            vec![b"GET".to_vec(), other.as_bytes().to_vec()],
        ),
        (
            key.as_bytes().to_vec(),
            vec![b"GET".to_vec(), key.as_bytes().to_vec()],
        ),
    ]);
    assert_eq!(answers[0].clone().unwrap(), data("kept"));
    assert_eq!(answers[1].clone().unwrap(), data("after"));
    assert_eq!(get(&redis, other), data("kept"));
    assert_eq!(redis.errors(), 0, "redirections are not failures");
}

/// What a listener heard, for the tests to wait on.
#[derive(Default)]
struct Heard {
    state: Mutex<HeardState>,
    changed: Condvar,
}

#[derive(Default)]
struct HeardState {
    /// Payloads per channel, in order.
    messages: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// How many times each channel was said to be (re)subscribed.
    subscribed: HashMap<Vec<u8>, usize>,
}

impl Listener for Heard {
    fn message(&self, channel: &[u8], payload: &[u8]) {
        let mut state = self.state.lock().unwrap();
        state
            .messages
            .entry(channel.to_vec())
            .or_default()
            .push(payload.to_vec());
        self.changed.notify_all();
    }

    fn subscribed(&self, channels: &[Vec<u8>]) {
        let mut state = self.state.lock().unwrap();
        for channel in channels {
            *state.subscribed.entry(channel.clone()).or_default() += 1;
        }
        self.changed.notify_all();
    }
}

impl Heard {
    /// Waits until `check` holds, or fails naming `what`.
    fn wait(&self, what: &str, check: impl Fn(&HeardState) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        let mut state = self.state.lock().unwrap();
        while !check(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting until {what}");
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits until every channel was said subscribed at least `times` times.
    fn wait_subscribed(&self, channels: &[Vec<u8>], times: usize) {
        self.wait(
            &format!("all channels are subscribed {times} time(s)"),
            |s| {
                channels
                    .iter()
                    .all(|c| s.subscribed.get(c).copied().unwrap_or(0) >= times)
            },
        );
    }

    /// Waits until every channel heard `payload`.
    fn wait_messages(&self, channels: &[Vec<u8>], payload: &[u8]) {
        self.wait(
            &format!("all channels heard {:?}", String::from_utf8_lossy(payload)),
            |s| {
                channels.iter().all(|c| {
                    s.messages
                        .get(c)
                        .is_some_and(|m| m.iter().any(|p| p == payload))
                })
            },
        );
    }
}

/// Publishes `payload` to every channel (SPUBLISH on a cluster, PUBLISH standalone).
fn publish_all(redis: &Redis, channels: &[Vec<u8>], payload: &[u8]) {
    let verb: &[u8] = if redis.is_cluster() {
        b"SPUBLISH"
    } else {
        b"PUBLISH"
    };
    for channel in channels {
        redis.call(channel, &[verb, channel, payload]).unwrap();
    }
}

fn channels(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}:{i}").into_bytes())
        .collect()
}

fn wait_healthy(subscriber: &Subscriber) {
    common::redis::wait_until(DEADLINE, "the subscriber is healthy", || {
        subscriber.healthy()
    });
}

#[test]
fn cluster_pubsub_delivers_on_every_slot_and_survives_killed_connections() {
    let cluster = RedisCluster::start(3);
    let redis = Arc::new(connect(&cluster.urls()));
    let heard = Arc::new(Heard::default());
    let subscriber = Subscriber::start(redis.clone(), heard.clone());
    let wanted = channels("presence", 300);
    let owners: HashSet<u16> = wanted
        .iter()
        .step_by(7)
        .map(|c| {
            cluster
                .owner_of(slot_of(&cluster, &String::from_utf8_lossy(c)))
                .port
        })
        .collect();
    assert_eq!(owners.len(), 3, "the channels span every node");
    for channel in &wanted {
        subscriber.want(channel);
    }
    heard.wait_subscribed(&wanted, 1);
    wait_healthy(&subscriber);
    let publisher = connect(&cluster.urls());
    publish_all(&publisher, &wanted, b"one");
    heard.wait_messages(&wanted, b"one");

    // Every pub/sub connection killed: all channels are subscribed again and said so.
    for node in cluster.nodes() {
        node.cli(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    }
    heard.wait_subscribed(&wanted, 2);
    wait_healthy(&subscriber);
    assert!(
        subscriber.resubscribes() >= 300,
        "{}",
        subscriber.resubscribes()
    );
    assert!(
        subscriber.errors() >= 3,
        "the broken connections were counted"
    );
    publish_all(&publisher, &wanted, b"two");
    heard.wait_messages(&wanted, b"two");

    // Unwanted channels are unsubscribed on the server and heard no more.
    for channel in &wanted[..150] {
        subscriber.unwant(channel);
    }
    common::redis::wait_until(DEADLINE, "150 channels are unsubscribed", || {
        cluster
            .nodes()
            .iter()
            .map(|n| {
                n.cli(&["PUBSUB", "SHARDCHANNELS"])
                    .lines()
                    .filter(|l| !l.is_empty())
                    .count()
            })
            .sum::<usize>()
            == 150
    });
    publish_all(&publisher, &wanted, b"three");
    heard.wait_messages(&wanted[150..], b"three");
    let state = heard.state.lock().unwrap();
    for channel in &wanted[..150] {
        assert!(!state.messages[channel].iter().any(|p| p == b"three"));
    }
}

#[test]
fn standalone_pubsub_survives_a_redis_restart() {
    let mut server = RedisServer::start();
    let redis = Arc::new(connect(&[server.url()]));
    let heard = Arc::new(Heard::default());
    let subscriber = Subscriber::start(redis.clone(), heard.clone());
    let wanted = channels("user", 100);
    for channel in &wanted {
        subscriber.want(channel);
    }
    // Idempotent.
    subscriber.want(&wanted[0]);
    heard.wait_subscribed(&wanted, 1);
    wait_healthy(&subscriber);
    assert_eq!(server.cli(&["PUBSUB", "NUMSUB", "user:0"]), "user:0\n1");
    publish_all(&redis, &wanted, b"before");
    heard.wait_messages(&wanted, b"before");

    server.restart();
    heard.wait_subscribed(&wanted, 2);
    wait_healthy(&subscriber);
    // Commands wait out the restart too.
    publish_all(&redis, &wanted, b"after");
    heard.wait_messages(&wanted, b"after");
    assert!(subscriber.resubscribes() >= 100);

    // Down for a while: not healthy, then healthy again once Redis is back.
    server.stop();
    common::redis::wait_until(DEADLINE, "the subscriber sees Redis gone", || {
        !subscriber.healthy()
    });
    // A command sent while Redis is down waits until it is back.
    let in_flight = {
        let redis = redis.clone();
        std::thread::spawn(move || redis.call(b"k", &[b"SET", b"k", b"while down"]))
    };
    server.restart();
    assert_eq!(
        in_flight.join().unwrap().unwrap(),
        Value::Status("OK".into())
    );
    assert_eq!(server.cli(&["GET", "k"]), "while down");
    assert!(redis.errors() > 0, "the failed attempts were counted");
    heard.wait_subscribed(&wanted, 3);
    wait_healthy(&subscriber);
    publish_all(&redis, &wanted, b"again");
    heard.wait_messages(&wanted, b"again");
}

#[test]
fn pubsub_notices_a_redis_that_stopped_answering_and_resubscribes_once_it_answers() {
    let server = RedisServer::start();
    let redis = Arc::new(connect(&[server.url()]));
    let heard = Arc::new(Heard::default());
    let subscriber = Subscriber::start(redis.clone(), heard.clone());
    let wanted = channels("frozen", 10);
    for channel in &wanted {
        subscriber.want(channel);
    }
    heard.wait_subscribed(&wanted, 1);
    wait_healthy(&subscriber);
    // A frozen Redis keeps its TCP connections open: only the unanswered pings tell.
    let pid = server.pid() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let frozen = Instant::now();
    common::redis::wait_until(DEADLINE, "the subscriber sees Redis silent", || {
        !subscriber.healthy()
    });
    let noticed = frozen.elapsed();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    assert!(
        noticed < Duration::from_secs(8),
        "noticed after {noticed:?}"
    );
    heard.wait_subscribed(&wanted, 2);
    wait_healthy(&subscriber);
    publish_all(&redis, &wanted, b"thawed");
    heard.wait_messages(&wanted, b"thawed");
}

#[test]
fn cluster_pubsub_follows_a_channel_whose_slot_moved() {
    let cluster = RedisCluster::start(3);
    let redis = Arc::new(connect(&cluster.urls()));
    let heard = Arc::new(Heard::default());
    let subscriber = Subscriber::start(redis.clone(), heard.clone());
    let moving = b"status:{mover}".to_vec();
    let staying = b"status:{stayer}".to_vec();
    let both = vec![moving.clone(), staying.clone()];
    subscriber.want(&moving);
    subscriber.want(&staying);
    heard.wait_subscribed(&both, 1);
    publish_all(&redis, &both, b"one");
    heard.wait_messages(&both, b"one");

    let slot = slot_of(&cluster, "status:{mover}");
    let from = cluster.owner_of(slot).port;
    let to = cluster.nodes().iter().find(|n| n.port != from).unwrap();
    cluster.move_slot(slot, to);
    // The old owner drops the channel (a server-pushed sunsubscribe); it is subscribed again
    // on the new owner.
    heard.wait_subscribed(std::slice::from_ref(&moving), 2);
    wait_healthy(&subscriber);
    assert_eq!(
        to.cli(&["PUBSUB", "SHARDNUMSUB", "status:{mover}"]),
        "status:{mover}\n1"
    );
    // Published through a client whose slot map is stale as well.
    publish_all(&redis, &both, b"two");
    heard.wait_messages(&both, b"two");
    assert!(subscriber.resubscribes() >= 1);
}

#[test]
fn a_bad_address_fails_to_connect_with_an_error_naming_it() {
    let e = Redis::connect(&["redis://127.0.0.1".into()]).unwrap_err();
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    assert!(Redis::connect(&[]).is_err());
}

#[test]
fn the_client_and_the_subscriber_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Redis>();
    shareable::<Subscriber>();
    shareable::<imstatus_server::cluster::redis::RedisError>();
}

/// A fake standalone Redis: answers INFO as a standalone server would, and anything else with
/// the next of `garbage`, then hangs up.
fn fake_redis(garbage: Vec<Vec<u8>>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let reply = garbage[n % garbage.len()].clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(read) = stream.read(&mut buf) {
                    if read == 0 {
                        return;
                    }
                    if buf[..read].windows(4).any(|w| w == b"INFO") {
                        let info = "cluster_enabled:0\r\n";
                        let _ = write!(stream, "${}\r\n{info}\r\n", info.len());
                    } else {
                        let _ = stream.write_all(&reply);
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_subscriber_fed_garbage_counts_errors_and_reconnects_without_panicking() {
    let garbage: Vec<Vec<u8>> = vec![
        // Messages and confirmations of the wrong shapes, then an error reply.
        b"*3\r\n$7\r\nmessage\r\n:1\r\n:2\r\n*2\r\n$9\r\nsubscribe\r\n*0\r\n*1\r\n$7\r\nmessage\r\n:5\r\n*0\r\n$-1\r\n*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n*0\r\n-MOVED notanumber\r\n".to_vec(),
        b"$99999999999\r\n".to_vec(),
        b"*1\r\n".repeat(100),
        b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:0\r\n+OK\r\n".to_vec(),
        b"\x00\xff garbage\r\n".to_vec(),
    ];
    let addr = fake_redis(garbage);
    let redis = Arc::new(connect(&[addr]));
    let heard = Arc::new(Heard::default());
    let subscriber = Subscriber::start(redis, heard.clone());
    subscriber.want(b"x");
    // Each connection ends in an error the subscriber survives: it counts it and reconnects,
    // pausing longer each time (10 ms doubling: 10 tries take over a second).
    let started = Instant::now();
    common::redis::wait_until(DEADLINE, "ten broken connections are counted", || {
        subscriber.errors() >= 10
    });
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(!subscriber.healthy());
    assert!(heard.state.lock().unwrap().messages.is_empty());
}
