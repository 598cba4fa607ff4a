//! Subscriptions (S1–S6; S7 lives in the session tick).

use super::error::{check_user_id, EngineError};
use super::query::{check_batch, require_status_feature, unique};
use super::rate::Api;
use super::store::Store;
use super::types::{ConnId, Millis, UserKey, UserStatus};
use super::Engine;

impl<S: Store> Engine<S> {
    /// Subscribes the caller's user to `user_ids` (S1–S5). Answers the current status of the
    /// subscribed users, so the client holds them without a second round trip.
    pub fn subscribe(
        &self,
        conn: ConnId,
        user_ids: &[String],
        now: Millis,
    ) -> Result<Vec<UserStatus>, EngineError> {
        self.touch(conn, now);
        let (key, subscribed) = self.with_session(conn, |shard, session| {
            let key = &session.key;
            let app = self.app(key.app)?;
            require_status_feature(&app, "subscribeUserStatus")?;
            check_batch(
                user_ids.len(),
                app.subscribe_batch_limit,
                "subscribeUserStatus",
            )?;
            for id in user_ids {
                check_user_id(id).map_err(|why| {
                    EngineError::invalid(format!("subscribeUserStatus: invalid userID: {why}"))
                })?;
            }
            let ids: Vec<&str> = unique(user_ids)
                .into_iter()
                .filter(|id| *id != &*key.user)
                .collect();
            if ids.is_empty() {
                return Err(EngineError::invalid(
                    "subscribeUserStatus: you cannot subscribe to yourself, and the list holds nobody else",
                ));
            }
            self.rate_limit(shard, key, Api::Subscribe, &app, now)?;

            let mut record = self.record(shard, key).clone();
            for id in &ids {
                // IndexSet keeps an existing entry where it is (ours, S5).
                record.subscriptions.insert(self.names.intern(id));
            }
            let limit = app.subscription_limit as usize;
            while record.subscriptions.len() > limit {
                record.subscriptions.remove_earliest();
            }
            let subscribed: Vec<String> = ids
                .iter()
                .filter(|id| record.subscriptions.contains(id))
                .map(|id| id.to_string())
                .collect();
            self.commit(shard, key, record, now);
            Ok((key.clone(), subscribed))
        })?;
        // Read after the subscription is in place: a change from now on reaches the caller,
        // and the answer is at least as new as anything before it.
        Ok(self.statuses_of(key.app, subscribed.iter().map(String::as_str), &key.user))
    }

    /// Unsubscribes from `user_ids`; `None` or an empty list removes every subscription (S6).
    pub fn unsubscribe(
        &self,
        conn: ConnId,
        user_ids: Option<&[String]>,
        now: Millis,
    ) -> Result<(), EngineError> {
        self.touch(conn, now);
        self.with_session(conn, |shard, session| {
            let key = &session.key;
            let app = self.app(key.app)?;
            require_status_feature(&app, "unsubscribeUserStatus")?;
            let ids = user_ids.unwrap_or_default();
            if ids.len() > app.subscribe_batch_limit as usize {
                check_batch(
                    ids.len(),
                    app.subscribe_batch_limit,
                    "unsubscribeUserStatus",
                )?;
            }
            self.rate_limit(shard, key, Api::Unsubscribe, &app, now)?;
            let mut record = self.record(shard, key).clone();
            if ids.is_empty() {
                record.subscriptions.clear();
            } else {
                for id in ids {
                    record.subscriptions.shift_remove(id.as_str());
                }
            }
            self.commit(shard, key, record, now);
            Ok(())
        })
    }

    /// Whom a user subscribes to, earliest first (S5).
    pub fn subscriptions_of(&self, key: &UserKey) -> Vec<String> {
        let mut shard = self.lock_user(key);
        self.existing(&mut shard, key)
            .map(|r| r.subscriptions.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }
}
