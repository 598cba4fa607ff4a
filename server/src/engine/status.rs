//! The custom status (C1–C4), and its expiry (X9).

use super::error::EngineError;
use super::rate::Api;
use super::store::Store;
use super::types::{Action, ConnId, Millis, Reason};
use super::{Engine, MAX_CUSTOM_STATUS_BYTES};

/// The longest a custom status may be set for, in milliseconds (X9): a year (ours).
pub const MAX_CUSTOM_STATUS_EXPIRY: Millis = 365 * 24 * 3600 * 1000;

impl<S: Store> Engine<S> {
    /// Sets (or, with `None` or empty, clears) the caller's custom status (C1). Needs no edition
    /// or switch (C2); the same value again notifies nobody (C4). Not subject to V2TIM's call
    /// limits (C2), only to the app's abuse cap `set_status_rate` (ours: far above what a person
    /// does; 7008 beyond it, a refused call changes nothing).
    pub fn set_self_status(
        &self,
        conn: ConnId,
        custom_status: Option<&str>,
        now: Millis,
    ) -> Result<(), EngineError> {
        self.set_self_status_with_expiry(conn, custom_status, None, now)
    }

    /// As [`Engine::set_self_status`], with the custom status cleared `expire_after` ms from
    /// now (X9): 1..=[`MAX_CUSTOM_STATUS_EXPIRY`], else 6017. Any set replaces the expiry (the
    /// same value too, which still notifies nobody); `None` sets a status that does not expire.
    /// An expiry with an empty status is ignored: clearing removes any expiry.
    pub fn set_self_status_with_expiry(
        &self,
        conn: ConnId,
        custom_status: Option<&str>,
        expire_after: Option<Millis>,
        now: Millis,
    ) -> Result<(), EngineError> {
        let custom = custom_status.unwrap_or("");
        self.touch(conn, now);
        self.with_session(conn, |shard, session| {
            if custom.len() > MAX_CUSTOM_STATUS_BYTES {
                return Err(EngineError::invalid(format!(
                    "customStatus is {} bytes of UTF-8, more than {MAX_CUSTOM_STATUS_BYTES}",
                    custom.len()
                )));
            }
            if let Some(ms) = expire_after {
                if ms == 0 || ms > MAX_CUSTOM_STATUS_EXPIRY {
                    return Err(EngineError::invalid(format!(
                        "expire_after_ms must be 1..={MAX_CUSTOM_STATUS_EXPIRY} (a year), not {ms}"
                    )));
                }
            }
            let app = self.app(session.key.app)?;
            self.rate_limit(shard, &session.key, Api::SetStatus, &app, now)?;
            let mut record = self.record(shard, &session.key).clone();
            let changed = record.custom_status != custom;
            let platform = record.devices.get(&session.device_id).map(|d| d.platform);
            record.custom_status = custom.to_string();
            record.custom_expires_at = expire_after.map(|ms| now.saturating_add(ms));
            self.commit(shard, &session.key, record, now);
            if let (true, Some(platform)) = (changed, platform) {
                let event = self.device_event(
                    &session.key,
                    Action::CustomStatusChange,
                    Reason::SetCustomStatus,
                    platform,
                    now,
                );
                self.emit(event.on(conn).with_custom(custom.to_string()));
            }
            Ok(())
        })
    }
}
