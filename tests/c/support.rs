//! Compiling and running the C test programs of `tests/c/` (used by `tests/c_api.rs` and
//! `tests/c_header.rs`).
//!
//! The programs link the static library `libimstatus.a` that `cargo test` builds next to the
//! test executable (`deps/`, the crate's `staticlib` crate type), so they always test the code
//! under test, in whatever profile and target directory cargo uses. With `IMS_VALGRIND=1` every
//! program runs under `valgrind --error-exitcode=1 --leak-check=full` (`.ci/run` does that).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The flags every C program is held to.
pub const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
/// The flags the header is held to when included from C++.
pub const CXX_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
/// The wrapper's headers alone (`tests/cpp/header_alone.cpp`) are held to these as well, in
/// every standard from C++11 to C++20.
pub const CXX_STRICT_FLAGS: &[&str] = &[
    "-Wshadow",
    "-Wconversion",
    "-Wsign-conversion",
    "-Wnon-virtual-dtor",
    "-Wold-style-cast",
    "-Wzero-as-null-pointer-constant",
];
/// The C++ standards the wrapper supports.
pub const CXX_STANDARDS: &[&str] = &["c++11", "c++14", "c++17", "c++20"];

/// What `cargo rustc --crate-type staticlib -- --print native-static-libs` says the static
/// library needs on Linux.
pub const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>`: the directory above the test executable's `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps")
        .to_path_buf()
}

/// Where compiled C programs go.
pub fn out_dir() -> PathBuf {
    let dir = profile_dir().join("c-tests");
    std::fs::create_dir_all(&dir).expect("can create target/<profile>/c-tests");
    dir
}

/// The static library of this very build. `cargo test` builds it (crate-type `staticlib`) into
/// `deps/` but, unlike `cargo build`, does not copy it up to `target/<profile>/`, where an older
/// one may lie: use the one in `deps/`.
pub fn static_lib() -> PathBuf {
    let lib = profile_dir().join("deps/libimstatus.a");
    assert!(
        lib.is_file(),
        "{} is missing: it is built by `cargo test` (crate-type staticlib); run the C tests \
         through cargo",
        lib.display()
    );
    lib
}

/// Panics with an install hint when a tool is missing (a test never skips).
pub fn require_tool(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is needed by this test: `scripts/test` installs it (or `apt-get install {package}`)"
    );
}

/// Runs a command to completion, panicking with its output when it fails.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Compiles and links `sources` with `compiler` and `flags` into `out_dir()/<name>`, against the
/// static library and its native libraries, with `include/` and `tests/c/` on the include path.
/// (The C++ tests can use it with `g++` and [`CXX_FLAGS`].)
pub fn build_executable(
    compiler: &str,
    flags: &[&str],
    sources: &[PathBuf],
    name: &str,
) -> PathBuf {
    require_tool(compiler, compiler);
    let exe = out_dir().join(name);
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .args(["-g", "-O0", "-pthread"])
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("tests/c"))
        .args(sources)
        .arg("-o")
        .arg(&exe)
        .arg(static_lib())
        .args(NATIVE_LIBS);
    run_ok(&mut cmd, &format!("building {name} with {compiler}"));
    exe
}

/// Compiles `tests/c/<name>.c` with `tests/c/common.c` as C11 into an executable.
pub fn build_program(name: &str) -> PathBuf {
    let c_dir = root().join("tests/c");
    build_executable(
        "gcc",
        C_FLAGS,
        &[c_dir.join(format!("{name}.c")), c_dir.join("common.c")],
        name,
    )
}

/// Whether the programs run under valgrind (`IMS_VALGRIND=1`).
pub fn under_valgrind() -> bool {
    std::env::var("IMS_VALGRIND").is_ok_and(|v| v == "1")
}

/// Runs a compiled program with `env`, under valgrind when asked, and fails the test with its
/// output unless it exits 0.
pub fn run_program(exe: &Path, env: &[(String, String)]) {
    let valgrind = under_valgrind();
    let mut cmd = if valgrind {
        require_tool("valgrind", "valgrind");
        let mut cmd = Command::new("valgrind");
        cmd.args([
            "--error-exitcode=1",
            "--leak-check=full",
            "--show-leak-kinds=definite,possible",
            "--errors-for-leak-kinds=definite,possible",
            "--fair-sched=try",
            "--num-callers=40",
        ])
        .arg(format!(
            "--suppressions={}",
            root().join("tests/c/valgrind.supp").display()
        ))
        .arg(exe);
        cmd
    } else {
        Command::new(exe)
    };
    // The default time scale, unless `env` sets one (tests/c/programs.rs does).
    cmd.env("IMS_TEST_TIME_SCALE", if valgrind { "6" } else { "1" })
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let limit = Duration::from_secs(if valgrind { 900 } else { 180 });
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let output = run_with_limit(cmd, limit, &name);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "C test {name}{} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        if valgrind { " under valgrind" } else { "" },
        output.status
    );
    print!("{stdout}");
    if valgrind {
        // Shows the leak summary in `cargo test -- --nocapture`.
        eprint!("{stderr}");
    }
}

/// Runs `cmd` with piped output to its end, killing it after `limit` (then panicking with its
/// standard error).
pub fn run_with_limit(mut cmd: Command, limit: Duration, name: &str) -> Output {
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    // Drain the pipes on threads so a chatty program cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("can wait for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "test program {name} did not finish within {limit:?}:\n{}",
                String::from_utf8_lossy(&err.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// An address nothing listens on.
pub fn dead_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A fake server that answers the hello handshake and logins (except of users whose ID starts
/// with "silent"), then never answers anything: every later call of its clients stays in
/// flight until it times out or the client is freed.
pub fn stall_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || stall_connection(stream));
        }
    });
    addr
}

fn stall_connection(mut stream: std::net::TcpStream) {
    use std::io::{Read, Write};
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        if stream.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(frame) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return;
        };
        let id = frame["id"].as_u64().unwrap_or(0);
        let reply = match frame["op"].as_str() {
            Some("hello") => serde_json::json!({"type": "ok", "id": id, "protocol_version": 1}),
            Some("login")
                if !frame["user_id"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("silent") =>
            {
                serde_json::json!({"type": "ok", "id": id})
            }
            _ => continue,
        };
        let bytes = serde_json::to_vec(&reply).unwrap();
        let sent = stream
            .write_all(&(bytes.len() as u32).to_be_bytes())
            .and_then(|()| stream.write_all(&bytes));
        if sent.is_err() {
            return;
        }
    }
}
