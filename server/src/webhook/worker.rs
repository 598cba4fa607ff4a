//! One of an app's workers: takes the next callback that may go, sends it, counts what came of
//! it, and sets a failed one aside to be tried again after its backoff.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use tokio::time::{sleep, sleep_until, Instant};

use super::client::{Failure, Outcome, Post};
use super::counts::Counters;
use super::queue::{Job, Next};
use super::{wire, App, Shared, WebhookLimits};

/// Sends `app`'s callbacks until the [`super::Webhooks`] is dropped and nothing is left.
pub(super) async fn run(shared: Arc<Shared>, app: Arc<App>) {
    loop {
        let job = {
            let wake = app.wake.notified();
            tokio::pin!(wake);
            // Registered before looking, so a callback queued in between wakes this worker.
            wake.as_mut().enable();
            let next = app.queues().next(Instant::now());
            match next {
                // `wake` goes here, before the send: a worker busy sending must not take a
                // wake-up meant for an idle one (a dropped one passes its wake-up on).
                Next::Send(job) => job,
                Next::WaitUntil(at) => {
                    tokio::select! {
                        _ = wake => {}
                        _ = sleep_until(at) => {}
                    }
                    continue;
                }
                Next::Wait => {
                    if app.closed.load(Ordering::SeqCst) && app.queues().queued() == 0 {
                        return;
                    }
                    wake.await;
                    continue;
                }
            }
        };
        send(&shared, &app, job).await;
    }
}

/// One attempt at `job`.
async fn send(shared: &Shared, app: &Arc<App>, mut job: Job) {
    let counts = &app.counts;
    job.attempts += 1;
    if job.attempts > 1 {
        Counters::add(&counts.retries);
    }
    let url = wire::url(&job.url, app.sdk_app_id, &job.callback);
    let body = wire::body(&job.callback);
    let signature = (!job.secret.is_empty()).then(|| wire::signature(&job.secret, &body));
    let post = Post {
        url: &url,
        body: body.into(),
        signature,
        delivery: &job.delivery,
    };
    match shared.client.post(post).await {
        Outcome::Delivered => {
            Counters::add(&counts.sent);
            finish(shared, app, &job, Ending::Delivered);
        }
        Outcome::Refused(status) => {
            Counters::add(&counts.failed);
            Counters::add(&counts.rejected);
            finish(shared, app, &job, Ending::Refused(status));
        }
        Outcome::Unusable(reason) => {
            Counters::add(&counts.failed);
            Counters::add(&counts.dropped);
            finish(shared, app, &job, Ending::GaveUp(reason));
        }
        Outcome::Failed(failure) => {
            let reason = match failure {
                Failure::Timeout => {
                    Counters::add(&counts.timeouts);
                    "no answer in time".to_string()
                }
                Failure::Status(status) => {
                    Counters::add(&counts.failed);
                    format!("answered {status}")
                }
                Failure::Connection(error) => {
                    Counters::add(&counts.failed);
                    error
                }
            };
            tracing::debug!(
                sdk_app_id = app.sdk_app_id,
                delivery = %job.delivery,
                attempt = job.attempts,
                reason = %reason,
                "webhook attempt failed"
            );
            if job.attempts >= shared.limits.attempts {
                Counters::add(&counts.dropped);
                finish(shared, app, &job, Ending::GaveUp(reason));
                return;
            }
            // The worker goes on with other users; the callback, still its user's next,
            // comes back after the backoff.
            let wait = backoff(&shared.limits, job.attempts);
            let app = app.clone();
            tokio::spawn(async move {
                sleep(wait).await;
                app.queues().retry(job);
                app.wake.notify_one();
            });
        }
    }
}

/// How a callback's delivery ended.
enum Ending {
    Delivered,
    Refused(StatusCode),
    GaveUp(String),
}

/// `job` is delivered, refused or given up: the next callback of its user may go.
fn finish(shared: &Shared, app: &App, job: &Job, ending: Ending) {
    let mut queues = app.queues();
    queues.finish(&job.callback.user);
    let empty = queues.queued() == 0;
    let now = Instant::now();
    let warning = match &ending {
        Ending::Delivered => None,
        Ending::Refused(status) => queues
            .refused_log
            .note(now)
            .map(|count| (count, format!("refused with {status}"))),
        Ending::GaveUp(reason) => queues
            .gave_up_log
            .note(now)
            .map(|count| (count, reason.clone())),
    };
    if let Some((count, reason)) = warning {
        tracing::warn!(
            sdk_app_id = app.sdk_app_id,
            count,
            attempts = job.attempts,
            delivery = %job.delivery,
            reason = %reason,
            "webhook callbacks not delivered"
        );
    }
    drop(queues);
    if shared.outstanding.fetch_sub(1, Ordering::SeqCst) == 1 {
        shared.idle.notify_waiters();
    }
    if empty && app.closed.load(Ordering::SeqCst) {
        // Workers waiting for work learn there will be none.
        app.wake.notify_waiters();
    }
}

/// The wait after the `attempts`-th failed attempt: `first_backoff` doubled for each attempt
/// after the first, capped, then taken at random between half of it and all of it.
fn backoff(limits: &WebhookLimits, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let full = limits
        .first_backoff
        .saturating_mul(factor)
        .min(limits.max_backoff);
    let half = full / 2;
    half + (full - half).mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_cap_with_jitter() {
        let limits = WebhookLimits {
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..WebhookLimits::default()
        };
        for (attempts, full) in [(1, 100), (2, 200), (3, 400), (4, 500), (40, 500)] {
            let full = Duration::from_millis(full);
            for _ in 0..100 {
                let wait = backoff(&limits, attempts);
                assert!(wait >= full / 2 && wait <= full, "{attempts}: {wait:?}");
            }
        }
    }
}
