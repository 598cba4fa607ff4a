//! Tencent's `State.StateChange` callback: every change of a user's state POSTed to the app's
//! backend, over HTTP or HTTPS, without ever slowing the engine down.
//!
//! [`Webhooks::submit`] only queues (the engine calls it holding the user's lock); per app,
//! `concurrency` workers send. Each user has a queue of its own: a user's callbacks leave one
//! at a time in the order submitted, and a retry holds back only its own user, never the
//! others. Callbacks a restart caused ([`Callback::recovered`]) are paced per app and served
//! after live ones of other users, but still in order within their user, so a recovered
//! Disconnect arrives before the same user's later Login (`queue.rs` has the details). What is
//! sent, and how it is signed, is in [`wire`].

mod client;
mod counts;
mod pacing;
mod queue;
pub mod wire;
mod worker;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::engine::FastMap;
use client::Client;
use counts::Counters;
pub use counts::WebhookCounts;
use queue::{Job, Queues};
pub use wire::check_url;

/// Where one app's callbacks go; built from the app's settings at the moment of the event, so
/// a callback goes where the settings said when it happened, even if they change before it
/// is sent.
#[derive(Debug, Clone)]
pub struct Target {
    pub sdk_app_id: u32,
    /// `http://` or `https://`, possibly with a query of its own; empty turns callbacks off.
    pub url: Arc<str>,
    /// The key of the body's HMAC-SHA256 signature; empty sends no signature.
    pub secret: Arc<str>,
}

/// One callback, in Tencent's words.
#[derive(Debug, Clone)]
pub struct Callback {
    /// `To_Account`: whose state changed.
    pub user: String,
    /// `Login`, `Logout`, `Disconnect` or `CustomStatusChange`.
    pub action: &'static str,
    /// `Register`, `Unregister`, `LinkClose`, `TimeOut` or `SetCustomStatus`.
    pub reason: &'static str,
    /// `OptPlatform`: `Android`, `iOS`, `Windows`, `Mac`, `Web`, `Linux` or `iPad`.
    pub platform: &'static str,
    /// `ClientIP`; empty when `None`.
    pub client_ip: Option<IpAddr>,
    /// `KickedDevice`: the platforms of the devices this change logged out.
    pub kicked: Vec<&'static str>,
    /// `CustomStatus`.
    pub custom_status: String,
    /// `EventTime`, Unix milliseconds.
    pub event_time_ms: u64,
    /// Caused by a server restart (one per device online when it stopped): paced to
    /// [`WebhookLimits::recovered_per_second`] and served after live callbacks of other users.
    pub recovered: bool,
}

/// How much webhook delivery may hold and do, per app.
#[derive(Debug, Clone)]
pub struct WebhookLimits {
    /// Callbacks queued per app, those in flight included; more are dropped and counted.
    pub queue_per_app: usize,
    /// Requests in flight per app at once (at least 1).
    pub concurrency: usize,
    /// Time for one attempt: connecting, sending and the answer's headers.
    pub timeout: Duration,
    /// Attempts per callback, the first included (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; it doubles for each later one, up to `max_backoff`.
    /// Each wait is taken at random between half of it and all of it, so retries to a
    /// receiver that came back do not all arrive at once.
    pub first_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Recovered callbacks sent per app per second; 0 sends them as fast as live ones.
    pub recovered_per_second: u32,
    /// Certificates trusted beside Mozilla's roots, for receivers behind a private CA.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        WebhookLimits {
            queue_per_app: 10_000,
            concurrency: 8,
            timeout: Duration::from_secs(5),
            attempts: 4,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            recovered_per_second: 200,
            extra_roots: Vec::new(),
        }
    }
}

/// Webhook delivery for every app.
///
/// Dropping it sends nothing new, but callbacks already queued are still delivered (or given
/// up) for as long as the runtime runs; await [`Webhooks::drained`] first, with a deadline,
/// for a shutdown that loses none.
pub struct Webhooks {
    shared: Arc<Shared>,
}

/// What every app's workers share.
struct Shared {
    limits: WebhookLimits,
    client: Client,
    runtime: tokio::runtime::Handle,
    apps: RwLock<FastMap<u32, Arc<App>>>,
    /// Callbacks accepted and not finished, over all apps.
    outstanding: AtomicUsize,
    /// Woken when `outstanding` comes to 0.
    idle: Notify,
    /// The next delivery sequence number. It starts at random so that delivery ids stay
    /// unique across restarts (and across servers), where receivers keep them longer.
    sequence: AtomicU64,
}

/// One app's queues, counters and workers' wake-up call.
struct App {
    sdk_app_id: u32,
    queues: Mutex<Queues>,
    /// Woken when a callback may go: one was queued, or a retry's backoff is over.
    wake: Notify,
    counts: Counters,
    /// The [`Webhooks`] was dropped: workers end once the queue is empty.
    closed: AtomicBool,
}

impl App {
    fn queues(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Webhooks {
    /// Webhook delivery within `limits`. Each app's workers are spawned on the current tokio
    /// runtime when the app's first callback comes, whichever thread submits it.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn new(limits: WebhookLimits) -> Webhooks {
        let limits = WebhookLimits {
            concurrency: limits.concurrency.max(1),
            attempts: limits.attempts.max(1),
            ..limits
        };
        let client = Client::new(&limits.extra_roots, limits.timeout);
        Webhooks {
            shared: Arc::new(Shared {
                limits,
                client,
                runtime: tokio::runtime::Handle::current(),
                apps: RwLock::new(FastMap::default()),
                outstanding: AtomicUsize::new(0),
                idle: Notify::new(),
                sequence: AtomicU64::new(rand::random::<u64>() >> 1),
            }),
        }
    }

    /// Queues `callback` for `target`. Never blocks nor waits on the network: the engine calls
    /// it holding the user's lock. When the app's queue is full the callback is dropped,
    /// counted, and said in a warning at most every few seconds. A target without a URL is
    /// ignored. Callable from any thread.
    pub fn submit(&self, target: &Target, callback: Callback) {
        if target.url.is_empty() {
            return;
        }
        let app = self.app(target.sdk_app_id);
        let sequence = self.shared.sequence.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            callback,
            url: target.url.clone(),
            secret: target.secret.clone(),
            delivery: format!("{}-{sequence}", target.sdk_app_id),
            attempts: 0,
            paced: false,
        };
        let mut queues = app.queues();
        match queues.push(job) {
            Ok(()) => {
                // Under the app's lock: no worker can finish it before it is counted.
                self.shared.outstanding.fetch_add(1, Ordering::SeqCst);
                drop(queues);
                app.wake.notify_one();
            }
            Err(_) => {
                Counters::add(&app.counts.dropped);
                if let Some(dropped) = queues.full_log.note(Instant::now()) {
                    tracing::warn!(
                        sdk_app_id = app.sdk_app_id,
                        dropped,
                        queue = self.shared.limits.queue_per_app,
                        "webhook queue full: callbacks dropped"
                    );
                }
            }
        }
    }

    /// How many more callbacks the app's queue takes now. For a producer that can wait, such
    /// as the recovery after a restart (its callbacks can outnumber the queue), to hand them
    /// over no faster than they go instead of having them dropped.
    pub fn room(&self, sdk_app_id: u32) -> usize {
        let queued = match self.apps().get(&sdk_app_id) {
            Some(app) => app.queues().queued(),
            None => 0,
        };
        self.shared.limits.queue_per_app.saturating_sub(queued)
    }

    /// Every app's counters, by app id.
    pub fn counts(&self) -> Vec<(u32, WebhookCounts)> {
        let apps: Vec<Arc<App>> = self.apps().values().cloned().collect();
        let mut counts: Vec<(u32, WebhookCounts)> = apps
            .iter()
            .map(|app| {
                let queued = app.queues().queued();
                (app.sdk_app_id, app.counts.snapshot(queued))
            })
            .collect();
        counts.sort_unstable_by_key(|(app, _)| *app);
        counts
    }

    /// Completes when every callback queued so far has been delivered or given up. For a
    /// graceful shutdown (with a deadline: a receiver that is down takes every attempt) and
    /// for tests.
    pub async fn drained(&self) {
        loop {
            let idle = self.shared.idle.notified();
            tokio::pin!(idle);
            // Registered before the check, so a finish in between is not missed.
            idle.as_mut().enable();
            if self.shared.outstanding.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    fn apps(&self) -> std::sync::RwLockReadGuard<'_, FastMap<u32, Arc<App>>> {
        self.shared.apps.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The app's state, made (and its workers spawned) on its first callback.
    fn app(&self, sdk_app_id: u32) -> Arc<App> {
        if let Some(app) = self.apps().get(&sdk_app_id) {
            return app.clone();
        }
        let shared = &self.shared;
        let mut apps = shared.apps.write().unwrap_or_else(|e| e.into_inner());
        apps.entry(sdk_app_id)
            .or_insert_with(|| {
                let app = Arc::new(App {
                    sdk_app_id,
                    queues: Mutex::new(Queues::new(
                        shared.limits.queue_per_app,
                        shared.limits.recovered_per_second,
                    )),
                    wake: Notify::new(),
                    counts: Counters::default(),
                    closed: AtomicBool::new(false),
                });
                for _ in 0..shared.limits.concurrency {
                    shared
                        .runtime
                        .spawn(worker::run(shared.clone(), app.clone()));
                }
                app
            })
            .clone()
    }
}

// The engine's threads share one.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Webhooks>();
};

impl Drop for Webhooks {
    fn drop(&mut self) {
        for app in self.apps().values() {
            app.closed.store(true, Ordering::SeqCst);
            app.wake.notify_waiters();
        }
    }
}
