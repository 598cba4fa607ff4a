//! The C++ V2TIM wrapper (`bindings/cpp`, header-only over the C ABI): each program of
//! `tests/cpp/` is compiled with g++ (`-std=c++17 -Wall -Wextra -Wpedantic -Werror`) together
//! with `tests/cpp/harness.cpp`, linked against the static library, and run against a real
//! server started here on port 0. With `IMS_VALGRIND=1` they run under valgrind
//! (`--error-exitcode=1 --leak-check=full`) and must be clean, as the C programs do
//! (`tests/c/support.rs` does the compiling, running and valgrind for both).
//!
//! covers: the seed's Windows samples; every V2TIMManager API; B1 through the wrapper; the
//! listener events; callback lifetimes (deleted inside themselves, UnInitSDK in flight); TLS with
//! real certificates (`tls.cpp`).

mod common;
#[path = "c/programs.rs"]
mod programs;
#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use programs::Pace;

/// The wrapper's headers, then the C header they include.
fn include_dirs() -> Vec<PathBuf> {
    vec![
        support::root().join("bindings/cpp/include"),
        support::root().join("include"),
    ]
}

/// Compiles `tests/cpp/<name>.cpp` and `tests/cpp/harness.cpp` with g++ and the wrapper's
/// headers into an executable linked against the static library (`support::build_executable`);
/// `extra` goes to the compiler and linker.
fn build_cpp(name: &str, extra: &[&str]) -> PathBuf {
    let dir = support::root().join("tests/cpp");
    let includes: Vec<String> = include_dirs()
        .iter()
        .chain(std::iter::once(&dir))
        .map(|d| format!("-I{}", d.display()))
        .collect();
    let mut flags: Vec<&str> = support::CXX_FLAGS.to_vec();
    flags.extend(includes.iter().map(String::as_str));
    flags.extend_from_slice(extra);
    support::build_executable(
        "g++",
        &flags,
        &[dir.join(format!("{name}.cpp")), dir.join("harness.cpp")],
        &format!("cpp-{name}"),
    )
}

/// Starts a real server (and the fake ones) and runs the compiled program against it.
fn run_cpp(exe: &Path) {
    let server = programs::cpp_server();
    let env = programs::cpp_env(&server, Pace::native());
    support::run_program(exe, &env);
    drop(server);
}

fn run(name: &str) {
    run_cpp(&build_cpp(name, &[]));
}

/// The seed's Windows samples, compiled as the seed prints them (but for its one pseudo-code
/// line), observed through `--wrap`ped C ABI entry points.
#[test]
fn cpp_seed_samples() {
    run_cpp(&build_cpp("seed_samples", &[&programs::seed_wrap_flag()]));
}

#[test]
fn cpp_values() {
    run("values");
}

#[test]
fn cpp_every_api() {
    run("api");
}

#[test]
fn cpp_errors() {
    run("errors");
}

#[test]
fn cpp_listener_events() {
    run("listener");
}

#[test]
fn cpp_callback_lifetimes() {
    run("lifetimes");
}

#[test]
fn cpp_presence_extensions() {
    // covers: X1, X2, X4, X5, X6, X9, X10 (through IMStatusExtensions.h)
    run("extensions");
}

#[test]
fn cpp_tls() {
    let exe = build_cpp("tls", &[]);
    let world = common::tls::TlsWorld::start();
    support::run_program(&exe, &programs::tls_env(&world, Pace::native()));
}

/// `#include "V2TIMManager.h"` alone brings in the whole surface, in every C++ standard from
/// C++11, with stricter warnings than the tests use (`tests/cpp/header_alone.cpp`; the strict
/// flags are [`support::CXX_STRICT_FLAGS`]).
#[test]
fn cpp_header_alone() {
    compiles_alone("header_alone.cpp");
}

/// The same for `IMStatusExtensions.h` (`tests/cpp/extensions_alone.cpp`).
#[test]
fn cpp_extensions_header_alone() {
    compiles_alone("extensions_alone.cpp");
}

/// Compiles `tests/cpp/<probe>` with g++ in every standard of [`support::CXX_STANDARDS`].
fn compiles_alone(probe: &str) {
    support::require_tool("g++", "g++");
    let probe = support::root().join("tests/cpp").join(probe);
    for std in support::CXX_STANDARDS {
        let mut cmd = Command::new("g++");
        cmd.arg(format!("-std={std}"))
            .args(&support::CXX_FLAGS[1..])
            .args(support::CXX_STRICT_FLAGS)
            .arg("-fsyntax-only");
        for inc in include_dirs() {
            cmd.arg("-I").arg(inc);
        }
        cmd.arg(&probe);
        support::run_ok(&mut cmd, &format!("compiling {} as {std}", probe.display()));
    }
}
