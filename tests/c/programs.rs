//! What the test programs of `tests/c/` and `tests/cpp/` are given: a real server with the apps
//! they use, and the environment naming it, the apps, the UserSigs and the fake servers (the
//! variables are listed in `tests/c/common.h` and `tests/cpp/harness.h`). Used by
//! `tests/c_api.rs` and `tests/cpp_api.rs` (the programs on Linux) and by `tests/windows.rs` (the
//! same programs on Windows, under wine).
#![allow(dead_code)]

use imstatus_server::engine::{AppSettings, Edition};
use imstatus_server::usersig;

use crate::common::tls::TlsWorld;
use crate::common::{self, TestServer, APP, KEY};
use crate::support;

/// The users of the C programs.
pub const C_USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin"];
/// The seed's IDs and the users of the C++ programs.
pub const CPP_USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "userid1", "userid2", "userid3",
];
/// A Basic edition app (both switches on): other users' statuses are 7013.
pub const BASIC_APP: u32 = APP + 1;
/// An Ultimate app with the status switch off: other users' statuses are 72001.
pub const NOSWITCH_APP: u32 = APP + 2;

/// How fast the programs run where they run: how long the short UserSig (made right before a
/// program starts, for the expiry tests) lives, and `IMS_TEST_TIME_SCALE`, which stretches every
/// wait of the programs.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub short_sig_secs: u64,
    pub time_scale: u32,
}

impl Pace {
    /// Natively, or under valgrind (`IMS_VALGRIND=1`), which is much slower.
    pub fn native() -> Pace {
        if support::under_valgrind() {
            Pace {
                short_sig_secs: 40,
                time_scale: 6,
            }
        } else {
            Pace {
                short_sig_secs: 5,
                time_scale: 1,
            }
        }
    }
}

/// The server of a C program: one Ultimate app, both switches on.
pub fn c_server() -> TestServer {
    TestServer::start(vec![common::app()])
}

/// The server of a C++ program: that app, a Basic one and one with the status switch off.
pub fn cpp_server() -> TestServer {
    let mut basic = AppSettings::new(BASIC_APP, KEY);
    basic.edition = Edition::Basic;
    basic.status_enabled = true;
    basic.friend_status_notify = true;
    let mut noswitch = AppSettings::new(NOSWITCH_APP, KEY);
    noswitch.status_enabled = false;
    TestServer::start(vec![common::app(), basic, noswitch])
}

/// What every program gets: the server, the app, the fake servers, the time scale.
fn base_env(server: &TestServer, pace: Pace) -> Vec<(String, String)> {
    let addr = server.addr().to_string();
    vec![
        ("IMS_TEST_SERVER".to_string(), addr.clone()),
        ("IMSTATUS_SERVER".to_string(), addr),
        ("IMS_TEST_APP_ID".to_string(), APP.to_string()),
        (
            "IMS_TEST_STALL_SERVER".to_string(),
            support::stall_server().to_string(),
        ),
        (
            "IMS_TEST_DEAD_SERVER".to_string(),
            support::dead_address().to_string(),
        ),
        (
            "IMS_TEST_TIME_SCALE".to_string(),
            pace.time_scale.to_string(),
        ),
    ]
}

/// The environment of a C program against `server` (from [`c_server`]). It holds a UserSig that
/// expires within seconds: make it right before the program starts.
pub fn c_env(server: &TestServer, pace: Pace) -> Vec<(String, String)> {
    let mut env = base_env(server, pace);
    for user in C_USERS {
        env.push((format!("IMS_TEST_SIG_{user}"), common::sig(user)));
    }
    // Made last, right before the run, since it expires within seconds.
    env.push((
        "IMS_TEST_SHORT_SIG_dave".to_string(),
        usersig::generate(APP, KEY, "dave", pace.short_sig_secs, common::now_secs()),
    ));
    env
}

/// The environment of a C++ program against `server` (from [`cpp_server`]). It holds a UserSig
/// that expires within seconds: make it right before the program starts.
pub fn cpp_env(server: &TestServer, pace: Pace) -> Vec<(String, String)> {
    let mut env = base_env(server, pace);
    env.push(("IMS_TEST_BASIC_APP_ID".to_string(), BASIC_APP.to_string()));
    env.push((
        "IMS_TEST_NOSWITCH_APP_ID".to_string(),
        NOSWITCH_APP.to_string(),
    ));
    let now = common::now_secs();
    for user in CPP_USERS {
        for (prefix, app) in [
            ("IMS_TEST_SIG_", APP),
            ("IMS_TEST_BASIC_SIG_", BASIC_APP),
            ("IMS_TEST_NOSWITCH_SIG_", NOSWITCH_APP),
        ] {
            env.push((
                format!("{prefix}{user}"),
                usersig::generate(app, KEY, user, 3600, now),
            ));
        }
    }
    // Made last, right before the run, since it expires within seconds.
    env.push((
        "IMS_TEST_SHORT_SIG_erin".to_string(),
        usersig::generate(APP, KEY, "erin", pace.short_sig_secs, common::now_secs()),
    ));
    env
}

/// The environment of a TLS program (`tests/c/tls.c`, `tests/cpp/tls.cpp`): [`c_env`] of the
/// world's server (its plaintext listener), and the world's servers, CAs and pins
/// (`IMS_TEST_TLS_*`).
pub fn tls_env(world: &TlsWorld, pace: Pace) -> Vec<(String, String)> {
    let mut env = world.env();
    env.extend(c_env(&world.server, pace));
    env
}

/// The C programs (`tests/c/<name>.c`, each built with `tests/c/common.c`): every one that runs
/// against a server.
pub const C_PROGRAMS: &[&str] = &[
    "api",
    "bad_input",
    "listener",
    "free_in_flight",
    "dispatcher",
    "log",
    "async_refusals",
    "callback_fail",
    "shutdown",
    "platform",
    "extensions",
];

/// The C++ programs (`tests/cpp/<name>.cpp`, each built with `tests/cpp/harness.cpp`), but the
/// seed's samples, which are built their own way.
pub const CPP_PROGRAMS: &[&str] = &[
    "values",
    "api",
    "errors",
    "listener",
    "lifetimes",
    "extensions",
];

/// The C entry points `tests/cpp/seed_samples.cpp` watches with `-Wl,--wrap=...`.
pub const SEED_WRAPPED: &[&str] = &[
    "ims_client_set_self_status",
    "ims_client_get_user_status",
    "ims_client_subscribe_user_status",
    "ims_client_unsubscribe_user_status",
    "ims_client_add_listener",
    "ims_client_get_login_user",
];

/// The linker flag that wraps [`SEED_WRAPPED`].
pub fn seed_wrap_flag() -> String {
    format!("-Wl,--wrap={}", SEED_WRAPPED.join(",--wrap="))
}
