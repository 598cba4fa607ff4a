//! Fan-out between server nodes, keyed by the user who changed.
//!
//! A node publishes every change its engine makes; every node (itself included) receives it and
//! delivers it to the watchers connected to that node. In process, publishing is receiving; a
//! shared backend (Redis pub/sub, for a cluster) implements the same two calls.

use std::collections::VecDeque;

use crate::engine::StatusChange;

/// Carries status changes to every node.
pub trait Bus: Send {
    /// Sends a change to every node.
    fn publish(&mut self, change: StatusChange);
    /// The changes that reached this node since the last call, in the order published per user.
    fn receive(&mut self) -> Vec<StatusChange>;
}

/// The single-node bus: what is published here is received here.
#[derive(Debug, Default)]
pub struct LocalBus {
    queue: VecDeque<StatusChange>,
}

impl Bus for LocalBus {
    fn publish(&mut self, change: StatusChange) {
        self.queue.push_back(change);
    }

    fn receive(&mut self) -> Vec<StatusChange> {
        self.queue.drain(..).collect()
    }
}
