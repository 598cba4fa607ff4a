//! Connections, logins and devices: L1–L6, D1, D2.

use std::collections::HashMap;
use std::sync::Arc;

use super::conns::Session;
use super::error::{check_user_id, EngineError};
use super::sharded::SHARDS;
use super::store::{DeviceRecord, Store, UserRecord};
use super::types::{
    Action, CloseReason, ConnId, DeviceEvent, Millis, Platform, Reason, StatusType, UserKey,
    UserStatus,
};
use super::{Engine, Shard};
use crate::codes;
use crate::usersig;

/// A connection that has not logged in within this many milliseconds of being accepted (or of
/// logging out) is closed, whatever it sends meanwhile, so that idle sockets cannot pile up
/// before any app's heartbeat timeout applies. The default of [`Engine::with_login_timeout`].
pub const LOGIN_TIMEOUT: Millis = 30_000;

/// Longest device ID a client may send.
const MAX_DEVICE_ID_BYTES: usize = 64;

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
    /// Registers a new connection; it must log in within the login timeout.
    pub fn open(&self, conn: ConnId, now: Millis) {
        self.conns.open(conn, now);
    }

    /// Notes that something arrived on `conn` (any request counts as a heartbeat, D2). It does
    /// not move a connection's login deadline.
    pub fn touch(&self, conn: ConnId, now: Millis) {
        self.conns.touch(conn, now);
    }

    /// The user logged in on `conn`, if any.
    pub fn session_user(&self, conn: ConnId) -> Option<UserKey> {
        self.conns.session(conn).map(|s| s.key)
    }

    /// How many connections this engine knows, logged in or not.
    pub fn connection_count(&self) -> usize {
        self.conns.count()
    }

    /// Runs `f` with `conn`'s session and its user's shard locked. The session is read again
    /// under the lock: a kick or a close on another thread may have ended it in between.
    pub(crate) fn with_session<R>(
        &self,
        conn: ConnId,
        f: impl FnOnce(&mut Shard, &Session) -> Result<R, EngineError>,
    ) -> Result<R, EngineError> {
        let seen = self
            .conns
            .session(conn)
            .ok_or_else(EngineError::not_logged_in)?;
        let mut shard = self.lock_user(&seen.key);
        let session = self
            .conns
            .session(conn)
            .filter(|s| s.key == seen.key && s.device_id == seen.device_id)
            .ok_or_else(EngineError::not_logged_in)?;
        f(&mut shard, &session)
    }

    /// Logs `conn` in as one device of a user (L1, L2). Answers the snapshot a client needs to
    /// hold the current status of itself and of everyone it watches (N4): its own status first.
    pub fn login(
        &self,
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
        if !self.conns.exists(conn) {
            self.open(conn, now);
        }
        let key = self.key(login.sdk_app_id, login.user_id);
        let same = |s: &Session| s.key == key && &*s.device_id == login.device_id;
        if self.conns.session(conn).is_some_and(|s| !same(&s)) {
            // Logging in as someone else on a logged-in connection logs the old session out.
            self.logout(conn, now)?;
        }
        // `expires_at` is the last whole second at which the sig is accepted (login checks
        // `now / 1000 > expires_at`), so the session ends when the next second starts.
        let sig_expires_at = claims.expires_at.saturating_add(1).saturating_mul(1000);
        let (own, watched) = {
            let mut shard = self.lock_user(&key);
            let device_id: Arc<str> = match self.conns.session(conn) {
                Some(s) if same(&s) => s.device_id,
                _ => {
                    let device_id: Arc<str> = Arc::from(login.device_id);
                    self.admit_device(&mut shard, &key, login, conn, &device_id, now);
                    device_id
                }
            };
            self.conns.set_session(
                conn,
                Session {
                    key: key.clone(),
                    device_id,
                    sig_expires_at,
                },
            );
            self.touch(conn, now);
            let record = self.record(&mut shard, &key);
            (
                record.own_status(&key.user),
                self.watched_by(&key, record, &app),
            )
        };
        let mut snapshot = vec![own];
        snapshot.extend(self.statuses_of(key.app, watched.iter().map(|w| &**w), &key.user));
        Ok(snapshot)
    }

    fn admit_device(
        &self,
        shard: &mut Shard,
        key: &UserKey,
        login: &Login<'_>,
        conn: ConnId,
        device_id: &Arc<str>,
        now: Millis,
    ) {
        let app = self.app_opt(key.app).expect("login checked the app");
        let mut record = self.record(shard, key).clone();
        if record.devices.contains_key(device_id) {
            // The same SDK instance again (a reconnect): its older connection is stale.
            if let Some(old) = self.conn_of_device(key, device_id) {
                self.end_session(old, CloseReason::Replaced);
            }
        }
        // A reconnect obeys L2 too: it may claim another platform than before, or the policy
        // may have changed since (F2).
        let mut kicked_platforms = Vec::new();
        for kicked in devices_to_kick(&record, device_id, login.platform, &app) {
            if let Some(device) = record.devices.remove(&kicked) {
                kicked_platforms.push(device.platform);
            }
            if let Some(old) = self.conn_of_device(key, &kicked) {
                self.end_session(old, CloseReason::Kicked);
            }
        }
        match record.devices.get_mut(device_id) {
            Some(device) => {
                device.platform = login.platform;
                device.online = true;
                device.offline_since = None;
                device.node = self.incarnation();
            }
            None => {
                record.devices.insert(
                    device_id.to_string(),
                    DeviceRecord {
                        platform: login.platform,
                        logged_in_at: now,
                        online: true,
                        offline_since: None,
                        node: self.incarnation(),
                    },
                );
            }
        }
        self.conns.set_session(
            conn,
            Session {
                key: key.clone(),
                device_id: device_id.clone(),
                sig_expires_at: Millis::MAX,
            },
        );
        if self.fanout.add_local(key, conn) {
            self.came_online_here(key, &record);
        }
        let custom = record.custom_status.clone();
        self.commit(shard, key, record, now);
        self.emit(DeviceEvent {
            kicked: kicked_platforms,
            ..self
                .device_event(key, Action::Login, Reason::Register, login.platform, now)
                .on(conn)
                .with_custom(custom)
        });
    }

    /// Ends this device's session (L4). The connection stays open and may log in again.
    pub fn logout(&self, conn: ConnId, now: Millis) -> Result<(), EngineError> {
        self.with_session(conn, |shard, session| {
            self.conns.end_session(conn, now);
            self.fanout.remove_local(&session.key, conn);
            let mut record = self.record(shard, &session.key).clone();
            self.went_away(&session.key, &record);
            let device = record.devices.remove(&session.device_id);
            self.commit(shard, &session.key, record, now);
            if let Some(device) = device {
                let event = self.device_event(
                    &session.key,
                    Action::Logout,
                    Reason::Unregister,
                    device.platform,
                    now,
                );
                self.emit(event.on(conn));
            }
            Ok(())
        })
    }

    /// The connection is gone without a logout (D1): its device is OFFLINE from now.
    pub fn close(&self, conn: ConnId, now: Millis) {
        self.close_because(conn, now, Reason::LinkClose);
    }

    /// As [`Engine::close`], saying why for the app's backend.
    fn close_because(&self, conn: ConnId, now: Millis, why: Reason) {
        let Some(seen) = self.conns.session(conn) else {
            self.conns.remove(conn);
            return;
        };
        let mut shard = self.lock_user(&seen.key);
        match self.conns.session(conn) {
            Some(s) if s.key == seen.key => {}
            // Closed meanwhile, or (only its own reader could do that) logged in as another
            // user: start again with what it is now.
            Some(_) => {
                drop(shard);
                return self.close_because(conn, now, why);
            }
            None => {
                self.conns.remove(conn);
                return;
            }
        }
        let Some(session) = self.conns.remove(conn) else {
            return;
        };
        self.fanout.remove_local(&session.key, conn);
        let mut record = self.record(&mut shard, &session.key).clone();
        self.went_away(&session.key, &record);
        let platform = record.devices.get_mut(&session.device_id).map(|device| {
            device.online = false;
            device.offline_since = Some(now);
            device.platform
        });
        self.commit(&mut shard, &session.key, record, now);
        if let Some(platform) = platform {
            let event = self.device_event(&session.key, Action::Disconnect, why, platform, now);
            self.emit(event.on(conn));
        }
    }

    /// Applies every deadline that has passed by `now`: connections that did not log in in
    /// time, silent connections (D2), expired UserSigs, OFFLINE devices past retention (L5),
    /// subscriptions of users away for too long (S7) and custom statuses that expire (X9). Call it often (every few hundred
    /// milliseconds); it visits the connections and the users with a pending deadline only.
    pub fn tick(&self, now: Millis) {
        let apps = self.all_apps();
        let timeouts: HashMap<u32, Millis> = apps
            .iter()
            .map(|a| (a.sdk_app_id, a.heartbeat_timeout.as_millis() as Millis))
            .collect();
        let due = self.conns.due(now, self.login_timeout, |app| {
            timeouts.get(&app).copied().unwrap_or(self.login_timeout)
        });
        for (conn, reason) in due {
            self.sink.close(conn, reason);
            let why = match reason {
                CloseReason::TimedOut => Reason::TimeOut,
                _ => Reason::LinkClose,
            };
            self.close_because(conn, now, why);
        }

        // (offline retention, subscription retention, longest rate window) per app.
        let limits: HashMap<u32, (Millis, Millis)> = apps
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
        let longest_window = apps
            .iter()
            .flat_map(|a| a.rate_limits())
            .map(|r| r.window.as_millis() as Millis)
            .max()
            .unwrap_or(0);
        for index in 0..SHARDS {
            let mut shard = self.users.lock(index);
            let mut due: Vec<UserKey> = shard
                .timed
                .iter()
                .filter(|(key, d)| {
                    d.custom_expires_at.is_some_and(|t| now >= t)
                        || limits.get(&key.app).is_some_and(|&(offline, away)| {
                            d.offline_since
                                .is_some_and(|t| now >= t.saturating_add(offline))
                                || d.away_since.is_some_and(|t| now >= t.saturating_add(away))
                        })
                })
                .map(|(key, _)| key.clone())
                .collect();
            due.sort_unstable();
            for key in due {
                let (offline, away) = limits
                    .get(&key.app)
                    .copied()
                    .unwrap_or((Millis::MAX, Millis::MAX));
                // In a cluster: the user's lock, and the record as the cluster holds it now
                // (another node may have applied the deadline already).
                let _held = self.hold(&mut shard, &key);
                let before = self.record(&mut shard, &key);
                let mut record = before.clone();
                if record.custom_expires_at.is_some_and(|t| now >= t) {
                    // An ordinary change (N1): the commit notifies it and drops the expiry.
                    record.custom_status.clear();
                }
                record.devices.retain(|_, d| {
                    d.online
                        || d.offline_since
                            .is_none_or(|t| now < t.saturating_add(offline))
                });
                if record.status_type() != StatusType::Online
                    && record
                        .away_since
                        .is_some_and(|t| now >= t.saturating_add(away))
                {
                    record.subscriptions.clear();
                }
                if record != *before {
                    self.commit(&mut shard, &key, record, now);
                }
            }
            shard.rates.prune(now, longest_window);
            drop(shard);
            self.names.purge(index);
        }
    }

    /// Ends a session the engine decided to end; the server is told to close the connection.
    pub(crate) fn end_session(&self, conn: ConnId, reason: CloseReason) {
        if let Some(session) = self.conns.remove(conn) {
            self.fanout.remove_local(&session.key, conn);
        }
        self.sink.close(conn, reason);
    }

    fn conn_of_device(&self, key: &UserKey, device_id: &str) -> Option<ConnId> {
        self.fanout.local(key).into_iter().find(|&c| {
            self.conns
                .session(c)
                .is_some_and(|s| s.key == *key && &*s.device_id == device_id)
        })
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
        .map(|(id, _)| id.to_string())
        .collect();
    let mut same: Vec<(&str, &DeviceRecord)> =
        others().filter(|(_, d)| d.platform == platform).collect();
    same.sort_by_key(|(id, d)| (d.logged_in_at, *id));
    let allowed_others = app.max_instances_per_platform.saturating_sub(1) as usize;
    let excess = same.len().saturating_sub(allowed_others);
    kick.extend(same.into_iter().take(excess).map(|(id, _)| id.to_string()));
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
