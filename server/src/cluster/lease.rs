//! Node liveness: each node holds a lease in Redis under its incarnation and renews it; when a
//! node's lease lapses (it died, or stopped answering), a surviving node turns that node's
//! devices OFFLINE, guarded by the incarnation so that a device that moved elsewhere is left
//! alone. A node that finds its own lease gone registers again under a new incarnation and
//! closes its connections: their devices were (or will be) turned OFFLINE by a janitor, and
//! come back only by logging in again, never as the stale device they were.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::authority::RedisAuthority;
use super::keys;
use super::redis::Redis;
use super::resp::Value;
use crate::engine::Authority;
use crate::hub::{now_ms, Hub};

/// Registers a new node: draws an incarnation no node ever had, and takes its lease.
pub fn register(redis: &Redis, ttl: Duration) -> Result<u64, String> {
    let incarnation = match redis
        .call(keys::INCARNATIONS, &[b"INCR", keys::INCARNATIONS])
        .map_err(|e| format!("cannot register this node in Redis: {e}"))?
    {
        Value::Int(n) if n > 0 => n as u64,
        other => return Err(format!("INCR {:?} answered {other:?}", keys::INCARNATIONS)),
    };
    let lease = keys::lease(incarnation);
    let ttl_ms = (ttl.as_millis() as u64).to_string();
    let now = now_ms().to_string();
    redis
        .call(
            &lease,
            &[b"SET", &lease, now.as_bytes(), b"PX", ttl_ms.as_bytes()],
        )
        .map_err(|e| format!("cannot take this node's lease: {e}"))?;
    redis
        .call(
            keys::NODES,
            &[b"SADD", keys::NODES, incarnation.to_string().as_bytes()],
        )
        .map_err(|e| format!("cannot register this node in Redis: {e}"))?;
    Ok(incarnation)
}

/// The lease of this node: renewed by its own thread, checked before the node tags a device.
pub struct Lease {
    authority: Arc<RedisAuthority>,
    ttl: Duration,
    renewed: Mutex<Instant>,
    stop: AtomicBool,
}

impl Lease {
    /// The lease this node took at [`register`], lasting `ttl` unless renewed.
    pub fn new(authority: Arc<RedisAuthority>, ttl: Duration) -> Arc<Lease> {
        Arc::new(Lease {
            authority,
            ttl,
            renewed: Mutex::new(Instant::now()),
            stop: AtomicBool::new(false),
        })
    }

    /// Renews the lease. Answers `true` if the node had to register again (its lease was
    /// gone): its connections must close.
    fn renew(&self) -> Result<bool, String> {
        let redis = self.authority.redis();
        let lease = keys::lease(self.authority.incarnation());
        let ttl_ms = (self.ttl.as_millis() as u64).to_string();
        let renewed = redis
            .call(&lease, &[b"PEXPIRE", &lease, ttl_ms.as_bytes()])
            .map_err(|e| format!("cannot renew this node's lease: {e}"))?;
        if renewed == Value::Int(1) {
            *self.renewed.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            return Ok(false);
        }
        let incarnation = register(redis, self.ttl)?;
        tracing::warn!(
            incarnation,
            "this node's lease had lapsed: registered again, closing every connection"
        );
        self.authority.set_incarnation(incarnation);
        *self.renewed.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(true)
    }

    /// Gives the lease up at shutdown, once the node's connections are closed: nothing of it
    /// is left to reap.
    pub fn leave(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let redis = self.authority.redis();
        let me = self.authority.incarnation();
        let lease = keys::lease(me);
        let users = keys::node_users(me);
        let _ = redis.call(&lease, &[b"DEL", &lease]);
        let _ = redis.call(&users, &[b"DEL", &users]);
        let _ = redis.call(keys::NODES, &[b"SREM", keys::NODES, me.to_string().as_bytes()]);
    }

    /// Renews the lease every third of its life and reaps dead nodes, on a thread of its own,
    /// until [`Lease::leave`].
    pub fn spawn(self: &Arc<Lease>, hub: Weak<Hub>) {
        let lease = self.clone();
        let every = self.ttl / 3;
        let _ = std::thread::Builder::new()
            .name("imstatus-lease".into())
            .spawn(move || {
                while !lease.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(every);
                    let Some(hub) = hub.upgrade() else {
                        return;
                    };
                    if lease.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    match lease.renew() {
                        Ok(true) => hub.end_all(),
                        Ok(false) => {}
                        Err(why) => tracing::error!("{why}"),
                    }
                    if let Err(why) = reap_dead(&lease.authority, &hub) {
                        tracing::error!("cannot reap dead nodes: {why}");
                    }
                }
            });
    }
}

/// Turns OFFLINE the devices of every registered node whose lease lapsed, one node at a time
/// under a reaper's lock so that one surviving node does each.
fn reap_dead(authority: &RedisAuthority, hub: &Hub) -> Result<(), String> {
    let redis = authority.redis();
    let me = authority.incarnation();
    let members = redis
        .call(keys::NODES, &[b"SMEMBERS", keys::NODES])
        .map_err(|e| e.to_string())?;
    let incarnations: Vec<u64> = match members {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Data(b) => std::str::from_utf8(&b).ok()?.parse().ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut alive = 0;
    for incarnation in incarnations {
        if incarnation == me {
            alive += 1;
            continue;
        }
        let lease = keys::lease(incarnation);
        if redis
            .call(&lease, &[b"EXISTS", &lease])
            .map_err(|e| e.to_string())?
            == Value::Int(1)
        {
            alive += 1;
            continue;
        }
        let reaper = keys::reaper(incarnation);
        let took = redis
            .call(
                &reaper,
                &[b"SET", &reaper, me.to_string().as_bytes(), b"NX", b"PX", b"60000"],
            )
            .map_err(|e| e.to_string())?;
        if took == Value::Nil {
            continue;
        }
        let users_key = keys::node_users(incarnation);
        let users = redis
            .call(&users_key, &[b"SMEMBERS", &users_key])
            .map_err(|e| e.to_string())?;
        let mut reaped = 0;
        if let Value::Array(items) = users {
            for item in items {
                let Value::Data(member) = item else { continue };
                let Some(key) = std::str::from_utf8(&member).ok().and_then(keys::member_key)
                else {
                    continue;
                };
                reaped += hub.engine.reap_node(&key, incarnation, now_ms());
            }
        }
        authority
            .counts
            .reaped_devices
            .fetch_add(reaped as u64, Ordering::Relaxed);
        tracing::warn!(incarnation, devices = reaped, "reaped a node whose lease lapsed");
        redis
            .call(&users_key, &[b"DEL", &users_key])
            .map_err(|e| e.to_string())?;
        redis
            .call(
                keys::NODES,
                &[b"SREM", keys::NODES, incarnation.to_string().as_bytes()],
            )
            .map_err(|e| e.to_string())?;
    }
    authority.counts.nodes.store(alive, Ordering::Relaxed);
    Ok(())
}
