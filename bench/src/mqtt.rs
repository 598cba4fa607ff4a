//! MQTT devices through `rumqttc`, with the presence layout of the anchors §2.1:
//!
//! - `presence/u{user}/d{device}`: retained, `"on:{epoch}"` after CONNACK, and the Will
//!   `"off:{epoch}"` (retained, same QoS) for an unclean close; `epoch` grows with every
//!   connection of the device, so watchers apply last-writer-wins on (epoch, state);
//! - `status/u{user}/custom`: retained, `"{seq}:{ts_ns}"`;
//! - a watcher subscribes `presence/u{w}/+` and `status/u{w}/custom` for each watched user
//!   (2K filters) and aggregates devices itself (ONLINE if any device is on).
//!
//! Client ids are deterministic per (user, device), the mitigation of the anchors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, NetworkOptions, Packet, QoS,
    SubscribeFilter,
};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::{custom_payload, Cmd, Reconnect, Shared};

const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Topic filters per SUBSCRIBE packet.
const FILTERS_PER_SUBSCRIBE: usize = 100;

pub(crate) fn qos(shared: &Shared) -> QoS {
    if shared.opts.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

pub(crate) fn host_port(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(1883)),
        None => (addr.to_string(), 1883),
    }
}

struct Live {
    client: AsyncClient,
    poller: JoinHandle<()>,
    freeze: Arc<Notify>,
    subacks_wanted: Arc<AtomicUsize>,
}

impl Live {
    fn close(self) {
        // Dropping the event loop closes the socket without DISCONNECT: the broker publishes
        // the Will.
        self.poller.abort();
        drop(self.client);
    }
}

/// Runs device `dev` until it is shut down or its command channel closes.
pub async fn device(shared: Arc<Shared>, dev: usize, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
    let d = shared.devices[dev];
    let mut rng = StdRng::seed_from_u64(shared.opts.seed ^ (dev as u64).wrapping_mul(0x9e37_79b9));
    let client_id = format!("u{}-d{}", d.user, d.no);
    let presence = format!("presence/u{}/d{}", d.user, d.no);
    let custom = format!("status/u{}/custom", d.user);
    let mut epoch = 0u64;
    let mut subscribed = false;
    let mut subscribe_pending = false;
    let mut back = Reconnect::Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(10),
    };
    let mut delay = Duration::ZERO;
    // Bounded: each iteration is one connection; commands end it.
    loop {
        if !delay.is_zero() {
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
        let (live, lost) = loop {
            epoch += 1;
            // One per connection, so that a close noticed by an earlier connection's poller
            // cannot end this one.
            let lost = Arc::new(Notify::new());
            match connect(&shared, dev, &client_id, &presence, epoch, lost.clone()).await {
                Ok(live) => break (live, lost),
                Err(e) => {
                    shared
                        .stats
                        .connect_failures
                        .fetch_add(1, Ordering::Relaxed);
                    shared.stats.error(format!("{client_id}: {e}"));
                    attempt += 1;
                    if attempt > 50 {
                        return;
                    }
                    let wait = back
                        .delay(attempt, &mut rng)
                        .unwrap_or(Duration::from_secs(1));
                    tokio::time::sleep(wait).await;
                }
            }
        };
        // A clean session: subscriptions do not outlive the connection; the retained messages
        // of the new subscriptions are the resync.
        if subscribed || std::mem::take(&mut subscribe_pending) {
            shared.reset_view(dev);
            subscribed = true;
            subscribe(&shared, dev, &live).await;
        }
        shared.set_connected(dev, true);
        let mut frozen = false;
        let next: Option<Reconnect> = loop {
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { live.close(); shared.set_connected(dev, false); return };
                    match cmd {
                        Cmd::Subscribe if !frozen => {
                            subscribed = true;
                            subscribe(&shared, dev, &live).await;
                        }
                        Cmd::SetCustom { seq, ts_ns } if !frozen => {
                            if let Err(e) = live.client.publish(&custom, qos(&shared), true, custom_payload(seq, ts_ns)).await {
                                shared.stats.error(format!("{client_id}: publish: {e}"));
                            }
                        }
                        Cmd::Freeze => {
                            frozen = true;
                            live.freeze.notify_one();
                        }
                        Cmd::Kill { back } => break Some(back),
                        Cmd::Logout { back } => {
                            // A graceful MQTT presence client says "off" itself: a DISCONNECT
                            // suppresses the Will.
                            let _ = live.client.publish(&presence, qos(&shared), true, format!("off:{epoch}")).await;
                            let _ = live.client.disconnect().await;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            break Some(back);
                        }
                        Cmd::Shutdown => break None,
                        _ => {}
                    }
                }
                _ = lost.notified(), if !frozen => break Some(back),
            }
        };
        live.close();
        shared.set_connected(dev, false);
        match next {
            None | Some(Reconnect::Never) => return,
            Some(r) => {
                back = r;
                delay = back.delay(0, &mut rng).unwrap_or(Duration::ZERO);
            }
        }
    }
}

async fn connect(
    shared: &Arc<Shared>,
    dev: usize,
    client_id: &str,
    presence: &str,
    epoch: u64,
    lost: Arc<Notify>,
) -> Result<Live, String> {
    let (host, port) = host_port(&shared.opts.addr);
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_keep_alive(shared.opts.heartbeat)
        .set_clean_session(true)
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_request_channel_capacity(64)
        .set_last_will(LastWill::new(
            presence,
            format!("off:{epoch}"),
            qos(shared),
            true,
        ));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    net.set_connection_timeout(SETUP_TIMEOUT.as_secs());
    eventloop.set_network_options(net);
    match tokio::time::timeout(SETUP_TIMEOUT, eventloop.poll()).await {
        Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {}
        Ok(Ok(other)) => return Err(format!("expected CONNACK, got {other:?}")),
        Ok(Err(e)) => return Err(format!("connect: {e}")),
        Err(_) => return Err("connect timed out".into()),
    }
    let freeze = Arc::new(Notify::new());
    let subacks_wanted = Arc::new(AtomicUsize::new(usize::MAX));
    let poller = tokio::spawn(poll(
        shared.clone(),
        dev,
        eventloop,
        freeze.clone(),
        subacks_wanted.clone(),
        lost,
    ));
    client
        .publish(presence, qos(shared), true, format!("on:{epoch}"))
        .await
        .map_err(|e| format!("publish: {e}"))?;
    Ok(Live {
        client,
        poller,
        freeze,
        subacks_wanted,
    })
}

async fn subscribe(shared: &Shared, dev: usize, live: &Live) {
    let user = shared.devices[dev].user as usize;
    let mut filters = Vec::new();
    for &w in &shared.graph.watches[user] {
        filters.push(SubscribeFilter::new(
            format!("presence/u{w}/+"),
            qos(shared),
        ));
        filters.push(SubscribeFilter::new(
            format!("status/u{w}/custom"),
            qos(shared),
        ));
    }
    if filters.is_empty() {
        shared.mark_subscribed(dev);
        return;
    }
    let chunks: Vec<Vec<SubscribeFilter>> = filters
        .chunks(FILTERS_PER_SUBSCRIBE)
        .map(|c| c.to_vec())
        .collect();
    live.subacks_wanted.store(chunks.len(), Ordering::Relaxed);
    for chunk in chunks {
        if let Err(e) = live.client.subscribe_many(chunk).await {
            shared.stats.error(format!("subscribe: {e}"));
        }
    }
}

async fn poll(
    shared: Arc<Shared>,
    dev: usize,
    mut eventloop: EventLoop,
    freeze: Arc<Notify>,
    subacks_wanted: Arc<AtomicUsize>,
    lost: Arc<Notify>,
) {
    let mut subacks = 0usize;
    // Bounded by the connection: it ends on the first error or when aborted.
    loop {
        let event = tokio::select! {
            biased;
            _ = freeze.notified() => {
                // A frozen process: keep the socket open, read and ping nothing, until aborted.
                let _keep = eventloop;
                std::future::pending::<()>().await;
                return;
            }
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                shared.apply_mqtt(dev, &p.topic, &p.payload, p.retain);
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                subacks += 1;
                if subacks >= subacks_wanted.load(Ordering::Relaxed) {
                    shared.mark_subscribed(dev);
                    subacks = 0;
                    subacks_wanted.store(usize::MAX, Ordering::Relaxed);
                }
            }
            Ok(_) => {}
            Err(e) => {
                shared.stats.error(format!("device {dev}: {e}"));
                shared.set_connected(dev, false);
                lost.notify_one();
                return;
            }
        }
    }
}

/// The broker's truth: the retained messages, collected by a verifier subscribed to every
/// presence and custom topic. Answers (status, custom seq) per user.
pub async fn truth(shared: &Arc<Shared>) -> Result<Vec<(u8, u32)>, String> {
    let (host, port) = host_port(&shared.opts.addr);
    let mut options = MqttOptions::new("bench-verifier", host, port);
    options
        .set_keep_alive(Duration::from_secs(60))
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let n = shared.opts.n;
    let mut presence = vec![[0u64; 2]; n];
    let mut custom = vec![0u32; n];
    client
        .subscribe_many([
            // QoS 0: Mosquitto would queue at most `max_queued_messages` QoS 1 retained
            // messages for the verifier and drop the rest.
            SubscribeFilter::new("presence/+/+".to_string(), QoS::AtMostOnce),
            SubscribeFilter::new("status/+/custom".to_string(), QoS::AtMostOnce),
        ])
        .await
        .map_err(|e| e.to_string())?;
    // The event loop runs in a task of its own so that waiting with a timeout never cancels a
    // poll halfway.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let poller = tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                if tx.send(p).is_err() {
                    return;
                }
            }
        }
    });
    let start = std::time::Instant::now();
    // Bounded: at most 60 s, and ends 1 s after the last retained message.
    while start.elapsed() < Duration::from_secs(60) {
        let p = match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(p)) => p,
        };
        if !p.retain {
            continue;
        }
        let mut parts = p.topic.split('/');
        let (kind, user, leaf) = (parts.next(), parts.next(), parts.next());
        let Some(u) = user.and_then(crate::parse_user) else {
            continue;
        };
        if u as usize >= n {
            continue;
        }
        let payload = std::str::from_utf8(&p.payload).unwrap_or("");
        match kind {
            Some("presence") => {
                let no = usize::from(leaf == Some("d1"));
                presence[u as usize][no] = crate::presence_key(payload).unwrap_or(0);
            }
            Some("status") => custom[u as usize] = crate::parse_custom(payload).0,
            _ => {}
        }
    }
    let _ = client.disconnect().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    poller.abort();
    Ok((0..n)
        .map(|u| (crate::mqtt_status(presence[u]), custom[u]))
        .collect())
}
