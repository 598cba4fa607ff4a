//! Pub/sub over Redis: SUBSCRIBE on standalone Redis, sharded SSUBSCRIBE on a Redis Cluster,
//! kept subscribed across reconnects and slot moves.
//!
//! Callers record what they want ([`Subscriber::want`]) without waiting on the network; a
//! control thread makes the subscriptions match the wish set, one connection per master node,
//! each read by a thread of its own that hands messages to the [`Listener`]. Whenever channels
//! are (re)subscribed the listener is told, since messages published meanwhile were missed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::redis::Redis;

mod control;
mod reader;

use control::Control;

/// What the subscriber hears. The callbacks run on the subscriber's own threads: they may
/// block briefly (a slow one delays the messages of its connection), and must not drop the
/// [`Subscriber`] (its drop waits for those threads).
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
    /// Channels whose placement may not match the wish (wanted but not placed, or placed but
    /// not wanted), so that the control thread looks at what changed, not at every channel.
    pending: HashSet<Vec<u8>>,
    /// Links whose reader ended, for the control thread to close.
    ended: Vec<u64>,
    /// Something changed: the control thread has work.
    dirty: bool,
    /// The slot map should be read again before placing channels.
    refresh: bool,
    stop: bool,
}

impl State {
    /// Forgets where `channel` was placed (its link ended, or the server dropped it): if it is
    /// still wanted it is placed again, and counted as resubscribed if it had been subscribed.
    fn unplace(&mut self, channel: &[u8]) {
        let Some(placed) = self.placed.remove(channel) else {
            return;
        };
        if self.wanted.contains(channel) {
            if placed.confirmed {
                self.lost.insert(channel.to_vec());
            }
            self.pending.insert(channel.to_vec());
        }
    }
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
        if state.wanted.insert(channel.to_vec()) && !state.placed.contains_key(channel) {
            state.pending.insert(channel.to_vec());
            self.shared.poke(&mut state);
        }
    }

    /// No longer wants them (idempotent).
    pub fn unwant(&self, channel: &[u8]) {
        let mut state = self.shared.lock();
        if state.wanted.remove(channel) {
            state.lost.remove(channel);
            if state.placed.contains_key(channel) {
                state.pending.insert(channel.to_vec());
                self.shared.poke(&mut state);
            } else {
                state.pending.remove(channel);
            }
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
