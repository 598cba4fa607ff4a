//! The reader thread of one pub/sub link: messages to the listener, confirmations recorded,
//! channels dropped by the server (slot moved) put back to be placed again.

use std::io::BufReader;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Shared, State};
use crate::cluster::error::{classify, Redirect};
use crate::cluster::resp::{self, Value};
use crate::cluster::slots::key_slot;

/// The reader of link `id`: hands messages to the listener, records confirmations, and notices
/// slots that moved; when the connection ends, tells the control thread.
pub(super) fn read_link(
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
pub(super) fn unplace_link(state: &mut State, id: u64) {
    let on_link: Vec<Vec<u8>> = state
        .placed
        .iter()
        .filter(|(_, p)| p.link == id)
        .map(|(c, _)| c.clone())
        .collect();
    for channel in on_link {
        state.unplace(&channel);
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
        Value::Error(e) => return on_error(shared, id, addr, &e),
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
                state.unplace(channel);
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
fn on_error(shared: &Shared, id: u64, addr: &str, error: &str) -> Result<(), String> {
    shared.errors.fetch_add(1, Ordering::Relaxed);
    let Redirect::Moved(slot, to) = classify(error, addr) else {
        return Err(format!("Redis answered {error}"));
    };
    shared.redis.moved(slot, &to);
    let mut state = shared.lock();
    let stale: Vec<Vec<u8>> = state
        .placed
        .iter()
        .filter(|(c, p)| p.link == id && !p.confirmed && key_slot(c) == slot)
        .map(|(c, _)| c.clone())
        .collect();
    for channel in stale {
        state.unplace(&channel);
    }
    state.refresh = true;
    shared.poke(&mut state);
    Ok(())
}
