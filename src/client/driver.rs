//! The driver: one task per client that owns the session and the connection.
//!
//! Commands from the API, frames from the connection and timers all arrive at this one task
//! and are handled one at a time. That is what keeps the callbacks in order: a reply is handled
//! (and its callback queued) before any push that the server wrote after it, the login snapshot
//! is applied before the first push, and a request is resolved exactly once by whichever of
//! reply, timeout or disconnect comes first.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::codes;
use crate::protocol::{ClientFrame, Request, ServerMessage, WireStatus};

use super::backoff::{jittered, Backoff};
use super::command::{Command, Reply};
use super::connection::{spawn_open, Attempt, ConnEvent, Connection};
use super::dispatcher::Completion;
use super::listener::lock;
use super::log::log;
use super::pending::{PendingRequests, Purpose};
use super::shared::Shared;
use super::types::{ClientError, LoginStatus};

/// How long the driver sleeps when nothing is scheduled; any command or event wakes it sooner.
const IDLE_WAKE: Duration = Duration::from_secs(3600);
/// The shortest heartbeat interval, however short the server's timeout: a floor against a
/// misconfigured server making the SDK spin.
const MIN_HEARTBEAT: Duration = Duration::from_millis(100);

/// Where the session stands. The variants that wait for something own the callback waiting
/// with it, so leaving a phase forces the code to decide what that callback gets.
enum Phase {
    /// Logged out.
    Idle,
    /// TCP connect and handshake running in `task`.
    Connecting { why: Why, task: JoinHandle<()> },
    /// Login sent on a fresh connection, reply awaited.
    Authenticating { why: Why },
    /// Logged in and connected.
    Online,
    /// Logged in, connection lost, next reconnect at `at`.
    Retrying { at: Instant },
    /// Logout sent, reply awaited; `then` is a login to another account that asked for it.
    LoggingOut {
        done: Completion<()>,
        then: Option<LoginRequest>,
    },
}

/// Why a connection is being made.
enum Why {
    /// An explicit `login`, whose callback is answered when it ends.
    Login(Completion<()>),
    /// Restoring a session after a network loss (D3).
    Reconnect,
}

struct LoginRequest {
    user_id: String,
    user_sig: String,
    done: Completion<()>,
}

/// The account of the running session.
struct Session {
    user_id: String,
    /// Kept to re-authenticate on reconnect (D3); replaced by a later `login` of the same user.
    user_sig: String,
}

/// The live connection and its liveness bookkeeping.
struct Link {
    conn: Connection,
    last_heard: Instant,
    next_heartbeat: Instant,
}

/// How a session ended without a logout.
#[derive(Clone, Copy)]
enum Ending {
    Kicked,
    SigExpired,
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    events_tx: mpsc::UnboundedSender<ConnEvent>,
    events: mpsc::UnboundedReceiver<ConnEvent>,
    phase: Phase,
    session: Option<Session>,
    link: Option<Link>,
    /// Generation of the current connection attempt; events of older ones are ignored.
    gen: u64,
    next_id: u64,
    pending: PendingRequests,
    backoff: Backoff,
    /// Why the client is logged out, for the description of later 6014 errors.
    logged_out_because: Option<&'static str>,
    /// The app's heartbeat timeout, as the last login reply said.
    server_heartbeat_timeout: Option<Duration>,
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, commands: mpsc::UnboundedReceiver<Command>) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        let backoff = Backoff::new(shared.config.reconnect_base, shared.config.reconnect_max);
        Driver {
            shared,
            commands,
            events_tx,
            events,
            phase: Phase::Idle,
            session: None,
            link: None,
            gen: 0,
            next_id: 1,
            pending: PendingRequests::default(),
            backoff,
            logged_out_because: None,
            server_heartbeat_timeout: None,
        }
    }

    /// Runs until the client is shut down (the runtime drops this future, and with it every
    /// callback still held, which then fires with 6013) or every command sender is gone.
    pub(crate) async fn run(mut self) {
        loop {
            let wake = self.next_wake();
            tokio::select! {
                // Network news first: a reply that already arrived should not time out because
                // a burst of commands was handled before it.
                biased;
                Some(event) = self.events.recv() => self.on_event(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                _ = tokio::time::sleep_until(wake) => self.on_timer(),
            }
        }
    }

    /// The configured heartbeat interval, or less: three tenths of the server's heartbeat
    /// timeout, so that even with jitter (±10 %) a heartbeat leaves at least every third of it
    /// and a short timeout never flaps (D2, D3).
    fn heartbeat_interval(&self) -> Duration {
        let configured = self.shared.config.heartbeat_interval;
        match self.server_heartbeat_timeout {
            Some(timeout) => configured.min(timeout * 3 / 10).max(MIN_HEARTBEAT),
            None => configured,
        }
    }

    fn request_timeout(&self) -> Duration {
        self.shared.config.request_timeout
    }

    /// Silence longer than this means the connection is dead even though TCP did not say so
    /// (a peer that vanished without FIN or RST): two missed heartbeat periods plus the time a
    /// reply may take.
    fn dead_after(&self) -> Duration {
        self.heartbeat_interval() * 2 + self.request_timeout()
    }

    fn next_wake(&self) -> Instant {
        let mut wake = Instant::now() + IDLE_WAKE;
        if let Some(deadline) = self.pending.next_deadline() {
            wake = wake.min(deadline);
        }
        match (&self.phase, &self.link) {
            (Phase::Online, Some(link)) => {
                wake = wake
                    .min(link.next_heartbeat)
                    .min(link.last_heard + self.dead_after());
            }
            (Phase::Retrying { at }, _) => wake = wake.min(*at),
            _ => {}
        }
        wake
    }

    // ---- commands -------------------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Login {
                user_id,
                user_sig,
                done,
            } => {
                self.on_login(LoginRequest {
                    user_id,
                    user_sig,
                    done,
                });
                // Only now, with the view set by the login itself: see `Shared::view`.
                self.shared.logins_queued.fetch_sub(1, Ordering::SeqCst);
            }
            Command::Logout { done } => self.on_logout(done),
            Command::Call { request, reply } => self.on_call(request, reply),
            Command::Refuse(fire) => fire(),
        }
    }

    fn on_login(&mut self, login: LoginRequest) {
        match &self.phase {
            Phase::Idle => self.begin_login(login),
            Phase::Connecting {
                why: Why::Login(_), ..
            }
            | Phase::Authenticating { why: Why::Login(_) } => login.done.complete(Err(
                ClientError::new(codes::ERR_IN_PROGESS, "a login is already in progress"),
            )),
            Phase::LoggingOut { .. } => login.done.complete(Err(ClientError::new(
                codes::ERR_IN_PROGESS,
                "a logout is in progress",
            ))),
            Phase::Online
            | Phase::Retrying { .. }
            | Phase::Connecting {
                why: Why::Reconnect,
                ..
            }
            | Phase::Authenticating {
                why: Why::Reconnect,
            } => {
                let session = self
                    .session
                    .as_mut()
                    .expect("a logged-in phase has a session");
                if session.user_id == login.user_id {
                    // Already logged in: no new connection, but a fresh UserSig is worth
                    // keeping for the next reconnect.
                    session.user_sig = login.user_sig;
                    login.done.complete(Ok(()));
                } else if matches!(self.phase, Phase::Online) {
                    log!(
                        Info,
                        "switching accounts from {} to {}: logging out first",
                        session.user_id,
                        login.user_id
                    );
                    self.begin_logout(login.done_placeholder(), Some(login));
                } else {
                    // Not connected: the old session cannot be logged out on the server, and
                    // waiting for a reconnect could take forever. Drop it here; the server
                    // sees that device as disconnected.
                    log!(
                        Warn,
                        "switching accounts while disconnected: the old session is dropped locally"
                    );
                    self.go_idle(None);
                    self.begin_login(login);
                }
            }
        }
    }

    fn begin_login(&mut self, login: LoginRequest) {
        log!(Info, "logging in as {}", login.user_id);
        self.shared.set_view(LoginStatus::Logining, None);
        self.session = Some(Session {
            user_id: login.user_id,
            user_sig: login.user_sig,
        });
        self.shared.emit(|l| l.on_connecting());
        self.start_connect(Why::Login(login.done));
    }

    fn on_logout(&mut self, done: Completion<()>) {
        match &self.phase {
            Phase::Idle => done.complete(Err(self.not_logged_in())),
            Phase::Connecting {
                why: Why::Login(_), ..
            }
            | Phase::Authenticating { why: Why::Login(_) } => done.complete(Err(ClientError::new(
                codes::ERR_IN_PROGESS,
                "a login is in progress; log out after it finished",
            ))),
            Phase::LoggingOut { .. } => done.complete(Err(ClientError::new(
                codes::ERR_IN_PROGESS,
                "a logout is already in progress",
            ))),
            Phase::Online => self.begin_logout(done, None),
            Phase::Retrying { .. }
            | Phase::Connecting {
                why: Why::Reconnect,
                ..
            }
            | Phase::Authenticating {
                why: Why::Reconnect,
            } => {
                log!(
                    Warn,
                    "logging out while disconnected: the server cannot be told"
                );
                self.go_idle(None);
                done.complete(Ok(()));
            }
        }
    }

    fn begin_logout(&mut self, done: Completion<()>, then: Option<LoginRequest>) {
        self.send(Request::Logout, Purpose::Logout);
        self.phase = Phase::LoggingOut { done, then };
    }

    fn on_call(&mut self, request: Request, reply: Reply) {
        match &self.phase {
            Phase::Online => self.send(request, Purpose::Call(reply)),
            Phase::Idle => reply.fail(self.not_logged_in()),
            Phase::Connecting {
                why: Why::Login(_), ..
            }
            | Phase::Authenticating { why: Why::Login(_) } => reply.fail(
                ClientError::not_logged_in("not logged in yet: the login has not finished"),
            ),
            Phase::LoggingOut { .. } => reply.fail(ClientError::not_logged_in("logging out")),
            Phase::Retrying { .. }
            | Phase::Connecting {
                why: Why::Reconnect,
                ..
            }
            | Phase::Authenticating {
                why: Why::Reconnect,
            } => reply.fail(ClientError::disconnected(
                "not connected to the server; reconnecting",
            )),
        }
    }

    fn not_logged_in(&self) -> ClientError {
        ClientError::not_logged_in(self.logged_out_because.unwrap_or("not logged in"))
    }

    // ---- connection events ----------------------------------------------------------------

    fn on_event(&mut self, event: ConnEvent) {
        match event {
            ConnEvent::Opened { gen, result } if gen == self.gen => self.on_opened(result),
            ConnEvent::Message { gen, message } if gen == self.gen && self.link.is_some() => {
                if let Some(link) = &mut self.link {
                    link.last_heard = Instant::now();
                }
                self.on_message(message);
            }
            ConnEvent::Closed { gen, reason } if gen == self.gen && self.link.is_some() => {
                self.on_link_lost(reason);
            }
            // News from a connection attempt given up since: nothing to do.
            _ => {}
        }
    }

    fn start_connect(&mut self, why: Why) {
        self.gen += 1;
        let hello_id = self.take_id();
        let addr = self.shared.config.resolved_server_addr();
        log!(Debug, "connecting to {addr} (attempt {})", self.gen);
        let attempt = Attempt {
            addr,
            tls: Arc::clone(&self.shared.tls),
            tls_switch: self.shared.config.tls.enabled,
            gen: self.gen,
            hello_id,
            timeout: self.request_timeout(),
        };
        let task = spawn_open(attempt, self.events_tx.clone());
        self.phase = Phase::Connecting { why, task };
    }

    fn on_opened(&mut self, result: Result<Connection, ClientError>) {
        let why = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Connecting { why, .. } => why,
            other => {
                self.phase = other;
                return;
            }
        };
        match result {
            Ok(conn) => {
                self.shared.emit(|l| l.on_connect_success());
                let now = Instant::now();
                self.link = Some(Link {
                    conn,
                    last_heard: now,
                    next_heartbeat: now + IDLE_WAKE,
                });
                let session = self.session.as_ref().expect("connecting needs a session");
                let login = Request::Login {
                    sdk_app_id: self.shared.config.sdk_app_id,
                    user_id: session.user_id.clone(),
                    user_sig: session.user_sig.clone(),
                    platform: self.shared.config.platform,
                    device_id: self.shared.device_id.clone(),
                };
                self.send(login, Purpose::Login);
                self.phase = Phase::Authenticating { why };
            }
            Err(error) => self.login_failed(why, error, true),
        }
    }

    fn on_message(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Ok {
                id,
                statuses,
                server_time_ms,
                heartbeat_timeout_ms,
                ..
            } => {
                if let Some(timeout) = heartbeat_timeout_ms {
                    self.server_heartbeat_timeout = Some(Duration::from_millis(timeout));
                }
                if let (Some(stamp), Some(sent)) = (server_time_ms, self.pending.sent_at(id)) {
                    lock(&self.shared.server_clock).record(
                        stamp,
                        sent.into_std(),
                        std::time::Instant::now(),
                    );
                }
                self.on_reply(id, Ok(statuses))
            }
            ServerMessage::Error { id: 0, code, desc } => {
                // Not an answer: the server says why it is about to close the connection. The
                // close itself arrives as an event and drives what happens next.
                log!(Warn, "the server is closing the connection: {code} {desc}");
            }
            ServerMessage::Error { id, code, desc } => {
                self.on_reply(id, Err(ClientError::new(code, desc)))
            }
            ServerMessage::StatusChanged { statuses } => self.on_push(&statuses),
            ServerMessage::Kicked => self.on_session_ended(Ending::Kicked),
            ServerMessage::UserSigExpired => self.on_session_ended(Ending::SigExpired),
        }
    }

    fn on_reply(&mut self, id: u64, result: Result<Vec<WireStatus>, ClientError>) {
        let Some(purpose) = self.pending.take(id) else {
            log!(
                Debug,
                "reply to request {id}, which no longer waits (timed out?)"
            );
            return;
        };
        match purpose {
            Purpose::Login => {
                let why = match std::mem::replace(&mut self.phase, Phase::Idle) {
                    Phase::Authenticating { why } => why,
                    other => {
                        self.phase = other;
                        return;
                    }
                };
                match result {
                    Ok(snapshot) => self.login_succeeded(why, &snapshot),
                    Err(error) => self.login_failed(why, error, false),
                }
            }
            Purpose::Logout => self.finish_logout(result.map(|_| ())),
            Purpose::Heartbeat => {
                if let Err(e) = result {
                    log!(Debug, "heartbeat refused: {} {}", e.code, e.desc);
                }
            }
            Purpose::Call(reply) => match result {
                Ok(statuses) => {
                    // Query and subscribe answers refresh the cache silently; the version rule
                    // keeps a slow answer from undoing a newer push.
                    lock(&self.shared.cache).apply(&statuses);
                    reply.succeed(&statuses);
                }
                Err(error) => reply.fail(error),
            },
        }
    }

    fn on_push(&mut self, statuses: &[WireStatus]) {
        if !matches!(self.phase, Phase::Online | Phase::LoggingOut { .. }) {
            log!(Debug, "ignoring a status push before the login finished");
            return;
        }
        let applied = lock(&self.shared.cache).apply(statuses);
        self.shared.emit_status_changed(applied);
    }

    fn login_succeeded(&mut self, why: Why, snapshot: &[WireStatus]) {
        let user_id = self
            .session
            .as_ref()
            .expect("a login has a session")
            .user_id
            .clone();
        let now = Instant::now();
        let interval = self.heartbeat_interval();
        if let Some(link) = &mut self.link {
            link.next_heartbeat = now + jittered(interval);
        }
        self.phase = Phase::Online;
        self.backoff.reset();
        self.logged_out_because = None;
        match why {
            Why::Login(done) => {
                log!(Info, "logged in as {user_id}");
                {
                    let mut cache = lock(&self.shared.cache);
                    cache.clear();
                    cache.replace(snapshot);
                }
                self.shared.set_view(LoginStatus::Logined, Some(user_id));
                done.complete(Ok(()));
            }
            Why::Reconnect => {
                log!(Info, "reconnected as {user_id}");
                let changed = lock(&self.shared.cache).replace(snapshot);
                self.shared.emit_status_changed(changed);
            }
        }
    }

    /// A connection attempt or a login ended without a session. `network` says whether the
    /// connection itself failed, which listeners hear about as `on_connect_failed` even on an
    /// explicit login; a login refused by the server is only the login callback's business.
    fn login_failed(&mut self, why: Why, error: ClientError, network: bool) {
        self.link = None;
        // The login request itself may still be waiting (the connection broke under it); its
        // timeout must not fire later against the next attempt.
        self.fail_pending(&error);
        match why {
            Why::Login(done) => {
                log!(Info, "login failed: {} {}", error.code, error.desc);
                self.go_idle(None);
                if network {
                    let e = error.clone();
                    self.shared
                        .emit(move |l| l.on_connect_failed(e.code, &e.desc));
                }
                done.complete(Err(error));
            }
            Why::Reconnect if error.code == codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED => {
                log!(Warn, "re-login refused: the UserSig expired; giving up");
                self.end_session(Ending::SigExpired);
            }
            Why::Reconnect => {
                log!(
                    Warn,
                    "reconnect failed: {} {}; retrying",
                    error.code,
                    error.desc
                );
                let e = error.clone();
                self.shared
                    .emit(move |l| l.on_connect_failed(e.code, &e.desc));
                self.schedule_retry();
            }
        }
    }

    /// The connection broke (EOF, I/O error, garbage, dead heartbeat).
    fn on_link_lost(&mut self, reason: String) {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Authenticating { why } => {
                self.login_failed(why, ClientError::disconnected(reason), true)
            }
            Phase::Online => self.connection_lost(reason),
            Phase::LoggingOut { done, then } => {
                self.phase = Phase::LoggingOut { done, then };
                self.finish_logout(Err(ClientError::disconnected(format!(
                    "the connection was lost before the server confirmed the logout: {reason}"
                ))));
            }
            other => self.phase = other,
        }
    }

    /// A running session lost its connection: D4, then reconnect (D3).
    fn connection_lost(&mut self, reason: String) {
        log!(Info, "connection lost ({reason}); reconnecting");
        self.link = None;
        let error = ClientError::disconnected(format!("the connection was lost: {reason}"));
        self.fail_pending(&error);
        if let Some(session) = &self.session {
            let own = lock(&self.shared.cache).mark_offline(&session.user_id);
            self.shared.emit_status_changed(vec![own]);
        }
        self.schedule_retry();
    }

    fn schedule_retry(&mut self) {
        self.link = None;
        self.shared.emit(|l| l.on_connecting());
        let delay = self.backoff.next_delay();
        log!(Debug, "next reconnect attempt in {} ms", delay.as_millis());
        self.phase = Phase::Retrying {
            at: Instant::now() + delay,
        };
    }

    /// The server ended the session (kick, expired UserSig), or a re-login found the UserSig
    /// expired: no reconnect, the user has to log in again.
    fn on_session_ended(&mut self, ending: Ending) {
        let listeners_care = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Authenticating {
                why: Why::Login(done),
            } => {
                // The session never started: the login call hears about it, nobody else.
                self.go_idle(Some(ending.reason()));
                done.complete(Err(ending.login_error()));
                return;
            }
            Phase::LoggingOut { done, then } => {
                // The user wanted out and is out.
                self.go_idle(Some(ending.reason()));
                self.emit_ending(ending);
                done.complete(Ok(()));
                if let Some(login) = then {
                    self.begin_login(login);
                }
                return;
            }
            Phase::Idle => false,
            _ => true,
        };
        if listeners_care {
            self.end_session(ending);
        }
    }

    fn end_session(&mut self, ending: Ending) {
        match ending {
            Ending::Kicked => log!(Warn, "kicked offline by another device"),
            Ending::SigExpired => log!(Warn, "the UserSig expired"),
        }
        // State first, so that a listener asking `login_status()` sees the outcome.
        self.go_idle(Some(ending.reason()));
        self.emit_ending(ending);
    }

    fn emit_ending(&self, ending: Ending) {
        match ending {
            Ending::Kicked => self.shared.emit(|l| l.on_kicked_offline()),
            Ending::SigExpired => self.shared.emit(|l| l.on_user_sig_expired()),
        }
    }

    fn finish_logout(&mut self, result: Result<(), ClientError>) {
        let (done, then) = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::LoggingOut { done, then } => (done, then),
            other => {
                self.phase = other;
                return;
            }
        };
        match &result {
            Ok(()) => log!(Info, "logged out"),
            Err(e) => log!(
                Warn,
                "logout not confirmed ({} {}); logged out locally",
                e.code,
                e.desc
            ),
        }
        self.go_idle(None);
        done.complete(result);
        if let Some(login) = then {
            self.begin_login(login);
        }
    }

    /// Leaves every session state behind: no connection, no cache, nothing pending.
    fn go_idle(&mut self, because: Option<&'static str>) {
        if let Phase::Connecting { task, .. } = std::mem::replace(&mut self.phase, Phase::Idle) {
            task.abort();
        }
        // Later events of this attempt must not touch the next one.
        self.gen += 1;
        self.link = None;
        self.session = None;
        self.backoff.reset();
        self.logged_out_because = because;
        let error = ClientError::not_logged_in(because.unwrap_or("logged out"));
        self.fail_pending(&error);
        lock(&self.shared.cache).clear();
        self.shared.set_view(LoginStatus::Logout, None);
    }

    fn fail_pending(&mut self, error: &ClientError) {
        for purpose in self.pending.drain() {
            if let Purpose::Call(reply) = purpose {
                reply.fail(error.clone());
            }
        }
    }

    // ---- timers ---------------------------------------------------------------------------

    fn on_timer(&mut self) {
        let now = Instant::now();
        while let Some(purpose) = self.pending.pop_expired(now) {
            let timeout = ClientError::new(
                codes::ERR_REQUEST_TIME_OUT,
                format!(
                    "no answer from the server within {:?}",
                    self.request_timeout()
                ),
            );
            match purpose {
                Purpose::Call(reply) => reply.fail(timeout),
                Purpose::Login => match std::mem::replace(&mut self.phase, Phase::Idle) {
                    Phase::Authenticating { why } => self.login_failed(why, timeout, false),
                    other => self.phase = other,
                },
                Purpose::Logout => self.finish_logout(Err(timeout)),
                Purpose::Heartbeat => {
                    if matches!(self.phase, Phase::Online) {
                        self.phase = Phase::Idle;
                        self.connection_lost("the heartbeat was not answered in time".into());
                    }
                }
            }
        }
        match (&self.phase, &self.link) {
            (Phase::Online, Some(link)) if now >= link.last_heard + self.dead_after() => {
                let silence = now - link.last_heard;
                self.phase = Phase::Idle;
                self.connection_lost(format!("nothing heard from the server for {silence:?}"));
            }
            (Phase::Online, Some(link)) if now >= link.next_heartbeat => {
                if self.pending.has_heartbeat() {
                    // The previous one is still out (the request timeout is longer than the
                    // interval): its own deadline decides; just do not wake up for nothing.
                    let next = now + jittered(self.heartbeat_interval());
                    if let Some(link) = &mut self.link {
                        link.next_heartbeat = next;
                    }
                } else {
                    self.send(Request::Heartbeat, Purpose::Heartbeat);
                }
            }
            (Phase::Retrying { at }, _) if now >= *at => self.start_connect(Why::Reconnect),
            _ => {}
        }
    }

    // ---- sending --------------------------------------------------------------------------

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends a request on the live connection. Any request counts as a heartbeat on the server
    /// (D2), so the next heartbeat is pushed back.
    fn send(&mut self, request: Request, purpose: Purpose) {
        let id = self.take_id();
        let now = Instant::now();
        let interval = self.heartbeat_interval();
        let Some(link) = &mut self.link else {
            // Callers only send while a link exists; answer rather than lose the callback.
            if let Purpose::Call(reply) = purpose {
                reply.fail(ClientError::disconnected("not connected to the server"));
            }
            return;
        };
        link.conn.send(&ClientFrame { id, request });
        link.next_heartbeat = now + jittered(interval);
        self.pending
            .insert(id, now, now + self.shared.config.request_timeout, purpose);
    }
}

impl LoginRequest {
    /// While switching accounts the logout has no caller of its own: its outcome is swallowed and
    /// the login callback reports the result of the login that follows.
    fn done_placeholder(&self) -> Completion<()> {
        Completion::new(self.done.dispatcher().clone(), |_| {})
    }
}

impl Ending {
    fn reason(self) -> &'static str {
        match self {
            Ending::Kicked => "kicked offline by another device",
            Ending::SigExpired => "the UserSig expired; log in again",
        }
    }

    fn login_error(self) -> ClientError {
        match self {
            Ending::Kicked => ClientError::new(codes::ERR_LOGIN_KICKED_OFF_BY_OTHER, self.reason()),
            Ending::SigExpired => ClientError::new(codes::ERR_USER_SIG_EXPIRED, self.reason()),
        }
    }
}
