//! The control thread of a [`super::Subscriber`]: makes the subscriptions match the wish
//! set, one connection (link) per master node, pings them, and reconnects with backoff.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::reader::{read_link, unplace_link};
use super::{Placed, Shared, BATCH, FIRST_BACKOFF, MAX_BACKOFF, PING_EVERY, SILENT_FOR};
use crate::cluster::conn;
use crate::cluster::resp;
use crate::cluster::slots::key_slot;

/// A link that lasted this long was healthy: when it breaks, reconnecting starts again from
/// the shortest pause.
const STABLE_AFTER: Duration = Duration::from_secs(5);

/// One pub/sub connection to a node, as the control thread holds it.
struct Link {
    id: u64,
    stream: TcpStream,
    heard: Arc<AtomicU64>,
    opened: Instant,
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
pub(super) struct Control {
    shared: Arc<Shared>,
    links: HashMap<String, Link>,
    /// Per node that failed: when to try again, and the last pause (kept after a reconnect, so
    /// that a node that accepts connections only to break them is not hammered).
    retry: HashMap<String, (Instant, Duration)>,
    next_id: u64,
}

impl Control {
    pub(super) fn new(shared: Arc<Shared>) -> Control {
        Control {
            shared,
            links: HashMap::new(),
            retry: HashMap::new(),
            next_id: 1,
        }
    }

    pub(super) fn run(mut self) {
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
                let lived = link.opened.elapsed();
                link.close();
                let pause = match self.retry.get(&addr) {
                    Some(&(_, last)) if lived < STABLE_AFTER => (last * 2).min(MAX_BACKOFF),
                    _ => FIRST_BACKOFF,
                };
                self.retry.insert(addr, (Instant::now() + pause, pause));
            }
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
            let mut to_place = Vec::new();
            let mut to_drop = Vec::new();
            for channel in std::mem::take(&mut state.pending) {
                let wanted = state.wanted.contains(&channel);
                match state.placed.get(&channel) {
                    None if wanted => to_place.push(channel),
                    Some(p) if !wanted => {
                        to_drop.push((channel.clone(), p.link));
                        state.placed.remove(&channel);
                    }
                    _ => {}
                }
            }
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
        let mut unplaced = Vec::new();
        for channel in to_place {
            let slot = key_slot(&channel);
            match self.shared.redis.node_for(slot) {
                Some(addr) => places
                    .entry(addr)
                    .or_default()
                    .entry(if cluster { slot } else { 0 })
                    .or_default()
                    .push(channel),
                None => unplaced.push(channel),
            }
        }
        let mut retry_at: Option<Instant> = None;
        if !unplaced.is_empty() {
            // No master known for their slot (the cluster is changing): read the map again.
            self.shared.lock().refresh = true;
            retry_at = Some(Instant::now() + Duration::from_millis(100));
        }
        for (addr, slots) in places {
            if let Err(at) = self.link_to(&addr) {
                retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
                unplaced.extend(slots.into_values().flatten());
                continue;
            }
            let id = self.links[&addr].id;
            for (_, mut channels) in slots {
                {
                    let mut state = self.shared.lock();
                    // Unwanted meanwhile: not placed (nothing would unsubscribe it later).
                    channels.retain(|c| state.wanted.contains(c) && !state.placed.contains_key(c));
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
                if !channels.is_empty() {
                    let verb: &[u8] = if cluster { b"SSUBSCRIBE" } else { b"SUBSCRIBE" };
                    self.send(&addr, verb, &channels);
                }
            }
        }
        if !unplaced.is_empty() {
            let mut state = self.shared.lock();
            for channel in unplaced {
                if state.wanted.contains(&channel) {
                    state.pending.insert(channel);
                }
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
                        opened: Instant::now(),
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
