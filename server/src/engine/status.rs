//! The custom status (C1–C4).

use super::error::EngineError;
use super::rate::Api;
use super::store::Store;
use super::types::{Action, ConnId, Millis, Reason};
use super::{Engine, MAX_CUSTOM_STATUS_BYTES};

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
        let custom = custom_status.unwrap_or("");
        self.touch(conn, now);
        self.with_session(conn, |shard, session| {
            if custom.len() > MAX_CUSTOM_STATUS_BYTES {
                return Err(EngineError::invalid(format!(
                    "customStatus is {} bytes of UTF-8, more than {MAX_CUSTOM_STATUS_BYTES}",
                    custom.len()
                )));
            }
            let app = self.app(session.key.app)?;
            self.rate_limit(shard, &session.key, Api::SetStatus, &app, now)?;
            let mut record = self.record(shard, &session.key).clone();
            let changed = record.custom_status != custom;
            let platform = record.devices.get(&session.device_id).map(|d| d.platform);
            record.custom_status = custom.to_string();
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
