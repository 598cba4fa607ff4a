//! What became of an app's callbacks, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One app's webhook counters since the server started, and its queue now.
///
/// Every callback submitted ends as exactly one of `sent`, `rejected` or `dropped`, or is
/// still `queued`; `failed`, `timeouts` and `retries` count attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookCounts {
    /// Callbacks the receiver accepted (a 2xx answer).
    pub sent: u64,
    /// Attempts that got an answer other than 2xx, or no connection or answer at all;
    /// timeouts are counted apart, in `timeouts`.
    pub failed: u64,
    /// Attempts that had no answer within the timeout.
    pub timeouts: u64,
    /// Attempts after the first of a callback.
    pub retries: u64,
    /// Callbacks given up: the app's queue was full, every attempt failed, or the URL is
    /// unusable.
    pub dropped: u64,
    /// Callbacks the receiver refused with a 4xx other than 429: not tried again, and counted
    /// in `failed` too.
    pub rejected: u64,
    /// Callbacks accepted and not finished yet, those in flight or waiting to be retried
    /// included.
    pub queued: u64,
}

/// The counters as the workers bump them.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub timeouts: AtomicU64,
    pub retries: AtomicU64,
    pub dropped: AtomicU64,
    pub rejected: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self, queued: usize) -> WebhookCounts {
        WebhookCounts {
            sent: self.sent.load(Relaxed),
            failed: self.failed.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            retries: self.retries.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            queued: queued as u64,
        }
    }
}
