//! One TCP connection to the server: connect, handshake, and the two pumps that move frames.
//!
//! The connection decides nothing. It turns bytes into [`ConnEvent`]s for the driver and sends
//! the frames the driver gives it, so that every decision about requests, pushes and reconnects
//! is taken in one place, in the order things arrived.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::codes;
use crate::protocol::{
    decode_server_message, encode, read_frame, write_frame, ClientFrame, FrameError, Request,
    ServerMessage, MAX_SERVER_FRAME_LEN, PROTOCOL_VERSION,
};

use super::log::log;
use super::types::ClientError;

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

/// Starts connecting in the background; the outcome arrives as [`ConnEvent::Opened`].
pub(crate) fn spawn_open(
    addr: String,
    gen: u64,
    hello_id: u64,
    timeout: Duration,
    events: mpsc::UnboundedSender<ConnEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = open(&addr, gen, hello_id, timeout, events.clone()).await;
        if let Err(e) = &result {
            log!(Debug, "connecting to {addr} failed: {} {}", e.code, e.desc);
        }
        let _ = events.send(ConnEvent::Opened { gen, result });
    })
}

async fn open(
    addr: &str,
    gen: u64,
    hello_id: u64,
    timeout: Duration,
    events: mpsc::UnboundedSender<ConnEvent>,
) -> Result<Connection, ClientError> {
    let mut stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return Err(ClientError::disconnected(format!(
                "cannot connect to {addr}: {e}"
            )))
        }
        Err(_) => {
            return Err(ClientError::disconnected(format!(
                "connecting to {addr} timed out after {timeout:?}"
            )))
        }
    };
    // Requests are small and latency-bound: waiting for Nagle would delay every reply.
    if let Err(e) = stream.set_nodelay(true) {
        log!(Debug, "cannot set TCP_NODELAY: {e}");
    }
    match tokio::time::timeout(timeout, hello(&mut stream, hello_id)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(ClientError::disconnected(format!(
                "the server at {addr} did not answer the handshake within {timeout:?}"
            )))
        }
    }
    log!(Debug, "connected to {addr} (attempt {gen})");
    let (read_half, write_half) = stream.into_split();
    let (outbox, inbox) = mpsc::unbounded_channel();
    let reader = tokio::spawn(pump_in(read_half, gen, events.clone()));
    let writer = tokio::spawn(pump_out(write_half, inbox, gen, events));
    Ok(Connection {
        outbox,
        reader,
        writer,
    })
}

/// The handshake is done before the pumps start, so no other frame can be interleaved.
async fn hello(stream: &mut TcpStream, id: u64) -> Result<(), ClientError> {
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

async fn pump_in(mut reader: OwnedReadHalf, gen: u64, events: mpsc::UnboundedSender<ConnEvent>) {
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
    writer: OwnedWriteHalf,
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
