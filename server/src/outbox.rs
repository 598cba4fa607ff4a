//! A connection's outbox: what its writer is to send, bounded in bytes and entries.
//!
//! Replies keep the place reserved for them when their request arrived, so a reply always
//! leaves before any push its request caused (the pushes queue behind the reserved place) and
//! in request order. Pushes that wait behind each other are coalesced: one entry per user,
//! holding the latest status (N5), never moved ahead of a reply queued before it. An outbox that
//! outgrows its limits (a client that does not read) is ended: its queue is dropped at once and
//! the connection is closed as a slow consumer.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use indexmap::IndexMap;

use crate::engine::CloseReason;

/// A changed status, encoded once (as the JSON of one `WireStatus`) and shared by every
/// connection it goes to. Benchmark profile (docs/benchmarks.md): cloning the status per
/// receiver and encoding it again in every writer was the hottest user-space path of fan-out.
#[derive(Debug)]
pub struct EncodedStatus {
    /// Whose status it is: an outbox keeps only the latest per user (N5).
    pub user_id: Arc<str>,
    /// `encode(&WireStatus)`.
    pub json: Vec<u8>,
    /// When the change was decided: push latency is measured from here.
    pub decided_at: Instant,
}

impl EncodedStatus {
    /// `json`, the encoded status of `user_id`, decided now.
    pub fn new(user_id: Arc<str>, json: Vec<u8>) -> EncodedStatus {
        EncodedStatus {
            user_id,
            json,
            decided_at: Instant::now(),
        }
    }
}

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Pushed {
    /// Queued as a new entry.
    Queued,
    /// It took the place of the same user's older status, still waiting (N5).
    Coalesced,
    /// The outbox is over its limits (now or before): the connection is closed as a slow
    /// consumer, or is already closing.
    Overflowed,
}

impl Pushed {
    /// Whether the outbox is still open.
    pub fn is_open(self) -> bool {
        self != Pushed::Overflowed
    }
}

/// How much one outbox may hold before its connection is closed as a slow consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of replies and pushes waiting (a single reply may be larger: a login snapshot).
    pub max_bytes: usize,
    /// Replies and distinct users' pushes waiting.
    pub max_entries: usize,
}

/// Why an outbox ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The engine or the server closes the connection: send what is queued, say why (for a
    /// kick or an expired UserSig), then close.
    Close(CloseReason),
    /// The reader is done (the peer closed, or sent something that closed it): send what is
    /// queued, then close.
    Done,
    /// The client did not read and the outbox outgrew its limits: close at once.
    Overflow,
}

/// What the writer gets from [`Outbox::take`].
pub enum Taken {
    /// Frames to write, already framed (length prefix and payload), in order.
    Bytes(Vec<u8>),
    /// The last frames to write (possibly none), and why the connection ends.
    End(Vec<u8>, End),
}

/// A reserved place for a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(u64);

/// One connection's outbox. Its one reader is the connection's task, which polls it
/// ([`Outbox::poll_ready`], [`Outbox::poll_overflowed`]); anything that changes the outbox wakes
/// that task. A stored waker rather than a `Notify`: no future to keep per idle connection.
pub struct Outbox {
    state: Mutex<State>,
    limits: Limits,
}

#[derive(Default)]
struct State {
    items: Queue,
    bytes: usize,
    entries: usize,
    next_slot: u64,
    end: Option<End>,
    /// The connection's task, when it waits for the outbox.
    waker: Option<Waker>,
}

impl State {
    /// Remembers who to wake, cloning the waker only when it changed.
    fn wait(&mut self, cx: &Context<'_>) {
        match &self.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => self.waker = Some(cx.waker().clone()),
        }
    }
}

enum Item {
    Reply { slot: u64, frame: Option<Vec<u8>> },
    Statuses(Group),
}

/// The items of an outbox, in order. The first is kept inline: nearly always there is one item
/// or none, and then the queue allocates nothing (docs/benchmarks.md: CPU per delivery).
#[derive(Default)]
struct Queue {
    first: Option<Item>,
    rest: VecDeque<Item>,
}

impl Queue {
    fn push_back(&mut self, item: Item) {
        if self.first.is_none() {
            self.first = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    fn front_mut(&mut self) -> Option<&mut Item> {
        self.first.as_mut()
    }

    fn back_mut(&mut self) -> Option<&mut Item> {
        match self.rest.back_mut() {
            Some(item) => Some(item),
            None => self.first.as_mut(),
        }
    }

    fn pop_front(&mut self) {
        self.first = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            // Back to one item or none: hold no buffer.
            self.rest = VecDeque::new();
        }
    }

    fn clear(&mut self) {
        *self = Queue::default();
    }

    /// The reply waiting in `slot`'s place, searched from the back (it is usually the last).
    fn reply_mut(&mut self, slot: u64) -> Option<&mut Option<Vec<u8>>> {
        self.rest
            .iter_mut()
            .rev()
            .chain(self.first.iter_mut())
            .find_map(|item| match item {
                Item::Reply { slot: s, frame } if *s == slot => Some(frame),
                _ => None,
            })
    }

    fn is_lone_reply(&self) -> bool {
        self.rest.is_empty() && matches!(self.first, Some(Item::Reply { .. }))
    }
}

/// Pushes waiting since the last reply, the latest per user (N5): one alone, or several in the
/// order their users first came.
enum Group {
    One(Arc<EncodedStatus>),
    Many(IndexMap<Arc<str>, Arc<EncodedStatus>, foldhash::fast::RandomState>),
}

impl Group {
    /// Adds a status; answers the one of the same user it replaced.
    fn insert(&mut self, status: &Arc<EncodedStatus>) -> Option<Arc<EncodedStatus>> {
        match self {
            Group::One(one) if one.user_id == status.user_id => {
                Some(std::mem::replace(one, status.clone()))
            }
            Group::One(one) => {
                let mut many = IndexMap::with_hasher(Default::default());
                many.insert(one.user_id.clone(), one.clone());
                many.insert(status.user_id.clone(), status.clone());
                *self = Group::Many(many);
                None
            }
            // An existing key keeps its place and takes the newer status (N5).
            Group::Many(many) => many.insert(status.user_id.clone(), status.clone()),
        }
    }

    fn statuses(&self) -> impl Iterator<Item = &Arc<EncodedStatus>> {
        let (one, many) = match self {
            Group::One(one) => (Some(one), None),
            Group::Many(many) => (None, Some(many.values())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    fn len(&self) -> usize {
        match self {
            Group::One(_) => 1,
            Group::Many(many) => many.len(),
        }
    }
}

impl Outbox {
    pub fn new(limits: Limits) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            limits,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves the place of the reply to a request that just arrived.
    pub fn reserve(&self) -> Slot {
        let mut state = self.state();
        let slot = state.next_slot;
        state.next_slot += 1;
        state.items.push_back(Item::Reply { slot, frame: None });
        state.entries += 1;
        Slot(slot)
    }

    /// Puts a reply in its place. Answers false when that ended the outbox (overflow).
    pub fn fill(&self, slot: Slot, payload: &[u8]) -> bool {
        let mut state = self.state();
        let framed = frame(payload);
        let size = framed.len();
        let Some(frame) = state.items.reply_mut(slot.0) else {
            return state.end != Some(End::Overflow);
        };
        *frame = Some(framed);
        state.bytes += size;
        let ok = self.check(&mut state);
        wake(state);
        ok
    }

    /// Sends a message that answers no request (a refusal before closing).
    pub fn send(&self, payload: &[u8]) -> bool {
        let slot = self.reserve();
        self.fill(slot, payload)
    }

    /// Queues a push, coalesced with one of the same user still waiting since the last reply
    /// (N5). A push to an outbox that is ending is dropped (as queued: the connection closes).
    pub fn push(&self, status: &Arc<EncodedStatus>) -> Pushed {
        let mut state = self.state();
        if let Some(end) = state.end {
            return match end {
                End::Overflow => Pushed::Overflowed,
                _ => Pushed::Queued,
            };
        }
        let size = status.json.len() + 1;
        let replaced = match state.items.back_mut() {
            Some(Item::Statuses(group)) => group.insert(status),
            _ => {
                state
                    .items
                    .push_back(Item::Statuses(Group::One(status.clone())));
                None
            }
        };
        let pushed = match replaced {
            Some(old) => {
                state.bytes = state.bytes + size - (old.json.len() + 1);
                Pushed::Coalesced
            }
            None => {
                state.bytes += size;
                state.entries += 1;
                Pushed::Queued
            }
        };
        let ok = self.check(&mut state);
        wake(state);
        if ok {
            pushed
        } else {
            Pushed::Overflowed
        }
    }

    /// Ends the outbox; the writer sends what is queued (but after an overflow), then closes.
    /// The first end wins.
    pub fn end(&self, end: End) {
        let mut state = self.state();
        if state.end.is_none() {
            state.end = Some(end);
        }
        wake(state);
    }

    /// Ends the outbox if it outgrew its limits; answers whether it is still open.
    fn check(&self, state: &mut State) -> bool {
        // One reply alone may be larger than the limit (a login snapshot of many friends).
        let lone_reply = state.items.is_lone_reply();
        let over = state.entries > self.limits.max_entries
            || (state.bytes > self.limits.max_bytes && !lone_reply);
        if over {
            state.items.clear();
            state.bytes = 0;
            state.entries = 0;
            state.end = Some(End::Overflow);
        }
        !over
    }

    /// Ready once the outbox has overflowed: a writer stuck on a full socket stops then.
    pub fn poll_overflowed(&self, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.state();
        if state.end == Some(End::Overflow) {
            Poll::Ready(())
        } else {
            state.wait(cx);
            Poll::Pending
        }
    }

    /// Ready when there is something to take ([`Outbox::take_into`]): a frame at the front, or
    /// the end.
    pub fn poll_ready(&self, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.state();
        let ready = state.end.is_some()
            || match state.items.front_mut() {
                Some(Item::Reply { frame, .. }) => frame.is_some(),
                Some(Item::Statuses(_)) => true,
                None => false,
            };
        if ready {
            Poll::Ready(())
        } else {
            state.wait(cx);
            Poll::Pending
        }
    }

    /// Appends every frame ready at the front (up to the first reply not yet made) to `out`,
    /// and answers the end if the outbox ended (after an overflow, nothing is appended).
    /// `pushed` hears each push appended (for its latency).
    pub fn take_into(
        &self,
        out: &mut Vec<u8>,
        mut pushed: impl FnMut(&EncodedStatus),
    ) -> Option<End> {
        let mut state = self.state();
        if state.end != Some(End::Overflow) {
            let ending = state.end.is_some();
            drain(&mut state, ending, out, &mut pushed);
        }
        state.end
    }

    /// Waits until there is something, and takes it.
    pub async fn take(&self) -> Taken {
        poll_fn(|cx| self.poll_ready(cx)).await;
        let mut bytes = Vec::new();
        match self.take_into(&mut bytes, |_| {}) {
            Some(end) => Taken::End(bytes, end),
            None => Taken::Bytes(bytes),
        }
    }

    /// Bytes waiting, for tests and benchmarks.
    pub fn queued_bytes(&self) -> usize {
        self.state().bytes
    }
}

/// Wakes the connection's task, if it waits, once the lock is let go.
fn wake(mut state: MutexGuard<'_, State>) {
    let waker = state.waker.take();
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Appends the frames ready at the front to `out`. When the outbox is ending, replies that will
/// never be made are skipped rather than waited for.
fn drain(
    state: &mut State,
    ending: bool,
    out: &mut Vec<u8>,
    pushed: &mut impl FnMut(&EncodedStatus),
) {
    while let Some(item) = state.items.front_mut() {
        match item {
            Item::Reply { frame: None, .. } if !ending => break,
            Item::Reply { frame, .. } => {
                if let Some(frame) = frame.take() {
                    state.bytes -= frame.len();
                    out.extend_from_slice(&frame);
                }
            }
            Item::Statuses(group) => {
                state.bytes -= group.statuses().map(|s| s.json.len() + 1).sum::<usize>();
                state.entries -= group.len() - 1;
                status_changed_into(group, out);
                group.statuses().for_each(|status| pushed(status));
            }
        }
        state.items.pop_front();
        state.entries -= 1;
    }
}

/// A length-prefixed frame.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(4 + payload.len());
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// Appends the frame of `encode(&ServerMessage::StatusChanged { statuses })` to `out`, joined
/// from statuses that were each encoded once for all their receivers.
fn status_changed_into(group: &Group, out: &mut Vec<u8>) {
    const HEAD: &[u8] = br#"{"type":"status_changed","statuses":["#;
    const TAIL: &[u8] = b"]}";
    let body: usize = group.statuses().map(|s| s.json.len() + 1).sum::<usize>() - 1;
    let len = HEAD.len() + body + TAIL.len();
    out.reserve(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.extend_from_slice(HEAD);
    for (i, status) in group.statuses().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&status.json);
    }
    out.extend_from_slice(TAIL);
}

#[cfg(test)]
mod tests {
    use super::*;
    use imstatus_protocol::{encode, ServerMessage, WireStatus};

    fn status(user: &str, custom: &str, version: u64) -> WireStatus {
        WireStatus {
            user_id: user.into(),
            status_type: 1,
            custom_status: custom.into(),
            online_devices: vec!["Linux".into(), "Web".into()],
            version,
        }
    }

    fn encoded(s: &WireStatus) -> Arc<EncodedStatus> {
        Arc::new(EncodedStatus::new(Arc::from(s.user_id.as_str()), encode(s)))
    }

    const ROOMY: Limits = Limits {
        max_bytes: 1 << 20,
        max_entries: 1000,
    };

    /// The payloads of the frames in `bytes`.
    fn frames(mut bytes: &[u8]) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
            out.push(imstatus_protocol::decode_server_message(&bytes[4..4 + len]).unwrap());
            bytes = &bytes[4 + len..];
        }
        out
    }

    fn take_now(outbox: &Outbox) -> Taken {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(outbox.take())
    }

    #[test]
    fn pre_encoded_push_is_byte_identical_and_coalesced() {
        // covers: N5 (coalesced, latest per user, first-seen order)
        let statuses = [
            status("bob", "a \"quoted\" é", 5),
            status("amy", "", 7),
            status("bob", "later", 6),
        ];
        let outbox = Outbox::new(ROOMY);
        for s in &statuses {
            assert!(outbox.push(&encoded(s)).is_open());
        }
        let expected = ServerMessage::StatusChanged {
            statuses: vec![statuses[2].clone(), statuses[1].clone()],
        };
        match take_now(&outbox) {
            Taken::Bytes(bytes) => assert_eq!(frames(&bytes), vec![expected]),
            Taken::End(..) => panic!("not ended"),
        }
        assert_eq!(outbox.queued_bytes(), 0);
    }

    #[test]
    fn a_reply_leaves_before_the_pushes_queued_after_its_place() {
        // covers: N3 (reply before the pushes it caused, per-user order kept)
        let outbox = Outbox::new(ROOMY);
        assert!(outbox.push(&encoded(&status("amy", "1", 1))).is_open());
        let slot = outbox.reserve();
        assert_eq!(
            Pushed::Queued,
            outbox.push(&encoded(&status("amy", "2", 2)))
        );
        // The push before the reserved place may go; nothing after it.
        match take_now(&outbox) {
            Taken::Bytes(bytes) => assert_eq!(frames(&bytes).len(), 1),
            Taken::End(..) => panic!("not ended"),
        }
        let reply = ServerMessage::Ok {
            id: 9,
            statuses: vec![],
            protocol_version: None,
            server_time_ms: None,
            heartbeat_timeout_ms: None,
        };
        assert!(outbox.fill(slot, &encode(&reply)));
        match take_now(&outbox) {
            Taken::Bytes(bytes) => {
                let got = frames(&bytes);
                assert_eq!(got[0], reply);
                assert!(
                    matches!(&got[1], ServerMessage::StatusChanged { statuses } if statuses[0].version == 2)
                );
            }
            Taken::End(..) => panic!("not ended"),
        }
    }

    #[test]
    fn a_full_outbox_ends_and_drops_its_queue() {
        let outbox = Outbox::new(Limits {
            max_bytes: 10_000,
            max_entries: 5,
        });
        for i in 0..5 {
            assert!(outbox
                .push(&encoded(&status(&format!("u{i}"), "", 1)))
                .is_open());
        }
        // The same users again coalesce: still within the limit.
        for i in 0..5 {
            assert_eq!(
                Pushed::Coalesced,
                outbox.push(&encoded(&status(&format!("u{i}"), "x", 2)))
            );
        }
        assert_eq!(
            Pushed::Overflowed,
            outbox.push(&encoded(&status("u5", "", 1)))
        );
        assert_eq!(outbox.queued_bytes(), 0);
        assert!(matches!(take_now(&outbox), Taken::End(b, End::Overflow) if b.is_empty()));
        // Bytes count too.
        let outbox = Outbox::new(Limits {
            max_bytes: 400,
            max_entries: 100,
        });
        let big = status("big", &"x".repeat(100), 1);
        assert!(outbox.push(&encoded(&big)).is_open());
        assert!(outbox
            .push(&encoded(&status("b2", &"x".repeat(100), 1)))
            .is_open());
        assert_eq!(
            Pushed::Overflowed,
            outbox.push(&encoded(&status("b3", &"x".repeat(100), 1)))
        );
    }

    #[test]
    fn ending_sends_what_is_queued_and_skips_replies_never_made() {
        let outbox = Outbox::new(ROOMY);
        assert!(outbox.push(&encoded(&status("amy", "1", 1))).is_open());
        let _never = outbox.reserve();
        outbox.end(End::Close(CloseReason::Kicked));
        outbox.end(End::Done);
        match take_now(&outbox) {
            Taken::End(bytes, End::Close(CloseReason::Kicked)) => {
                assert_eq!(frames(&bytes).len(), 1)
            }
            _ => panic!("ends with the first reason"),
        }
    }
}
