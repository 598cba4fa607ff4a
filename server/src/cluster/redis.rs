//! A blocking Redis client for standalone Redis and Redis Cluster, shared by many threads.
//!
//! Commands are routed by their key to the master of its slot; redirections (`-MOVED`, `-ASK`)
//! are followed, and failures a restart or a resharding causes (I/O errors, `-TRYAGAIN`,
//! `-CLUSTERDOWN`, `-LOADING`) are retried with backoff for [`RETRY_FOR`], so that a Redis
//! being restarted is waited out rather than failed.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::conn::{self, Conn};
use super::error::{classify, Redirect};
use super::resp::{self, Value};
use super::slots::{key_slot, SlotMap};

pub use super::error::RedisError;
pub use super::script::Script;

/// How long a command keeps being retried after I/O errors or a cluster in transition.
pub const RETRY_FOR: Duration = Duration::from_secs(15);

/// First pause between retries; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Redirections followed in a row before pausing: a slot map in flux can bounce a command
/// between two nodes for a moment.
const MAX_REDIRECTS: u32 = 5;

/// Idle connections kept per node; more are closed after use.
const POOL_SIZE: usize = 16;

/// Idle connections to one node.
#[derive(Default)]
struct Pool {
    idle: Mutex<Vec<Conn>>,
}

/// A Redis client: standalone, or every master of a Redis Cluster. `Send + Sync`; share it as
/// `Arc<Redis>`.
pub struct Redis {
    /// The addresses given, asked again for the slot map when the known nodes all fail.
    seeds: Vec<String>,
    cluster: bool,
    slots: RwLock<SlotMap>,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    /// When the slot map was last read, so that a burst of redirections reads it once.
    refreshed: Mutex<Option<Instant>>,
    errors: AtomicU64,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("seeds", &self.seeds)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// `urls`: one `redis://host:port` (standalone, or a cluster node: detected with `INFO
    /// cluster` → `cluster_enabled:1`) or several seeds of a Redis Cluster. Connects, and for a
    /// cluster reads the slot map (CLUSTER SLOTS). Also accepts `host:port` without the scheme.
    /// Unreachable seeds are retried for [`RETRY_FOR`] (Redis may be starting too).
    pub fn connect(urls: &[String]) -> Result<Redis, RedisError> {
        let seeds = urls
            .iter()
            .map(|u| conn::parse_url(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(RedisError::setup)?;
        if seeds.is_empty() {
            return Err(RedisError::setup("no Redis address given".into()));
        }
        let mut redis = Redis {
            seeds: seeds.clone(),
            cluster: false,
            slots: RwLock::new(SlotMap::empty()),
            pools: Mutex::new(HashMap::new()),
            refreshed: Mutex::new(None),
            errors: AtomicU64::new(0),
        };
        let deadline = Instant::now() + RETRY_FOR;
        let mut backoff = FIRST_BACKOFF;
        let info = loop {
            let mut last = None;
            for seed in &seeds {
                match redis.once(seed, false, &[b"INFO", b"cluster"]) {
                    Ok(Value::Data(info)) => break_with(&mut last, Ok((seed.clone(), info))),
                    Ok(Value::Error(e)) => return Err(RedisError::reply(e, seed)),
                    Ok(other) => {
                        return Err(RedisError::setup(format!(
                            "{seed} answered INFO with {other:?}: not Redis?"
                        )))
                    }
                    Err(e) => break_with(&mut last, Err(RedisError::io(&e, seed))),
                }
                if matches!(last, Some(Ok(_))) {
                    break;
                }
            }
            match last {
                Some(Ok(found)) => break found,
                Some(Err(e)) if Instant::now() + backoff > deadline => return Err(e),
                _ => redis.pause(&mut backoff),
            }
        };
        redis.cluster = String::from_utf8_lossy(&info.1)
            .lines()
            .any(|l| l.trim() == "cluster_enabled:1");
        if !redis.cluster {
            // Standalone: the node that answered is the one to use.
            redis.seeds = vec![info.0];
        }
        if redis.cluster {
            loop {
                match redis.refresh_slots() {
                    Ok(()) => break,
                    Err(e) if Instant::now() + backoff > deadline => return Err(e),
                    Err(_) => redis.pause(&mut backoff),
                }
            }
        }
        Ok(redis)
    }

    /// Whether this is a Redis Cluster (commands are routed by slot).
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// One command, routed (on a cluster) to the master of the slot of `route` (a key or a
    /// shard channel); standalone ignores `route`. An error reply is an `Err` whose
    /// [`RedisError::is_reply`] is true.
    ///
    /// A command whose connection failed after it was sent is sent again (Redis may have run
    /// it): commands should be idempotent, or their callers tolerate a repeat.
    pub fn call(&self, route: &[u8], args: &[&[u8]]) -> Result<Value, RedisError> {
        self.routed(key_slot(route), args)
    }

    /// EVALSHA, falling back to EVAL on NOSCRIPT (the script cache is empty after a restart or
    /// a `SCRIPT FLUSH`, and on a node newly given the slot); routed by `keys[0]`.
    pub fn eval(
        &self,
        script: &Script,
        keys: &[&[u8]],
        args: &[&[u8]],
    ) -> Result<Value, RedisError> {
        let numkeys = keys.len().to_string();
        let mut command: Vec<&[u8]> =
            vec![b"EVALSHA", script.sha1().as_bytes(), numkeys.as_bytes()];
        command.extend_from_slice(keys);
        command.extend_from_slice(args);
        let slot = key_slot(keys.first().copied().unwrap_or(b""));
        match self.routed(slot, &command) {
            Err(e) if e.reply_text().is_some_and(|t| t.starts_with("NOSCRIPT")) => {
                command[0] = b"EVAL";
                command[1] = script.source();
                self.routed(slot, &command)
            }
            other => other,
        }
    }

    /// Many commands, each routed by its own key (the first element of the pair; the second is
    /// the command), one round trip per node involved (commands to one node are pipelined in
    /// order); answers in the order given. A command answered by a redirection or a transient
    /// error, or whose node failed, is then retried alone as [`Redis::call`] would.
    pub fn pipeline(&self, cmds: &[(Vec<u8>, Vec<Vec<u8>>)]) -> Vec<Result<Value, RedisError>> {
        let mut answers: Vec<Option<Result<Value, RedisError>>> = vec![None; cmds.len()];
        let mut by_node: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (route, _)) in cmds.iter().enumerate() {
            // A slot without a known master is left to `call`, which waits for one.
            if let Some(addr) = self.node_for(key_slot(route)) {
                by_node.entry(addr).or_default().push(i);
            }
        }
        for (addr, indexes) in by_node {
            let mut request = Vec::new();
            for &i in &indexes {
                let args: Vec<&[u8]> = cmds[i].1.iter().map(Vec::as_slice).collect();
                resp::encode_into(&mut request, &args);
            }
            match self.with_conn(&addr, |c| c.round_trip(&request, indexes.len())) {
                Ok(replies) => {
                    for (i, reply) in indexes.into_iter().zip(replies) {
                        answers[i] = match reply {
                            Value::Error(e) => match classify(&e, &addr) {
                                Redirect::Final => {
                                    let args: Vec<&[u8]> =
                                        cmds[i].1.iter().map(Vec::as_slice).collect();
                                    Some(Err(RedisError::reply(e, &addr).during(&args)))
                                }
                                Redirect::Moved(slot, to) => {
                                    self.moved(slot, &to);
                                    None
                                }
                                _ => None,
                            },
                            value => Some(Ok(value)),
                        };
                    }
                }
                Err(_) => self.count_error(),
            }
        }
        answers
            .into_iter()
            .zip(cmds)
            .map(|(answer, (route, args))| {
                answer.unwrap_or_else(|| {
                    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                    self.call(route, &args)
                })
            })
            .collect()
    }

    /// Counters for metrics: how many times a command failed so far (I/O errors, timeouts,
    /// CLUSTERDOWN, TRYAGAIN, LOADING...), counting each failed attempt, retried or not.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The master of `slot` (the only node when standalone), if known.
    pub(crate) fn node_for(&self, slot: u16) -> Option<String> {
        if !self.cluster {
            return self.seeds.first().cloned();
        }
        let map = self.slots.read().unwrap_or_else(|p| p.into_inner());
        map.owner(slot).map(str::to_string)
    }

    /// Re-reads the slot map from the first node that answers (known masters first, then the
    /// seeds). A no-op when standalone.
    pub(crate) fn refresh_slots(&self) -> Result<(), RedisError> {
        if !self.cluster {
            return Ok(());
        }
        let mut candidates: Vec<String> = {
            let map = self.slots.read().unwrap_or_else(|p| p.into_inner());
            map.masters().to_vec()
        };
        candidates.extend(self.seeds.iter().cloned());
        let mut last = RedisError::setup("no node to ask for the slot map".into());
        for addr in candidates {
            match self.once(&addr, false, &[b"CLUSTER", b"SLOTS"]) {
                Ok(reply) => match SlotMap::parse(&reply, conn::host_of(&addr)) {
                    Some(map) if !map.masters().is_empty() => {
                        *self.slots.write().unwrap_or_else(|p| p.into_inner()) = map;
                        *self.refreshed.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now());
                        return Ok(());
                    }
                    _ => {
                        last = RedisError::setup(format!(
                            "{addr} answered CLUSTER SLOTS with no usable slot map"
                        ))
                    }
                },
                Err(e) => last = RedisError::io(&e, &addr),
            }
        }
        self.count_error();
        Err(last)
    }

    /// Re-reads the slot map unless that was done a moment ago (a burst of failures or
    /// redirections then costs one CLUSTER SLOTS, not one each).
    pub(crate) fn refresh_soon(&self) {
        let recent = self
            .refreshed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < Duration::from_millis(100));
        if !recent {
            let _ = self.refresh_slots();
        }
    }

    /// A `-MOVED`: the slot is served by `addr` from now on; the rest of the map is re-read too,
    /// since a resharding rarely moves one slot alone.
    pub(crate) fn moved(&self, slot: u16, addr: &str) {
        self.slots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .set(slot, addr);
        self.refresh_soon();
        // The refresh may have read a map from a node that does not know of the move yet.
        self.slots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .set(slot, addr);
    }

    /// One command to the master of `slot`, following redirections and retrying transient
    /// failures for [`RETRY_FOR`]; an error names the command.
    fn routed(&self, slot: u16, args: &[&[u8]]) -> Result<Value, RedisError> {
        self.route_and_retry(slot, args).map_err(|e| e.during(args))
    }

    /// The work of [`Redis::routed`].
    fn route_and_retry(&self, slot: u16, args: &[&[u8]]) -> Result<Value, RedisError> {
        // The node to ask next when a redirection named it (and whether to send ASKING).
        let mut target: Option<(String, bool)> = None;
        let deadline = Instant::now() + RETRY_FOR;
        let mut backoff = FIRST_BACKOFF;
        let mut redirects = 0;
        loop {
            let (addr, asking) = match target.take() {
                Some(t) => t,
                None => match self.node_for(slot) {
                    Some(addr) => (addr, false),
                    None => {
                        self.count_error();
                        if Instant::now() + backoff > deadline {
                            return Err(RedisError::setup(format!("no node serves slot {slot}")));
                        }
                        self.pause(&mut backoff);
                        let _ = self.refresh_slots();
                        continue;
                    }
                },
            };
            let failure = match self.once(&addr, asking, args) {
                Ok(Value::Error(e)) => match classify(&e, &addr) {
                    Redirect::Final => return Err(RedisError::reply(e, &addr)),
                    Redirect::Moved(slot, to) if redirects < MAX_REDIRECTS => {
                        redirects += 1;
                        self.moved(slot, &to);
                        target = Some((to, false));
                        continue;
                    }
                    Redirect::Ask(to) if redirects < MAX_REDIRECTS => {
                        redirects += 1;
                        target = Some((to, true));
                        continue;
                    }
                    _ => RedisError::reply(e, &addr),
                },
                Ok(value) => return Ok(value),
                Err(e) => RedisError::io(&e, &addr),
            };
            self.count_error();
            if Instant::now() + backoff > deadline {
                return Err(failure);
            }
            self.pause(&mut backoff);
            redirects = 0;
            self.refresh_soon();
        }
    }

    /// Sends one command to `addr` (after ASKING when `asking`), and reads its reply.
    fn once(&self, addr: &str, asking: bool, args: &[&[u8]]) -> io::Result<Value> {
        let mut request = Vec::new();
        if asking {
            resp::encode_into(&mut request, &[b"ASKING"]);
        }
        resp::encode_into(&mut request, args);
        let mut replies = self.with_conn(addr, |c| c.round_trip(&request, 1 + asking as usize))?;
        Ok(replies.pop().unwrap_or(Value::Nil))
    }

    /// Runs `work` on an idle connection to `addr` (or a new one), and keeps the connection for
    /// the next command only if `work` succeeded: a connection that failed may hold half a
    /// reply, and is closed.
    fn with_conn<T>(
        &self,
        addr: &str,
        work: impl FnOnce(&mut Conn) -> io::Result<T>,
    ) -> io::Result<T> {
        let pool = {
            let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
            pools.entry(addr.to_string()).or_default().clone()
        };
        let idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => Conn::open(addr)?,
        };
        let result = work(&mut conn);
        let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) if conn.is_clean() && idle.len() < POOL_SIZE => idle.push(conn),
            Ok(_) => {}
            // The other idle connections to this node most likely broke the same way (Redis
            // restarted): trying each of them, with backoff, would only delay the retry that
            // opens a new one.
            Err(_) => idle.clear(),
        }
        result
    }

    fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    fn pause(&self, backoff: &mut Duration) {
        std::thread::sleep(*backoff);
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
    }
}

/// Keeps the first success, else the last failure.
fn break_with<T, E>(last: &mut Option<Result<T, E>>, new: Result<T, E>) {
    if !matches!(last, Some(Ok(_))) {
        *last = Some(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_address_is_refused_before_connecting() {
        assert!(Redis::connect(&["nonsense".into()]).is_err());
        assert!(Redis::connect(&[]).is_err());
    }
}
