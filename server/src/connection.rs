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
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use imstatus_protocol::{
    decode_request, encode, split_frame, Request, ServerMessage, Split, MAX_REQUEST_FRAME_LEN,
    PROTOCOL_VERSION,
};

use crate::codes;
use crate::config::Limits;
use crate::engine::{CloseReason, ConnId, EngineError, Login};
use crate::hub::{now_ms, Hub};
use crate::outbox::{End, Outbox, Taken};
use crate::wire;

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
    Readable(std::io::Result<()>),
    Out(Taken),
}

/// Polls a second source when the first is not ready.
trait OrElsePending<T> {
    fn or_else_pending(self, other: impl FnOnce() -> Poll<T>) -> Poll<T>;
}

impl<T> OrElsePending<T> for Poll<T> {
    fn or_else_pending(self, other: impl FnOnce() -> Poll<T>) -> Poll<T> {
        match self {
            Poll::Ready(value) => Poll::Ready(value),
            Poll::Pending => other(),
        }
    }
}

/// Serves one accepted connection until it closes. `unauthenticated` is held until the
/// connection logs in (it counts against its address's cap until then).
pub async fn serve<P: Send + 'static>(
    hub: Arc<Hub>,
    conn: ConnId,
    stream: TcpStream,
    limits: Arc<Limits>,
    unauthenticated: P,
) {
    let _ = stream.set_nodelay(true);
    let outbox = hub.open(conn, now_ms());
    let mut session = Session {
        hub: &hub,
        conn,
        outbox: &outbox,
        limits: &limits,
        phase: Phase::New,
        heartbeats: Budget::new(limits.heartbeats_per_second, limits.heartbeat_burst),
        stall: limits.write_stall_timeout.unwrap_or(limits.login_timeout),
        unauthenticated: Some(unauthenticated),
    };
    let mut input: Vec<u8> = Vec::new();
    let mut reading = true;
    // Which side goes first this time: taking turns, so that a busy outbox cannot keep the
    // connection from reading (heartbeats included), nor requests from writing.
    let mut out_first = false;
    let why = loop {
        out_first = !out_first;
        // Polled by hand rather than with `select!`: an idle connection then keeps no future.
        let event = poll_fn(|cx| {
            let out = |cx: &mut Context<'_>| outbox.poll_take(cx).map(Event::Out);
            let read = |cx: &mut Context<'_>| {
                if reading {
                    stream.poll_read_ready(cx).map(Event::Readable)
                } else {
                    Poll::Pending
                }
            };
            if out_first {
                out(cx).or_else_pending(|| read(cx))
            } else {
                read(cx).or_else_pending(|| out(cx))
            }
        })
        .await;
        match event {
            Event::Out(Taken::Bytes(bytes)) => {
                if let Err(why) = write_all(&stream, &outbox, &bytes, session.stall).await {
                    outbox.end(End::Overflow);
                    break why;
                }
            }
            Event::Out(Taken::End(mut bytes, end)) => {
                let last = match end {
                    End::Close(CloseReason::Kicked) => Some(encode(&ServerMessage::Kicked)),
                    End::Close(CloseReason::UserSigExpired) => {
                        Some(encode(&ServerMessage::UserSigExpired))
                    }
                    End::Overflow => break "a slow consumer: its outbox outgrew its limits",
                    End::Close(_) | End::Done => None,
                };
                if let Some(last) = last {
                    bytes.extend_from_slice(&(last.len() as u32).to_be_bytes());
                    bytes.extend_from_slice(&last);
                }
                let _ = write_all(&stream, &outbox, &bytes, session.stall).await;
                break "closed by the server";
            }
            Event::Readable(Err(_)) => break "the socket failed",
            Event::Readable(Ok(())) => match read_some(&stream, &mut input) {
                Read::Nothing => {}
                Read::Closed => break "closed by the peer",
                Read::Data => {
                    if let Err(why) = session.handle_frames(&mut input).await {
                        tracing::info!(conn, why, "refusing connection");
                        // Send what is queued (the refusal), then close.
                        outbox.end(End::Done);
                        reading = false;
                    }
                }
            },
        }
    };
    tracing::debug!(conn, why, "connection closing");
    drop(session);
    hub.closed(conn, now_ms());
}

/// What a read brought.
enum Read {
    /// Nothing after all (a spurious wake-up).
    Nothing,
    /// The peer closed its side.
    Closed,
    /// Bytes, now at the end of the buffer.
    Data,
}

/// Reads what the socket has into `input` without waiting.
fn read_some(stream: &TcpStream, input: &mut Vec<u8>) -> Read {
    // Room for a typical request at once; a large one grows the buffer as it arrives.
    input.reserve(if input.is_empty() { 512 } else { 4096 });
    match stream.try_read_buf(input) {
        Ok(0) => Read::Closed,
        Ok(_) => Read::Data,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            if input.is_empty() {
                // Hold no buffer while idle.
                *input = Vec::new();
            }
            Read::Nothing
        }
        Err(_) => Read::Closed,
    }
}

/// A connection's state between frames.
struct Session<'a, P> {
    hub: &'a Hub,
    conn: ConnId,
    outbox: &'a Outbox,
    limits: &'a Limits,
    phase: Phase,
    heartbeats: Budget,
    /// How long a write may make no progress: the login deadline, then the app's heartbeat
    /// timeout (unless configured).
    stall: Duration,
    unauthenticated: Option<P>,
}

impl<P> Session<'_, P> {
    /// Handles every whole frame at the front of `input`, then drops them from it. Answers why
    /// the connection must close, if it must.
    async fn handle_frames(&mut self, input: &mut Vec<u8>) -> Result<(), String> {
        let mut consumed = 0;
        let result = loop {
            match split_frame(&input[consumed..], MAX_REQUEST_FRAME_LEN) {
                Err(e) => {
                    break Err(refuse(
                        self.outbox,
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
            Err(why) => return Err(refuse(self.outbox, codes::ERR_INVALID_PARAMETERS, &why)),
        };
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
            return Err(refuse_request(self.outbox, frame.id, code, &why));
        }
        if matches!(frame.request, Request::Heartbeat) && !self.heartbeats.take() {
            let refusal = ServerMessage::Error {
                id: frame.id,
                code: codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                desc: format!(
                    "more than {} heartbeats per second on this connection; slow down",
                    self.limits.heartbeats_per_second
                ),
            };
            self.outbox.send(&encode(&refusal));
            return Ok(());
        }
        let slot = self.outbox.reserve();
        let is_logout = matches!(frame.request, Request::Logout);
        let reply = handle(self.hub, self.conn, frame.id, frame.request).await;
        let failed = matches!(reply, ServerMessage::Error { .. });
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
                        self.stall = app.heartbeat_timeout;
                    }
                }
            }
            Phase::LoggedIn if is_logout && !failed => self.phase = Phase::Greeted,
            Phase::LoggedIn => {}
        }
        Ok(())
    }
}

/// Answers a bad frame with id 0 and closes only this connection (B2). Answers why.
fn refuse(outbox: &Outbox, code: i32, desc: &str) -> String {
    refuse_request(outbox, 0, code, desc)
}

/// Answers a request that ends the connection. Answers why.
fn refuse_request(outbox: &Outbox, id: u64, code: i32, desc: &str) -> String {
    tracing::info!(code, desc, "refusing connection");
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
    let engine = &hub.engine;
    engine.touch(conn, now);
    // Hello, login and heartbeat replies carry the server's clock (V2TIM GetServerTime).
    let server_time_ms =
        matches!(request, Request::Login { .. } | Request::Heartbeat).then_some(now);
    let protocol_version = matches!(request, Request::Hello { .. }).then_some(PROTOCOL_VERSION);
    let is_login = matches!(request, Request::Login { .. });
    let result = match request {
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
        Request::SetSelfStatus { custom_status } => engine
            .set_self_status(conn, custom_status.as_deref(), now)
            .map(|()| Vec::new()),
        Request::GetUserStatus { user_ids } => engine.get_user_status(conn, &user_ids, now),
        Request::Subscribe { user_ids } => engine.subscribe(conn, &user_ids, now),
        Request::Unsubscribe { user_ids } => engine
            .unsubscribe(conn, user_ids.as_deref(), now)
            .map(|()| Vec::new()),
    };
    if is_login && result.is_ok() {
        hub.durable().await;
    }
    match result {
        Ok(statuses) => ServerMessage::Ok {
            id,
            statuses: statuses.iter().map(wire::status).collect(),
            protocol_version,
            server_time_ms,
        },
        Err(EngineError { code, desc }) => ServerMessage::Error { id, code, desc },
    }
}

/// Writes all of `bytes`, failing when the socket takes nothing for `stall`, or when the
/// outbox overflows meanwhile (the client reads too slowly for what is queued for it). Tries
/// the write first: the socket nearly always has room, and then no timer is made.
async fn write_all(
    stream: &TcpStream,
    outbox: &Outbox,
    mut bytes: &[u8],
    stall: Duration,
) -> Result<(), &'static str> {
    let mut deadline: Option<Pin<Box<tokio::time::Sleep>>> = None;
    while !bytes.is_empty() {
        match stream.try_write(bytes) {
            Ok(0) => return Err("the socket is closed"),
            Ok(n) => {
                bytes = &bytes[n..];
                // Progress: the stall timeout starts again.
                deadline = None;
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return Err("the socket is closed"),
        }
        let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        poll_fn(|cx| {
            if outbox.poll_overflowed(cx).is_ready() {
                return Poll::Ready(Err("a slow consumer: its outbox outgrew its limits"));
            }
            match stream.poll_write_ready(cx) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(_)) => return Poll::Ready(Err("the socket failed")),
                Poll::Pending => {}
            }
            sleep
                .as_mut()
                .poll(cx)
                .map(|()| Err("no write progress within the stall timeout"))
        })
        .await?;
    }
    Ok(())
}

/// A connection's heartbeat budget: `rate` per second sustained, `burst` at once.
struct Budget {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
}

impl Budget {
    fn new(rate: u32, burst: u32) -> Budget {
        Budget {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_allows_its_burst_then_its_rate() {
        let mut budget = Budget::new(1, 3);
        assert!(budget.take() && budget.take() && budget.take());
        assert!(!budget.take());
        budget.at -= Duration::from_millis(1100);
        assert!(budget.take());
        assert!(!budget.take());
    }
}
