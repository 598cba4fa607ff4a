//! Querying statuses (Q1–Q5), and the call limits shared with subscriptions.

use super::error::{check_user_id, EngineError};
use super::rate::Api;
use super::settings::{AppSettings, Edition};
use super::store::Store;
use super::types::{ConnId, Millis, UserKey, UserStatus};
use super::{Engine, Shard};
use crate::codes;

impl<S: Store> Engine<S> {
    /// Answers the statuses of `user_ids`, in the order asked, each once (Q3). Only the IDs that
    /// succeeded are answered; the call fails only when every ID failed, with the first
    /// failure's error (Q5).
    pub fn get_user_status(
        &self,
        conn: ConnId,
        user_ids: &[String],
        now: Millis,
    ) -> Result<Vec<UserStatus>, EngineError> {
        self.touch(conn, now);
        let (key, others) = self.with_session(conn, |shard, session| {
            let key = session.key.clone();
            let app = self.app(key.app)?;
            check_batch(user_ids.len(), app.query_batch_limit, "getUserStatus")?;
            let asks_others = unique(user_ids)
                .iter()
                .any(|id| **id != *key.user && check_user_id(id).is_ok());
            let others = if asks_others {
                // Querying others needs Ultimate (7013) and the switch (72001) (Q2), and
                // counts against the rate limit (Q4). Own queries never get here (Q1).
                require_status_feature(&app, "querying other users' status")
                    .and_then(|()| self.rate_limit(shard, &key, Api::Query, &app, now))
            } else {
                Ok(())
            };
            Ok((key, others))
        })?;
        let mut answered = Vec::new();
        let mut first_failure = None;
        for id in unique(user_ids) {
            let verdict = match check_user_id(id) {
                Err(why) => Err(EngineError::invalid(format!(
                    "invalid userID in the list: {why}"
                ))),
                Ok(()) if id == &*key.user => Ok(()),
                Ok(()) => others.clone(),
            };
            match verdict {
                Ok(()) => answered.push(id),
                Err(e) => {
                    first_failure.get_or_insert(e);
                }
            }
        }
        match first_failure {
            Some(e) if answered.is_empty() => Err(e),
            _ => Ok(self.statuses_of(key.app, answered, &key.user)),
        }
    }

    /// Counts a call of `api` against the user's limit, or refuses it with 7008.
    pub(crate) fn rate_limit(
        &self,
        shard: &mut Shard,
        key: &UserKey,
        api: Api,
        app: &AppSettings,
        now: Millis,
    ) -> Result<(), EngineError> {
        let (limit, name) = match api {
            Api::Query => (app.query_rate, "getUserStatus"),
            Api::Subscribe => (app.subscribe_rate, "subscribeUserStatus"),
            Api::Unsubscribe => (app.unsubscribe_rate, "unsubscribeUserStatus"),
            Api::SetStatus => (
                app.set_status_rate,
                "setSelfStatus, set_invisible and set_visibility together",
            ),
        };
        let allowed = match &self.authority {
            Some(authority) => authority.try_acquire(key, api.name(), limit, now),
            None => shard.rates.try_acquire(key, api, limit, now),
        };
        if allowed {
            Ok(())
        } else {
            Err(EngineError::new(
                codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                format!(
                    "{name} is limited to {} calls per {:?} per user; try again later",
                    limit.calls, limit.window
                ),
            ))
        }
    }
}

/// The edition (7013) and switch (72001) checks shared by queries of others and subscriptions.
pub(crate) fn require_status_feature(app: &AppSettings, what: &str) -> Result<(), EngineError> {
    if app.edition != Edition::Ultimate {
        return Err(EngineError::new(
            codes::ERR_SDK_INTERFACE_NOT_SUPPORT,
            format!(
                "{what} needs the Ultimate edition; this app has {:?}",
                app.edition
            ),
        ));
    }
    if !app.status_enabled {
        return Err(EngineError::new(
            codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED,
            format!(
                "{what} needs the switch \"user status query and status change notification\" on"
            ),
        ));
    }
    Ok(())
}

/// Refuses an empty list or one longer than `limit` (Q3, S2).
pub(crate) fn check_batch(len: usize, limit: u32, api: &str) -> Result<(), EngineError> {
    if len == 0 {
        return Err(EngineError::invalid(format!(
            "{api}: the userID list is empty"
        )));
    }
    if len > limit as usize {
        return Err(EngineError::invalid(format!(
            "{api}: {len} userIDs, more than the {limit} allowed in one call"
        )));
    }
    Ok(())
}

/// The distinct IDs, in the order first asked.
pub(crate) fn unique(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}
