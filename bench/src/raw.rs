//! Raw connections for both systems: what no well-behaved SDK does (never read, pipeline
//! requests before logging in, drip a frame a byte at a time), and the short-lived login clients
//! of `login-storm`. The imstatus frames are made with `imstatus::protocol` (`encode` of a
//! `ClientFrame`, behind its 4-byte length); the MQTT 3.1.1 packets are written by hand here
//! (CONNECT, SUBSCRIBE, PINGREQ), so that a client can write without ever reading.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use imstatus::protocol::{
    decode_server_message, encode, read_frame, ClientFrame, Platform, Request, ServerMessage,
    MAX_SERVER_FRAME_LEN, PROTOCOL_VERSION,
};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, NetworkOptions, Packet, QoS};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::lock;

/// One imstatus frame: the length, then the encoded `ClientFrame`.
pub fn ims_frame(id: u64, request: Request) -> Vec<u8> {
    let payload = encode(&ClientFrame { id, request });
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// `hello` (id 1) and `login` (id 2), in one buffer.
pub fn ims_hello_login(app: u32, user: &str, sig: &str, device: &str) -> Vec<u8> {
    let mut out = ims_frame(
        1,
        Request::Hello {
            version: PROTOCOL_VERSION,
        },
    );
    out.extend(ims_frame(
        2,
        Request::Login {
            sdk_app_id: app,
            user_id: user.to_string(),
            user_sig: sig.to_string(),
            platform: Platform::Linux,
            device_id: device.to_string(),
        },
    ));
    out
}

/// An MQTT remaining length (variable byte integer).
fn remaining_length(mut len: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return;
        }
    }
}

fn mqtt_string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// An MQTT 3.1.1 CONNECT: clean session, no Will, no credentials.
pub fn mqtt_connect(client_id: &str, keepalive_s: u16) -> Vec<u8> {
    let mut body = Vec::new();
    mqtt_string("MQTT", &mut body);
    body.push(4); // protocol level 3.1.1
    body.push(0x02); // clean session
    body.extend_from_slice(&keepalive_s.to_be_bytes());
    mqtt_string(client_id, &mut body);
    let mut out = vec![0x10];
    remaining_length(body.len(), &mut out);
    out.extend(body);
    out
}

/// An MQTT SUBSCRIBE of `filters`, each at `qos`.
pub fn mqtt_subscribe(packet_id: u16, filters: &[String], qos: u8) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    for f in filters {
        mqtt_string(f, &mut body);
        body.push(qos);
    }
    let mut out = vec![0x82];
    remaining_length(body.len(), &mut out);
    out.extend(body);
    out
}

/// An MQTT PINGREQ.
pub const MQTT_PINGREQ: [u8; 2] = [0xC0, 0x00];

/// Writes all of `bytes`, giving up after `limit` (a peer that does not read may block it).
pub async fn write_within(
    stream: &mut TcpStream,
    bytes: &[u8],
    limit: Duration,
) -> Result<(), String> {
    match tokio::time::timeout(limit, stream.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("write blocked".into()),
    }
}

/// What a login storm measured, shared by its clients.
pub struct Storm {
    pub start: Instant,
    pub started: AtomicUsize,
    pub answered: AtomicUsize,
    pub failed: AtomicUsize,
    /// From the client starting to connect until its login was answered (imstatus) or its
    /// CONNACK arrived (MQTT), microseconds.
    pub latency: Mutex<Histogram<u64>>,
    /// imstatus only: from the login written until it was answered, microseconds.
    pub written_latency: Mutex<Histogram<u64>>,
    /// imstatus only: from the client starting until its connection was up (TCP, and the TLS
    /// handshake when over TLS), microseconds.
    pub connected_latency: Mutex<Histogram<u64>>,
    /// When the last client started, and when the last answer came, since `start`.
    pub last_start: Mutex<Option<Duration>>,
    pub last_answer: Mutex<Option<Duration>>,
    pub first_error: Mutex<Option<String>>,
    /// The clients' connections, held open until the storm is dropped.
    keep: Mutex<Vec<Box<dyn Send>>>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Storm {
    pub fn new() -> Arc<Storm> {
        let h = || Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3).expect("bounds"));
        Arc::new(Storm {
            start: Instant::now(),
            started: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            latency: h(),
            written_latency: h(),
            connected_latency: h(),
            last_start: Mutex::new(None),
            last_answer: Mutex::new(None),
            first_error: Mutex::new(None),
            keep: Mutex::new(Vec::new()),
        })
    }

    /// Every client answered or failed.
    pub fn finished(&self, clients: usize) -> bool {
        self.answered.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed) >= clients
    }

    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        lock(&self.first_error).get_or_insert(why);
    }

    fn answered(&self, began: Instant, written: Option<Instant>) {
        let now = Instant::now();
        let us = |from: Instant| (now - from).as_micros().max(1) as u64;
        let _ = lock(&self.latency).record(us(began));
        if let Some(w) = written {
            let _ = lock(&self.written_latency).record(us(w));
        }
        *lock(&self.last_answer) = Some(now - self.start);
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    fn connected(&self, began: Instant) {
        let us = began.elapsed().as_micros().max(1) as u64;
        let _ = lock(&self.connected_latency).record(us);
    }

    fn began(&self) -> Instant {
        let now = Instant::now();
        *lock(&self.last_start) = Some(now - self.start);
        self.started.fetch_add(1, Ordering::Relaxed);
        now
    }

    /// Closes every client's connection.
    pub fn release(&self) {
        lock(&self.keep).clear();
    }
}

/// One imstatus storm client: connect, `hello` + `login` in one write, wait for the login's
/// answer; the connection then stays open until the storm is released.
pub async fn ims_storm_client(
    storm: Arc<Storm>,
    addr: String,
    tls: Option<crate::tls::Tls>,
    frames: Vec<u8>,
) {
    let began = storm.began();
    let attempt = async {
        let (mut rd, mut wr) = crate::tls::connect(&addr, tls.as_ref()).await?;
        storm.connected(began);
        wr.write_all(&frames)
            .await
            .map_err(|e| format!("write: {e}"))?;
        wr.flush().await.map_err(|e| format!("flush: {e}"))?;
        let written = Instant::now();
        // Bounded: the hello's and the login's answers (pushes are skipped; none are expected).
        for _ in 0..100 {
            let bytes = read_frame(&mut rd, MAX_SERVER_FRAME_LEN)
                .await
                .map_err(|e| format!("read: {e}"))?;
            match decode_server_message(&bytes)? {
                ServerMessage::Ok { id: 2, .. } => return Ok(((rd, wr), written)),
                ServerMessage::Error { id, code, desc } => {
                    return Err(format!("request {id}: {code} {desc}"))
                }
                _ => continue,
            }
        }
        Err("no answer to the login".to_string())
    };
    match tokio::time::timeout(Duration::from_secs(60), attempt).await {
        Ok(Ok((stream, written))) => {
            storm.answered(began, Some(written));
            lock(&storm.keep).push(Box::new(stream));
        }
        Ok(Err(e)) => storm.fail(e),
        Err(_) => storm.fail("no answer within 60 s".into()),
    }
}

/// One MQTT storm client, as the harness's devices connect: CONNECT with a retained Will,
/// answered by CONNACK; then the retained "on" presence, and the event loop keeps running
/// (pings) until the storm is released.
pub async fn mqtt_storm_client(
    storm: Arc<Storm>,
    addr: String,
    user: u32,
    keepalive: Duration,
    qos: QoS,
) {
    let began = storm.began();
    let (host, port) = crate::mqtt::host_port(&addr);
    let presence = format!("presence/u{user}/d0");
    let mut options = MqttOptions::new(format!("storm-u{user}"), host, port);
    options
        .set_keep_alive(keepalive)
        .set_clean_session(true)
        .set_last_will(LastWill::new(&presence, "off:1", qos, true));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    net.set_connection_timeout(60);
    eventloop.set_network_options(net);
    match tokio::time::timeout(Duration::from_secs(60), eventloop.poll()).await {
        Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {}
        Ok(Ok(other)) => return storm.fail(format!("expected CONNACK, got {other:?}")),
        Ok(Err(e)) => return storm.fail(format!("connect: {e}")),
        Err(_) => return storm.fail("no CONNACK within 60 s".into()),
    }
    storm.answered(began, None);
    let _ = client.try_publish(&presence, qos, true, "on:1");
    let poller = tokio::spawn(async move {
        // Bounded by the connection: ends on its first error, or when aborted.
        while eventloop.poll().await.is_ok() {}
    });
    lock(&storm.keep).push(Box::new((client, AbortOnDrop(poller))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_packets_are_well_formed() {
        assert_eq!(
            mqtt_connect("c", 30),
            vec![0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 30, 0, 1, b'c']
        );
        let sub = mqtt_subscribe(7, &["a/b".to_string()], 1);
        assert_eq!(sub, vec![0x82, 8, 0, 7, 0, 3, b'a', b'/', b'b', 1]);
        let mut long = Vec::new();
        remaining_length(321, &mut long);
        assert_eq!(long, vec![0xC1, 0x02]);
    }

    #[test]
    fn ims_frames_decode() {
        let bytes = ims_hello_login(1, "u1", "sig", "d");
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        let first = imstatus::protocol::decode_request(&bytes[4..4 + len]).unwrap();
        assert_eq!(first.id, 1);
        let second = imstatus::protocol::decode_request(&bytes[8 + len..]).unwrap();
        assert!(matches!(second.request, Request::Login { .. }));
    }
}
