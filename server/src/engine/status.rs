//! The custom status (C1–C4).

use super::error::EngineError;
use super::store::Store;
use super::types::{ConnId, Millis};
use super::{Engine, MAX_CUSTOM_STATUS_BYTES};

impl<S: Store> Engine<S> {
    /// Sets (or, with `None` or empty, clears) the caller's custom status (C1). Needs no edition
    /// or switch and is never rate-limited (C2); the same value again notifies nobody (C4).
    pub fn set_self_status(
        &mut self,
        conn: ConnId,
        custom_status: Option<&str>,
        now: Millis,
    ) -> Result<(), EngineError> {
        let key = self.session_key(conn)?;
        let custom = custom_status.unwrap_or("");
        if custom.len() > MAX_CUSTOM_STATUS_BYTES {
            return Err(EngineError::invalid(format!(
                "customStatus is {} bytes of UTF-8, more than {MAX_CUSTOM_STATUS_BYTES}",
                custom.len()
            )));
        }
        self.touch(conn, now);
        let before = self.record(&key);
        let mut record = before.clone();
        record.custom_status = custom.to_string();
        self.commit(&key, &before, record, now);
        Ok(())
    }
}
