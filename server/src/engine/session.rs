//! Connections, logins and devices: L1–L6, D1, D2.

use std::collections::HashMap;

use super::error::{check_user_id, EngineError};
use super::store::{DeviceRecord, Store, UserRecord};
use super::types::{Close, CloseReason, ConnId, Millis, Platform, StatusType, UserKey, UserStatus};
use super::Engine;
use crate::codes;
use crate::usersig;

/// A connection that has not logged in within this many milliseconds is closed, so that idle
/// sockets cannot pile up before any app's heartbeat timeout applies.
pub const LOGIN_TIMEOUT: Millis = 30_000;

/// Longest device ID a client may send.
const MAX_DEVICE_ID_BYTES: usize = 64;

pub(crate) struct Conn {
    pub last_seen: Millis,
    pub session: Option<Session>,
}

pub(crate) struct Session {
    pub key: UserKey,
    pub device_id: String,
    pub sig_expires_at: Millis,
}

/// A login request, as it came from the client.
#[derive(Debug, Clone)]
pub struct Login<'a> {
    pub sdk_app_id: u32,
    pub user_id: &'a str,
    pub user_sig: &'a str,
    pub platform: Platform,
    pub device_id: &'a str,
}

impl<S: Store> Engine<S> {
    /// Registers a new connection; it must log in within [`LOGIN_TIMEOUT`].
    pub fn open(&mut self, conn: ConnId, now: Millis) {
        self.conns.insert(
            conn,
            Conn {
                last_seen: now,
                session: None,
            },
        );
    }

    /// Notes that something arrived on `conn` (any request counts as a heartbeat, D2).
    pub fn touch(&mut self, conn: ConnId, now: Millis) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_seen = c.last_seen.max(now);
        }
    }

    /// The user logged in on `conn`, if any.
    pub fn session_user(&self, conn: ConnId) -> Option<&UserKey> {
        self.conns.get(&conn)?.session.as_ref().map(|s| &s.key)
    }

    /// Logs `conn` in as one device of a user (L1, L2). Answers the snapshot a client needs to
    /// hold the current status of itself and of everyone it watches (N4): its own status first.
    pub fn login(
        &mut self,
        conn: ConnId,
        login: &Login<'_>,
        now: Millis,
    ) -> Result<Vec<UserStatus>, EngineError> {
        let app = self.app(login.sdk_app_id)?;
        check_user_id(login.user_id)
            .map_err(|why| EngineError::new(codes::ERR_SDK_COMM_INVALID_IDENTIFIER, why))?;
        check_device_id(login.device_id)?;
        let claims = usersig::verify(
            login.user_sig,
            app.sdk_app_id,
            &app.secret_key,
            login.user_id,
            now / 1000,
        )
        .map_err(|e| EngineError::new(e.code(), e.to_string()))?;
        if !self.conns.contains_key(&conn) {
            self.open(conn, now);
        }
        let key = UserKey::new(login.sdk_app_id, login.user_id);
        let same_session = self.conns[&conn]
            .session
            .as_ref()
            .is_some_and(|s| s.key == key && s.device_id == login.device_id);
        if !same_session {
            // Logging in as someone else on a logged-in connection logs the old session out first.
            if self.conns[&conn].session.is_some() {
                self.logout(conn, now)?;
            }
            self.admit_device(&key, login, conn, now);
        }
        let session = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut());
        if let Some(session) = session {
            // `expires_at` is the last whole second at which the sig is accepted (login checks
            // `now / 1000 > expires_at`), so the session ends when the next second starts.
            session.sig_expires_at = claims.expires_at.saturating_add(1).saturating_mul(1000);
        }
        self.touch(conn, now);
        Ok(self.snapshot(&key, &app))
    }

    fn admit_device(&mut self, key: &UserKey, login: &Login<'_>, conn: ConnId, now: Millis) {
        let app = self.store.app(key.app).expect("login checked the app");
        let before = self.record(key);
        let mut record = before.clone();
        if record.devices.contains_key(login.device_id) {
            // The same SDK instance again (a reconnect): its older connection is stale.
            if let Some(old) = self.conn_of_device(key, login.device_id) {
                self.end_session(old, CloseReason::Replaced);
            }
        }
        // A reconnect obeys L2 too: it may claim another platform than before, or the policy
        // may have changed since (F2).
        for device_id in devices_to_kick(&record, login.device_id, login.platform, &app) {
            record.devices.remove(&device_id);
            if let Some(old) = self.conn_of_device(key, &device_id) {
                self.end_session(old, CloseReason::Kicked);
            }
        }
        let device = record
            .devices
            .entry(login.device_id.to_string())
            .or_insert(DeviceRecord {
                platform: login.platform,
                logged_in_at: now,
                online: true,
                offline_since: None,
            });
        device.platform = login.platform;
        device.online = true;
        device.offline_since = None;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(Session {
                key: key.clone(),
                device_id: login.device_id.to_string(),
                sig_expires_at: Millis::MAX,
            });
        }
        self.local.entry(key.clone()).or_default().push(conn);
        self.commit(key, &before, record, now);
    }

    /// Ends this device's session (L4). The connection stays open and may log in again.
    pub fn logout(&mut self, conn: ConnId, now: Millis) -> Result<(), EngineError> {
        let session = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.session.take())
            .ok_or_else(EngineError::not_logged_in)?;
        self.forget_local(&session.key, conn);
        let before = self.record(&session.key);
        let mut record = before.clone();
        record.devices.remove(&session.device_id);
        self.commit(&session.key, &before, record, now);
        Ok(())
    }

    /// The connection is gone without a logout (D1): its device is OFFLINE from now.
    pub fn close(&mut self, conn: ConnId, now: Millis) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let Some(session) = c.session else {
            return;
        };
        self.forget_local(&session.key, conn);
        let before = self.record(&session.key);
        let mut record = before.clone();
        if let Some(device) = record.devices.get_mut(&session.device_id) {
            device.online = false;
            device.offline_since = Some(now);
        }
        self.commit(&session.key, &before, record, now);
    }

    /// Applies every deadline that has passed by `now`: silent connections (D2), expired
    /// UserSigs, OFFLINE devices past retention (L5) and subscriptions of users away for too
    /// long (S7). Call it often (every few hundred milliseconds); it visits only live
    /// connections and users with a pending deadline.
    pub fn tick(&mut self, now: Millis) {
        let mut due = Vec::new();
        for (&id, c) in &self.conns {
            let reason = match &c.session {
                None if now >= c.last_seen.saturating_add(LOGIN_TIMEOUT) => {
                    Some(CloseReason::TimedOut)
                }
                None => None,
                Some(s) => {
                    let timeout = self
                        .store
                        .app(s.key.app)
                        .map_or(LOGIN_TIMEOUT, |a| a.heartbeat_timeout.as_millis() as Millis);
                    if now >= c.last_seen.saturating_add(timeout) {
                        Some(CloseReason::TimedOut)
                    } else if now >= s.sig_expires_at {
                        Some(CloseReason::UserSigExpired)
                    } else {
                        None
                    }
                }
            };
            if let Some(reason) = reason {
                due.push((id, reason));
            }
        }
        due.sort_unstable();
        for (conn, reason) in due {
            self.effects.closes.push(Close { conn, reason });
            self.close(conn, now);
        }

        // Benchmark profile (docs/benchmarks.md): cloning every timed user's record at every
        // tick (10 per second, two clones of up to 200 subscriptions each) made the tick's cost
        // grow with the number of OFFLINE users, e.g. all of them right after a reconnect storm.
        // Visit only the users whose deadline has passed; the body below decides as before.
        let retention: HashMap<u32, (Millis, Millis)> = self
            .store
            .apps()
            .iter()
            .map(|a| {
                (
                    a.sdk_app_id,
                    (
                        a.offline_retention.as_millis() as Millis,
                        a.subscription_retention.as_millis() as Millis,
                    ),
                )
            })
            .collect();
        let mut timed: Vec<UserKey> = self
            .timed
            .iter()
            .filter(|(key, d)| {
                retention.get(&key.app).is_some_and(|&(offline, away)| {
                    d.offline_since
                        .is_some_and(|t| now >= t.saturating_add(offline))
                        || d.away_since.is_some_and(|t| now >= t.saturating_add(away))
                })
            })
            .map(|(key, _)| key.clone())
            .collect();
        timed.sort_unstable();
        for key in timed {
            let Some(app) = self.store.app(key.app) else {
                continue;
            };
            let before = self.record(&key);
            let mut record = before.clone();
            let retention = app.offline_retention.as_millis() as Millis;
            record.devices.retain(|_, d| {
                d.online
                    || d.offline_since
                        .is_none_or(|t| now < t.saturating_add(retention))
            });
            let away_limit = app.subscription_retention.as_millis() as Millis;
            if record.status_type() != StatusType::Online
                && record
                    .away_since
                    .is_some_and(|t| now >= t.saturating_add(away_limit))
            {
                record.subscriptions.clear();
            }
            if record != before {
                self.commit(&key, &before, record, now);
            }
        }

        let longest = self
            .store
            .apps()
            .iter()
            .flat_map(|a| [a.query_rate, a.subscribe_rate, a.unsubscribe_rate])
            .map(|r| r.window.as_millis() as Millis)
            .max()
            .unwrap_or(0);
        self.rates.prune(now, longest);
    }

    /// Ends a session the engine decided to end; the server is told to close the connection.
    fn end_session(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(session) = c.session {
                self.forget_local(&session.key, conn);
            }
        }
        self.effects.closes.push(Close { conn, reason });
    }

    fn conn_of_device(&self, key: &UserKey, device_id: &str) -> Option<ConnId> {
        self.local.get(key)?.iter().copied().find(|c| {
            self.conns
                .get(c)
                .and_then(|c| c.session.as_ref())
                .is_some_and(|s| s.device_id == device_id)
        })
    }

    fn forget_local(&mut self, key: &UserKey, conn: ConnId) {
        if let Some(conns) = self.local.get_mut(key) {
            conns.retain(|&c| c != conn);
            if conns.is_empty() {
                self.local.remove(key);
            }
        }
    }

    /// Answers `Err(not logged in)` for a connection without a session.
    pub(crate) fn session_key(&self, conn: ConnId) -> Result<UserKey, EngineError> {
        self.session_user(conn)
            .cloned()
            .ok_or_else(EngineError::not_logged_in)
    }
}

/// Devices other than `device_id` that must make way for it on `platform` (L2 and the
/// multi-device policy): conflicting platforms, then the earliest instances of the same
/// platform beyond the limit.
fn devices_to_kick(
    record: &UserRecord,
    device_id: &str,
    platform: Platform,
    app: &super::AppSettings,
) -> Vec<String> {
    let others = || record.devices.iter().filter(|(id, _)| *id != device_id);
    let mut kick: Vec<String> = others()
        .filter(|(_, d)| app.multi_device.conflicts(platform, d.platform))
        .map(|(id, _)| id.clone())
        .collect();
    let mut same: Vec<(&String, &DeviceRecord)> =
        others().filter(|(_, d)| d.platform == platform).collect();
    same.sort_by_key(|(id, d)| (d.logged_in_at, (*id).clone()));
    let allowed_others = app.max_instances_per_platform.saturating_sub(1) as usize;
    let excess = same.len().saturating_sub(allowed_others);
    kick.extend(same.into_iter().take(excess).map(|(id, _)| id.clone()));
    kick
}

fn check_device_id(device_id: &str) -> Result<(), EngineError> {
    if device_id.is_empty()
        || device_id.len() > MAX_DEVICE_ID_BYTES
        || !device_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(EngineError::invalid(format!(
            "device_id must be 1..={MAX_DEVICE_ID_BYTES} printable ASCII characters without spaces"
        )));
    }
    Ok(())
}
