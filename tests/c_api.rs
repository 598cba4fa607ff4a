//! The C ABI from C: each program of `tests/c/` is compiled with gcc (`-std=c11 -Wall -Wextra
//! -Wpedantic -Werror`), linked against the static library, and run against a real server started
//! here on port 0. With `IMS_VALGRIND=1` they run under valgrind and must be clean.
//!
//! covers: B1 (bad input across the C ABI), C1, Q1, Q3, S2, S4, S6, L2, N1, D3 (events); and
//! the asynchronous refusals (`ims_config_set_async_refusals`, `ims_callback_fail`),
//! `ims_client_shutdown`, LOGINING right after `ims_client_login`, `ims_client_get_server_time`.

mod common;
#[path = "c/support.rs"]
mod support;

use common::{TestServer, APP, KEY};
use imstatus_server::usersig;

const USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin"];

/// Starts a real server and runs `tests/c/<name>.c` against it.
fn run_c(name: &str) {
    let exe = support::build_program(name);
    let server = TestServer::start(vec![common::app()]);
    let addr = server.addr().to_string();
    let mut env = vec![
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
    ];
    for user in USERS {
        env.push((format!("IMS_TEST_SIG_{user}"), common::sig(user)));
    }
    // Made last, right before the run, since it expires within seconds.
    let short = if support::under_valgrind() { 40 } else { 5 };
    env.push((
        "IMS_TEST_SHORT_SIG_dave".to_string(),
        usersig::generate(APP, KEY, "dave", short, common::now_secs()),
    ));
    support::run_program(&exe, &env);
    drop(server);
}

#[test]
fn c_every_call() {
    run_c("api");
}

#[test]
fn c_bad_input() {
    run_c("bad_input");
}

#[test]
fn c_listener_events() {
    run_c("listener");
}

#[test]
fn c_free_with_calls_in_flight() {
    run_c("free_in_flight");
}

#[test]
fn c_dispatcher_hook() {
    run_c("dispatcher");
}

#[test]
fn c_log_callback() {
    run_c("log");
}

#[test]
fn c_async_refusals() {
    run_c("async_refusals");
}

#[test]
fn c_callback_fail_without_a_client() {
    run_c("callback_fail");
}

#[test]
fn c_shutdown_keeps_the_handle() {
    run_c("shutdown");
}
