//! One connection: a reader that turns requests into engine calls, and a writer that sends what
//! the connection's [`Outbox`] holds.
//!
//! Hygiene: the first frame must be `hello`, said once; before login only one `login` may
//! follow, and anything else (or a failed login) is answered and closed. The login deadline is
//! the engine's and counts from the accept, whatever arrives meanwhile. Every connection has a
//! heartbeat budget (a token bucket); heartbeats beyond it are refused with 7008 without reaching
//! the engine (other requests are limited per user, by the engine). A write that makes no progress for the stall timeout closes the connection, so
//! no writer blocks forever on a client that does not read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

use imstatus_protocol::{
    decode_request, encode, read_frame, FrameError, Request, ServerMessage, MAX_REQUEST_FRAME_LEN,
    PROTOCOL_VERSION,
};

use crate::codes;
use crate::config::Limits;
use crate::engine::{ConnId, EngineError, Login};
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
    let peer = stream.peer_addr().ok();
    let (mut reader, writer) = stream.into_split();
    let outbox = hub.open(conn, now_ms());
    let stall_ms = Arc::new(AtomicU64::new(
        limits
            .write_stall_timeout
            .unwrap_or(limits.login_timeout)
            .as_millis() as u64,
    ));
    let mut writer_task = tokio::spawn(write_loop(writer, outbox.clone(), stall_ms.clone()));
    tracing::debug!(conn, ?peer, "connection opened");

    let mut unauthenticated = Some(unauthenticated);
    let mut phase = Phase::New;
    let mut heartbeats = Budget::new(limits.heartbeats_per_second, limits.heartbeat_burst);
    let mut writer_done = false;
    let reason = loop {
        let frame = tokio::select! {
            frame = read_frame(&mut reader, MAX_REQUEST_FRAME_LEN) => frame,
            _ = &mut writer_task => {
                writer_done = true;
                break "closed by the server".to_string();
            }
        };
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(FrameError::Closed) => break "closed by the peer".to_string(),
            Err(e) => break refuse(&outbox, codes::ERR_INVALID_PARAMETERS, &e.to_string()),
        };
        let frame = match decode_request(&bytes) {
            Ok(frame) => frame,
            Err(why) => break refuse(&outbox, codes::ERR_INVALID_PARAMETERS, &why),
        };
        let allowed = match (phase, &frame.request) {
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
            break refuse_request(&outbox, frame.id, code, &why);
        }
        if matches!(frame.request, Request::Heartbeat) && !heartbeats.take() {
            let refusal = ServerMessage::Error {
                id: frame.id,
                code: codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                desc: format!(
                    "more than {} heartbeats per second on this connection; slow down",
                    limits.heartbeats_per_second
                ),
            };
            outbox.send(&encode(&refusal));
            continue;
        }
        let slot = outbox.reserve();
        let is_login = matches!(frame.request, Request::Login { .. });
        let is_logout = matches!(frame.request, Request::Logout);
        let reply = handle(&hub, conn, frame.id, frame.request).await;
        let failed = matches!(reply, ServerMessage::Error { .. });
        outbox.fill(slot, &encode(&reply));
        match phase {
            Phase::New => phase = Phase::Greeted,
            Phase::Greeted if failed => break "a login failed".to_string(),
            Phase::Greeted => {
                phase = Phase::LoggedIn;
                unauthenticated = None;
                if limits.write_stall_timeout.is_none() {
                    if let Some(app) = hub
                        .engine
                        .session_user(conn)
                        .and_then(|k| hub.engine.app_settings(k.app))
                    {
                        stall_ms.store(app.heartbeat_timeout.as_millis() as u64, Ordering::Relaxed);
                    }
                }
            }
            Phase::LoggedIn if is_logout && !failed => phase = Phase::Greeted,
            Phase::LoggedIn if is_login && failed => {}
            Phase::LoggedIn => {}
        }
    };
    tracing::debug!(conn, ?peer, %reason, "connection closing");
    drop(unauthenticated);
    hub.closed(conn, now_ms());
    // The writer ends once everything queued is written (or it stalls).
    if !writer_done {
        let _ = writer_task.await;
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

/// Writes what the outbox holds until it ends. Each write must make progress within the
/// stall timeout (read at every write: it becomes the app's heartbeat timeout at login).
async fn write_loop(mut writer: OwnedWriteHalf, outbox: Arc<Outbox>, stall_ms: Arc<AtomicU64>) {
    loop {
        let stall = Duration::from_millis(stall_ms.load(Ordering::Relaxed));
        match outbox.take().await {
            Taken::Bytes(bytes) => {
                if let Err(why) = write_all(&mut writer, &bytes, stall).await {
                    tracing::info!(why, "closing a connection whose writes do not progress");
                    outbox.end(End::Overflow);
                    return;
                }
            }
            Taken::End(bytes, end) => {
                let last = match end {
                    End::Close(crate::engine::CloseReason::Kicked) => {
                        Some(encode(&ServerMessage::Kicked))
                    }
                    End::Close(crate::engine::CloseReason::UserSigExpired) => {
                        Some(encode(&ServerMessage::UserSigExpired))
                    }
                    End::Overflow => {
                        tracing::info!("closing a slow consumer: its outbox outgrew its limits");
                        return;
                    }
                    End::Close(_) | End::Done => None,
                };
                let mut bytes = bytes;
                if let Some(last) = last {
                    bytes.extend_from_slice(&(last.len() as u32).to_be_bytes());
                    bytes.extend_from_slice(&last);
                }
                if write_all(&mut writer, &bytes, stall).await.is_ok() {
                    let _ = tokio::time::timeout(stall, writer.shutdown()).await;
                }
                return;
            }
        }
    }
}

/// Writes all of `bytes`, failing when one write makes no progress within `stall`.
async fn write_all(
    writer: &mut OwnedWriteHalf,
    mut bytes: &[u8],
    stall: Duration,
) -> Result<(), &'static str> {
    while !bytes.is_empty() {
        match tokio::time::timeout(stall, writer.write(bytes)).await {
            Err(_) => return Err("no write progress within the stall timeout"),
            Ok(Err(_)) | Ok(Ok(0)) => return Err("the socket is closed"),
            Ok(Ok(n)) => bytes = &bytes[n..],
        }
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
