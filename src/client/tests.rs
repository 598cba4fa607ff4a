//! Tests of the client that need no server: callback threading, ordering, refusal of blocking
//! calls on the callback thread, shutdown, and failing to connect.

use std::net::TcpListener;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

/// A port nothing listens on: bound, then released.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr.to_string()
}

fn client_for(addr: &str) -> Client {
    let mut config = ClientConfig::new(1400000000);
    config.server_addr = Some(addr.to_owned());
    Client::new(config).unwrap()
}

/// Where a callback ran, and what it got.
#[derive(Debug)]
struct Call {
    index: usize,
    thread: ThreadId,
    thread_name: Option<String>,
    code: i32,
}

fn recorder(tx: &Sender<Call>, index: usize) -> impl FnOnce(Result<(), ClientError>) + Send {
    let tx = tx.clone();
    move |result: Result<(), ClientError>| {
        let current = std::thread::current();
        tx.send(Call {
            index,
            thread: current.id(),
            thread_name: current.name().map(str::to_owned),
            code: result.err().map_or(0, |e| e.code),
        })
        .unwrap();
    }
}

#[test]
fn immediate_errors_go_through_the_callback_thread_in_call_order() {
    let client = client_for(&closed_port());
    let (tx, rx) = channel();
    let calls = 30;
    for index in 0..calls {
        let done = recorder(&tx, index);
        match index % 4 {
            0 => client.logout(done),
            1 => client.set_self_status(Some("x"), done),
            2 => client.subscribe_user_status(vec!["a".into()], done),
            _ => client.unsubscribe_user_status(None, done),
        }
    }
    let mut callback_thread = None;
    for index in 0..calls {
        let call = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(call.index, index, "callbacks out of order");
        assert_eq!(call.code, codes::ERR_SDK_NOT_LOGGED_IN);
        assert_ne!(call.thread, std::thread::current().id());
        assert_eq!(call.thread_name.as_deref(), Some(CALLBACK_THREAD_NAME));
        assert_eq!(*callback_thread.get_or_insert(call.thread), call.thread);
    }
    assert_eq!(client.login_status(), LoginStatus::Logout);
    assert_eq!(client.login_user(), None);
}

#[test]
fn a_callback_never_runs_inside_the_call() {
    let client = client_for(&closed_port());
    let (go_tx, go_rx) = channel::<()>();
    let (tx, rx) = channel();
    // The callback waits for a signal sent only after the call returned: run inline, it would
    // time out waiting and report so.
    client.get_user_status(vec!["a".into()], move |result| {
        let after_return = go_rx.recv_timeout(Duration::from_secs(2)).is_ok();
        tx.send((after_return, result.unwrap_err().code)).unwrap();
    });
    go_tx.send(()).unwrap();
    let (after_return, code) = rx.recv_timeout(WAIT).unwrap();
    assert!(after_return);
    assert_eq!(code, codes::ERR_SDK_NOT_LOGGED_IN);
}

#[test]
fn blocking_calls_are_refused_on_the_callback_thread() {
    let client = Arc::new(client_for(&closed_port()));
    let (tx, rx) = channel();
    let inner = Arc::clone(&client);
    client.logout(move |_| {
        let refused = inner.get_user_status_blocking(vec!["a".into()]);
        let refused_login = inner.login_blocking("a", "sig");
        tx.send((refused, refused_login)).unwrap();
    });
    let (refused, refused_login) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(refused.unwrap_err().code, codes::ERR_SDK_INVALID_OPERATION);
    assert_eq!(
        refused_login.unwrap_err().code,
        codes::ERR_SDK_INVALID_OPERATION
    );
    // Elsewhere they work (and answer like the callback form).
    assert_eq!(
        client.logout_blocking().unwrap_err().code,
        codes::ERR_SDK_NOT_LOGGED_IN
    );
}

#[derive(Debug, PartialEq)]
enum Event {
    Connecting,
    ConnectSuccess,
    ConnectFailed(i32),
}

struct Recorder(Mutex<Sender<Event>>);

impl Listener for Recorder {
    fn on_connecting(&self) {
        let _ = self.0.lock().unwrap().send(Event::Connecting);
    }
    fn on_connect_success(&self) {
        let _ = self.0.lock().unwrap().send(Event::ConnectSuccess);
    }
    fn on_connect_failed(&self, code: i32, _desc: &str) {
        let _ = self.0.lock().unwrap().send(Event::ConnectFailed(code));
    }
}

struct Panicker;

impl Listener for Panicker {
    fn on_connecting(&self) {
        panic!("listener bug");
    }
}

fn recording_listener() -> (Arc<dyn Listener>, Receiver<Event>) {
    let (tx, rx) = channel();
    (Arc::new(Recorder(Mutex::new(tx))), rx)
}

#[test]
fn refused_connection_fails_the_login_with_9508_and_reports_it() {
    let client = client_for(&closed_port());
    // A panicking listener registered first must not keep the others from hearing events.
    client.add_listener(Arc::new(Panicker));
    let (listener, events) = recording_listener();
    client.add_listener(Arc::clone(&listener));
    client.add_listener(Arc::clone(&listener));
    let result = client.login_blocking("alice", "sig");
    assert_eq!(result.unwrap_err().code, codes::ERR_SDK_NET_DISCONNECT);
    assert_eq!(events.recv_timeout(WAIT).unwrap(), Event::Connecting);
    assert_eq!(
        events.recv_timeout(WAIT).unwrap(),
        Event::ConnectFailed(codes::ERR_SDK_NET_DISCONNECT)
    );
    assert_eq!(client.login_status(), LoginStatus::Logout);
    // Not retried: a later call is simply "not logged in".
    assert_eq!(
        client.set_self_status_blocking(None).unwrap_err().code,
        codes::ERR_SDK_NOT_LOGGED_IN
    );
    // Added twice, heard once; removed, heard no more.
    assert!(events.try_recv().is_err());
    client.remove_listener(&listener);
    let _ = client.login_blocking("alice", "sig");
    assert!(events.try_recv().is_err());
}

#[test]
fn shutdown_fires_pending_callbacks_once_with_6013() {
    // A listener that accepts (the kernel does it for us) but never answers the handshake.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = ClientConfig::new(1);
    config.server_addr = Some(silent.local_addr().unwrap().to_string());
    config.request_timeout = Duration::from_secs(60);
    let client = Client::new(config).unwrap();
    let (listener, events) = recording_listener();
    client.add_listener(listener);
    let (tx, rx) = channel();
    let login_tx = tx.clone();
    client.login("alice", "sig", move |r| {
        login_tx.send(("login", r.map_err(|e| e.code))).unwrap()
    });
    assert_eq!(events.recv_timeout(WAIT).unwrap(), Event::Connecting);
    assert_eq!(client.login_status(), LoginStatus::Logining);
    let second = tx.clone();
    client.login("alice", "sig", move |r| {
        second.send(("second", r.map_err(|e| e.code))).unwrap()
    });
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        ("second", Err(codes::ERR_IN_PROGESS))
    );

    client.shutdown();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        ("login", Err(codes::ERR_SDK_NOT_INITIALIZED))
    );
    client.shutdown();
    let later = tx.clone();
    let caller = std::thread::current().id();
    client.get_user_status(vec!["a".into()], move |r| {
        assert_ne!(std::thread::current().id(), caller);
        later
            .send(("later", r.map(|_| ()).map_err(|e| e.code)))
            .unwrap()
    });
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        ("later", Err(codes::ERR_SDK_NOT_INITIALIZED))
    );
    assert_eq!(
        client.login_blocking("a", "b").unwrap_err().code,
        codes::ERR_SDK_NOT_INITIALIZED
    );
    assert_eq!(client.login_status(), LoginStatus::Logout);
    drop(client);
    // Exactly once: nothing else arrives, and every sender is gone with the client.
    drop(tx);
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
}

#[test]
fn shutdown_inside_a_callback_and_inside_async_code_does_not_deadlock() {
    let client = Arc::new(client_for(&closed_port()));
    let (tx, rx) = channel();
    let inner = Arc::clone(&client);
    client.logout(move |_| {
        inner.shutdown();
        tx.send(inner.login_status()).unwrap();
    });
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), LoginStatus::Logout);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let other = client_for(&closed_port());
    runtime.block_on(async move {
        other.shutdown();
        drop(other);
    });
}

#[test]
fn dropping_the_client_on_its_own_callback_thread_is_safe() {
    let client = client_for(&closed_port());
    let (tx, rx) = channel();
    let holder = Arc::new(Mutex::new(Some(client)));
    let inner = Arc::clone(&holder);
    let guard = holder.lock().unwrap();
    guard.as_ref().unwrap().logout(move |_| {
        // The last owner drops the client here, on the callback thread.
        let client = inner.lock().unwrap().take();
        drop(client);
        tx.send(()).unwrap();
    });
    drop(guard);
    rx.recv_timeout(WAIT).unwrap();
}

#[test]
fn invalid_config_is_refused() {
    let mut config = ClientConfig::new(1);
    config.request_timeout = Duration::ZERO;
    let err = Client::new(config).err().unwrap();
    assert_eq!(err.code, codes::ERR_INVALID_PARAMETERS);
}

#[test]
fn device_id_is_stable_printable_and_unique() {
    let a = client_for(&closed_port());
    let b = client_for(&closed_port());
    assert_eq!(a.device_id(), a.device_id());
    assert_ne!(a.device_id(), b.device_id());
    assert!(a.device_id().len() <= 64);
    assert!(a.device_id().bytes().all(|c| c.is_ascii_graphic()));
}

#[test]
fn client_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client>();
}

#[test]
fn refusals_arrive_in_call_order_with_the_drivers_own_answers() {
    let client = client_for(&closed_port());
    let (tx, rx) = channel();
    let caller = std::thread::current().id();
    for index in 0..12 {
        let done = recorder(&tx, index);
        match index % 3 {
            0 => client.logout(done),
            1 => client.refuse(
                ClientError::new(codes::ERR_INVALID_PARAMETERS, "user_id is NULL"),
                done,
            ),
            _ => client.set_self_status(None, done),
        }
    }
    for index in 0..12 {
        let call = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(call.index, index, "callbacks out of order");
        let expected = if index % 3 == 1 {
            codes::ERR_INVALID_PARAMETERS
        } else {
            codes::ERR_SDK_NOT_LOGGED_IN
        };
        assert_eq!(call.code, expected);
        assert_ne!(call.thread, caller);
        assert_eq!(call.thread_name.as_deref(), Some(CALLBACK_THREAD_NAME));
    }
}

#[test]
fn a_refusal_after_shutdown_still_reports_its_own_error_once() {
    let client = client_for(&closed_port());
    client.shutdown();
    let (tx, rx) = channel();
    client.refuse(
        ClientError::new(codes::ERR_INVALID_PARAMETERS, "user_ids[1] is NULL"),
        move |r: Result<(), ClientError>| tx.send(r.unwrap_err()).unwrap(),
    );
    let error = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(error.code, codes::ERR_INVALID_PARAMETERS);
    assert_eq!(error.desc, "user_ids[1] is NULL");
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
}

#[test]
fn shutdown_returns_after_the_callbacks_it_ended_have_run() {
    // A listener that accepts but never answers: the login stays in flight.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = client_for(&silent.local_addr().unwrap().to_string());
    let ran = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&ran);
    client.login("alice", "sig", move |r| {
        // Slow on purpose: shutdown must wait for it, not merely queue it.
        std::thread::sleep(Duration::from_millis(200));
        log.lock().unwrap().push(r.unwrap_err().code);
    });
    client.shutdown();
    assert_eq!(*ran.lock().unwrap(), vec![codes::ERR_SDK_NOT_INITIALIZED]);
    assert!(client.is_shut_down());
    assert_eq!(client.login_status(), LoginStatus::Logout);
}

#[test]
fn login_status_is_logining_as_soon_as_login_returns() {
    // A listener that accepts but never answers: the login stays in flight. The status is read
    // right after `login` returns, before the driver had a chance to run: each round would
    // likely read LOGOUT if the driver alone set LOGINING.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    for _ in 0..20 {
        let client = client_for(&silent.local_addr().unwrap().to_string());
        assert_eq!(client.login_status(), LoginStatus::Logout);
        client.login("alice", "sig", |_| {});
        assert_eq!(client.login_status(), LoginStatus::Logining);
        client.shutdown();
        assert_eq!(client.login_status(), LoginStatus::Logout);
    }
    // A login that fails ends LOGOUT again.
    let client = client_for(&closed_port());
    client.login("alice", "sig", |_| {});
    assert_eq!(client.login_status(), LoginStatus::Logining);
    assert!(client.logout_blocking().is_err());
    let deadline = std::time::Instant::now() + WAIT;
    while client.login_status() != LoginStatus::Logout {
        assert!(std::time::Instant::now() < deadline, "still logging in");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn server_time_is_the_local_clock_before_any_login() {
    let client = client_for(&closed_port());
    let before = local_unix_ms();
    let answer = client.server_time_ms();
    let after = local_unix_ms();
    assert!(
        before <= answer && answer <= after,
        "{before} {answer} {after}"
    );
    assert!(!client.server_time_is_known());
}
