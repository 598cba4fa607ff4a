//! The SDK core: a V2TIM-shaped client that every binding (C ABI, C++, JNI, ObjC) wraps.
//!
//! # Threading model
//!
//! A [`Client`] owns three things:
//! - one network thread, `imstatus-rt`, with a current-thread tokio runtime running one
//!   *driver* task, which owns the session, the connection and every pending request, and
//!   handles commands, server frames and timers one at a time;
//! - one callback thread, `imstatus-callback`, where every `done` callback and every
//!   [`Listener`] event runs, one at a time, in the order the driver decided them;
//! - the status cache and login state, written by the driver and read by the synchronous
//!   getters.
//!
//! API methods never block (except the `*_blocking` conveniences) and never call back inline:
//! even an immediate error such as "not logged in" is delivered on the callback thread, and so is
//! a call a binding refuses ([`Client::refuse`]). Errors of calls that have no client at all go
//! through [`report_later`], on the library's one error thread (`imstatus-errors`). Every
//! callback fires exactly once. Callbacks may call the client again; they must not block the
//! callback thread for long, since every later event waits behind them.
//!
//! Data flows client → [`crate::protocol`] → server; this module never touches the engine.

mod address;
mod backoff;
mod blocking;
mod cache;
mod command;
mod config;
mod connection;
mod dispatcher;
mod driver;
mod error_thread;
mod extensions;
mod listener;
pub mod log;
mod pending;
mod queue;
mod random;
mod runtime;
mod server_clock;
mod shared;
mod tls;
mod types;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::codes;
use crate::protocol::Request;

/// The platforms a device can declare, and the general status types (the protocol's names).
pub use crate::protocol::{Platform, StatusType};
pub use address::TLS_SCHEME;
pub use config::{
    host_platform, platform_from_code, ClientConfig, DEFAULT_SERVER_ADDR, SERVER_ADDR_ENV,
};
pub use dispatcher::CALLBACK_THREAD_NAME;
pub use error_thread::{report_later, ERROR_THREAD_NAME};
pub use extensions::Visibility;
pub use listener::Listener;
pub use server_clock::local_unix_ms;
/// Android's certificate verifier gets the JVM and the app's `Context` (`src/jni`, at initSDK).
#[cfg(all(target_os = "android", feature = "jni"))]
pub(crate) use tls::android::init as tls_android_init;
pub use tls::TlsConfig;
pub use types::{ClientError, LoginStatus, UserStatus};

use command::{Command, Reply};
use dispatcher::{Completion, Dispatcher};
use driver::Driver;
use listener::lock;
use log::log;
use runtime::RuntimeThread;
use shared::Shared;

/// How long [`Client::shutdown`] waits for the network thread to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// One SDK instance (`V2TIMManager`): at most one logged-in user at a time, one device to the
/// server. `Send + Sync`: share it behind an `Arc` and call it from any thread.
///
/// Every `done` callback runs on this client's callback thread (`imstatus-callback`), exactly
/// once, never inside the call that takes it. Dropping the client shuts it down and waits for
/// the callback thread to finish what is queued (unless dropped on that very thread).
pub struct Client {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    runtime: Mutex<Option<RuntimeThread>>,
    dispatcher: Dispatcher,
    shut_down: AtomicBool,
}

impl Client {
    /// Creates a client: validates `config`, starts the network thread (`imstatus-rt`) and the
    /// callback thread. Does not connect: that happens at
    /// [`login`](Self::login). Fails with 6017 for an unusable config, or 6013 if the threads
    /// cannot be started.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        config.validate()?;
        let cannot_start = |e: std::io::Error| {
            ClientError::new(
                codes::ERR_SDK_NOT_INITIALIZED,
                format!("cannot start the client's threads: {e}"),
            )
        };
        let dispatcher = Dispatcher::start().map_err(cannot_start)?;
        let shared = Arc::new(Shared::new(config, dispatcher.handle().clone()));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let runtime = RuntimeThread::start(Driver::new(Arc::clone(&shared), commands_rx).run())
            .map_err(cannot_start)?;
        log!(Debug, "client started, device {}", shared.device_id);
        Ok(Client {
            shared,
            commands,
            runtime: Mutex::new(Some(runtime)),
            dispatcher,
            shut_down: AtomicBool::new(false),
        })
    }

    /// The device ID this client declares at every login, generated at creation and kept across
    /// reconnects so that the server treats a reconnect as the same device.
    pub fn device_id(&self) -> &str {
        &self.shared.device_id
    }

    /// The configuration the client was created with.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Registers a listener (`addSDKListener`); its methods run on the callback thread. Adding
    /// the same `Arc` again does nothing. The client keeps the `Arc` until removed or dropped.
    pub fn add_listener(&self, listener: Arc<dyn Listener>) {
        self.shared.listeners.add(listener);
    }

    /// Unregisters a listener, compared by object identity. Events already delivered are not
    /// recalled; events queued but not yet delivered are no longer delivered to it.
    pub fn remove_listener(&self, listener: &Arc<dyn Listener>) {
        self.shared.listeners.remove(listener);
    }

    /// Logs in (`login`): connects, then authenticates with `user_sig` (L1). `done` runs on the
    /// callback thread. Logging in again as the logged-in user succeeds at once (keeping the new
    /// UserSig for reconnects); as another user, logs the current one out first. A connection
    /// failure fails with 9508 (after `on_connect_failed`); a refusal carries the server's code
    /// (70001, 70003, ...). A login is not retried: reconnecting starts only once it succeeded.
    /// From the moment this returns until the login ends, [`login_status`](Self::login_status)
    /// answers [`LoginStatus::Logining`] (unless already logged in).
    pub fn login(
        &self,
        user_id: &str,
        user_sig: &str,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let done = self.completion(done);
        // Counted before it is queued, so the getters say LOGINING from now on (see
        // `Shared::view`); the driver takes it back once it has set the login's own state.
        self.shared.logins_queued.fetch_add(1, Ordering::SeqCst);
        self.submit(Command::Login {
            user_id: user_id.to_owned(),
            user_sig: user_sig.to_owned(),
            done,
        });
    }

    /// Logs out (`logout`): tells the server (L4), waits for its answer, closes the connection
    /// and stops reconnecting. Whatever the answer, the client ends logged out with an empty
    /// cache; `done` reports the server's answer (9508 if the connection broke first, 6012 if
    /// it did not come in time). Fails with 6014 when not logged in.
    pub fn logout(&self, done: impl FnOnce(Result<(), ClientError>) + Send + 'static) {
        let done = self.completion(done);
        self.submit(Command::Logout { done });
    }

    /// The logged-in user (`getLoginUser`), also while reconnecting; `None` otherwise.
    pub fn login_user(&self) -> Option<String> {
        if self.is_shut_down() {
            return None;
        }
        self.shared.view().user
    }

    /// The login state (`getLoginStatus`). [`LoginStatus::Logining`] as soon as
    /// [`login`](Self::login) returned; stays [`LoginStatus::Logined`] while reconnecting.
    pub fn login_status(&self) -> LoginStatus {
        if self.is_shut_down() {
            return LoginStatus::Logout;
        }
        self.shared.view().status
    }

    /// Sets (or with `None`/empty clears) the own custom status (`setSelfStatus`, C1). The change
    /// itself arrives later as `on_user_status_changed` for the own user (multi-device sync).
    pub fn set_self_status(
        &self,
        custom_status: Option<&str>,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let reply = Reply::Done(self.completion(done));
        self.call(
            Request::SetSelfStatus {
                custom_status: custom_status.map(str::to_owned),
                expire_after_ms: None,
            },
            reply,
        );
    }

    /// Queries statuses (`getUserStatus`, Q1–Q5); the answer also refreshes the cache silently.
    pub fn get_user_status(
        &self,
        user_ids: Vec<String>,
        done: impl FnOnce(Result<Vec<UserStatus>, ClientError>) + Send + 'static,
    ) {
        let reply = Reply::Statuses(self.completion(done));
        self.call(Request::GetUserStatus { user_ids }, reply);
    }

    /// Subscribes to users' status changes (`subscribeUserStatus`, S1–S5). Their current
    /// statuses, which the server answers with, refresh the cache silently.
    pub fn subscribe_user_status(
        &self,
        user_ids: Vec<String>,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let reply = Reply::Done(self.completion(done));
        self.call(Request::Subscribe { user_ids }, reply);
    }

    /// Unsubscribes (`unsubscribeUserStatus`); `None` or an empty list removes every
    /// subscription (S6).
    pub fn unsubscribe_user_status(
        &self,
        user_ids: Option<Vec<String>>,
        done: impl FnOnce(Result<(), ClientError>) + Send + 'static,
    ) {
        let reply = Reply::Done(self.completion(done));
        self.call(Request::Unsubscribe { user_ids }, reply);
    }

    /// The server's clock now, in Unix milliseconds (V2TIM `GetServerTime` answers it in seconds).
    ///
    /// Estimated from the `server_time_ms` of the replies to logins and heartbeats, allowing for
    /// half the round trip, and carried forward on the local monotonic clock, so changing the
    /// device's clock afterwards does not move it. Before the first successful login of this
    /// client it is the local clock. Once known it stays known: after a logout and after
    /// [`shutdown`](Self::shutdown) it keeps answering the server's time.
    pub fn server_time_ms(&self) -> u64 {
        lock(&self.shared.server_clock).now_ms()
    }

    /// Whether [`server_time_ms`](Self::server_time_ms) comes from the server (a login or
    /// heartbeat reply carried its clock) rather than from the local clock.
    pub fn server_time_is_known(&self) -> bool {
        lock(&self.shared.server_clock).is_known()
    }

    /// Answers a call that a binding refuses before it starts (an argument it cannot pass on, a
    /// call after shutdown) the way V2TIM reports every error: `done` gets `error` on the
    /// callback thread, after this returns, in call order with the callbacks of earlier calls.
    /// Also after [`shutdown`](Self::shutdown), when `done` still gets `error`, once.
    pub fn refuse<T: Send + 'static>(
        &self,
        error: ClientError,
        done: impl FnOnce(Result<T, ClientError>) + Send + 'static,
    ) {
        let done = Completion::refusal(self.dispatcher.handle().clone(), error.clone(), done);
        // Through the driver rather than straight onto the callback thread, so that it comes
        // after the answers of earlier calls that the driver decides at once (6014, 6015, ...).
        // Dropped unrun (shut down), the completion still fires `error`.
        self.submit(Command::Refuse(Box::new(move || done.complete(Err(error)))));
    }

    /// Whether [`shutdown`](Self::shutdown) ran (or started).
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::SeqCst)
    }

    /// The status the SDK holds for a user: from the login snapshot, pushes, query and
    /// subscribe answers, and D4's local OFFLINE mark. Cleared at logout.
    pub fn cached_status(&self, user_id: &str) -> Option<UserStatus> {
        lock(&self.shared.cache).get(user_id)
    }

    /// Stops the client (`unInitSDK`): closes the connection without logging out, stops the
    /// runtime, and fires every pending callback once with 6013 "client was shut down". Later
    /// calls answer 6013 on the callback thread, and the getters answer logged out. Idempotent;
    /// also done on drop. Blocks until the runtime has stopped (at most a few seconds) and, unless
    /// called on this client's callback thread, until the callbacks queued by then (the 6013s
    /// included) have run. Callable from any thread, including the callback thread and async
    /// code.
    pub fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return;
        }
        log!(Debug, "client shutting down");
        let runtime = lock(&self.runtime).take();
        if let Some(runtime) = runtime {
            // The runtime stops on its own thread, so this is also safe inside async code.
            if !runtime.stop(SHUTDOWN_GRACE) {
                log!(
                    Warn,
                    "the network thread did not stop in time; it ends on its own"
                );
            }
        }
        lock(&self.shared.cache).clear();
        self.shared.set_view(LoginStatus::Logout, None);
        // The driver is gone and every callback it held has been queued: let them run.
        self.dispatcher.flush();
    }

    fn completion<T: Send + 'static>(
        &self,
        done: impl FnOnce(Result<T, ClientError>) + Send + 'static,
    ) -> Completion<T> {
        Completion::new(self.dispatcher.handle().clone(), done)
    }

    fn call(&self, request: Request, reply: Reply) {
        self.submit(Command::Call { request, reply });
    }

    /// Hands a command to the driver. When that is impossible (shut down) the command is
    /// dropped, and dropping its completion fires 6013 on the callback thread.
    fn submit(&self, command: Command) {
        if self.is_shut_down() {
            return;
        }
        let _ = self.commands.send(command);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shutdown();
        self.dispatcher.stop();
    }
}

#[cfg(test)]
mod tests;
