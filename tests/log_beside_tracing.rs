//! `ims_set_log_callback` in a process that already has a global `tracing` subscriber (another
//! Rust library installed one): the library logs through a logger of its own, so the callback
//! is set and receives the library's lines. (Earlier versions forwarded `tracing` events and
//! refused here with 6015.) A test binary of its own: the global subscriber is process-wide.

use std::ffi::{c_char, c_void, CStr};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::time::Duration;

use imstatus::client::{Client, ClientConfig};
use imstatus::ffi::{
    ims_log_callback, ims_set_log_callback, IMS_LOG_LEVEL_INFO, IMS_LOG_LEVEL_NONE,
};

const WAIT: Duration = Duration::from_secs(10);

/// Where `on_log` sends what it gets: (level, line).
static LINES: Mutex<Option<Sender<(i32, String)>>> = Mutex::new(None);

unsafe extern "C" fn on_log(_: *mut c_void, level: i32, message: *const c_char) {
    // SAFETY: the library passes a NUL-terminated string, valid during the call.
    let line = unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned();
    if let Some(tx) = LINES.lock().unwrap().as_ref() {
        let _ = tx.send((level, line));
    }
}

#[test]
fn the_log_callback_works_beside_a_global_tracing_subscriber() {
    tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())
        .expect("no global subscriber yet in this test binary");
    let (tx, rx) = channel();
    *LINES.lock().unwrap() = Some(tx);
    let callback = ims_log_callback {
        user_data: std::ptr::null_mut(),
        on_log: Some(on_log),
        free_user_data: None,
    };
    assert_eq!(
        unsafe { ims_set_log_callback(IMS_LOG_LEVEL_INFO, callback) },
        0
    );

    // A login to a port nothing listens on logs (at INFO) that it starts and that it failed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = ClientConfig::new(1400000000);
    config.server_addr = Some(port.local_addr().unwrap().to_string());
    drop(port);
    let client = Client::new(config).unwrap();
    assert!(client.login_blocking("alice", "sig").is_err());
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|(_, l): &(i32, String)| l.contains("login failed"))
    {
        let line = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no 'login failed' line; got {seen:?}"));
        seen.push(line);
    }
    assert!(
        seen.iter().any(|(_, l)| l == "logging in as alice"),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|(level, _)| *level >= IMS_LOG_LEVEL_INFO),
        "{seen:?}"
    );

    let off = ims_log_callback {
        user_data: std::ptr::null_mut(),
        on_log: None,
        free_user_data: None,
    };
    assert_eq!(unsafe { ims_set_log_callback(IMS_LOG_LEVEL_NONE, off) }, 0);
}
