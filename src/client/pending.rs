//! Requests sent and not yet answered, with their deadlines.
//!
//! Kept by the driver alone (no lock): replies, timeouts and disconnects are all decided in the
//! driver task, so a request is resolved exactly once by whichever comes first.

use std::collections::{BTreeSet, HashMap};
use tokio::time::Instant;

use super::command::Reply;

/// Why a request was sent, which decides what its answer does.
pub(crate) enum Purpose {
    Login,
    Logout,
    Heartbeat,
    Call(Reply),
}

pub(crate) struct Pending {
    /// When the request was written, for the round trip of the replies that carry the server's
    /// clock.
    sent: Instant,
    deadline: Instant,
    pub(crate) purpose: Purpose,
}

#[derive(Default)]
pub(crate) struct PendingRequests {
    by_id: HashMap<u64, Pending>,
    by_deadline: BTreeSet<(Instant, u64)>,
}

impl PendingRequests {
    pub(crate) fn insert(&mut self, id: u64, sent: Instant, deadline: Instant, purpose: Purpose) {
        self.by_deadline.insert((deadline, id));
        let pending = Pending {
            sent,
            deadline,
            purpose,
        };
        if let Some(old) = self.by_id.insert(id, pending) {
            // Ids come from a counter that never repeats; keep the sets consistent anyway.
            self.by_deadline.remove(&(old.deadline, id));
        }
    }

    /// Resolves a request; `None` for an id that is unknown or already resolved (a reply that
    /// arrives after its timeout).
    pub(crate) fn take(&mut self, id: u64) -> Option<Purpose> {
        let pending = self.by_id.remove(&id)?;
        self.by_deadline.remove(&(pending.deadline, id));
        Some(pending.purpose)
    }

    /// When a request still waiting was sent.
    pub(crate) fn sent_at(&self, id: u64) -> Option<Instant> {
        self.by_id.get(&id).map(|p| p.sent)
    }

    /// The earliest deadline, for the driver's timer.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// Removes and returns one request whose deadline has passed, oldest first.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Purpose> {
        let &(deadline, id) = self.by_deadline.first()?;
        if deadline > now {
            return None;
        }
        self.take(id)
    }

    pub(crate) fn has_heartbeat(&self) -> bool {
        self.by_id
            .values()
            .any(|p| matches!(p.purpose, Purpose::Heartbeat))
    }

    /// Everything still waiting, oldest request first, so their callbacks fire in call order.
    pub(crate) fn drain(&mut self) -> Vec<Purpose> {
        let mut ids: Vec<u64> = self.by_id.keys().copied().collect();
        ids.sort_unstable();
        self.by_deadline.clear();
        ids.into_iter()
            .filter_map(|id| self.by_id.remove(&id).map(|p| p.purpose))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn take_expire_and_drain() {
        let now = Instant::now();
        let mut pending = PendingRequests::default();
        pending.insert(1, now, now + Duration::from_secs(3), Purpose::Login);
        pending.insert(2, now, now + Duration::from_secs(1), Purpose::Heartbeat);
        pending.insert(3, now, now + Duration::from_secs(2), Purpose::Logout);
        assert_eq!(pending.sent_at(2), Some(now));
        assert_eq!(pending.sent_at(9), None);
        assert_eq!(pending.next_deadline(), Some(now + Duration::from_secs(1)));
        assert!(pending.has_heartbeat());
        assert!(pending.pop_expired(now).is_none());
        assert!(matches!(
            pending.pop_expired(now + Duration::from_secs(1)),
            Some(Purpose::Heartbeat)
        ));
        assert!(!pending.has_heartbeat());
        assert!(matches!(pending.take(3), Some(Purpose::Logout)));
        assert!(pending.take(3).is_none());
        assert_eq!(pending.next_deadline(), Some(now + Duration::from_secs(3)));
        assert_eq!(pending.drain().len(), 1);
        assert!(pending.next_deadline().is_none());
    }
}
