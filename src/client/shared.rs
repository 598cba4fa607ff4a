//! What the API side and the driver task both see.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::cache::StatusCache;
use super::config::ClientConfig;
use super::dispatcher::DispatchHandle;
use super::listener::{lock, Listener, ListenerSet};
use super::log::log;
use super::random;
use super::server_clock::ServerClock;
use super::tls::Tls;
use super::types::{LoginStatus, UserStatus};

/// Written only by the driver; read by the synchronous getters (`login_status`, `login_user`,
/// `cached_status`), which must answer without a round trip to the driver.
pub(crate) struct Shared {
    pub(crate) config: ClientConfig,
    /// Generated once per client, so a reconnect is recognised as the same device (L2).
    pub(crate) device_id: String,
    pub(crate) dispatch: DispatchHandle,
    pub(crate) listeners: Arc<ListenerSet>,
    pub(crate) cache: Mutex<StatusCache>,
    pub(crate) view: Mutex<View>,
    /// `login` commands accepted by the API and not yet taken up by the driver: while one is on
    /// its way the getters answer LOGINING, as V2TIM does as soon as `login` returned.
    pub(crate) logins_queued: AtomicUsize,
    /// Written by the driver from login and heartbeat replies; read by `server_time_ms`.
    pub(crate) server_clock: Mutex<ServerClock>,
    /// The TLS settings and, after the first TLS connect, the connector made from them; shared
    /// with the connection tasks.
    pub(crate) tls: Arc<Tls>,
}

/// The login state as the getters report it.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) status: LoginStatus,
    pub(crate) user: Option<String>,
}

impl Shared {
    pub(crate) fn new(config: ClientConfig, dispatch: DispatchHandle) -> Shared {
        Shared {
            tls: Arc::new(Tls::new(config.tls.clone())),
            config,
            device_id: format!("{:016x}{:016x}", random::u64(), random::u64()),
            dispatch,
            listeners: Arc::default(),
            cache: Mutex::default(),
            view: Mutex::new(View {
                status: LoginStatus::Logout,
                user: None,
            }),
            logins_queued: AtomicUsize::new(0),
            server_clock: Mutex::default(),
        }
    }

    pub(crate) fn set_view(&self, status: LoginStatus, user: Option<String>) {
        *lock(&self.view) = View { status, user };
    }

    /// The login state as the getters report it: LOGOUT turns LOGINING while a `login` is on its
    /// way to the driver. (The driver sets the view before it counts the command taken, so there
    /// is no moment in between that reads LOGOUT.)
    pub(crate) fn view(&self) -> View {
        let mut view = lock(&self.view).clone();
        if view.status == LoginStatus::Logout && self.logins_queued.load(Ordering::SeqCst) > 0 {
            view.status = LoginStatus::Logining;
        }
        view
    }

    /// Queues a listener event. The listener list is read on the callback thread, when the event
    /// is delivered, so a listener removed before then no longer hears it. Each listener is
    /// guarded separately so that one panicking listener does not silence the others.
    pub(crate) fn emit(&self, event: impl Fn(&dyn Listener) + Send + 'static) {
        let listeners = Arc::clone(&self.listeners);
        self.dispatch.post(move || {
            for listener in listeners.snapshot() {
                if catch_unwind(AssertUnwindSafe(|| event(&*listener))).is_err() {
                    log!(
                        Error,
                        "a client listener panicked; the event goes on to the others"
                    );
                }
            }
        });
    }

    pub(crate) fn emit_status_changed(&self, statuses: Vec<UserStatus>) {
        if !statuses.is_empty() {
            self.emit(move |l| l.on_user_status_changed(&statuses));
        }
    }
}
