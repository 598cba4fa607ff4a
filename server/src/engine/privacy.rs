//! The user's own switches: appear offline (X6, X7) and who may see them (X10, X11). What each
//! audience then sees is decided in [`super::view`].

use super::error::EngineError;
use super::rate::Api;
use super::store::Store;
use super::types::{ConnId, Millis, Visibility};
use super::Engine;

impl<S: Store> Engine<S> {
    /// Switches "appear offline" on or off for the caller's user, from any of their devices
    /// (X6). Kept across logouts and restarts. Counts against the app's abuse cap
    /// `set_status_rate`, with setSelfStatus (X13); the same value again notifies nobody (X7).
    pub fn set_invisible(&self, conn: ConnId, on: bool, now: Millis) -> Result<(), EngineError> {
        self.touch(conn, now);
        self.with_session(conn, |shard, session| {
            let app = self.app(session.key.app)?;
            self.rate_limit(shard, &session.key, Api::SetStatus, &app, now)?;
            let mut record = self.record(shard, &session.key).clone();
            record.invisible = on;
            self.commit(shard, &session.key, record, now);
            Ok(())
        })
    }

    /// Sets who may see the caller's user (X10): everyone, their friends, or nobody. Kept across
    /// logouts and restarts. Counts against the app's abuse cap `set_status_rate` (X13); the
    /// same value again notifies nobody.
    pub fn set_visibility(
        &self,
        conn: ConnId,
        visibility: Visibility,
        now: Millis,
    ) -> Result<(), EngineError> {
        self.touch(conn, now);
        self.with_session(conn, |shard, session| {
            let app = self.app(session.key.app)?;
            self.rate_limit(shard, &session.key, Api::SetStatus, &app, now)?;
            let mut record = self.record(shard, &session.key).clone();
            record.visibility = visibility;
            self.commit(shard, &session.key, record, now);
            Ok(())
        })
    }
}
