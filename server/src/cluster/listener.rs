//! What a node does with what it hears on the bus: another node's change of a user this node
//! cares about is delivered to this node's connections; an app changed elsewhere is read again;
//! after any (re)subscription, what was watched is read again, so nothing published meanwhile
//! is missed.

use std::sync::Weak;

use super::keys;
use super::pubsub::Listener;
use super::record;
use crate::hub::Hub;

/// The bus's listener in a node: hands what it hears to the node's engine.
pub struct Bridge {
    hub: Weak<Hub>,
}

impl Bridge {
    /// A listener for the node of `hub`.
    pub fn new(hub: Weak<Hub>) -> Bridge {
        Bridge { hub }
    }
}

impl Listener for Bridge {
    fn message(&self, channel: &[u8], payload: &[u8]) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        if channel == keys::APPS_CHANNEL {
            hub.engine.reload_apps();
            return;
        }
        let Some(key) = keys::user_of_channel(channel) else {
            return;
        };
        match record::decode_message(payload) {
            Ok((record, friends_before)) => hub.engine.apply_remote(&key, record, friends_before),
            Err(why) => tracing::error!("{why}"),
        }
    }

    fn subscribed(&self, channels: &[Vec<u8>]) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        if channels.iter().any(|c| c == keys::APPS_CHANNEL) {
            hub.engine.reload_apps();
        }
        let users: Vec<_> = channels
            .iter()
            .filter_map(|c| keys::user_of_channel(c))
            .collect();
        hub.engine.resync(&users);
    }
}
