//! The connections of this node and their sessions: a leaf table (see [`super::sharded`]).
//!
//! A session is only ever changed while holding the lock of its user, so an operation that
//! reads a connection's session, takes that user's lock and reads it again knows it is current.

use std::sync::Arc;

use super::sharded::{FastMap, Sharded};
use super::types::{CloseReason, ConnId, Millis, UserKey};

pub(crate) struct Conn {
    /// When it was accepted, or when its session ended by a logout: the login deadline counts
    /// from here, whatever arrives meanwhile.
    pub opened_at: Millis,
    /// When something last arrived on it (D2).
    pub last_seen: Millis,
    pub session: Option<Session>,
}

#[derive(Clone)]
pub(crate) struct Session {
    pub key: UserKey,
    pub device_id: Arc<str>,
    pub sig_expires_at: Millis,
}

#[derive(Default)]
pub(crate) struct Conns {
    table: Sharded<FastMap<ConnId, Conn>>,
}

impl Conns {
    pub(crate) fn open(&self, conn: ConnId, now: Millis) {
        self.table.lock_for(&conn).insert(
            conn,
            Conn {
                opened_at: now,
                last_seen: now,
                session: None,
            },
        );
    }

    pub(crate) fn exists(&self, conn: ConnId) -> bool {
        self.table.lock_for(&conn).contains_key(&conn)
    }

    /// Forgets a connection; answers its session, if it had one.
    pub(crate) fn remove(&self, conn: ConnId) -> Option<Session> {
        self.table.lock_for(&conn).remove(&conn)?.session
    }

    pub(crate) fn touch(&self, conn: ConnId, now: Millis) {
        if let Some(c) = self.table.lock_for(&conn).get_mut(&conn) {
            c.last_seen = c.last_seen.max(now);
        }
    }

    pub(crate) fn session(&self, conn: ConnId) -> Option<Session> {
        self.table.lock_for(&conn).get(&conn)?.session.clone()
    }

    /// Sets the session of a connection that is still open; answers whether it was.
    pub(crate) fn set_session(&self, conn: ConnId, session: Session) -> bool {
        match self.table.lock_for(&conn).get_mut(&conn) {
            Some(c) => {
                c.session = Some(session);
                true
            }
            None => false,
        }
    }

    /// Ends the session of a connection that stays open (a logout): it must log in again
    /// within the login deadline, counted from `now`.
    pub(crate) fn end_session(&self, conn: ConnId, now: Millis) {
        if let Some(c) = self.table.lock_for(&conn).get_mut(&conn) {
            c.session = None;
            c.opened_at = now;
        }
    }

    /// How many connections are logged in, per app.
    pub(crate) fn sessions_per_app(&self) -> super::sharded::FastMap<u32, u64> {
        let mut apps = super::sharded::FastMap::default();
        for index in 0..super::sharded::SHARDS {
            for c in self.table.lock(index).values() {
                if let Some(session) = &c.session {
                    *apps.entry(session.key.app).or_default() += 1;
                }
            }
        }
        apps
    }

    /// The connections whose deadline has passed by `now`, and why: no login within
    /// `login_timeout` of being accepted, silence for the app's `heartbeat_timeout` (D2), or an
    /// expired UserSig. `heartbeat_timeout` answers an app's timeout.
    pub(crate) fn due(
        &self,
        now: Millis,
        login_timeout: Millis,
        heartbeat_timeout: impl Fn(u32) -> Millis,
    ) -> Vec<(ConnId, CloseReason)> {
        let mut due = Vec::new();
        for index in 0..super::sharded::SHARDS {
            for (&id, c) in self.table.lock(index).iter() {
                let reason = match &c.session {
                    None if now >= c.opened_at.saturating_add(login_timeout) => {
                        Some(CloseReason::TimedOut)
                    }
                    None => None,
                    Some(s) if now >= c.last_seen.saturating_add(heartbeat_timeout(s.key.app)) => {
                        Some(CloseReason::TimedOut)
                    }
                    Some(s) if now >= s.sig_expires_at => Some(CloseReason::UserSigExpired),
                    Some(_) => None,
                };
                if let Some(reason) = reason {
                    due.push((id, reason));
                }
            }
        }
        due.sort_unstable();
        due
    }

    /// How many connections are open, logged in or not.
    pub(crate) fn count(&self) -> usize {
        (0..super::sharded::SHARDS)
            .map(|i| self.table.lock(i).len())
            .sum()
    }
}
