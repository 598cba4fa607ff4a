//! One task pair per connection: a reader that turns requests into engine calls, and a writer
//! that sends replies and pushes, coalescing bursts of pushes into one frame (N5).

use std::sync::Arc;

use indexmap::IndexMap;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::hub::{now_ms, EncodedStatus, Hub, HubInner, Outbound};
use crate::codes;
use crate::engine::{CloseReason, ConnId, EngineError, Login};
use crate::wire;
use imstatus_protocol::{
    decode_request, encode, read_frame, write_frame, FrameError, Request, ServerMessage,
    MAX_REQUEST_FRAME_LEN, PROTOCOL_VERSION,
};

/// Bytes buffered per connection before a write to the socket.
const WRITE_BUFFER: usize = 1024;

/// Serves one accepted connection until it closes.
pub async fn serve(hub: Arc<Hub>, conn: ConnId, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok();
    let (mut reader, writer) = stream.into_split();
    let (outbox, inbox) = mpsc::unbounded_channel();
    let (writer_done_tx, mut writer_done) = oneshot::channel();
    hub.lock().open(conn, outbox, now_ms());
    let writer_task = tokio::spawn(async move {
        write_loop(writer, inbox).await;
        let _ = writer_done_tx.send(());
    });
    tracing::debug!(conn, ?peer, "connection opened");

    let mut greeted = false;
    let reason = loop {
        let frame = tokio::select! {
            frame = read_frame(&mut reader, MAX_REQUEST_FRAME_LEN) => frame,
            _ = &mut writer_done => break "closed by the server".to_string(),
        };
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(FrameError::Closed) => break "closed by the peer".to_string(),
            Err(e) => {
                refuse(&hub, conn, codes::ERR_INVALID_PARAMETERS, &e.to_string());
                break e.to_string();
            }
        };
        let frame = match decode_request(&bytes) {
            Ok(frame) => frame,
            Err(why) => {
                refuse(&hub, conn, codes::ERR_INVALID_PARAMETERS, &why);
                break why;
            }
        };
        if !greeted {
            match frame.request {
                Request::Hello { version } if version == PROTOCOL_VERSION => {
                    greeted = true;
                    let reply = ServerMessage::Ok {
                        id: frame.id,
                        statuses: Vec::new(),
                        protocol_version: Some(PROTOCOL_VERSION),
                        server_time_ms: None,
                    };
                    hub.lock().send(conn, encode(&reply));
                    continue;
                }
                Request::Hello { version } => {
                    let why = format!(
                        "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
                    );
                    refuse(&hub, conn, codes::ERR_SDK_INVALID_OPERATION, &why);
                    break why;
                }
                _ => {
                    let why = "the first frame must be a hello";
                    refuse(&hub, conn, codes::ERR_SDK_INVALID_OPERATION, why);
                    break why.to_string();
                }
            }
        }
        let mut hub_inner = hub.lock();
        let reply = handle(&mut hub_inner, conn, frame.id, frame.request);
        hub_inner.send(conn, encode(&reply));
        hub_inner.flush();
    };
    tracing::debug!(conn, ?peer, %reason, "connection closing");
    hub.lock().closed(conn, now_ms());
    // The writer ends once the hub dropped the outbox and everything queued is written.
    let _ = writer_task.await;
}

/// Answers a bad frame and closes only this connection (B2).
fn refuse(hub: &Hub, conn: ConnId, code: i32, desc: &str) {
    tracing::info!(conn, code, desc, "refusing connection");
    let message = ServerMessage::Error {
        id: 0,
        code,
        desc: desc.to_string(),
    };
    hub.lock().send(conn, encode(&message));
}

/// Runs one request against the engine and builds the reply.
fn handle(hub: &mut HubInner, conn: ConnId, id: u64, request: Request) -> ServerMessage {
    let now = now_ms();
    let engine = &mut hub.engine;
    engine.touch(conn, now);
    // Login and heartbeat replies carry the server's clock (V2TIM GetServerTime).
    let server_time_ms =
        matches!(request, Request::Login { .. } | Request::Heartbeat).then_some(now);
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
    match result {
        Ok(statuses) => ServerMessage::Ok {
            id,
            statuses: statuses.iter().map(wire::status).collect(),
            protocol_version: None,
            server_time_ms,
        },
        Err(EngineError { code, desc }) => ServerMessage::Error { id, code, desc },
    }
}

/// Writes everything queued for the connection. Pushes that are already waiting are merged into
/// one frame, keeping only the latest status per user (N5), and never move ahead of a reply.
async fn write_loop(writer: OwnedWriteHalf, mut inbox: mpsc::UnboundedReceiver<Outbound>) {
    // Benchmark (docs/benchmarks.md): the default 8 KiB buffer was most of an idle
    // connection's memory; pushes and replies are a few hundred bytes, and a larger frame (a
    // login snapshot) is written past the buffer anyway.
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, writer);
    let mut pending: IndexMap<Arc<str>, Arc<EncodedStatus>> = IndexMap::new();
    let mut close = None;
    'outer: while let Some(first) = inbox.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outbound::Status(status) => {
                    // An existing key keeps its place and takes the newer status (N5).
                    pending.insert(status.user_id.clone(), status);
                }
                Outbound::Frame(frame) => {
                    if flush_statuses(&mut writer, &mut pending).await.is_err()
                        || write_frame(&mut writer, &frame).await.is_err()
                    {
                        break 'outer;
                    }
                }
                Outbound::Close(reason) => {
                    close = Some(reason);
                    break;
                }
            }
            next = inbox.try_recv().ok();
        }
        if flush_statuses(&mut writer, &mut pending).await.is_err() || writer.flush().await.is_err()
        {
            break;
        }
        if close.is_some() {
            break;
        }
    }
    if let Some(reason) = close {
        let message = match reason {
            CloseReason::Kicked => Some(ServerMessage::Kicked),
            CloseReason::UserSigExpired => Some(ServerMessage::UserSigExpired),
            CloseReason::TimedOut | CloseReason::Replaced => None,
        };
        if let Some(message) = message {
            let _ = write_frame(&mut writer, &encode(&message)).await;
        }
    }
    let _ = writer.flush().await;
    let _ = writer.shutdown().await;
}

async fn flush_statuses(
    writer: &mut BufWriter<OwnedWriteHalf>,
    pending: &mut IndexMap<Arc<str>, Arc<EncodedStatus>>,
) -> std::io::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    write_frame(writer, &status_changed_frame(pending)).await
}

/// The bytes of `encode(&ServerMessage::StatusChanged { statuses })`, joined from statuses that
/// were each encoded once for all their receivers. Empties `pending`.
fn status_changed_frame(pending: &mut IndexMap<Arc<str>, Arc<EncodedStatus>>) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"type":"status_changed","statuses":["#;
    const TAIL: &[u8] = b"]}";
    let body: usize = pending.values().map(|s| s.json.len() + 1).sum();
    let mut frame = Vec::with_capacity(HEAD.len() + body + TAIL.len());
    frame.extend_from_slice(HEAD);
    for (i, (_, status)) in pending.drain(..).enumerate() {
        if i > 0 {
            frame.push(b',');
        }
        frame.extend_from_slice(&status.json);
    }
    frame.extend_from_slice(TAIL);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use imstatus_protocol::WireStatus;

    fn status(user: &str, custom: &str, version: u64) -> WireStatus {
        WireStatus {
            user_id: user.into(),
            status_type: 1,
            custom_status: custom.into(),
            online_devices: vec!["Linux".into(), "Web".into()],
            version,
        }
    }

    #[test]
    fn pre_encoded_push_is_byte_identical() {
        // covers: N5 (coalesced, latest per user, first-seen order)
        let statuses = [
            status("bob", "a \"quoted\" é", 5),
            status("amy", "", 7),
            status("bob", "later", 6),
        ];
        let mut pending: IndexMap<Arc<str>, Arc<EncodedStatus>> = IndexMap::new();
        for s in &statuses {
            let e = Arc::new(EncodedStatus {
                user_id: Arc::from(s.user_id.as_str()),
                json: encode(s),
            });
            pending.insert(e.user_id.clone(), e);
        }
        let expected = encode(&ServerMessage::StatusChanged {
            statuses: vec![statuses[2].clone(), statuses[1].clone()],
        });
        assert_eq!(status_changed_frame(&mut pending), expected);
        assert!(pending.is_empty());
    }
}
