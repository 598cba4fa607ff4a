//! The C++ V2TIM wrapper (`bindings/cpp`, header-only over the C ABI): each program of
//! `tests/cpp/` is compiled with g++ (`-std=c++17 -Wall -Wextra -Wpedantic -Werror`) together
//! with `tests/cpp/harness.cpp`, linked against the static library, and run against a real
//! server started here on port 0. With `IMS_VALGRIND=1` they run under valgrind
//! (`--error-exitcode=1 --leak-check=full`) and must be clean, as the C programs do
//! (`tests/c/support.rs` does the compiling, running and valgrind for both).
//!
//! covers: the seed's Windows samples; every V2TIMManager API; B1 through the wrapper; the
//! listener events; callback lifetimes (deleted inside themselves, UnInitSDK in flight).

mod common;
#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestServer, APP, KEY};
use imstatus_server::engine::{AppSettings, Edition};
use imstatus_server::usersig;

/// The seed's IDs and the users of the tests.
const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "userid1", "userid2", "userid3",
];
/// A Basic edition app (both switches on): other users' statuses are 7013.
const BASIC_APP: u32 = APP + 1;
/// An Ultimate app with the status switch off: other users' statuses are 72001.
const NOSWITCH_APP: u32 = APP + 2;

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

fn apps() -> Vec<AppSettings> {
    let mut basic = AppSettings::new(BASIC_APP, KEY);
    basic.edition = Edition::Basic;
    basic.status_enabled = true;
    basic.friend_status_notify = true;
    let mut noswitch = AppSettings::new(NOSWITCH_APP, KEY);
    noswitch.status_enabled = false;
    vec![common::app(), basic, noswitch]
}

/// Starts a real server (and the fake ones) and runs the compiled program against it.
fn run_cpp(exe: &Path) {
    let server = TestServer::start(apps());
    let addr = server.addr().to_string();
    let mut env = vec![
        ("IMS_TEST_SERVER".to_string(), addr.clone()),
        ("IMSTATUS_SERVER".to_string(), addr),
        ("IMS_TEST_APP_ID".to_string(), APP.to_string()),
        ("IMS_TEST_BASIC_APP_ID".to_string(), BASIC_APP.to_string()),
        (
            "IMS_TEST_NOSWITCH_APP_ID".to_string(),
            NOSWITCH_APP.to_string(),
        ),
        (
            "IMS_TEST_STALL_SERVER".to_string(),
            support::stall_server().to_string(),
        ),
        (
            "IMS_TEST_DEAD_SERVER".to_string(),
            support::dead_address().to_string(),
        ),
    ];
    let now = common::now_secs();
    for user in USERS {
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
    let short = if support::under_valgrind() { 40 } else { 5 };
    env.push((
        "IMS_TEST_SHORT_SIG_erin".to_string(),
        usersig::generate(APP, KEY, "erin", short, common::now_secs()),
    ));
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
    let wrapped = [
        "ims_client_set_self_status",
        "ims_client_get_user_status",
        "ims_client_subscribe_user_status",
        "ims_client_unsubscribe_user_status",
        "ims_client_add_listener",
        "ims_client_get_login_user",
    ];
    let wrap = format!("-Wl,--wrap={}", wrapped.join(",--wrap="));
    run_cpp(&build_cpp("seed_samples", &[&wrap]));
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

/// `#include "V2TIMManager.h"` alone brings in the whole surface, in every C++ standard from
/// C++11, with stricter warnings than the tests use.
#[test]
fn cpp_header_alone() {
    support::require_tool("g++", "g++");
    let probe = support::out_dir().join("cpp_header_probe.cpp");
    std::fs::write(
        &probe,
        r#"#include "V2TIMManager.h"
class L : public V2TIMSDKListener {};
class C : public V2TIMCallback {
 public:
  void OnSuccess() override {}
  void OnError(int, const V2TIMString&) override {}
};
class V : public V2TIMValueCallback<V2TIMUserStatusVector> {
 public:
  void OnSuccess(const V2TIMUserStatusVector&) override {}
  void OnError(int, const V2TIMString&) override {}
};
class G : public V2TIMLogListener {};
int main() {
  V2TIMSDKConfig config;
  V2TIMStringVector ids;
  ids.PushBack(u8"userid1");
  V2TIMUserStatus status;
  status.customStatus = "x";
  V2TIMUserStatusVector list;
  list.PushBack(status);
  V2TIMLoginStatus login = V2TIMManager::GetInstance()->GetLoginStatus();
  V2TIMUserStatusType type = V2TIM_USER_STATUS_ONLINE;
  V2TIMLogLevel level = V2TIM_LOG_INFO;
  (void)config; (void)login; (void)type; (void)level;
  return static_cast<int>(list.Size() + ids.Size()) - 2;
}
"#,
    )
    .unwrap();
    for std in ["c++11", "c++14", "c++17", "c++20"] {
        let mut cmd = Command::new("g++");
        cmd.arg(format!("-std={std}"))
            .args(&support::CXX_FLAGS[1..])
            .args([
                "-Wshadow",
                "-Wconversion",
                "-Wsign-conversion",
                "-Wnon-virtual-dtor",
                "-Wold-style-cast",
                "-Wzero-as-null-pointer-constant",
                "-fsyntax-only",
            ]);
        for inc in include_dirs() {
            cmd.arg("-I").arg(inc);
        }
        cmd.arg(&probe);
        support::run_ok(&mut cmd, &format!("compiling V2TIMManager.h as {std}"));
    }
}
