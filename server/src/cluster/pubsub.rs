//! Pub/sub over Redis: SUBSCRIBE on standalone Redis, sharded SSUBSCRIBE on a Redis Cluster,
//! kept subscribed across reconnects and slot moves.
//!
//! Callers record what they want ([`Subscriber::want`]) without waiting on the network; a
//! control thread makes the subscriptions match the wish set, one connection per master node,
//! each read by a thread of its own that hands messages to the [`Listener`]. Whenever channels
//! are (re)subscribed the listener is told, since messages published meanwhile were missed.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::conn;
use super::redis::Redis;
use super::resp::{self, Value};
use super::slots::key_slot;

/// What the subscriber hears.
pub trait Listener: Send + Sync + 'static {
    /// A message published to a wanted channel.
    fn message(&self, channel: &[u8], payload: &[u8]);
    /// These channels were (re)subscribed and the server confirmed it: anything published to
    /// them before this moment may have been missed (the caller re-reads state then). Called
    /// after the first subscribe of a channel too, and after every reconnect or slot move.
    fn subscribed(&self, channels: &[Vec<u8>]);
}

/// How often an idle pub/sub connection is pinged.
const PING_EVERY: Duration = Duration::from_secs(1);

/// A connection whose ping went unanswered (nothing at all heard) this long is taken for dead.
const SILENT_FOR: Duration = Duration::from_secs(3);

/// Reconnect backoff: first pause, doubled up to the last.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Channels per SUBSCRIBE on standalone Redis (any number would do; this keeps commands small).
const BATCH: usize = 500;

/// Where a subscribe was sent, and whether the server confirmed it.
struct Placed {
    link: u64,
    confirmed: bool,
}

/// What the caller wants and where it stands, under one lock.
#[derive(Default)]
struct State {
    wanted: HashSet<Vec<u8>>,
    placed: HashMap<Vec<u8>, Placed>,
    /// Wanted channels that were subscribed, then lost to a reconnect or a move.
    lost: HashSet<Vec<u8>>,
    /// Links whose reader ended, for the control thread to close.
    ended: Vec<u64>,
    /// Something changed: the control thread has work.
    dirty: bool,
    /// The slot map should be read again before placing channels.
    refresh: bool,
    stop: bool,
}

struct Shared {
    redis: Arc<Redis>,
    listener: Arc<dyn Listener>,
    state: Mutex<State>,
    wake: Condvar,
    resubscribes: AtomicU64,
    errors: AtomicU64,
    /// Origin of the `last_heard` clocks.
    epoch: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn poke(&self, state: &mut State) {
        state.dirty = true;
        self.wake.notify_all();
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

/// Subscriptions kept matching what the caller wants, with their own threads.
pub struct Subscriber {
    shared: Arc<Shared>,
    control: Option<JoinHandle<()>>,
}

impl Subscriber {
    /// Starts the subscriber's own threads (std threads, not tokio).
    pub fn start(redis: Arc<Redis>, listener: Arc<dyn Listener>) -> Subscriber {
        let shared = Arc::new(Shared {
            redis,
            listener,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            resubscribes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let control = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("redis-pubsub".into())
                .spawn(move || Control::new(shared).run())
                .expect("a thread for the Redis subscriber")
        };
        Subscriber {
            shared,
            control: Some(control),
        }
    }

    /// Wants messages of `channel` from now on (idempotent; the caller does its own ref
    /// counting). Never blocks on the network: it records the wish and wakes the subscriber
    /// thread.
    pub fn want(&self, channel: &[u8]) {
        let mut state = self.shared.lock();
        if state.wanted.insert(channel.to_vec()) {
            self.shared.poke(&mut state);
        }
    }

    /// No longer wants them (idempotent).
    pub fn unwant(&self, channel: &[u8]) {
        let mut state = self.shared.lock();
        if state.wanted.remove(channel) {
            state.lost.remove(channel);
            self.shared.poke(&mut state);
        }
    }

    /// How many channels were subscribed again after a reconnect or a slot move, so far.
    pub fn resubscribes(&self) -> u64 {
        self.shared.resubscribes.load(Ordering::Relaxed)
    }

    /// How many failures so far: connections refused or broken, error replies.
    pub fn errors(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }

    /// Whether every wanted channel is currently subscribed (for readiness).
    pub fn healthy(&self) -> bool {
        let state = self.shared.lock();
        state
            .wanted
            .iter()
            .all(|c| state.placed.get(c).is_some_and(|p| p.confirmed))
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.stop = true;
            self.shared.poke(&mut state);
        }
        if let Some(control) = self.control.take() {
            let _ = control.join();
        }
    }
}

/// One pub/sub connection to a node, as the control thread holds it.
struct Link {
    id: u64,
    stream: TcpStream,
    heard: Arc<AtomicU64>,
    pinged: Instant,
    /// When the oldest ping not answered yet was sent (ms since `Shared::epoch`).
    unanswered: Option<u64>,
    reader: Option<JoinHandle<()>>,
}

impl Link {
    fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// The control thread: places wanted channels on links, removes unwanted ones, pings, and
/// reconnects.
struct Control {
    shared: Arc<Shared>,
    links: HashMap<String, Link>,
    /// Per node that failed: when to try again, and the pause after that.
    retry: HashMap<String, (Instant, Duration)>,
    next_id: u64,
}

impl Control {
    fn new(shared: Arc<Shared>) -> Control {
        Control {
            shared,
            links: HashMap::new(),
            retry: HashMap::new(),
            next_id: 1,
        }
    }

    fn run(mut self) {
        let mut next_tick = Instant::now();
        loop {
            let (ended, refresh) = {
                let mut state = self.shared.lock();
                while !state.stop && !state.dirty && Instant::now() < next_tick {
                    let wait = next_tick.saturating_duration_since(Instant::now());
                    state = match self.shared.wake.wait_timeout(state, wait) {
                        Ok((s, _)) => s,
                        Err(p) => p.into_inner().0,
                    };
                }
                if state.stop {
                    break;
                }
                state.dirty = false;
                (
                    std::mem::take(&mut state.ended),
                    std::mem::take(&mut state.refresh),
                )
            };
            for id in ended {
                self.forget(id);
            }
            if refresh {
                self.shared.redis.refresh_soon();
            }
            let retry_at = self.reconcile();
            self.ping();
            next_tick = Instant::now() + PING_EVERY / 4;
            if let Some(at) = retry_at {
                next_tick = next_tick.min(at);
            }
        }
        for (_, mut link) in self.links.drain() {
            link.close();
        }
    }

    /// Closes the link `id` whose reader ended, and waits a little before reconnecting to it.
    fn forget(&mut self, id: u64) {
        let addr = self
            .links
            .iter()
            .find(|(_, l)| l.id == id)
            .map(|(a, _)| a.clone());
        if let Some(addr) = addr {
            if let Some(mut link) = self.links.remove(&addr) {
                link.close();
            }
            self.retry
                .entry(addr)
                .or_insert((Instant::now() + FIRST_BACKOFF, FIRST_BACKOFF));
        }
        // The reader let go of the link's channels as it ended, but channels may have been
        // placed on the link since, by a reconcile that had not heard yet.
        unplace_link(&mut self.shared.lock(), id);
    }

    /// Subscribes wanted channels not placed yet and unsubscribes placed ones no longer wanted.
    /// Answers when to try again for nodes that could not be reached.
    fn reconcile(&mut self) -> Option<Instant> {
        let (to_place, to_drop) = {
            let mut state = self.shared.lock();
            let to_place: Vec<Vec<u8>> = state
                .wanted
                .iter()
                .filter(|c| !state.placed.contains_key(*c))
                .cloned()
                .collect();
            let unwanted: Vec<Vec<u8>> = state
                .placed
                .keys()
                .filter(|c| !state.wanted.contains(*c))
                .cloned()
                .collect();
            let to_drop: Vec<(Vec<u8>, u64)> = unwanted
                .into_iter()
                .filter_map(|c| state.placed.remove(&c).map(|p| (c, p.link)))
                .collect();
            (to_place, to_drop)
        };
        let cluster = self.shared.redis.is_cluster();
        // Unsubscribe, per link and (on a cluster) per slot.
        let mut drops: HashMap<(u64, u16), Vec<Vec<u8>>> = HashMap::new();
        for (channel, link) in to_drop {
            let slot = if cluster { key_slot(&channel) } else { 0 };
            drops.entry((link, slot)).or_default().push(channel);
        }
        for ((id, _), channels) in drops {
            let verb: &[u8] = if cluster {
                b"SUNSUBSCRIBE"
            } else {
                b"UNSUBSCRIBE"
            };
            if let Some(addr) = self
                .links
                .iter()
                .find(|(_, l)| l.id == id)
                .map(|(a, _)| a.clone())
            {
                self.send(&addr, verb, &channels);
            }
        }
        // Subscribe, grouped by node then slot.
        let mut places: HashMap<String, HashMap<u16, Vec<Vec<u8>>>> = HashMap::new();
        let mut unknown = false;
        for channel in to_place {
            let slot = key_slot(&channel);
            match self.shared.redis.node_for(slot) {
                Some(addr) => places
                    .entry(addr)
                    .or_default()
                    .entry(if cluster { slot } else { 0 })
                    .or_default()
                    .push(channel),
                None => unknown = true,
            }
        }
        let mut retry_at: Option<Instant> = None;
        if unknown {
            self.shared.lock().refresh = true;
            retry_at = Some(Instant::now() + Duration::from_millis(100));
        }
        for (addr, slots) in places {
            if let Err(at) = self.link_to(&addr) {
                retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
                continue;
            }
            let id = self.links[&addr].id;
            for (_, channels) in slots {
                {
                    let mut state = self.shared.lock();
                    for channel in &channels {
                        state.placed.insert(
                            channel.clone(),
                            Placed {
                                link: id,
                                confirmed: false,
                            },
                        );
                        if state.lost.remove(channel) {
                            self.shared.resubscribes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let verb: &[u8] = if cluster { b"SSUBSCRIBE" } else { b"SUBSCRIBE" };
                self.send(&addr, verb, &channels);
            }
        }
        retry_at
    }

    /// A link to `addr`, opened now if there is none; Err(when to try again) if it cannot be.
    fn link_to(&mut self, addr: &str) -> Result<(), Instant> {
        if self.links.contains_key(addr) {
            return Ok(());
        }
        if let Some(&(at, _)) = self.retry.get(addr) {
            if Instant::now() < at {
                return Err(at);
            }
        }
        // The read timeout is only a backstop: pings find a dead peer sooner.
        let opened = conn::open(addr, Some(conn::READ_TIMEOUT))
            .and_then(|stream| Ok((stream.try_clone()?, stream)));
        match opened {
            Ok((read_half, stream)) => {
                self.retry.remove(addr);
                let id = self.next_id;
                self.next_id += 1;
                let heard = Arc::new(AtomicU64::new(self.shared.now_ms()));
                let reader = {
                    let (shared, heard, addr) =
                        (self.shared.clone(), heard.clone(), addr.to_string());
                    std::thread::Builder::new()
                        .name("redis-pubsub-read".into())
                        .spawn(move || {
                            read_link(shared, id, addr, BufReader::new(read_half), heard)
                        })
                        .ok()
                };
                let Some(reader) = reader else {
                    return Err(self.failed(addr));
                };
                self.links.insert(
                    addr.to_string(),
                    Link {
                        id,
                        stream,
                        heard,
                        pinged: Instant::now(),
                        unanswered: None,
                        reader: Some(reader),
                    },
                );
                Ok(())
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "cannot open a Redis pub/sub connection");
                Err(self.failed(addr))
            }
        }
    }

    /// Counts a failure to reach `addr`, and answers when to try again (backoff doubling).
    fn failed(&mut self, addr: &str) -> Instant {
        self.shared.errors.fetch_add(1, Ordering::Relaxed);
        self.shared.lock().refresh = true;
        let pause = self
            .retry
            .get(addr)
            .map_or(FIRST_BACKOFF, |&(_, p)| (p * 2).min(MAX_BACKOFF));
        let at = Instant::now() + pause;
        self.retry.insert(addr.to_string(), (at, pause));
        at
    }

    /// Sends `verb channels...` (in batches) on the link to `addr`; a failed write closes the
    /// socket, and its reader then reports the link ended.
    fn send(&mut self, addr: &str, verb: &[u8], channels: &[Vec<u8>]) {
        let Some(link) = self.links.get_mut(addr) else {
            return;
        };
        let mut request = Vec::new();
        for batch in channels.chunks(BATCH) {
            let mut args: Vec<&[u8]> = vec![verb];
            args.extend(batch.iter().map(Vec::as_slice));
            resp::encode_into(&mut request, &args);
        }
        if link.stream.write_all(&request).is_err() {
            let _ = link.stream.shutdown(Shutdown::Both);
        }
    }

    /// Pings every link that was not pinged for a second, and closes those whose ping went
    /// unanswered too long (anything heard counts as an answer: a busy link is alive).
    fn ping(&mut self) {
        let now_ms = self.shared.now_ms();
        for link in self.links.values_mut() {
            let heard = link.heard.load(Ordering::Relaxed);
            if let Some(sent) = link.unanswered {
                if heard >= sent {
                    link.unanswered = None;
                } else if now_ms.saturating_sub(sent) > SILENT_FOR.as_millis() as u64 {
                    tracing::debug!("a Redis pub/sub connection stopped answering; reconnecting");
                    let _ = link.stream.shutdown(Shutdown::Both);
                    continue;
                }
            }
            if link.pinged.elapsed() >= PING_EVERY {
                link.pinged = Instant::now();
                link.unanswered.get_or_insert(now_ms);
                if link.stream.write_all(&resp::encode(&[b"PING"])).is_err() {
                    let _ = link.stream.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// The reader of link `id`: hands messages to the listener, records confirmations, and notices
/// slots that moved; when the connection ends, tells the control thread.
fn read_link(
    shared: Arc<Shared>,
    id: u64,
    addr: String,
    mut reader: BufReader<TcpStream>,
    heard: Arc<AtomicU64>,
) {
    let mut confirmed: Vec<Vec<u8>> = Vec::new();
    let end = loop {
        let value = match resp::read_value(&mut reader) {
            Ok(value) => value,
            Err(e) => break e.to_string(),
        };
        heard.store(shared.now_ms(), Ordering::Relaxed);
        if let Err(reason) = on_value(&shared, id, &addr, value, &mut confirmed) {
            break reason;
        }
        // Confirmations come in bursts: tell the listener once the burst is read.
        if reader.buffer().is_empty() && !confirmed.is_empty() {
            shared.listener.subscribed(&std::mem::take(&mut confirmed));
        }
    };
    let mut state = shared.lock();
    if !state.stop {
        tracing::debug!(%addr, reason = %end, "Redis pub/sub connection ended");
        shared.errors.fetch_add(1, Ordering::Relaxed);
    }
    unplace_link(&mut state, id);
    state.ended.push(id);
    state.refresh = true;
    shared.poke(&mut state);
}

/// Forgets every channel placed on link `id` (which ended): wanted ones are placed again,
/// counted as resubscribes if they had been subscribed.
fn unplace_link(state: &mut State, id: u64) {
    let on_link: Vec<Vec<u8>> = state
        .placed
        .iter()
        .filter(|(_, p)| p.link == id)
        .map(|(c, _)| c.clone())
        .collect();
    for channel in on_link {
        if let Some(placed) = state.placed.remove(&channel) {
            if placed.confirmed && state.wanted.contains(&channel) {
                state.lost.insert(channel);
            }
        }
    }
}

/// Handles one value read on link `id`. Err ends the link (a reply we cannot make sense of).
fn on_value(
    shared: &Shared,
    id: u64,
    addr: &str,
    value: Value,
    confirmed: &mut Vec<Vec<u8>>,
) -> Result<(), String> {
    let items = match value {
        Value::Array(items) => items,
        Value::Error(e) => return on_error(shared, id, &e),
        // `+PONG` when nothing is subscribed on the connection.
        _ => return Ok(()),
    };
    let kind = items.first().and_then(Value::as_bytes).unwrap_or(b"");
    let channel = items.get(1).and_then(Value::as_bytes);
    match (kind, channel) {
        (b"message" | b"smessage", Some(channel)) => {
            let Some(payload) = items.get(2).and_then(Value::as_bytes) else {
                return Err("a message without payload".into());
            };
            if !confirmed.is_empty() {
                shared.listener.subscribed(&std::mem::take(confirmed));
            }
            if shared.lock().wanted.contains(channel) {
                shared.listener.message(channel, payload);
            }
        }
        (b"subscribe" | b"ssubscribe", Some(channel)) => {
            let mut state = shared.lock();
            let wanted = state.wanted.contains(channel);
            if let Some(placed) = state.placed.get_mut(channel) {
                if placed.link == id && !placed.confirmed && wanted {
                    placed.confirmed = true;
                    confirmed.push(channel.to_vec());
                }
            }
        }
        (b"unsubscribe" | b"sunsubscribe", Some(channel)) => {
            // Either the answer to our own unsubscribe (the channel is no longer placed here),
            // or the server dropping a channel whose slot moved away: subscribe it again.
            let mut state = shared.lock();
            let ours = state
                .placed
                .get(channel)
                .is_some_and(|p| p.link == id && state.wanted.contains(channel));
            if ours {
                if let Some(placed) = state.placed.remove(channel) {
                    if placed.confirmed {
                        state.lost.insert(channel.to_vec());
                    }
                }
                tracing::debug!(%addr, "Redis dropped a wanted channel (slot moved?)");
                state.refresh = true;
                shared.poke(&mut state);
            }
        }
        _ => {}
    }
    Ok(())
}

/// An error reply on link `id`: a `-MOVED` for a subscribe sent to a node that no longer has
/// the slot puts that slot's unconfirmed channels back to be placed again; anything else ends
/// the link (it is reopened with backoff, so a cluster that is down is not hammered).
fn on_error(shared: &Shared, id: u64, error: &str) -> Result<(), String> {
    shared.errors.fetch_add(1, Ordering::Relaxed);
    let mut words = error.split(' ');
    if words.next() != Some("MOVED") {
        return Err(format!("Redis answered {error}"));
    }
    let slot = words.next().and_then(|s| s.parse::<u16>().ok());
    let to = words.next().and_then(|a| conn::parse_url(a).ok());
    if let (Some(slot), Some(to)) = (slot, &to) {
        shared.redis.moved(slot, to);
    }
    let mut state = shared.lock();
    let stale: Vec<Vec<u8>> = state
        .placed
        .iter()
        .filter(|(c, p)| p.link == id && !p.confirmed && slot.is_none_or(|s| key_slot(c) == s))
        .map(|(c, _)| c.clone())
        .collect();
    for channel in stale {
        state.placed.remove(&channel);
    }
    state.refresh = true;
    shared.poke(&mut state);
    Ok(())
}
