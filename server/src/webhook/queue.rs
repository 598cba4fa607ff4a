//! One app's callbacks waiting to go: a queue per user, and two lists of users whose next
//! callback may go now.
//!
//! Why per user rather than lanes hashed by user: a callback being retried holds back only its
//! own user's later callbacks. With lanes, every user hashed to the same lane would wait too.
//!
//! Order and restart pacing: a user's callbacks leave one at a time, in the order submitted,
//! whatever they are. A user whose next callback is a recovered one (caused by a restart) waits
//! in the `recovered` list, which is served only with a token from the app's [`Pacing`] and
//! only when no user waits in the `live` list. So live callbacks of other users overtake the
//! backlog of a restart, while a user's own recovered Disconnect still arrives before that
//! user's later Login (the Login waits behind it in the user's queue).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::pacing::Pacing;
use super::Callback;
use crate::engine::FastMap;

/// A callback and where it goes.
#[derive(Debug)]
pub(super) struct Job {
    pub callback: Callback,
    pub url: Arc<str>,
    pub secret: Arc<str>,
    /// `<sdk_app_id>-<sequence>`, the same on every attempt.
    pub delivery: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Whether a recovered callback has had its token: a retry does not wait for another.
    pub paced: bool,
}

impl Job {
    fn needs_token(&self) -> bool {
        self.callback.recovered && !self.paced
    }
}

#[derive(Default)]
struct UserQueue {
    jobs: VecDeque<Job>,
    /// One of the user's callbacks is being sent, or waits to be tried again.
    busy: bool,
}

/// The app's queue holds as many callbacks as it may.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Full;

/// What a worker should do next.
#[derive(Debug)]
pub(super) enum Next {
    Send(Job),
    /// Nothing may go before this instant (a recovered callback waits for its token), unless
    /// a live one comes.
    WaitUntil(Instant),
    /// Nothing to send.
    Wait,
}

/// One app's queues.
pub(super) struct Queues {
    users: FastMap<String, UserQueue>,
    /// Users whose next callback may go at once.
    live: VecDeque<String>,
    /// Users whose next callback waits for a token.
    recovered: VecDeque<String>,
    /// Callbacks accepted and not yet delivered or given up, those in flight included.
    queued: usize,
    capacity: usize,
    pacing: Pacing,
    /// Warnings about this app's callbacks, each at most every few seconds.
    pub full_log: RateLimitedLog,
    pub gave_up_log: RateLimitedLog,
    pub refused_log: RateLimitedLog,
}

impl Queues {
    /// Queues holding at most `capacity` callbacks, recovered ones paced to `recovered_per_second`.
    pub fn new(capacity: usize, recovered_per_second: u32) -> Queues {
        Queues {
            users: FastMap::default(),
            live: VecDeque::new(),
            recovered: VecDeque::new(),
            queued: 0,
            capacity,
            pacing: Pacing::new(recovered_per_second),
            full_log: RateLimitedLog::default(),
            gave_up_log: RateLimitedLog::default(),
            refused_log: RateLimitedLog::default(),
        }
    }

    /// Callbacks accepted and not yet finished.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Queues `job` behind its user's others, unless the app's queue is full.
    pub fn push(&mut self, job: Job) -> Result<(), Full> {
        if self.queued >= self.capacity {
            return Err(Full);
        }
        self.queued += 1;
        let user = job.callback.user.clone();
        let queue = self.users.entry(user.clone()).or_default();
        let idle = !queue.busy && queue.jobs.is_empty();
        queue.jobs.push_back(job);
        // A user that is busy or already listed is listed again when its turn comes.
        if idle {
            self.list(user, false);
        }
        Ok(())
    }

    /// The next callback to send: a live one first, then a recovered one if a token is there.
    pub fn next(&mut self, now: Instant) -> Next {
        if let Some(user) = self.live.pop_front() {
            return Next::Send(self.start(&user));
        }
        if self.recovered.is_empty() {
            return Next::Wait;
        }
        match self.pacing.take(now) {
            Ok(()) => {
                let user = self.recovered.pop_front().expect("not empty");
                let mut job = self.start(&user);
                job.paced = true;
                Next::Send(job)
            }
            Err(at) => Next::WaitUntil(at),
        }
    }

    /// The user's callback is delivered or given up: the user's next one may go.
    pub fn finish(&mut self, user: &str) {
        self.queued -= 1;
        let Some(queue) = self.users.get_mut(user) else {
            debug_assert!(false, "finished a callback of a user with none");
            return;
        };
        queue.busy = false;
        if queue.jobs.is_empty() {
            self.users.remove(user);
        } else {
            self.list(user.to_string(), false);
        }
    }

    /// A failed callback's backoff is over: it goes again before anything else of its user,
    /// and ahead of other users, who have not waited.
    pub fn retry(&mut self, job: Job) {
        let user = job.callback.user.clone();
        let queue = self.users.entry(user.clone()).or_default();
        queue.busy = false;
        queue.jobs.push_front(job);
        self.list(user, true);
    }

    fn start(&mut self, user: &str) -> Job {
        let queue = self.users.get_mut(user).expect("a listed user has a queue");
        queue.busy = true;
        queue
            .jobs
            .pop_front()
            .expect("a listed user has a callback")
    }

    /// Lists `user`, whose queue is not empty and who is not busy, by what its next callback needs.
    fn list(&mut self, user: String, front: bool) {
        let queue = &self.users[&user];
        let list = match queue.jobs.front() {
            Some(job) if job.needs_token() => &mut self.recovered,
            Some(_) => &mut self.live,
            None => return,
        };
        if front {
            list.push_front(user);
        } else {
            list.push_back(user);
        }
    }
}

/// A warning at most once per [`RateLimitedLog::EVERY`], with how many times it happened since
/// the last one: a receiver that is down, or a queue that is full, would otherwise write a line
/// per callback.
#[derive(Debug, Default)]
pub(super) struct RateLimitedLog {
    unreported: u64,
    last: Option<Instant>,
}

impl RateLimitedLog {
    const EVERY: Duration = Duration::from_secs(5);

    /// Counts one more; answers the count to report when a warning is due now.
    pub fn note(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        if self.last.is_some_and(|last| now - last < Self::EVERY) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(user: &str, n: u32, recovered: bool) -> Job {
        Job {
            callback: Callback {
                user: user.into(),
                action: "Login",
                reason: "Register",
                platform: "Web",
                client_ip: None,
                kicked: vec![],
                custom_status: n.to_string(),
                event_time_ms: 0,
                recovered,
            },
            url: "http://h/".into(),
            secret: "".into(),
            delivery: String::new(),
            attempts: 0,
            paced: false,
        }
    }

    fn sent(next: Next) -> (String, String) {
        match next {
            Next::Send(job) => (job.callback.user, job.callback.custom_status),
            other => panic!("nothing to send: {other:?}"),
        }
    }

    fn pair(user: &str, n: u32) -> (String, String) {
        (user.to_string(), n.to_string())
    }

    #[test]
    fn one_callback_of_a_user_at_a_time_in_order() {
        let now = Instant::now();
        let mut q = Queues::new(10, 0);
        q.push(job("a", 1, false)).unwrap();
        q.push(job("a", 2, false)).unwrap();
        q.push(job("b", 1, false)).unwrap();
        assert_eq!(sent(q.next(now)), pair("a", 1));
        assert_eq!(sent(q.next(now)), pair("b", 1));
        // a's second waits for its first.
        assert!(matches!(q.next(now), Next::Wait));
        q.finish("a");
        assert_eq!(sent(q.next(now)), pair("a", 2));
        q.finish("b");
        q.finish("a");
        assert_eq!(q.queued(), 0);
        assert!(q.users.is_empty());
    }

    #[test]
    fn a_retry_goes_first_and_holds_back_only_its_user() {
        let now = Instant::now();
        let mut q = Queues::new(10, 0);
        q.push(job("a", 1, false)).unwrap();
        q.push(job("a", 2, false)).unwrap();
        q.push(job("b", 1, false)).unwrap();
        q.push(job("b", 2, false)).unwrap();
        let Next::Send(first) = q.next(now) else {
            panic!()
        };
        // While a's first waits out its backoff, b goes on.
        assert_eq!(sent(q.next(now)), pair("b", 1));
        q.finish("b");
        assert_eq!(sent(q.next(now)), pair("b", 2));
        assert!(matches!(q.next(now), Next::Wait));
        q.retry(first);
        assert_eq!(sent(q.next(now)), pair("a", 1));
        q.finish("a");
        assert_eq!(sent(q.next(now)), pair("a", 2));
    }

    #[test]
    fn live_callbacks_overtake_recovered_ones_of_other_users_only() {
        let now = Instant::now();
        // One token a second, one at once.
        let mut q = Queues::new(10, 1);
        q.push(job("r1", 1, true)).unwrap();
        q.push(job("r2", 1, true)).unwrap();
        q.push(job("r2", 2, false)).unwrap();
        q.push(job("live", 1, false)).unwrap();
        assert_eq!(sent(q.next(now)), pair("live", 1));
        assert_eq!(sent(q.next(now)), pair("r1", 1));
        let Next::WaitUntil(at) = q.next(now) else {
            panic!("r2 waits for a token")
        };
        assert_eq!(at - now, Duration::from_secs(1));
        assert_eq!(sent(q.next(at)), pair("r2", 1));
        q.finish("r2");
        // r2's live Login came after its recovered Disconnect, and needs no token.
        assert_eq!(sent(q.next(at)), pair("r2", 2));
    }

    #[test]
    fn a_full_queue_counts_callbacks_in_flight() {
        let now = Instant::now();
        let mut q = Queues::new(2, 0);
        q.push(job("a", 1, false)).unwrap();
        q.push(job("b", 1, false)).unwrap();
        let _ = q.next(now);
        assert!(q.push(job("c", 1, false)).is_err());
        q.finish("a");
        q.push(job("c", 1, false)).unwrap();
    }

    #[test]
    fn a_warning_at_most_every_few_seconds_with_the_count() {
        let now = Instant::now();
        let mut log = RateLimitedLog::default();
        assert_eq!(log.note(now), Some(1));
        assert_eq!(log.note(now), None);
        assert_eq!(log.note(now + Duration::from_secs(1)), None);
        assert_eq!(log.note(now + Duration::from_secs(5)), Some(3));
    }
}
