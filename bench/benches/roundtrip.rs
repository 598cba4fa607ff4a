//! The SDK's round trip: `getUserStatus([own ID])` on a logged-in client, answered by a real
//! server over loopback TCP, once through the Rust API (`Client::get_user_status_blocking`)
//! and once through the C ABI (`ims_client_get_user_status` with a C callback, called here
//! through the same `extern "C"` functions `libimstatus.so` exports). `IMSTATUS_BENCH_ADDR` (with `IMSTATUS_BENCH_APP` and
//! `IMSTATUS_BENCH_KEY`) points it at a running server (bench/run.sh pins that one to its own
//! core); without it an in-process server is started.

use std::ffi::{c_char, c_void, CString};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use imstatus::client::{Client, ClientConfig};
use imstatus_server::engine::AppSettings;
use imstatus_server::{self as server, Config, ServerHandle};

const APP: u32 = 1_400_000_001;
const KEY: &str = "bench-secret-key";

struct Target {
    addr: String,
    app: u32,
    key: String,
    _server: Option<ServerHandle>,
}

fn target() -> Target {
    if let Ok(addr) = std::env::var("IMSTATUS_BENCH_ADDR") {
        let app = std::env::var("IMSTATUS_BENCH_APP")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(APP);
        let key = std::env::var("IMSTATUS_BENCH_KEY").unwrap_or_else(|_| KEY.into());
        return Target {
            addr,
            app,
            key,
            _server: None,
        };
    }
    let mut app = AppSettings::new(APP, KEY);
    app.status_enabled = true;
    let server = server::spawn(Config {
        listen: "127.0.0.1:0".into(),
        admin_listen: String::new(),
        admin_token: Some("unused".into()),
        data_dir: None,
        apps: vec![app],
        limits: Default::default(),
        ..Config::default()
    })
    .expect("server starts");
    Target {
        addr: server.addr().to_string(),
        app: APP,
        key: KEY.into(),
        _server: Some(server),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn rust_client(c: &mut Criterion) {
    let t = target();
    let mut config = ClientConfig::new(t.app);
    config.server_addr = Some(t.addr.clone());
    let client = Client::new(config).expect("client");
    let sig = imstatus_server::usersig::generate(t.app, &t.key, "rt-rust", 3600, now_secs());
    client.login_blocking("rt-rust", &sig).expect("login");
    let own = vec!["rt-rust".to_string()];
    c.bench_function("roundtrip_rust_client_get_own_status", |b| {
        b.iter(|| {
            let statuses = client
                .get_user_status_blocking(own.clone())
                .expect("get_user_status");
            assert_eq!(statuses.len(), 1);
        })
    });
    let _ = client.logout_blocking();
}

/// Where a C callback leaves its result: the count of statuses, or the negated error code.
struct Waiter {
    result: Mutex<Option<i64>>,
    ready: Condvar,
}

impl Waiter {
    fn set(&self, value: i64) {
        let mut r = self.result.lock().unwrap_or_else(|e| e.into_inner());
        *r = Some(value);
        self.ready.notify_one();
    }

    fn wait(&self) -> i64 {
        let mut r = self.result.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: the library fires exactly one callback per accepted call (10 s request
        // timeout at most).
        loop {
            if let Some(v) = r.take() {
                return v;
            }
            r = self.ready.wait(r).unwrap_or_else(|e| e.into_inner());
        }
    }
}

unsafe extern "C" fn on_done(user_data: *mut c_void) {
    // SAFETY: user_data is the leaked Waiter of `c_abi`.
    unsafe { &*(user_data as *const Waiter) }.set(0);
}

unsafe extern "C" fn on_statuses(
    user_data: *mut c_void,
    _statuses: *const imstatus::ffi::ims_user_status,
    count: usize,
) {
    // SAFETY: user_data is the leaked Waiter of `c_abi`.
    unsafe { &*(user_data as *const Waiter) }.set(count as i64);
}

unsafe extern "C" fn on_error(user_data: *mut c_void, code: i32, _desc: *const c_char) {
    // SAFETY: user_data is the leaked Waiter of `c_abi`.
    unsafe { &*(user_data as *const Waiter) }.set(-i64::from(code.unsigned_abs()));
}

fn c_abi(c: &mut Criterion) {
    use imstatus::ffi::*;
    let t = target();
    // Lives for the whole process: callbacks may touch it until the last one returned.
    let waiter: &'static Waiter = Box::leak(Box::new(Waiter {
        result: Mutex::new(None),
        ready: Condvar::new(),
    }));
    let ud = waiter as *const Waiter as *mut c_void;
    let addr = CString::new(t.addr.clone()).expect("address");
    let user = CString::new("rt-c").expect("user");
    let sig = CString::new(imstatus_server::usersig::generate(
        t.app,
        &t.key,
        "rt-c",
        3600,
        now_secs(),
    ))
    .expect("sig");
    let ids = [user.as_ptr()];
    let mut config: *mut ims_config = std::ptr::null_mut();
    let mut client: *mut ims_client = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; the strings outlive it; callbacks use the
    // leaked waiter only.
    unsafe {
        assert_eq!(ims_config_new(t.app, &mut config), IMS_OK);
        assert_eq!(ims_config_set_server_addr(config, addr.as_ptr()), IMS_OK);
        assert_eq!(ims_client_new(config, &mut client), IMS_OK);
        ims_config_free(config);
        let done = ims_callback {
            user_data: ud,
            on_success: Some(on_done),
            on_error: Some(on_error),
            free_user_data: None,
        };
        assert_eq!(
            ims_client_login(client, user.as_ptr(), sig.as_ptr(), done),
            IMS_OK
        );
        assert_eq!(waiter.wait(), 0, "C ABI login failed");
    }
    c.bench_function("roundtrip_c_abi_get_own_status", |b| {
        b.iter(|| {
            let callback = ims_user_status_callback {
                user_data: ud,
                on_success: Some(on_statuses),
                on_error: Some(on_error),
                free_user_data: None,
            };
            // SAFETY: as above; `ids` points to one NUL-terminated string.
            let r = unsafe { ims_client_get_user_status(client, ids.as_ptr(), 1, callback) };
            assert_eq!(r, IMS_OK);
            assert_eq!(waiter.wait(), 1);
        })
    });
    // SAFETY: the last call of this client; every callback has fired.
    unsafe { ims_client_free(client) };
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = rust_client, c_abi
}
criterion_main!(benches);
