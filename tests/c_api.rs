//! The C ABI from C: each program of `tests/c/` is compiled with gcc (`-std=c11 -Wall -Wextra
//! -Wpedantic -Werror`), linked against the static library, and run against a real server started
//! here on port 0. With `IMS_VALGRIND=1` they run under valgrind and must be clean.
//!
//! covers: B1 (bad input across the C ABI), C1, Q1, Q3, S2, S4, S6, L2, N1, D3 (events); and
//! the asynchronous refusals (`ims_config_set_async_refusals`, `ims_callback_fail`),
//! `ims_client_shutdown`, LOGINING right after `ims_client_login`, `ims_client_get_server_time`;
//! the default platform and the threads' names as the system reports them (`platform.c`); TLS
//! with real certificates (`tls.c`).
//! `tests/windows.rs` runs the same programs on Windows (mingw-w64, wine).

mod common;
#[path = "c/programs.rs"]
mod programs;
#[path = "c/support.rs"]
mod support;

use programs::Pace;

/// Starts a real server and runs `tests/c/<name>.c` against it.
fn run_c(name: &str) {
    let exe = support::build_program(name);
    let server = programs::c_server();
    let env = programs::c_env(&server, Pace::native());
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

#[test]
fn c_platform_and_thread_names() {
    run_c("platform");
}

#[test]
fn c_presence_extensions() {
    // covers: X1, X2, X4, X5, X6, X9, X10 (through the C ABI)
    run_c("extensions");
}

#[test]
fn c_tls() {
    let exe = support::build_program("tls");
    let world = common::tls::TlsWorld::start();
    support::run_program(&exe, &programs::tls_env(&world, Pace::native()));
}
