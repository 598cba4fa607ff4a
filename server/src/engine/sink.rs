//! Where the engine's decisions go besides its answers: changes to deliver and connections to
//! close.

use std::sync::Mutex;

use super::settings::AppSettings;
use super::types::{Close, CloseReason, ConnId, DeviceEvent, Effects, StatusChange};

/// Receives what the engine decided. Called while the engine holds the lock of the user who
/// changed, so that one user's changes arrive in the order they were made (N3): implementations
/// must be quick and must not call back into the engine.
pub trait Sink: Send + Sync {
    /// A user's (statusType, customStatus) changed (N1); `to` are the connections of this node
    /// that receive it, each once (N2), in a stable order.
    fn changed(&self, change: &StatusChange, to: &[ConnId]);
    /// The engine ended `conn`'s session (a kick, an expired UserSig, a timeout, a replaced
    /// device): the server says why and closes it.
    fn close(&self, conn: ConnId, reason: CloseReason);
    /// Something happened to a device of an app with settings `app` (for the app's backend and
    /// the metrics); heard under the user's lock, so one user's events arrive in order.
    fn device_event(&self, event: &DeviceEvent, app: &AppSettings);
}

/// A sink that keeps everything, in order, for [`Engine::take_effects`](super::Engine::take_effects):
/// what tests and single-threaded embedders read.
#[derive(Debug, Default)]
pub struct Recorder {
    effects: Mutex<Effects>,
}

impl Recorder {
    /// Takes what was recorded since the last call.
    pub fn take(&self) -> Effects {
        std::mem::take(&mut *self.effects.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Sink for Recorder {
    fn changed(&self, change: &StatusChange, _to: &[ConnId]) {
        self.effects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .changes
            .push(change.clone());
    }

    fn close(&self, conn: ConnId, reason: CloseReason) {
        self.effects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closes
            .push(Close { conn, reason });
    }

    fn device_event(&self, event: &DeviceEvent, _app: &AppSettings) {
        self.effects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .push(event.clone());
    }
}
