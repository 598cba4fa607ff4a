//! One connection to the server, plaintext TCP or TLS over TCP: connect, handshakes, and the two
//! pumps that move frames.
//!
//! The connection decides nothing. It turns bytes into [`ConnEvent`]s for the driver and sends
//! the frames the driver gives it, so that every decision about requests, pushes and reconnects
//! is taken in one place, in the order things arrived.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::codes;
use crate::protocol::{
    decode_server_message, encode, read_frame, write_frame, ClientFrame, FrameError, Request,
    ServerMessage, MAX_SERVER_FRAME_LEN, PROTOCOL_VERSION,
};

use super::address::{self, Target};
use super::log::log;
use super::tls::Tls;
use super::types::ClientError;

/// A byte stream to the server: TCP, or TLS over TCP. One boxed type rather than generic pumps,
/// so the pumps are compiled once.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}
type Stream = Box<dyn Transport>;

/// What a connection reports. `gen` names the connection attempt, so the driver can ignore
/// news from a connection it has already given up.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// The TCP connect and the Hello handshake finished.
    Opened {
        gen: u64,
        result: Result<Connection, ClientError>,
    },
    /// A frame from the server.
    Message { gen: u64, message: ServerMessage },
    /// The connection is unusable: closed by the server, an I/O error, or a frame this client
    /// cannot understand (B1: treated as a broken connection, never a panic).
    Closed { gen: u64, reason: String },
}

/// A handshaken connection. Dropping it stops both pumps and closes the socket.
#[derive(Debug)]
pub(crate) struct Connection {
    outbox: mpsc::UnboundedSender<Vec<u8>>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Connection {
    /// Queues a frame. A failure shows up as a [`ConnEvent::Closed`], so nothing to return.
    pub(crate) fn send(&self, frame: &ClientFrame) {
        let _ = self.outbox.send(encode(frame));
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// What a connection attempt needs besides its events.
pub(crate) struct Attempt {
    /// The address as configured: `host:port` or `tls://host:port`.
    pub(crate) addr: String,
    /// The client's TLS settings (used when the address or the switch asks for TLS).
    pub(crate) tls: Arc<Tls>,
    /// Whether TLS is on whatever the address says.
    pub(crate) tls_switch: bool,
    /// Names the attempt in its events.
    pub(crate) gen: u64,
    /// The request ID of the Hello.
    pub(crate) hello_id: u64,
    /// Bounds each step: the TCP connect, the TLS handshake, the Hello.
    pub(crate) timeout: Duration,
}

/// Starts connecting in the background; the outcome arrives as [`ConnEvent::Opened`].
pub(crate) fn spawn_open(
    attempt: Attempt,
    events: mpsc::UnboundedSender<ConnEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let addr = attempt.addr.clone();
        let gen = attempt.gen;
        let result = open(attempt, events.clone()).await;
        if let Err(e) = &result {
            log!(Debug, "connecting to {addr} failed: {} {}", e.code, e.desc);
        }
        let _ = events.send(ConnEvent::Opened { gen, result });
    })
}

async fn open(
    attempt: Attempt,
    events: mpsc::UnboundedSender<ConnEvent>,
) -> Result<Connection, ClientError> {
    let Attempt {
        addr,
        tls,
        tls_switch,
        gen,
        hello_id,
        timeout,
    } = attempt;
    let target = address::parse(&addr, tls_switch)?;
    if target.tls_name.is_none() && tls.pinned() {
        return Err(ClientError::disconnected(format!(
            "SPKI pins are set but {addr} is plaintext: use a tls:// address or turn TLS on"
        )));
    }
    let Target {
        addr: tcp_addr,
        tls_name,
    } = target;
    let tcp = within(timeout, TcpStream::connect(tcp_addr.as_str()), || {
        format!("connecting to {addr} timed out after {timeout:?}")
    })
    .await?
    .map_err(|e| ClientError::disconnected(format!("cannot connect to {addr}: {e}")))?;
    // Requests are small and latency-bound: waiting for Nagle would delay every reply.
    if let Err(e) = tcp.set_nodelay(true) {
        log!(Debug, "cannot set TCP_NODELAY: {e}");
    }
    let mut stream: Stream = match tls_name {
        Some(name) => Box::new(
            within(timeout, tls.handshake(tcp, name, &tcp_addr), || {
                format!("the TLS handshake with {addr} did not finish within {timeout:?}")
            })
            .await??,
        ),
        None => Box::new(tcp),
    };
    within(timeout, hello(&mut stream, hello_id), || {
        format!("the server at {addr} did not answer the handshake within {timeout:?}")
    })
    .await??;
    log!(Debug, "connected to {addr} (attempt {gen})");
    let (read_half, write_half) = tokio::io::split(stream);
    let (outbox, inbox) = mpsc::unbounded_channel();
    let reader = tokio::spawn(pump_in(read_half, gen, events.clone()));
    let writer = tokio::spawn(pump_out(write_half, inbox, gen, events));
    Ok(Connection {
        outbox,
        reader,
        writer,
    })
}

/// Runs `step` for at most `timeout`; past it, a 9508 saying `late()`.
async fn within<T>(
    timeout: Duration,
    step: impl Future<Output = T>,
    late: impl FnOnce() -> String,
) -> Result<T, ClientError> {
    tokio::time::timeout(timeout, step)
        .await
        .map_err(|_| ClientError::disconnected(late()))
}

/// The handshake is done before the pumps start, so no other frame can be interleaved.
async fn hello(stream: &mut Stream, id: u64) -> Result<(), ClientError> {
    let frame = ClientFrame {
        id,
        request: Request::Hello {
            version: PROTOCOL_VERSION,
        },
    };
    let broken = |e: &dyn std::fmt::Display| {
        ClientError::disconnected(format!("handshake with the server failed: {e}"))
    };
    write_frame(stream, &encode(&frame))
        .await
        .map_err(|e| broken(&e))?;
    stream.flush().await.map_err(|e| broken(&e))?;
    let bytes = read_frame(stream, MAX_SERVER_FRAME_LEN)
        .await
        .map_err(|e| broken(&e))?;
    match decode_server_message(&bytes).map_err(|e| broken(&e))? {
        ServerMessage::Ok {
            id: reply_id,
            protocol_version,
            ..
        } if reply_id == id => match protocol_version {
            Some(v) if v != PROTOCOL_VERSION => Err(ClientError::new(
                codes::ERR_SDK_INVALID_OPERATION,
                format!("the server speaks protocol version {v}, this client {PROTOCOL_VERSION}"),
            )),
            _ => Ok(()),
        },
        ServerMessage::Error { code, desc, .. } => Err(ClientError::new(
            code,
            format!("the server refused the handshake: {desc}"),
        )),
        other => Err(broken(&format!("unexpected answer {other:?}"))),
    }
}

async fn pump_in(mut reader: ReadHalf<Stream>, gen: u64, events: mpsc::UnboundedSender<ConnEvent>) {
    let reason = loop {
        let bytes = match read_frame(&mut reader, MAX_SERVER_FRAME_LEN).await {
            Ok(bytes) => bytes,
            Err(FrameError::Closed) => break "the server closed the connection".to_owned(),
            Err(e) => break format!("reading from the server failed: {e}"),
        };
        match decode_server_message(&bytes) {
            Ok(message) => {
                if events.send(ConnEvent::Message { gen, message }).is_err() {
                    return;
                }
            }
            Err(e) => {
                log!(Warn, "dropping the connection: {e}");
                break e;
            }
        }
    };
    let _ = events.send(ConnEvent::Closed { gen, reason });
}

async fn pump_out(
    writer: WriteHalf<Stream>,
    mut inbox: mpsc::UnboundedReceiver<Vec<u8>>,
    gen: u64,
    events: mpsc::UnboundedSender<ConnEvent>,
) {
    let mut writer = BufWriter::new(writer);
    let result: std::io::Result<()> = async {
        while let Some(frame) = inbox.recv().await {
            write_frame(&mut writer, &frame).await?;
            // Whatever queued up meanwhile goes out in the same flush.
            while let Ok(frame) = inbox.try_recv() {
                write_frame(&mut writer, &frame).await?;
            }
            writer.flush().await?;
        }
        writer.shutdown().await
    }
    .await;
    if let Err(e) = result {
        let _ = events.send(ConnEvent::Closed {
            gen,
            reason: format!("writing to the server failed: {e}"),
        });
    }
}
