//! Per-user order (N3) and "a reply leaves before the pushes it caused" with many threads at
//! once: first the engine alone, called from several threads, then the whole server over TCP
//! with many clients at once. The single-threaded model test (`engine_model.rs`) checks every
//! rule; these check what only concurrency can break.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use imstatus_protocol::ServerMessage;
use imstatus_server::engine::{
    AppSettings, CloseReason, ConnId, DeviceEvent, Engine, Login, MemoryStore, Platform, RateLimit,
    Sink, StatusChange, UserKey,
};
use imstatus_server::usersig;

const T0: u64 = 1_700_000_000_000;

/// One change as a connection received it: (user, version, custom status).
type Received = (String, u64, String);

/// What each connection received, in order.
#[derive(Default)]
struct Deliveries {
    by_conn: Mutex<HashMap<ConnId, Vec<Received>>>,
}

impl Sink for Deliveries {
    fn changed(&self, change: &StatusChange, to: &[ConnId]) {
        let mut by_conn = self.by_conn.lock().unwrap();
        for conn in to {
            by_conn.entry(*conn).or_default().push((
                change.status.user_id.clone(),
                change.status.version,
                change.status.custom_status.clone(),
            ));
        }
    }

    fn close(&self, _conn: ConnId, _reason: CloseReason) {}

    // Device events are checked in engine_rules.rs and webhook.rs.
    fn device_event(&self, _event: &DeviceEvent, _app: &AppSettings) {}
}

/// A splitmix64 step: deterministic per thread.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn the_engine_keeps_per_user_order_under_many_threads() {
    // covers: N1, N2, N3
    const USERS: usize = 12;
    const THREADS: usize = 4;
    const OPS: usize = 5000;
    let lots = RateLimit {
        calls: u32::MAX,
        window: Duration::from_secs(1),
    };
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = true;
    app.friend_status_notify = true;
    app.multi_device = imstatus_server::engine::MultiDevicePolicy::MultiPlatform;
    app.max_instances_per_platform = 10;
    app.subscription_limit = 1000;
    app.query_rate = lots;
    app.subscribe_rate = lots;
    app.unsubscribe_rate = lots;
    app.set_status_rate = lots;
    let sink = Arc::new(Deliveries::default());
    let engine = Arc::new(Engine::with_sink(MemoryStore::new(), 1, T0, sink.clone()));
    engine.put_app(app).unwrap();
    let clock = Arc::new(AtomicU64::new(T0));
    let user = |i: usize| format!("user{i}");
    let sigs: Vec<String> = (0..USERS)
        .map(|i| usersig::generate(APP, KEY, &user(i), 86_400, T0 / 1000))
        .collect();

    // Every user has two devices that stay connected all along, and everyone watches everyone.
    let mut steady: HashMap<usize, [ConnId; 2]> = HashMap::new();
    let everyone: Vec<String> = (0..USERS).map(user).collect();
    for (i, sig) in sigs.iter().enumerate() {
        let mut conns = [0; 2];
        for (d, conn) in conns.iter_mut().enumerate() {
            *conn = (i * 10 + d + 1) as ConnId;
            engine.open(*conn, T0);
            engine
                .login(
                    *conn,
                    &Login {
                        sdk_app_id: APP,
                        user_id: &user(i),
                        user_sig: sig,
                        platform: [Platform::Android, Platform::Linux][d],
                        device_id: &format!("steady{d}"),
                    },
                    T0,
                )
                .unwrap();
        }
        engine.subscribe(conns[0], &everyone, T0).unwrap();
        steady.insert(i, conns);
    }

    // Every thread drives every user: custom statuses, queries, and extra devices that keep
    // connecting and dropping (the steady devices keep everyone ONLINE, so those change only
    // `online_devices`, which is not a change of its own).
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = engine.clone();
            let clock = clock.clone();
            let sigs = sigs.clone();
            std::thread::spawn(move || {
                let mut rng = 0x5eed_u64 + t as u64;
                let mut extra: HashMap<usize, ConnId> = HashMap::new();
                let mut next_conn = 10_000 * (t as u64 + 1);
                for op in 0..OPS {
                    let now = clock.fetch_add(1, Ordering::SeqCst);
                    // Any user, through either steady device: threads change the same users
                    // at the same time, as a user's devices do.
                    let i = (next(&mut rng) % USERS as u64) as usize;
                    let conn = (i * 10 + 1 + (next(&mut rng) % 2) as usize) as ConnId;
                    match next(&mut rng) % 10 {
                        0..=6 => {
                            let custom = format!("{t}-{op}");
                            engine.set_self_status(conn, Some(&custom), now).unwrap();
                        }
                        7 | 8 => match extra.remove(&i) {
                            Some(old) => engine.close(old, now),
                            None => {
                                next_conn += 1;
                                engine.open(next_conn, now);
                                engine
                                    .login(
                                        next_conn,
                                        &Login {
                                            sdk_app_id: APP,
                                            user_id: &format!("user{i}"),
                                            user_sig: &sigs[i],
                                            platform: Platform::Web,
                                            device_id: &format!("web{next_conn}"),
                                        },
                                        now,
                                    )
                                    .unwrap();
                                extra.insert(i, next_conn);
                            }
                        },
                        _ => {
                            let others: Vec<String> =
                                (0..USERS).map(|u| format!("user{u}")).collect();
                            engine.get_user_status(conn, &others, now).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }

    let by_conn = sink.by_conn.lock().unwrap();
    let mut checked = 0;
    for (conn, deliveries) in by_conn.iter() {
        // N3: per connection and user, versions only grow.
        let mut last: HashMap<&str, u64> = HashMap::new();
        for (user, version, _) in deliveries {
            if let Some(before) = last.insert(user, *version) {
                assert!(
                    before < *version,
                    "conn {conn}: {user} went from version {before} to {version}"
                );
            }
        }
        checked += deliveries.len();
    }
    // Nothing lost: every steady device (connected throughout, watching everyone) ends with
    // every user's current status.
    for i in 0..USERS {
        let key = UserKey::new(APP, user(i));
        let now = engine.status_of(&key);
        for conn in steady[&i].iter().chain(steady.values().map(|c| &c[0])) {
            let last = by_conn[conn]
                .iter()
                .rev()
                .find(|(u, _, _)| *u == user(i))
                .expect("a steady device heard of every user");
            assert_eq!(
                (last.1, last.2.as_str()),
                (now.version, now.custom_status.as_str()),
                "conn {conn} ends with an old status of {}",
                user(i)
            );
        }
    }
    assert!(checked > OPS * THREADS, "{checked} deliveries");
}

#[test]
fn replies_leave_before_their_pushes_with_many_clients_at_once() {
    // covers: N3, N1 (multi-device sync), reply before push
    const CLIENTS: usize = 8;
    const ROUNDS: usize = 150;
    let server = TestServer::start(vec![app()]);
    let everyone: Vec<String> = (0..CLIENTS).map(|i| format!("\"c{i}\"")).collect();
    let subscribe = format!(r#""op":"subscribe","user_ids":[{}]"#, everyone.join(","));
    let addr = server.addr();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let subscribe = subscribe.clone();
            std::thread::spawn(move || {
                let user = format!("c{i}");
                let (mut a, _) = Wire::login(addr, &user, "Android", "a");
                let (mut b, _) = Wire::login(addr, &user, "Linux", "b");
                ok_statuses(&a.request(&subscribe));
                let mut b_last = 0u64;
                for round in 0..ROUNDS {
                    let custom = format!("r{round}");
                    a.pushes.clear();
                    let reply = a.request(&format!(
                        r#""op":"set_self_status","custom_status":"{custom}""#
                    ));
                    assert!(matches!(reply, ServerMessage::Ok { .. }), "{reply:?}");
                    // Nothing this request caused came before its reply.
                    for push in &a.pushes {
                        if let ServerMessage::StatusChanged { statuses } = push {
                            assert!(
                                !statuses
                                    .iter()
                                    .any(|s| s.user_id == user && s.custom_status == custom),
                                "{user}: the push of {custom} came before its reply"
                            );
                        }
                    }
                    // The other device hears it, in order.
                    let seen = b.wait_status(&user, Duration::from_secs(10), |s| {
                        s.custom_status == custom
                    });
                    assert!(seen.version > b_last, "{user}: versions went back");
                    b_last = seen.version;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}
