//! One connection, served by one task: it reads requests into a buffer of its own and turns
//! them into engine calls, and writes what the connection's [`Outbox`] holds. One task and no
//! buffer while idle keep an idle connection small (docs/benchmarks.md: memory per connection).
//!
//! Hygiene: the first frame must be `hello`, said once; before login only one `login` may
//! follow, and anything else (or a failed login) is answered and closed. The login deadline is
//! the engine's and counts from the accept, whatever arrives meanwhile. Every connection has a
//! heartbeat budget (a token bucket); heartbeats beyond it are refused with 7008 without reaching
//! the engine (other requests are limited per user, by the engine). A write that makes no progress
//! for the stall timeout closes the connection, so no writer blocks forever on a client that does
//! not read.

use std::future::{poll_fn, Future};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use imstatus_protocol::{
    decode_request, encode, split_frame, Request, ServerMessage, Split, MAX_REQUEST_FRAME_LEN,
    PROTOCOL_VERSION,
};

use crate::codes;
use crate::config::Limits;
use crate::engine::{CloseReason, ConnId, EngineError, Login};
use crate::hub::{now_ms, Hub};
use crate::outbox::{End, Outbox};
use crate::transport::Transport;
use crate::wire;

/// Why a connection that does not read is closed.
const SLOW_CONSUMER: &str = "a slow consumer: its outbox outgrew its limits";

/// What a connection may do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepted: `hello` must come first.
    New,
    /// Greeted, not logged in: one `login` may come.
    Greeted,
    /// Logged in (and, after a logout, back to `Greeted`).
    LoggedIn,
}

/// What woke the connection.
enum Event {
    /// Bytes arrived (appended to the input), or the peer closed (0), or the stream failed.
    Read(std::io::Result<usize>),
    /// The outbox has something to write, or ended.
    Out,
}

/// Serves one accepted connection from `peer` until it closes. `unauthenticated` is held until
/// the connection logs in (it counts against its address's cap until then).
pub fn serve<P: Send + 'static, T: Transport + 'static>(
    hub: Arc<Hub>,
    (conn, peer): (ConnId, IpAddr),
    stream: T,
    limits: Arc<Limits>,
    unauthenticated: P,
) -> impl std::future::Future<Output = ()> + Send {
    let outbox = hub.open_from(conn, Some(peer), now_ms());
    let connection = Connection {
        heartbeats: Budget::new(),
        stall_ms: millis(limits.write_stall_timeout.unwrap_or(limits.login_timeout)),
        hub,
        conn,
        stream,
        outbox,
        limits,
        phase: Phase::New,
        unauthenticated: Some(Box::new(unauthenticated)),
        input: Vec::new(),
        reading: true,
        out_first: false,
    };
    // One value owns everything the task keeps: the future holds it once (docs/benchmarks.md:
    // memory per connection).
    connection.run()
}

/// A connection's state, owned by its task.
struct Connection<P, T> {
    hub: Arc<Hub>,
    conn: ConnId,
    stream: T,
    outbox: Arc<Outbox>,
    limits: Arc<Limits>,
    phase: Phase,
    heartbeats: Budget,
    /// How long a write may make no progress, in milliseconds: the login deadline, then the
    /// app's heartbeat timeout (unless configured).
    stall_ms: u64,
    /// Boxed: kept only until login, it need not take room in every connection after.
    unauthenticated: Option<Box<P>>,
    /// Bytes of requests read but not yet handled; empty (no allocation) while idle.
    input: Vec<u8>,
    /// Whether requests are still read (not once the connection is being closed).
    reading: bool,
    /// Which side goes first next time: taking turns, so that a busy outbox cannot keep the
    /// connection from reading (heartbeats included), nor requests from writing.
    out_first: bool,
}

impl<P, T: Transport> Connection<P, T> {
    async fn run(mut self) {
        let why = loop {
            let event = self.next_event().await;
            match event {
                Event::Out => {
                    let (rest, end) = self.write_now();
                    if let Some(rest) = rest {
                        if let Err(why) = self.write(&rest).await {
                            if why == SLOW_CONSUMER {
                                self.hub.metrics.slow_consumer();
                            }
                            self.outbox.end(End::Overflow);
                            break why;
                        }
                    }
                    match end {
                        None => {}
                        Some(End::Overflow) => {
                            self.hub.metrics.slow_consumer();
                            break SLOW_CONSUMER;
                        }
                        Some(_) => break "closed by the server",
                    }
                }
                Event::Read(Err(_)) => break "the socket failed",
                Event::Read(Ok(0)) => break "closed by the peer",
                Event::Read(Ok(_)) => {
                    if let Err(why) = Box::pin(self.handle_frames()).await {
                        let (app, user) = self.who();
                        tracing::info!(conn = self.conn, app, user, why, "refusing connection");
                        // Send what is queued (the refusal), then close.
                        self.outbox.end(End::Done);
                        self.reading = false;
                    }
                    if self.input.is_empty() {
                        // Hold no buffer while idle.
                        self.input = Vec::new();
                    }
                }
            }
        };
        let (app, user) = self.who();
        if why == SLOW_CONSUMER {
            tracing::info!(conn = self.conn, app, user, why, "connection closing");
        } else {
            tracing::debug!(conn = self.conn, app, user, why, "connection closing");
        }
        self.unauthenticated = None;
        self.hub.closed(self.conn, now_ms());
    }

    /// The app and user logged in on this connection, for the logs.
    fn who(&self) -> (Option<u32>, Option<String>) {
        let key = self.hub.engine.session_user(self.conn);
        (key.as_ref().map(|k| k.app), key.map(|k| k.user.to_string()))
    }

    /// Waits for the outbox or the socket. Polled by hand rather than with `select!`: an idle
    /// connection then keeps no future.
    fn next_event(&mut self) -> impl std::future::Future<Output = Event> + '_ {
        self.out_first = !self.out_first;
        let (outbox, stream, input, reading, out_first) = (
            &self.outbox,
            &mut self.stream,
            &mut self.input,
            self.reading,
            self.out_first,
        );
        poll_fn(move |cx| {
            if out_first {
                if let Poll::Ready(()) = outbox.poll_ready(cx) {
                    return Poll::Ready(Event::Out);
                }
            }
            if reading {
                if let Poll::Ready(read) = stream.poll_read_into(cx, input) {
                    return Poll::Ready(Event::Read(read));
                }
            }
            outbox.poll_ready(cx).map(|()| Event::Out)
        })
    }

    /// Takes what the outbox has and writes as much of it as the socket takes at once, through
    /// a buffer of the thread's (so that writing a push allocates nothing). Answers what is
    /// left to write, if anything, and the outbox's end, if it ended. An ending outbox's last
    /// frame says why, for a kick or an expired UserSig.
    fn write_now(&mut self) -> (Option<Vec<u8>>, Option<End>) {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with(|scratch| {
            let mut buf = scratch.borrow_mut();
            buf.clear();
            let now = Instant::now();
            let metrics = &self.hub.metrics;
            let end = self.outbox.take_into(&mut buf, |push| {
                metrics.push_written(now.saturating_duration_since(push.decided_at))
            });
            let last = match end {
                Some(End::Overflow) => return (None, end),
                Some(End::Close(CloseReason::Kicked)) => Some(encode(&ServerMessage::Kicked)),
                Some(End::Close(CloseReason::UserSigExpired)) => {
                    Some(encode(&ServerMessage::UserSigExpired))
                }
                _ => None,
            };
            if let Some(last) = last {
                buf.extend_from_slice(&(last.len() as u32).to_be_bytes());
                buf.extend_from_slice(&last);
            }
            // Polled without a waker: whatever does not go at once is awaited by `write`, which
            // says why if the socket is closed or failed.
            let mut cx = Context::from_waker(Waker::noop());
            let mut written = 0;
            while written < buf.len() {
                match self.stream.poll_write_some(&mut cx, &buf[written..]) {
                    Poll::Ready(Ok(n)) if n > 0 => written += n,
                    _ => break,
                }
            }
            let sent = written == buf.len()
                && matches!(self.stream.poll_send_buffered(&mut cx), Poll::Ready(Ok(())));
            let rest = (!sent).then(|| buf[written..].to_vec());
            if buf.capacity() > 64 * 1024 {
                // A large login snapshot passed through: do not keep its room for ever.
                *buf = Vec::new();
            }
            (rest, end)
        })
    }

    /// Writes all of `bytes`, failing when the socket takes nothing for the stall timeout, or
    /// when the outbox overflows meanwhile (the client reads too slowly for what is queued for
    /// it). Tries the write first: the socket nearly always has room, and then no timer is made.
    /// A hand-polled future, small because the connection's future holds it.
    fn write<'a>(
        &'a mut self,
        mut bytes: &'a [u8],
    ) -> impl std::future::Future<Output = Result<(), &'static str>> + 'a {
        let (stream, outbox) = (&mut self.stream, &self.outbox);
        let stall = Duration::from_millis(self.stall_ms);
        let mut deadline: Option<Pin<Box<tokio::time::Sleep>>> = None;
        poll_fn(move |cx| {
            loop {
                let progress = if bytes.is_empty() {
                    match stream.poll_send_buffered(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                        Poll::Ready(Err(_)) => return Poll::Ready(Err("the socket failed")),
                        Poll::Pending => false,
                    }
                } else {
                    match stream.poll_write_some(cx, bytes) {
                        Poll::Ready(Ok(0)) => return Poll::Ready(Err("the socket is closed")),
                        Poll::Ready(Ok(n)) => {
                            bytes = &bytes[n..];
                            true
                        }
                        Poll::Ready(Err(_)) => return Poll::Ready(Err("the socket failed")),
                        Poll::Pending => false,
                    }
                };
                if !progress {
                    break;
                }
                // Progress: the stall timeout starts again.
                deadline = None;
            }
            if outbox.poll_overflowed(cx).is_ready() {
                return Poll::Ready(Err(SLOW_CONSUMER));
            }
            let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
            sleep
                .as_mut()
                .poll(cx)
                .map(|()| Err("no write progress within the stall timeout"))
        })
    }
}

impl<P, T: Transport> Connection<P, T> {
    /// Handles every whole frame at the front of the input, then drops them from it. Answers
    /// why the connection must close, if it must.
    async fn handle_frames(&mut self) -> Result<(), String> {
        let mut input = std::mem::take(&mut self.input);
        let result = self.handle_frames_in(&mut input).await;
        self.input = input;
        result
    }

    async fn handle_frames_in(&mut self, input: &mut Vec<u8>) -> Result<(), String> {
        let mut consumed = 0;
        let result = loop {
            match split_frame(&input[consumed..], MAX_REQUEST_FRAME_LEN) {
                Err(e) => {
                    break Err(refuse(
                        &self.outbox,
                        codes::ERR_INVALID_PARAMETERS,
                        &e.to_string(),
                    ))
                }
                Ok(Split::Incomplete { needs }) => {
                    input.reserve(needs.saturating_sub(input.len() - consumed));
                    break Ok(());
                }
                Ok(Split::Frame { payload }) => {
                    let end = consumed + payload.end;
                    let frame = &input[consumed + payload.start..end];
                    // Boxed: a request's future is large and lives only while it runs.
                    let handled = Box::pin(self.handle_frame(frame)).await;
                    consumed = end;
                    if let Err(why) = handled {
                        break Err(why);
                    }
                }
            }
        };
        input.drain(..consumed);
        if input.is_empty() {
            *input = Vec::new();
        }
        result
    }

    /// Handles one frame.
    async fn handle_frame(&mut self, bytes: &[u8]) -> Result<(), String> {
        let frame = match decode_request(bytes) {
            Ok(frame) => frame,
            Err(why) => {
                self.hub
                    .metrics
                    .refused("invalid", codes::ERR_INVALID_PARAMETERS);
                return Err(refuse(&self.outbox, codes::ERR_INVALID_PARAMETERS, &why));
            }
        };
        let command = command_name(&frame.request);
        let allowed = match (self.phase, &frame.request) {
            (Phase::New, Request::Hello { version }) if *version == PROTOCOL_VERSION => Ok(()),
            (Phase::New, Request::Hello { version }) => Err((
                codes::ERR_SDK_INVALID_OPERATION,
                format!(
                    "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
                ),
            )),
            (Phase::New, _) => Err((
                codes::ERR_SDK_INVALID_OPERATION,
                "the first frame must be a hello".to_string(),
            )),
            (_, Request::Hello { .. }) => Err((
                codes::ERR_SDK_INVALID_OPERATION,
                "hello was already said on this connection".to_string(),
            )),
            (Phase::Greeted, Request::Login { .. }) | (Phase::LoggedIn, _) => Ok(()),
            (Phase::Greeted, _) => Err((
                codes::ERR_SDK_NOT_LOGGED_IN,
                "this connection is not logged in: only a login may come now".to_string(),
            )),
        };
        if let Err((code, why)) = allowed {
            self.hub.metrics.refused(command, code);
            return Err(refuse_request(&self.outbox, frame.id, code, &why));
        }
        if matches!(frame.request, Request::Heartbeat)
            && !self.heartbeats.take(
                monotonic_ms(),
                self.limits.heartbeats_per_second,
                self.limits.heartbeat_burst,
            )
        {
            let refusal = ServerMessage::Error {
                id: frame.id,
                code: codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                desc: format!(
                    "more than {} heartbeats per second on this connection; slow down",
                    self.limits.heartbeats_per_second
                ),
            };
            // It did arrive: the connection is alive (D2), whatever else it costs the engine.
            self.hub.engine.touch(self.conn, now_ms());
            self.hub
                .metrics
                .refused(command, codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT);
            self.outbox.send(&encode(&refusal));
            return Ok(());
        }
        let slot = self.outbox.reserve();
        let is_logout = matches!(frame.request, Request::Logout);
        let login_app = match frame.request {
            Request::Login { sdk_app_id, .. } => Some(sdk_app_id),
            _ => None,
        };
        let started = Instant::now();
        let reply = handle(&self.hub, self.conn, frame.id, frame.request).await;
        let code = match reply {
            ServerMessage::Error { code, .. } => code,
            _ => 0,
        };
        self.hub.metrics.reply(command, code, started.elapsed());
        if let (Some(app), true) = (login_app, code != 0) {
            // Labelled by app only when it is one of ours: a label per made-up app ID would
            // let anyone grow the metrics without bound.
            let known = self.hub.engine.app_settings(app).is_some();
            self.hub.metrics.login_rejected(known.then_some(app), code);
        }
        let failed = code != 0;
        self.outbox.fill(slot, &encode(&reply));
        match self.phase {
            Phase::New => self.phase = Phase::Greeted,
            Phase::Greeted if failed => return Err("a login failed".to_string()),
            Phase::Greeted => {
                self.phase = Phase::LoggedIn;
                self.unauthenticated = None;
                if self.limits.write_stall_timeout.is_none() {
                    if let Some(app) = self
                        .hub
                        .engine
                        .session_user(self.conn)
                        .and_then(|k| self.hub.engine.app_settings(k.app))
                    {
                        self.stall_ms = millis(app.heartbeat_timeout);
                    }
                }
            }
            Phase::LoggedIn if is_logout && !failed => self.phase = Phase::Greeted,
            Phase::LoggedIn => {}
        }
        Ok(())
    }
}

/// The name of a request's command, as the metrics label it.
fn command_name(request: &Request) -> &'static str {
    match request {
        Request::Hello { .. } => "hello",
        Request::Login { .. } => "login",
        Request::Logout => "logout",
        Request::Heartbeat => "heartbeat",
        Request::SetSelfStatus { .. } => "set_self_status",
        Request::GetUserStatus { .. } => "get_user_status",
        Request::Subscribe { .. } => "subscribe",
        Request::Unsubscribe { .. } => "unsubscribe",
        Request::SetInvisible { .. } => "set_invisible",
        Request::SetVisibility { .. } => "set_visibility",
    }
}

/// Answers a bad frame with id 0 and closes only this connection (B2). Answers why.
fn refuse(outbox: &Outbox, code: i32, desc: &str) -> String {
    refuse_request(outbox, 0, code, desc)
}

/// Answers a request that ends the connection. Answers why.
fn refuse_request(outbox: &Outbox, id: u64, code: i32, desc: &str) -> String {
    tracing::debug!(code, desc, "refusal sent");
    let message = ServerMessage::Error {
        id,
        code,
        desc: desc.to_string(),
    };
    outbox.send(&encode(&message));
    desc.to_string()
}

/// Runs one request against the engine and builds the reply. A login is answered once what
/// it wrote is durable, so that no acknowledged login is lost to a crash.
async fn handle(hub: &Hub, conn: ConnId, id: u64, request: Request) -> ServerMessage {
    let now = now_ms();
    // Hello, login and heartbeat replies carry the server's clock (V2TIM GetServerTime).
    let server_time_ms =
        matches!(request, Request::Login { .. } | Request::Heartbeat).then_some(now);
    let protocol_version = matches!(request, Request::Hello { .. }).then_some(PROTOCOL_VERSION);
    let is_login = matches!(request, Request::Login { .. });
    let result = execute(&hub.engine, conn, request, now);
    let engine = &hub.engine;
    // A login reply tells the SDK the app's heartbeat timeout, so that it heartbeats often
    // enough whatever it was configured with.
    let mut heartbeat_timeout_ms = None;
    if is_login && result.is_ok() {
        heartbeat_timeout_ms = engine
            .session_user(conn)
            .and_then(|key| engine.app_settings(key.app))
            .map(|app| millis(app.heartbeat_timeout));
        hub.durable().await;
    }
    match result {
        Ok(statuses) => ServerMessage::Ok {
            id,
            statuses: statuses.iter().map(wire::status).collect(),
            protocol_version,
            server_time_ms,
            heartbeat_timeout_ms,
        },
        Err(EngineError { code, desc }) => ServerMessage::Error { id, code, desc },
    }
}

/// Runs one request against the engine. In a cluster it waits on Redis right here, on the
/// runtime's thread: handing every call to the blocking pool cost more than it saved on the
/// cores we measured (bench/NOTES.md, Cluster).
fn execute(
    engine: &crate::hub::ServerEngine,
    conn: ConnId,
    request: Request,
    now: u64,
) -> Result<Vec<crate::engine::UserStatus>, EngineError> {
    engine.touch(conn, now);
    match request {
        Request::Hello { .. } | Request::Heartbeat => Ok(Vec::new()),
        Request::Login {
            sdk_app_id,
            user_id,
            user_sig,
            platform,
            device_id,
        } => {
            let login = Login {
                sdk_app_id,
                user_id: &user_id,
                user_sig: &user_sig,
                platform: wire::platform(platform),
                device_id: &device_id,
            };
            engine.login(conn, &login, now)
        }
        Request::Logout => engine.logout(conn, now).map(|()| Vec::new()),
        Request::SetSelfStatus {
            custom_status,
            expire_after_ms,
        } => engine
            .set_self_status_with_expiry(conn, custom_status.as_deref(), expire_after_ms, now)
            .map(|()| Vec::new()),
        Request::SetInvisible { on } => engine.set_invisible(conn, on, now).map(|()| Vec::new()),
        Request::SetVisibility { visibility } => wire::visibility(&visibility)
            .and_then(|v| engine.set_visibility(conn, v, now))
            .map(|()| Vec::new()),
        Request::GetUserStatus { user_ids } => engine.get_user_status(conn, &user_ids, now),
        Request::Subscribe { user_ids } => engine.subscribe(conn, &user_ids, now),
        Request::Unsubscribe { user_ids } => engine
            .unsubscribe(conn, user_ids.as_deref(), now)
            .map(|()| Vec::new()),
    }
}

/// A connection's heartbeat budget: `rate` per second sustained, `burst` at once (a generic
/// cell rate algorithm: one number per connection, the time at which the budget is full again).
struct Budget {
    /// Milliseconds on [`monotonic_ms`] at which the budget would be full again.
    full_at: u64,
}

impl Budget {
    fn new() -> Budget {
        Budget { full_at: 0 }
    }

    /// Takes one from the budget if it allows, at `now` ([`monotonic_ms`]).
    fn take(&mut self, now: u64, rate: u32, burst: u32) -> bool {
        let interval = 1000 / u64::from(rate.max(1));
        let full_at = self.full_at.max(now);
        // Allowed while the debt after this one stays within the burst.
        if full_at + interval > now + interval * u64::from(burst) {
            return false;
        }
        self.full_at = full_at + interval;
        true
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the first call, on a clock that never goes back.
fn monotonic_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_allows_its_burst_then_its_rate() {
        let mut budget = Budget::new();
        let t = 5_000;
        assert!(budget.take(t, 1, 3) && budget.take(t, 1, 3) && budget.take(t, 1, 3));
        assert!(!budget.take(t, 1, 3));
        assert!(!budget.take(t + 999, 1, 3));
        assert!(budget.take(t + 1000, 1, 3));
        assert!(!budget.take(t + 1000, 1, 3));
        // Idle for long: the burst again, not more.
        let later = t + 60_000;
        assert!((0..3).all(|_| budget.take(later, 1, 3)));
        assert!(!budget.take(later, 1, 3));
    }
}
