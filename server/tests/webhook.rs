//! Webhook delivery (`State.StateChange`) against a real HTTP(S) receiver on loopback: the wire
//! format to the byte, signatures, order per user, retries, timeouts, the queue's bound, TLS
//! with a private CA, and restart pacing. Every wait has a deadline; nothing sleeps and hopes.

mod receiver;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use hyper::StatusCode;
use imstatus_server::dev_cert::DevCa;
use imstatus_server::webhook::{Callback, Target, WebhookCounts, WebhookLimits, Webhooks};
use receiver::{answer, by_request, ok, Receiver};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sha2::Sha256;
use tokio::sync::Semaphore;
use tokio::time::{timeout, Instant};

const APP: u32 = 1_400_000_123;
/// Generous: the tests run in parallel, on a machine whose other core may be busy.
const DEADLINE: Duration = Duration::from_secs(30);

fn callback(user: &str, action: &'static str, reason: &'static str) -> Callback {
    Callback {
        user: user.into(),
        action,
        reason,
        platform: "Android",
        client_ip: None,
        kicked: vec![],
        custom_status: String::new(),
        event_time_ms: 1_700_000_000_123,
        recovered: false,
    }
}

/// A callback told apart by its custom status.
fn numbered(user: &str, n: usize) -> Callback {
    Callback {
        custom_status: n.to_string(),
        ..callback(user, "CustomStatusChange", "SetCustomStatus")
    }
}

fn target(sdk_app_id: u32, url: String, secret: &str) -> Target {
    Target {
        sdk_app_id,
        url: url.into(),
        secret: secret.into(),
    }
}

/// Limits whose retries come quickly.
fn quick() -> WebhookLimits {
    WebhookLimits {
        first_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..WebhookLimits::default()
    }
}

async fn drained(hooks: &Webhooks) {
    timeout(DEADLINE, hooks.drained())
        .await
        .expect("every callback delivered or given up in time");
}

fn counts_of(hooks: &Webhooks, app: u32) -> WebhookCounts {
    hooks
        .counts()
        .into_iter()
        .find(|(a, _)| *a == app)
        .map(|(_, c)| c)
        .unwrap_or_default()
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_goes_out_exactly_as_tencent_sends_it_and_signed() {
    let receiver = Receiver::start(ok()).await;
    let hooks = Webhooks::new(quick());
    let signed = target(APP, receiver.url("/im/callback"), "s3cret");
    let ip: IpAddr = "203.0.113.9".parse().unwrap();
    let cases = [
        Callback {
            platform: "iOS",
            client_ip: Some(ip),
            ..callback("alice", "Login", "Register")
        },
        Callback {
            platform: "Windows",
            ..callback("alice", "Logout", "Unregister")
        },
        Callback {
            platform: "Mac",
            ..callback("alice", "Disconnect", "LinkClose")
        },
        Callback {
            platform: "Web",
            ..callback("alice", "Disconnect", "TimeOut")
        },
        Callback {
            platform: "Linux",
            custom_status: "in a \"meeting\" ☕".into(),
            ..callback("alice", "CustomStatusChange", "SetCustomStatus")
        },
        Callback {
            platform: "iPad",
            kicked: vec!["Android", "iOS"],
            ..callback("alice", "Login", "Register")
        },
    ];
    for case in cases {
        hooks.submit(&signed, case);
    }
    let got = receiver.wait_for(6, DEADLINE).await;
    let query = |ip: &str, platform: &str| {
        format!("/im/callback?SdkAppid={APP}&CallbackCommand=State.StateChange&contenttype=json&ClientIP={ip}&OptPlatform={platform}")
    };
    let body = |action: &str, reason: &str, status: &str, kicked: &str| {
        format!(
            r#"{{"CallbackCommand":"State.StateChange","EventTime":1700000000123,"Info":{{"Action":"{action}","To_Account":"alice","Reason":"{reason}"}},"CustomStatus":"{status}","KickedDevice":[{kicked}]}}"#
        )
    };
    let expected = [
        (
            query("203.0.113.9", "iOS"),
            body("Login", "Register", "", ""),
        ),
        (query("", "Windows"), body("Logout", "Unregister", "", "")),
        (query("", "Mac"), body("Disconnect", "LinkClose", "", "")),
        (query("", "Web"), body("Disconnect", "TimeOut", "", "")),
        (
            query("", "Linux"),
            body(
                "CustomStatusChange",
                "SetCustomStatus",
                r#"in a \"meeting\" ☕"#,
                "",
            ),
        ),
        (
            query("", "iPad"),
            body(
                "Login",
                "Register",
                "",
                r#"{"Platform":"Android"},{"Platform":"iOS"}"#,
            ),
        ),
    ];
    let mut deliveries = BTreeSet::new();
    for (request, (target, body)) in got.iter().zip(&expected) {
        assert_eq!(&request.target, target);
        assert_eq!(&request.body, body);
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(
            request.header("x-imstatus-signature"),
            format!("sha256={}", hmac_hex("s3cret", request.body.as_bytes()))
        );
        let delivery = request.header("x-imstatus-delivery");
        let (app, sequence) = delivery.split_once('-').expect("<app>-<sequence>");
        assert_eq!(app, APP.to_string());
        assert!(sequence.parse::<u64>().is_ok(), "{delivery}");
        deliveries.insert(delivery.to_string());
    }
    assert_eq!(deliveries.len(), 6, "one delivery id per callback");

    // A URL with a query of its own keeps it; no secret, no signature.
    let unsigned = target(APP, receiver.url("/cb?token=a1"), "");
    hooks.submit(
        &unsigned,
        Callback {
            client_ip: Some("::1".parse().unwrap()),
            ..callback("bob", "Login", "Register")
        },
    );
    let got = receiver.wait_for(7, DEADLINE).await;
    assert_eq!(
        got[6].target,
        format!("/cb?token=a1&SdkAppid={APP}&CallbackCommand=State.StateChange&contenttype=json&ClientIP=%3A%3A1&OptPlatform=Android")
    );
    assert_eq!(got[6].header("x-imstatus-signature"), "");
    drained(&hooks).await;
    let counts = counts_of(&hooks, APP);
    assert_eq!(
        counts,
        WebhookCounts {
            sent: 7,
            ..WebhookCounts::default()
        }
    );
    // One user's callbacks one after another: one kept-alive connection carries them.
    assert!(
        receiver.connections() <= 2,
        "{} connections for 7 callbacks",
        receiver.connections()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_users_callbacks_arrive_in_order_one_at_a_time_through_retries() {
    // Answers take a few milliseconds each, and every fifth is a 503.
    let receiver = Receiver::start(answer(|index| async move {
        tokio::time::sleep(Duration::from_millis((index * 7 % 11) as u64)).await;
        match index % 5 == 2 {
            true => StatusCode::SERVICE_UNAVAILABLE,
            false => StatusCode::OK,
        }
    }))
    .await;
    let hooks = Webhooks::new(WebhookLimits {
        attempts: 20,
        ..quick()
    });
    let to = target(APP, receiver.url("/cb"), "k");
    let users = ["ann", "ben", "cat"];
    for n in 0..50 {
        for user in users {
            hooks.submit(&to, numbered(user, n));
        }
    }
    drained(&hooks).await;
    let counts = counts_of(&hooks, APP);
    assert_eq!(counts.sent, 150);
    assert_eq!(counts.dropped, 0);
    assert!(counts.retries > 0, "the test means to retry: {counts:?}");
    let mut by_user: BTreeMap<String, Vec<receiver::Received>> = BTreeMap::new();
    for request in receiver.received() {
        let user = request.json()["Info"]["To_Account"]
            .as_str()
            .unwrap()
            .to_string();
        by_user.entry(user).or_default().push(request);
    }
    for (user, mut requests) in by_user {
        requests.sort_by_key(|r| r.arrived);
        // One at a time: each request arrives after the one before it was answered.
        for pair in requests.windows(2) {
            assert!(
                pair[1].arrived >= pair[0].answered.unwrap(),
                "{user}: two requests at once"
            );
        }
        let delivered: Vec<usize> = requests
            .iter()
            .filter(|r| r.status == Some(StatusCode::OK))
            .map(|r| r.json()["CustomStatus"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(delivered, (0..50).collect::<Vec<_>>(), "{user}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_holds_back_its_own_user_only() {
    // ann's callbacks always fail; the others' succeed. One request at a time, in all.
    let receiver = Receiver::start(by_request(|request| {
        match request.json()["Info"]["To_Account"] == "ann" {
            true => StatusCode::INTERNAL_SERVER_ERROR,
            false => StatusCode::OK,
        }
    }))
    .await;
    let hooks = Webhooks::new(WebhookLimits {
        concurrency: 1,
        attempts: 3,
        first_backoff: Duration::from_millis(400),
        max_backoff: Duration::from_secs(1),
        ..WebhookLimits::default()
    });
    let to = target(APP, receiver.url("/cb"), "k");
    hooks.submit(&to, numbered("ann", 1));
    hooks.submit(&to, numbered("ann", 2));
    for n in 0..5 {
        hooks.submit(&to, numbered("ben", n));
    }
    drained(&hooks).await;
    let got = receiver.received();
    let of = |user: &str, n: &str| -> Vec<Instant> {
        got.iter()
            .filter(|r| r.json()["Info"]["To_Account"] == user && r.json()["CustomStatus"] == n)
            .map(|r| r.arrived)
            .collect()
    };
    let (ann1, ann2) = (of("ann", "1"), of("ann", "2"));
    assert_eq!((ann1.len(), ann2.len()), (3, 3));
    // ann's second waited for her first to be given up ...
    assert!(ann2[0] > ann1[2]);
    // ... while ben went on during her backoffs.
    for n in 0..5 {
        assert!(of("ben", &n.to_string())[0] < ann1[2], "ben's {n}");
    }
    let counts = counts_of(&hooks, APP);
    assert_eq!((counts.sent, counts.dropped, counts.failed), (5, 2, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_times_out_and_the_callback_is_tried_again() {
    // The first two requests are answered after 5 s, the rest at once.
    let receiver = Receiver::start(answer(|index| async move {
        if index < 2 {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        StatusCode::OK
    }))
    .await;
    let hooks = Webhooks::new(WebhookLimits {
        timeout: Duration::from_millis(1000),
        ..quick()
    });
    hooks.submit(
        &target(APP, receiver.url("/cb"), "k"),
        callback("alice", "Login", "Register"),
    );
    drained(&hooks).await;
    assert_eq!(
        counts_of(&hooks, APP),
        WebhookCounts {
            sent: 1,
            timeouts: 2,
            retries: 2,
            ..WebhookCounts::default()
        }
    );
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let delivery = got[0].header("x-imstatus-delivery");
    assert!(got
        .iter()
        .all(|r| r.header("x-imstatus-delivery") == delivery));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_dropped_and_client_errors_are_not_retried() {
    let failing = Receiver::start(answer(|_| async { StatusCode::INTERNAL_SERVER_ERROR })).await;
    let refusing = Receiver::start(answer(|_| async { StatusCode::BAD_REQUEST })).await;
    let busy_once = Receiver::start(answer(|index| async move {
        match index {
            0 => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        }
    }))
    .await;
    let hooks = Webhooks::new(WebhookLimits {
        attempts: 3,
        ..quick()
    });
    let (a, b, c) = (APP, APP + 1, APP + 2);
    hooks.submit(
        &target(a, failing.url("/"), "k"),
        callback("x", "Login", "Register"),
    );
    hooks.submit(
        &target(a, failing.url("/"), "k"),
        callback("y", "Login", "Register"),
    );
    hooks.submit(
        &target(b, refusing.url("/"), "k"),
        callback("x", "Login", "Register"),
    );
    hooks.submit(
        &target(c, busy_once.url("/"), "k"),
        callback("x", "Login", "Register"),
    );
    drained(&hooks).await;
    assert_eq!(
        hooks.counts(),
        vec![
            (
                a,
                WebhookCounts {
                    failed: 6,
                    retries: 4,
                    dropped: 2,
                    ..WebhookCounts::default()
                }
            ),
            (
                b,
                WebhookCounts {
                    failed: 1,
                    rejected: 1,
                    ..WebhookCounts::default()
                }
            ),
            (
                c,
                WebhookCounts {
                    sent: 1,
                    failed: 1,
                    retries: 1,
                    ..WebhookCounts::default()
                }
            ),
        ]
    );
    assert_eq!(failing.received().len(), 6);
    assert_eq!(refusing.received().len(), 1);
    assert_eq!(busy_once.received().len(), 2);
    let ids: BTreeSet<String> = failing
        .received()
        .iter()
        .map(|r| r.header("x-imstatus-delivery").to_string())
        .collect();
    assert_eq!(ids.len(), 2, "retries keep their delivery id: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_without_waiting() {
    // The receiver holds every request until the test lets it go.
    let gate = Arc::new(Semaphore::new(0));
    let held = gate.clone();
    let receiver = Receiver::start(answer(move |_| {
        let held = held.clone();
        async move {
            held.acquire().await.unwrap().forget();
            StatusCode::OK
        }
    }))
    .await;
    let hooks = Webhooks::new(WebhookLimits {
        queue_per_app: 5,
        concurrency: 1,
        ..quick()
    });
    let to = target(APP, receiver.url("/cb"), "k");
    hooks.submit(&to, numbered("u", 0));
    receiver.wait_for(1, DEADLINE).await;
    // One in flight, four more fit; the other six are dropped, at once.
    let started = std::time::Instant::now();
    for n in 1..11 {
        hooks.submit(&to, numbered("u", n));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(500), "submit waited: {took:?}");
    assert_eq!(
        counts_of(&hooks, APP),
        WebhookCounts {
            dropped: 6,
            queued: 5,
            ..WebhookCounts::default()
        }
    );
    assert_eq!(hooks.room(APP), 0);
    // Another app's queue is its own.
    hooks.submit(&target(APP + 1, receiver.url("/cb"), "k"), numbered("u", 0));
    assert_eq!(counts_of(&hooks, APP + 1).queued, 1);
    gate.add_permits(1_000);
    drained(&hooks).await;
    assert_eq!(
        counts_of(&hooks, APP),
        WebhookCounts {
            sent: 5,
            dropped: 6,
            ..WebhookCounts::default()
        }
    );
    assert_eq!(counts_of(&hooks, APP + 1).sent, 1);
    assert_eq!(hooks.room(APP), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_receivers_are_verified_against_the_roots_given() {
    let ca = DevCa::new("webhook test CA");
    let receiver = Receiver::start_tls(ok(), &ca.server_cert(&["localhost", "127.0.0.1"])).await;
    let root = CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).unwrap();
    let trusting = Webhooks::new(WebhookLimits {
        extra_roots: vec![root],
        ..quick()
    });
    let url = receiver.url("/cb");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    trusting.submit(
        &target(APP, url.clone(), "k"),
        callback("alice", "Login", "Register"),
    );
    drained(&trusting).await;
    assert_eq!(counts_of(&trusting, APP).sent, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["Info"]["To_Account"], "alice");

    // Without the CA the receiver's certificate is not trusted: no request gets through.
    let strict = Webhooks::new(WebhookLimits {
        attempts: 2,
        ..quick()
    });
    strict.submit(
        &target(APP, url, "k"),
        callback("alice", "Login", "Register"),
    );
    drained(&strict).await;
    assert_eq!(
        counts_of(&strict, APP),
        WebhookCounts {
            failed: 2,
            retries: 1,
            dropped: 1,
            ..WebhookCounts::default()
        }
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovered_callbacks_are_paced_and_do_not_hold_back_live_ones() {
    let receiver = Receiver::start(ok()).await;
    let hooks = Webhooks::new(WebhookLimits {
        recovered_per_second: 100,
        ..quick()
    });
    let to = target(APP, receiver.url("/cb"), "k");
    let recovered = |user: &str| Callback {
        recovered: true,
        ..callback(user, "Disconnect", "TimeOut")
    };
    // A restart: 50 devices were online. zed is among them, and logs in again at once.
    for n in 0..50 {
        let user = if n == 25 {
            "zed".into()
        } else {
            format!("r{n}")
        };
        hooks.submit(&to, recovered(&user));
    }
    hooks.submit(&to, callback("zed", "Login", "Register"));
    hooks.submit(&to, callback("live", "Login", "Register"));
    let got = receiver.wait_for(52, DEADLINE).await;
    drained(&hooks).await;
    let arrivals = |action: &str, user: Option<&str>| -> Vec<Instant> {
        got.iter()
            .filter(|r| {
                let json = r.json();
                json["Info"]["Action"] == action
                    && user.is_none_or(|u| json["Info"]["To_Account"] == u)
            })
            .map(|r| r.arrived)
            .collect()
    };
    let paced = arrivals("Disconnect", None);
    assert_eq!(paced.len(), 50);
    let (first, last) = (paced[0], *paced.iter().max().unwrap());
    // 50 at 100 a second, 5 at once: 0.45 s at least.
    assert!(
        last - first >= Duration::from_millis(350),
        "50 recovered callbacks in {:?}",
        last - first
    );
    let live = arrivals("Login", Some("live"))[0];
    assert!(live < last, "the live callback waited for the restart's");
    let zed_out = arrivals("Disconnect", Some("zed"))[0];
    let zed_in = arrivals("Login", Some("zed"))[0];
    assert!(
        zed_out < zed_in,
        "zed's Login overtook his recovered Disconnect"
    );
    assert_eq!(counts_of(&hooks, APP).sent, 52);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_queued_is_drained_at_once_and_a_target_without_url_is_ignored() {
    let hooks = Webhooks::new(WebhookLimits::default());
    drained(&hooks).await;
    hooks.submit(
        &target(APP, String::new(), "k"),
        callback("a", "Login", "Register"),
    );
    drained(&hooks).await;
    assert!(hooks.counts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_queued_is_still_delivered_after_the_webhooks_are_dropped() {
    let receiver = Receiver::start(answer(|index| async move {
        // The first is still in flight when the drop comes.
        if index == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        StatusCode::OK
    }))
    .await;
    let hooks = Webhooks::new(quick());
    let to = target(APP, receiver.url("/cb"), "k");
    for n in 0..3 {
        hooks.submit(&to, numbered("u", n));
    }
    drop(hooks);
    receiver.wait_for(3, DEADLINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_for_one_user_does_not_hold_back_another() {
    // ann's request is held until the test lets it go.
    let gate = Arc::new(Semaphore::new(0));
    let held = gate.clone();
    let receiver = Receiver::start(Arc::new(move |_, request: receiver::Received| {
        let held = held.clone();
        let ann = request.json()["Info"]["To_Account"] == "ann";
        Box::pin(async move {
            if ann {
                held.acquire().await.unwrap().forget();
            }
            StatusCode::OK
        })
    }))
    .await;
    let hooks = Webhooks::new(WebhookLimits {
        concurrency: 2,
        ..quick()
    });
    let to = target(APP, receiver.url("/cb"), "k");
    hooks.submit(&to, numbered("ann", 0));
    receiver.wait_for(1, DEADLINE).await;
    for n in 0..3 {
        hooks.submit(&to, numbered("ben", n));
    }
    let got = receiver.wait_for(4, DEADLINE).await;
    assert!(got[0].answered.is_none(), "ann's is still held");
    gate.add_permits(1);
    drained(&hooks).await;
    assert_eq!(counts_of(&hooks, APP).sent, 4);
}
