//! The engine's [`Authority`] and [`Store`] on Redis: users' records under cluster-wide locks,
//! their changes on per-user channels, call windows counted across nodes, friends and apps.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::guarded::Guarded;
use super::keys;
use super::pubsub::Subscriber;
use super::record;
use super::redis::{Redis, Script};
use super::resp::Value;
use crate::engine::{AppSettings, Authority, Millis, RateLimit, Store, UserKey, UserRecord};

/// How long a user's lock lives if its holder dies before letting go: a little longer than
/// any operation takes, short enough that the user's other devices barely notice.
const LOCK_TTL_MS: u64 = 2_000;

/// How long a node waits for a user's lock before it gives up (the holder died: its lock
/// lapses after [`LOCK_TTL_MS`]; or Redis is away).
const LOCK_WAIT: Duration = Duration::from_secs(20);

/// Takes a user's lock if it is free and answers the record with it: `{1, record}` or `{0}`.
const LOCK: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}";

/// Writes the record, publishes the change and releases the lock, if the caller still holds
/// it: an operation writes once, last, so the release rides along (a round trip saved on every
/// change).
const WRITE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call(ARGV[5], ARGV[3], ARGV[4])
redis.call('DEL', KEYS[1])
return 1";

/// Releases the lock, if the caller still holds it.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// A sliding window of accepted calls (as the engine's own, engine/rate.rs): drops the calls
/// older than the window, refuses when the window is full, or counts this one.
const RATE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
while true do
  local t = redis.call('LINDEX', KEYS[1], 0)
  if t and tonumber(t) + window <= now then redis.call('LPOP', KEYS[1]) else break end
end
if redis.call('LLEN', KEYS[1]) >= limit then return 0 end
redis.call('RPUSH', KEYS[1], now)
redis.call('PEXPIRE', KEYS[1], window)
return 1";

/// Counters of the cluster's own work, for the metrics.
#[derive(Debug, Default)]
pub struct ClusterCounts {
    /// Writes refused because the node no longer held the user's lock.
    pub lost_locks: AtomicU64,
    /// Devices of dead nodes this node turned OFFLINE.
    pub reaped_devices: AtomicU64,
    /// Nodes registered in the cluster, as last seen by the janitor.
    pub nodes: AtomicU64,
}

/// The cluster's shared state on Redis.
pub struct RedisAuthority {
    redis: Guarded,
    subscriber: OnceLock<Subscriber>,
    incarnation: AtomicU64,
    /// The token of each lock this node holds (one per user at a time: the engine holds the
    /// user's shard while it holds the user's lock).
    tokens: Mutex<HashMap<UserKey, String>>,
    next_token: AtomicU64,
    /// Users already in this incarnation's set of users with devices here.
    listed: Mutex<HashSet<UserKey>>,
    /// Until when this node's lease holds, as of its last renewal: past it, a janitor may have
    /// turned this node's devices OFFLINE, and the node changes nobody until it registered again.
    lease_until: Mutex<Option<Instant>>,
    publish: &'static [u8],
    lock: Script,
    write: Script,
    unlock: Script,
    rate: Script,
    /// What the metrics show of the cluster's work.
    pub counts: ClusterCounts,
}

impl RedisAuthority {
    /// An authority over `redis` for the node of `incarnation` (see [`super::lease`]).
    pub fn new(redis: Arc<Redis>, incarnation: u64) -> RedisAuthority {
        let publish: &[u8] = if redis.is_cluster() {
            b"SPUBLISH"
        } else {
            b"PUBLISH"
        };
        RedisAuthority {
            redis: Guarded::new(redis),
            subscriber: OnceLock::new(),
            incarnation: AtomicU64::new(incarnation),
            tokens: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
            listed: Mutex::new(HashSet::new()),
            lease_until: Mutex::new(None),
            publish,
            lock: Script::new(LOCK),
            write: Script::new(WRITE),
            unlock: Script::new(UNLOCK),
            rate: Script::new(RATE),
            counts: ClusterCounts::default(),
        }
    }

    /// The Redis it works on.
    pub fn redis(&self) -> &Arc<Redis> {
        self.redis.redis()
    }

    /// Starts listening for changes with `subscriber` (once, before the node serves).
    pub fn listen(&self, subscriber: Subscriber) {
        subscriber.want(keys::APPS_CHANNEL);
        let _ = self.subscriber.set(subscriber);
    }

    /// The subscriber, once listening.
    pub fn subscriber(&self) -> Option<&Subscriber> {
        self.subscriber.get()
    }

    /// The node registered again under `incarnation` (its lease had lapsed).
    pub fn set_incarnation(&self, incarnation: u64) {
        self.incarnation.store(incarnation, Ordering::SeqCst);
        self.listed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The lease was renewed (or taken anew) and holds until `until`.
    pub fn lease_renewed(&self, until: Instant) {
        *self.lease_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(until);
    }

    fn lease_lapsed(&self) -> bool {
        self.lease_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|until| Instant::now() > until)
    }

    fn take_token(&self, key: &UserKey) -> Option<String> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key)
    }

    /// Adds `key` to this incarnation's set of users with devices here, once: the janitor
    /// finds them there if this node dies. Done before the record says so, so that a crash in
    /// between leaves an extra member, never a device nobody reaps.
    fn list_here(&self, key: &UserKey, record: &UserRecord) {
        let me = self.incarnation();
        if !record.devices.values().any(|d| d.online && d.node == me) {
            return;
        }
        if self
            .listed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
        {
            return;
        }
        let set = keys::node_users(me);
        let member = keys::member(key);
        match self.redis.call(&set, &[b"SADD", &set, member.as_bytes()]) {
            Ok(_) => {
                self.listed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone());
            }
            Err(e) => tracing::error!("cannot list a user in this node's set: {e}"),
        }
    }
}

fn record_of(value: Option<&Value>) -> Option<UserRecord> {
    match value {
        Some(Value::Data(bytes)) => match record::decode(bytes) {
            Ok(record) => Some(record),
            Err(why) => {
                tracing::error!("{why}");
                None
            }
        },
        _ => None,
    }
}

impl Authority for RedisAuthority {
    fn incarnation(&self) -> u64 {
        self.incarnation.load(Ordering::SeqCst)
    }

    fn lock(&self, key: &UserKey) -> Result<Option<UserRecord>, String> {
        if self.lease_lapsed() {
            // Its devices may be OFFLINE by now: tagging one, or writing any, would bring a
            // stale device back.
            return Err(
                "this node's lease lapsed; it changes nobody until it registered again".into(),
            );
        }
        let token = format!(
            "{}:{}",
            self.incarnation(),
            self.next_token.fetch_add(1, Ordering::Relaxed)
        );
        let lock = keys::lock(key);
        let rec = keys::record(key);
        let ttl = LOCK_TTL_MS.to_string();
        let started = Instant::now();
        let mut pause = Duration::from_micros(100);
        loop {
            let reply = self
                .redis
                .eval(
                    &self.lock,
                    &[&lock, &rec],
                    &[token.as_bytes(), ttl.as_bytes()],
                )
                .map_err(|e| e.to_string())?;
            if let Value::Array(items) = &reply {
                if items.first() == Some(&Value::Int(1)) {
                    self.tokens
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key.clone(), token);
                    return Ok(record_of(items.get(1)));
                }
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(format!(
                    "user {}:{} stayed locked by another node for {LOCK_WAIT:?}",
                    key.app, key.user
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    fn unlock(&self, key: &UserKey) {
        let Some(token) = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key)
        else {
            return;
        };
        let lock = keys::lock(key);
        if let Err(e) = self.redis.eval(&self.unlock, &[&lock], &[token.as_bytes()]) {
            // It lapses on its own within LOCK_TTL_MS.
            tracing::warn!("cannot release a user's lock: {e}");
        }
    }

    fn read(&self, keys: &[UserKey]) -> Result<Vec<Option<UserRecord>>, String> {
        let commands: Vec<(Vec<u8>, Vec<Vec<u8>>)> = keys
            .iter()
            .map(|key| {
                let rec = keys::record(key);
                (rec.clone(), vec![b"GET".to_vec(), rec])
            })
            .collect();
        self.redis
            .pipeline(&commands)
            .into_iter()
            .map(|reply| match reply {
                Ok(value) => Ok(record_of(Some(&value))),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }

    fn write(&self, key: &UserKey, record: &UserRecord, friends_before: Option<&[String]>) {
        // The write releases the lock: an unlock after it has nothing left to do.
        let Some(token) = self.take_token(key) else {
            self.counts.lost_locks.fetch_add(1, Ordering::Relaxed);
            tracing::error!(app = key.app, user = %key.user, "a change was not written: this node does not hold the user's lock");
            return;
        };
        self.list_here(key, record);
        let lock = keys::lock(key);
        let rec = keys::record(key);
        let channel = keys::channel(key);
        let bytes = record::encode(record);
        let message = record::encode_message(record, friends_before);
        let reply = self.redis.eval(
            &self.write,
            &[&lock, &rec],
            &[token.as_bytes(), &bytes, &channel, &message, self.publish],
        );
        match reply {
            Ok(Value::Int(1)) => {}
            Ok(_) => {
                self.counts.lost_locks.fetch_add(1, Ordering::Relaxed);
                tracing::error!(app = key.app, user = %key.user, "a change was not written: the user's lock lapsed before it");
            }
            Err(e) => {
                tracing::error!(app = key.app, user = %key.user, "a change was not written: {e}")
            }
        }
    }

    fn try_acquire(&self, key: &UserKey, api: &str, limit: RateLimit, now: Millis) -> bool {
        let window = keys::rate(key, api);
        let args = [
            now.to_string(),
            (limit.window.as_millis() as u64).to_string(),
            limit.calls.to_string(),
        ];
        match self.redis.eval(
            &self.rate,
            &[&window],
            &[args[0].as_bytes(), args[1].as_bytes(), args[2].as_bytes()],
        ) {
            Ok(Value::Int(n)) => n == 1,
            Ok(_) => true,
            Err(e) => {
                // Serving beats refusing every call while Redis is away.
                tracing::warn!("cannot count a call in the cluster: {e}");
                true
            }
        }
    }

    fn interest(&self, key: &UserKey, on: bool) {
        if let Some(subscriber) = self.subscriber.get() {
            let channel = keys::channel(key);
            if on {
                subscriber.want(&channel);
            } else {
                subscriber.unwant(&channel);
            }
        }
    }
}

fn strings(value: Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Data(b) => String::from_utf8(b).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Apps and friends live in Redis too; users are the [`Authority`]'s, so the store side of
/// users is empty (nothing to recover after a start: the cluster's records are live).
impl Store for RedisAuthority {
    fn apps(&self) -> Vec<AppSettings> {
        let reply = match self.redis.call(keys::APPS, &[b"HVALS", keys::APPS]) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::error!("cannot read the apps from Redis: {e}");
                return Vec::new();
            }
        };
        strings(reply)
            .iter()
            .filter_map(|json| match serde_json::from_str(json) {
                Ok(app) => Some(app),
                Err(e) => {
                    tracing::error!("an app's settings in Redis do not read: {e}");
                    None
                }
            })
            .collect()
    }

    fn put_app(&self, settings: &AppSettings) {
        let json = serde_json::to_vec(settings).expect("settings always serialise");
        let id = settings.sdk_app_id.to_string();
        if let Err(e) = self
            .redis
            .call(keys::APPS, &[b"HSET", keys::APPS, id.as_bytes(), &json])
        {
            tracing::error!("cannot keep an app's settings in Redis: {e}");
            return;
        }
        if let Err(e) = self.redis.call(
            keys::APPS_CHANNEL,
            &[self.publish, keys::APPS_CHANNEL, id.as_bytes()],
        ) {
            tracing::error!("cannot tell the other nodes of an app's settings: {e}");
        }
    }

    fn user(&self, _key: &UserKey) -> Option<UserRecord> {
        None
    }

    fn put_user(&self, _key: &UserKey, _record: &UserRecord) {}

    fn user_keys_after(&self, _after: Option<&UserKey>, _limit: usize) -> Vec<UserKey> {
        Vec::new()
    }

    fn friends_of(&self, owner: &UserKey) -> Vec<String> {
        let set = keys::friends(owner);
        match self.redis.call(&set, &[b"SMEMBERS", &set]) {
            Ok(reply) => {
                let mut friends = strings(reply);
                friends.sort();
                friends
            }
            Err(e) => {
                tracing::error!("cannot read friends from Redis: {e}");
                Vec::new()
            }
        }
    }

    fn add_friend(&self, owner: &UserKey, friend: &str) -> bool {
        let set = keys::friends(owner);
        matches!(
            self.redis.call(&set, &[b"SADD", &set, friend.as_bytes()]),
            Ok(Value::Int(1))
        )
    }

    fn remove_friend(&self, owner: &UserKey, friend: &str) -> bool {
        let set = keys::friends(owner);
        matches!(
            self.redis.call(&set, &[b"SREM", &set, friend.as_bytes()]),
            Ok(Value::Int(1))
        )
    }
}
