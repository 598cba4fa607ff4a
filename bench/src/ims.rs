//! imstatus devices, speaking the wire protocol through `imstatus::protocol` (the code the SDK
//! uses): one writer task (commands, heartbeats) and one reader task (replies, pushes) each.

use std::sync::Arc;
use std::time::Duration;

use imstatus::protocol::{
    decode_server_message, encode, read_frame, write_frame, ClientFrame, Platform, Request,
    ServerMessage, WireStatus, MAX_SERVER_FRAME_LEN, PROTOCOL_VERSION,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::tls::{ReadHalf, WriteHalf};
use crate::{custom_payload, user_id, Cmd, Reconnect, Shared};

/// Request ids below this are the setup of a connection (hello, login, subscribes).
const FIRST_FREE_ID: u64 = 1000;
/// How long a connection's setup may take before it counts as failed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A UserSig valid for a day, made up front (HMAC + zlib per user).
pub fn user_sig(shared: &Shared, user: u32) -> String {
    sig_for(shared, &user_id(user))
}

/// A UserSig valid for a day for any user ID.
pub fn sig_for(shared: &Shared, id: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    imstatus_server::usersig::generate(
        shared.opts.sdk_app_id,
        &shared.opts.secret_key,
        id,
        86_400,
        now,
    )
}

fn platform(no: u8) -> Platform {
    if no == 0 {
        Platform::Linux
    } else {
        Platform::Android
    }
}

struct Live {
    writer: BufWriter<WriteHalf>,
    reader: JoinHandle<()>,
    freeze: Arc<Notify>,
    next_id: u64,
}

impl Live {
    async fn send(&mut self, request: Request) -> std::io::Result<()> {
        let frame = ClientFrame {
            id: self.next_id,
            request,
        };
        self.next_id += 1;
        write_frame(&mut self.writer, &encode(&frame)).await?;
        self.writer.flush().await
    }

    fn close(self) {
        self.reader.abort();
        drop(self.writer);
    }
}

/// Runs device `dev` until it is shut down or its command channel closes.
pub async fn device(
    shared: Arc<Shared>,
    dev: usize,
    sig: String,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
) {
    let d = shared.devices[dev];
    let mut rng = StdRng::seed_from_u64(shared.opts.seed ^ (dev as u64).wrapping_mul(0x9e37_79b9));
    let device_id = format!("bench-u{}-d{}", d.user, d.no);
    // A Subscribe that arrived while the device was down runs once it is back.
    let mut subscribe_pending = false;
    let mut back = Reconnect::Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(10),
    };
    let mut delay = Duration::ZERO;
    // Bounded: each iteration is one connection; commands end it.
    loop {
        if !delay.is_zero() {
            // Commands that arrive while down are dropped, except Shutdown.
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    cmd = cmds.recv() => match cmd {
                        None | Some(Cmd::Shutdown) => return,
                        Some(Cmd::Subscribe) => subscribe_pending = true,
                        Some(_) => {}
                    },
                }
            }
        }
        let mut attempt = 0u32;
        let (mut live, lost) = loop {
            // One per connection, so that a close noticed by an earlier connection's reader
            // cannot end this one.
            let lost = Arc::new(Notify::new());
            match connect(&shared, dev, &sig, &device_id, d.no, lost.clone()).await {
                Ok(live) => break (live, lost),
                Err(e) => {
                    shared
                        .stats
                        .connect_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    shared.stats.error(format!("{}: {e}", device_id));
                    let Some(wait) = back.delay(attempt.saturating_add(1), &mut rng) else {
                        return;
                    };
                    attempt += 1;
                    if attempt > 50 {
                        return;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        };
        let hb_period = shared.opts.heartbeat;
        let first = Duration::from_millis(rng.gen_range(0..=hb_period.as_millis() as u64));
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + first, hb_period);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut frozen = false;
        if std::mem::take(&mut subscribe_pending) {
            if let Err(e) = subscribe(&shared, dev, &mut live).await {
                shared.stats.error(format!("{device_id}: write: {e}"));
            }
        }
        let next: Option<Reconnect> = loop {
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { live.close(); shared.set_connected(dev, false); return };
                    let sent = match cmd {
                        Cmd::Subscribe if !frozen => subscribe(&shared, dev, &mut live).await,
                        Cmd::SetCustom { seq, ts_ns } if !frozen => live.send(Request::SetSelfStatus {
                            custom_status: Some(custom_payload(seq, ts_ns)),
                            expire_after_ms: None,
                        }).await,
                        Cmd::Freeze => {
                            frozen = true;
                            live.freeze.notify_one();
                            Ok(())
                        }
                        Cmd::Kill { back } => break Some(back),
                        Cmd::Logout { back } => {
                            let _ = live.send(Request::Logout).await;
                            break Some(back);
                        }
                        Cmd::Shutdown => break None,
                        _ => Ok(()),
                    };
                    if let Err(e) = sent {
                        shared.stats.error(format!("{device_id}: write: {e}"));
                    }
                }
                _ = heartbeat.tick(), if !frozen => {
                    if live.send(Request::Heartbeat).await.is_err() {
                        // The reader will see the close too; reconnect.
                        break Some(back);
                    }
                }
                _ = lost.notified(), if !frozen => break Some(back),
            }
        };
        // Give a graceful logout a moment to leave before closing.
        if matches!(next, Some(Reconnect::After(_)) | Some(Reconnect::Never)) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        live.close();
        shared.set_connected(dev, false);
        match next {
            None => return,
            Some(r) => {
                back = match r {
                    Reconnect::Never => return,
                    other => other,
                };
                delay = back.delay(0, &mut rng).unwrap_or(Duration::ZERO);
            }
        }
    }
}

/// Connects, says hello, logs in (and subscribes when asked), and starts the reader. Returns once
/// every setup reply arrived.
async fn connect(
    shared: &Arc<Shared>,
    dev: usize,
    sig: &str,
    device_id: &str,
    no: u8,
    lost: Arc<Notify>,
) -> Result<Live, String> {
    let addr = shared.opts.addr_of(shared.devices[dev].user);
    let (rd, wr) = tokio::time::timeout(
        SETUP_TIMEOUT,
        crate::tls::connect(addr, shared.opts.tls.as_ref()),
    )
    .await
    .map_err(|_| "connect timed out".to_string())??;
    let freeze = Arc::new(Notify::new());
    let (setup_tx, mut setup_rx) = mpsc::unbounded_channel();
    let user = shared.devices[dev].user;
    let mut live = Live {
        writer: BufWriter::with_capacity(4096, wr),
        reader: tokio::spawn(reader(
            shared.clone(),
            dev,
            BufReader::with_capacity(4096, rd),
            freeze.clone(),
            setup_tx,
            lost,
        )),
        freeze,
        next_id: 1,
    };
    let frames = [
        Request::Hello {
            version: PROTOCOL_VERSION,
        },
        Request::Login {
            sdk_app_id: shared.opts.sdk_app_id,
            user_id: user_id(user),
            user_sig: sig.to_string(),
            platform: platform(no),
            device_id: device_id.to_string(),
        },
    ];
    for request in frames {
        let frame = ClientFrame {
            id: live.next_id,
            request,
        };
        live.next_id += 1;
        write_frame(&mut live.writer, &encode(&frame))
            .await
            .map_err(|e| e.to_string())?;
    }
    live.writer.flush().await.map_err(|e| e.to_string())?;
    let wait = async {
        for expected in 1..=2u64 {
            match setup_rx.recv().await {
                Some((id, Ok(()))) if id == expected => {}
                Some((id, Ok(()))) => return Err(format!("reply {id} out of order")),
                Some((id, Err(e))) => return Err(format!("setup request {id}: {e}")),
                None => return Err("connection closed during setup".to_string()),
            }
        }
        Ok(())
    };
    match tokio::time::timeout(SETUP_TIMEOUT, wait).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            live.close();
            return Err(e);
        }
        Err(_) => {
            live.close();
            return Err("setup timed out".into());
        }
    }
    live.next_id = FIRST_FREE_ID;
    // Subscriptions belong to the user and outlive the connection (S5): a reconnect does not
    // subscribe again; its login snapshot brings the watched statuses back (N4).
    shared.set_connected(dev, true);
    Ok(live)
}

/// Subscribes to the user's watch list in batches of 100 (S2); the reader marks the device
/// subscribed when the last reply arrives.
async fn subscribe(shared: &Shared, dev: usize, live: &mut Live) -> std::io::Result<()> {
    let user = shared.devices[dev].user as usize;
    let list = &shared.graph.watches[user];
    let chunks: Vec<&[u32]> = list.chunks(100).collect();
    if chunks.is_empty() {
        shared.mark_subscribed(dev);
        return Ok(());
    }
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let frame = ClientFrame {
            id: if i == last {
                SUBSCRIBE_DONE_ID
            } else {
                live.next_id
            },
            request: Request::Subscribe {
                user_ids: chunk.iter().map(|&u| user_id(u)).collect(),
            },
        };
        live.next_id += 1;
        write_frame(&mut live.writer, &encode(&frame)).await?;
    }
    live.writer.flush().await
}

/// The id of the last subscribe request of a device: its reply marks the device subscribed.
const SUBSCRIBE_DONE_ID: u64 = 999;

type SetupReply = (u64, Result<(), String>);

async fn reader(
    shared: Arc<Shared>,
    dev: usize,
    mut rd: BufReader<ReadHalf>,
    freeze: Arc<Notify>,
    setup: mpsc::UnboundedSender<SetupReply>,
    lost: Arc<Notify>,
) {
    // Bounded by the connection: it ends when the server closes or the writer aborts it.
    loop {
        let frame = tokio::select! {
            biased;
            _ = freeze.notified() => {
                // A frozen process: hold the socket, read nothing, until aborted.
                std::future::pending::<()>().await;
                return;
            }
            frame = read_frame(&mut rd, MAX_SERVER_FRAME_LEN) => frame,
        };
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(_) => {
                shared.set_connected(dev, false);
                lost.notify_one();
                return;
            }
        };
        let message = match decode_server_message(&bytes) {
            Ok(m) => m,
            Err(e) => {
                shared.stats.error(e);
                continue;
            }
        };
        match message {
            ServerMessage::StatusChanged { statuses } => {
                for s in &statuses {
                    shared.apply_ims(dev, s, true);
                }
            }
            ServerMessage::Ok { id, statuses, .. } => {
                apply_snapshot(&shared, dev, &statuses);
                if id == SUBSCRIBE_DONE_ID {
                    shared.mark_subscribed(dev);
                } else if id < FIRST_FREE_ID {
                    let _ = setup.send((id, Ok(())));
                }
            }
            ServerMessage::Error { id, code, desc } => {
                shared
                    .stats
                    .error(format!("error {code} on request {id}: {desc}"));
                if id < FIRST_FREE_ID && id != SUBSCRIBE_DONE_ID {
                    let _ = setup.send((id, Err(format!("{code}: {desc}"))));
                }
            }
            ServerMessage::Kicked | ServerMessage::UserSigExpired => {
                shared.stats.error(format!(
                    "device {dev} was closed by the server: {message:?}"
                ));
            }
        }
    }
}

fn apply_snapshot(shared: &Shared, dev: usize, statuses: &[WireStatus]) {
    for s in statuses {
        shared.apply_ims(dev, s, false);
    }
}

/// The server's truth: every user's status from `get_user_status`, asked by a verifier user
/// in batches of 500 (Q3). Answers (status_type, custom seq, version) per user.
pub async fn truth(shared: &Arc<Shared>) -> Result<Vec<(u8, u32, u64)>, String> {
    let (rd, mut wr) = crate::tls::connect(&shared.opts.addr, shared.opts.tls.as_ref())
        .await
        .map_err(|e| format!("verifier {e}"))?;
    let mut rd = BufReader::new(rd);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sig = imstatus_server::usersig::generate(
        shared.opts.sdk_app_id,
        &shared.opts.secret_key,
        "verifier",
        3600,
        now,
    );
    let mut requests = vec![
        Request::Hello {
            version: PROTOCOL_VERSION,
        },
        Request::Login {
            sdk_app_id: shared.opts.sdk_app_id,
            user_id: "verifier".into(),
            user_sig: sig,
            platform: Platform::Web,
            device_id: "bench-verifier".into(),
        },
    ];
    let n = shared.opts.n as u32;
    let ids: Vec<u32> = (0..n).collect();
    for chunk in ids.chunks(500) {
        requests.push(Request::GetUserStatus {
            user_ids: chunk.iter().map(|&u| user_id(u)).collect(),
        });
    }
    let mut out = vec![(0u8, 0u32, 0u64); n as usize];
    for (i, request) in requests.into_iter().enumerate() {
        let id = i as u64 + 1;
        let frame = ClientFrame { id, request };
        write_frame(&mut wr, &encode(&frame))
            .await
            .map_err(|e| e.to_string())?;
        wr.flush().await.map_err(|e| e.to_string())?;
        // Bounded: pushes to the verifier are skipped, at most a few per reply.
        for _ in 0..10_000 {
            let bytes = tokio::time::timeout(
                Duration::from_secs(30),
                read_frame(&mut rd, MAX_SERVER_FRAME_LEN),
            )
            .await
            .map_err(|_| "verifier: no reply".to_string())?
            .map_err(|e| format!("verifier read: {e}"))?;
            match decode_server_message(&bytes)? {
                ServerMessage::Ok {
                    id: got, statuses, ..
                } if got == id => {
                    if id > 2 {
                        for s in statuses {
                            if let Some(u) = crate::parse_user(&s.user_id) {
                                let (seq, _) = crate::parse_custom(&s.custom_status);
                                out[u as usize] = (s.status_type, seq, s.version);
                            }
                        }
                    }
                    break;
                }
                ServerMessage::Error { code, desc, .. } => {
                    return Err(format!("verifier request {id}: {code} {desc}"))
                }
                _ => continue,
            }
        }
    }
    Ok(out)
}
