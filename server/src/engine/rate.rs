//! Per-user call rate limits (Q4, S3, and the abuse cap on setSelfStatus): a sliding window of
//! accepted calls.

use std::collections::VecDeque;

use super::sharded::FastMap;

use super::settings::RateLimit;
use super::types::{Millis, UserKey};

/// The rate-limited APIs; each has its own window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Api {
    Query,
    Subscribe,
    Unsubscribe,
    SetStatus,
}

impl Api {
    /// A short name, for windows kept outside the engine (a cluster's).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Api::Query => "query",
            Api::Subscribe => "subscribe",
            Api::Unsubscribe => "unsubscribe",
            Api::SetStatus => "set_status",
        }
    }
}

/// The windows of the users of one shard.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    accepted: FastMap<(UserKey, Api), VecDeque<Millis>>,
}

impl RateLimiter {
    /// Counts a call if the limit allows it; a refused call is not counted.
    pub(crate) fn try_acquire(
        &mut self,
        key: &UserKey,
        api: Api,
        limit: RateLimit,
        now: Millis,
    ) -> bool {
        let window = limit.window.as_millis() as Millis;
        let calls = self.accepted.entry((key.clone(), api)).or_default();
        while calls.front().is_some_and(|&t| t + window <= now) {
            calls.pop_front();
        }
        if calls.len() >= limit.calls as usize {
            return false;
        }
        calls.push_back(now);
        true
    }

    /// Forgets windows that have fully passed, so idle users cost nothing.
    pub(crate) fn prune(&mut self, now: Millis, longest_window: Millis) {
        self.accepted
            .retain(|_, calls| calls.back().is_some_and(|&t| t + longest_window > now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sliding_window() {
        let mut rl = RateLimiter::default();
        let key = UserKey::new(1, "a");
        let limit = RateLimit {
            calls: 2,
            window: Duration::from_millis(100),
        };
        assert!(rl.try_acquire(&key, Api::Query, limit, 0));
        assert!(rl.try_acquire(&key, Api::Query, limit, 50));
        assert!(!rl.try_acquire(&key, Api::Query, limit, 99));
        assert!(rl.try_acquire(&key, Api::Subscribe, limit, 99));
        assert!(rl.try_acquire(&key, Api::Query, limit, 100));
        assert!(!rl.try_acquire(&key, Api::Query, limit, 149));
        rl.prune(1000, 100);
        assert!(rl.accepted.is_empty());
    }
}
