//! The engine shared by every connection task, and the outboxes it delivers into.
//!
//! One lock covers the engine and the outboxes, so deliveries leave in the order the engine made
//! the changes (N3), and a reply is queued before the pushes its request caused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::bus::Bus;
use crate::engine::{CloseReason, ConnId, Engine, Millis, Store};
use imstatus_protocol::encode;

/// The engine as the server runs it: over whichever store the configuration chose.
pub type ServerEngine = Engine<Box<dyn Store>>;

/// A changed status, encoded once (as the JSON of one `WireStatus`) and shared by every
/// connection it goes to. Benchmark profile (docs/benchmarks.md): cloning the `WireStatus` per
/// receiver and encoding it again in every writer was the hottest user-space path of fan-out.
#[derive(Debug)]
pub struct EncodedStatus {
    /// Whose status it is: the writer keeps only the latest per user (N5).
    pub user_id: Arc<str>,
    /// `encode(&WireStatus)`.
    pub json: Vec<u8>,
}

/// What a connection's writer task is asked to send.
#[derive(Debug)]
pub enum Outbound {
    /// An encoded frame (a reply).
    Frame(Vec<u8>),
    /// A status to push; the writer may coalesce several into one frame (N5).
    Status(Arc<EncodedStatus>),
    /// Say why, then close the connection.
    Close(CloseReason),
}

/// Engine, bus and outboxes behind one lock.
pub struct Hub {
    inner: Mutex<HubInner>,
}

pub struct HubInner {
    pub engine: ServerEngine,
    bus: Box<dyn Bus>,
    outboxes: HashMap<ConnId, mpsc::UnboundedSender<Outbound>>,
}

/// Unix time in milliseconds: the clock the server injects into the engine.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

impl Hub {
    pub fn new(engine: ServerEngine, bus: Box<dyn Bus>) -> Hub {
        Hub {
            inner: Mutex::new(HubInner {
                engine,
                bus,
                outboxes: HashMap::new(),
            }),
        }
    }

    /// Locks the hub. A panic while it was held leaves the engine as it was at the panic; we keep
    /// serving rather than take every connection down with it.
    pub fn lock(&self) -> MutexGuard<'_, HubInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the engine, then delivers whatever it caused.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut ServerEngine) -> R) -> R {
        let mut inner = self.lock();
        let result = f(&mut inner.engine);
        inner.flush();
        result
    }
}

impl HubInner {
    /// Registers a connection and its outbox.
    pub fn open(&mut self, conn: ConnId, outbox: mpsc::UnboundedSender<Outbound>, now: Millis) {
        self.engine.open(conn, now);
        self.outboxes.insert(conn, outbox);
    }

    /// Forgets a connection that is gone (D1), and delivers what that caused.
    pub fn closed(&mut self, conn: ConnId, now: Millis) {
        self.outboxes.remove(&conn);
        self.engine.close(conn, now);
        self.flush();
    }

    /// Queues a frame for one connection.
    pub fn send(&self, conn: ConnId, frame: Vec<u8>) {
        if let Some(outbox) = self.outboxes.get(&conn) {
            // A closed outbox means the writer has ended; the reader will report the close.
            let _ = outbox.send(Outbound::Frame(frame));
        }
    }

    /// Publishes the engine's changes, delivers what the bus brings to local watchers, and
    /// closes the connections the engine ended.
    pub fn flush(&mut self) {
        let effects = self.engine.take_effects();
        for change in effects.changes {
            self.bus.publish(change);
        }
        for change in self.bus.receive() {
            let conns = self.engine.route(&change);
            if conns.is_empty() {
                continue;
            }
            let wire = crate::wire::status(&change.status);
            let encoded = Arc::new(EncodedStatus {
                user_id: Arc::from(wire.user_id.as_str()),
                json: encode(&wire),
            });
            for conn in conns {
                if let Some(outbox) = self.outboxes.get(&conn) {
                    let _ = outbox.send(Outbound::Status(encoded.clone()));
                }
            }
        }
        for close in effects.closes {
            if let Some(outbox) = self.outboxes.remove(&close.conn) {
                let _ = outbox.send(Outbound::Close(close.reason));
            }
        }
    }

    /// How many connections are open on this node.
    pub fn connection_count(&self) -> usize {
        self.outboxes.len()
    }
}
