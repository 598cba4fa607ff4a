//! The Java V2TIM API (`bindings/java`, package `io.imstatus.v2`) and its JNI natives
//! (`src/jni`, feature `jni`), tested on the host JVM under `-Xcheck:jni` against a real server.
//!
//! This test builds what it needs itself, so a plain `cargo test` runs it with or without
//! `--features jni`:
//! 1. the native library with `--features jni,test-hooks` (the hooks are the exact counters the
//!    leak tests read, `TestHooks.java`), and the server crate's `imstatus` command (the tests'
//!    other devices), into `target/jni` (a target directory of its own: the running `cargo test`
//!    holds the lock of `target`); and first the library as an app gets it, `--features jni`
//!    alone, to check that none of the test hooks is in it;
//! 2. `imstatus.jar` with `bindings/java/build-jar.sh` (javac and jar only), and the tests;
//! 3. a server in this process with three apps (Ultimate with both switches, Basic, switch off),
//!    and UserSigs for a fixed set of users, written to a properties file for the JVM;
//! 4. `java -Xcheck:jni ... io.imstatus.v2.RunJavaTests`, JUnit 4 from Debian's `junit4`.
//!
//! `IMSTATUS_JVM_ARGS` adds JVM options (e.g. `-Dimstatus.stress.calls=100000 -verbose:jni`).
//!
//! It fails when a Java test fails, when the JVM printed any `-Xcheck:jni` warning, or when
//! javac, java, jar or JUnit are missing (`scripts/test` installs them; nothing is skipped).
//!
//! covers: B1 (JNI), C1, C2, C3, L1, L2, N1, Q1, Q2, Q3, Q5, S1, S2, S4, S6, D3 (connect events);
//! TLS with real certificates (`TlsTest.java`, against the servers of `tests/common/tls.rs`).

mod common;
mod nested_build;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use imstatus_server::engine::{AppSettings, Edition};
use imstatus_server::usersig;

use common::tls::TlsWorld;
use common::{TestServer, APP, KEY};
use nested_build::cargo_build;

const JUNIT: &str = "/usr/share/java/junit4.jar";
const HAMCREST: &str = "/usr/share/java/hamcrest-core.jar";
const BASIC_APP: u32 = APP + 1;
const BASIC_KEY: &str = "basic-secret-key";
const OFF_APP: u32 = APP + 2;
const OFF_KEY: &str = "switch-off-secret-key";
/// How long the whole JVM run may take before it is killed.
const JVM_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The users the Java tests log in as; each gets a UserSig in every app.
const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "walter", "kicked", "stress", "seed-me", "userid1",
    "userid2", "userid3", "xavier", "yolanda", "zoe",
];

#[test]
fn java_v2tim_api_passes_on_the_host_jvm_under_xcheck_jni() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let java = root.join("bindings/java");
    require_tools();
    let (lib_dir, imstatus_bin) = build_native_library(root);

    let work = tempfile::tempdir().unwrap();
    let jar = run_ok(
        Command::new("bash")
            .arg(java.join("build-jar.sh"))
            .arg(work.path().join("jar")),
        "bindings/java/build-jar.sh",
    );
    let jar = PathBuf::from(jar.trim());
    assert!(
        jar.is_file(),
        "build-jar.sh made no jar at {}",
        jar.display()
    );

    let test_classes = work.path().join("test-classes");
    let mut javac = Command::new("javac");
    javac
        .args(["-encoding", "UTF-8", "-Xlint:all", "-Werror", "-d"])
        .arg(&test_classes)
        .arg("-cp")
        .arg(classpath(&[&jar, Path::new(JUNIT), Path::new(HAMCREST)]))
        .args(java_files(&java.join("test")));
    run_ok(&mut javac, "javac (tests)");

    let server = TestServer::start(apps());
    let tls = TlsWorld::start();
    let config = work.path().join("imstatus-test.properties");
    let mut props = properties(&server, &imstatus_bin);
    props.push_str(&tls_properties(&tls, work.path()));
    std::fs::write(&config, props).unwrap();

    let mut command = Command::new("java");
    command
        .args([
            "-Xcheck:jni",
            "-ea",
            // A small heap keeps the stress test's heap dumps quick to write and to read.
            "-Xmx128m",
            "-XX:+UseSerialGC",
        ])
        .arg(format!("-Djava.library.path={}", lib_dir.display()))
        .arg(format!("-Dimstatus.test.config={}", config.display()))
        .arg(format!("-Djava.io.tmpdir={}", work.path().display()))
        .arg("-cp")
        .arg(classpath(&[
            &jar,
            &test_classes,
            Path::new(JUNIT),
            Path::new(HAMCREST),
        ]))
        // Extra JVM options for a developer (e.g. `-Dimstatus.stress.calls=100000`).
        .args(
            std::env::var("IMSTATUS_JVM_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .arg("io.imstatus.v2.RunJavaTests")
        // For the test that passes a null config: the SDK then reads the address from here.
        .env("IMSTATUS_SERVER", server.addr().to_string())
        // NativeBoundaryTest panics on purpose: one line each is enough.
        .env("RUST_BACKTRACE", "0");
    let (status, stdout, stderr) = run_jvm(command);
    let all = format!("{stdout}\n{stderr}");

    let expected = count_tests(&java.join("test"));
    let closing = stdout
        .lines()
        .rev()
        .find_map(parse_closing_line)
        .unwrap_or_else(|| panic!("the JVM printed no `N passed, N failed` line\n{all}"));
    assert_eq!(
        closing,
        (expected, 0),
        "Java tests: {} passed, {} failed (of {expected})\n{all}",
        closing.0,
        closing.1
    );
    assert!(status, "the JVM exited with an error\n{all}");
    let warnings: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("WARNING") || l.contains("FATAL ERROR"))
        .collect();
    assert!(
        warnings.is_empty(),
        "-Xcheck:jni complained:\n{}\n\n{all}",
        warnings.join("\n")
    );
    for line in stdout.lines().filter(|l| l.starts_with("stress:")) {
        println!("{line}");
    }
    println!("{} passed, {} failed", closing.0, closing.1);
}

fn apps() -> Vec<AppSettings> {
    let ultimate = common::app();
    let mut basic = AppSettings::new(BASIC_APP, BASIC_KEY);
    basic.edition = Edition::Basic;
    basic.status_enabled = true;
    let mut off = AppSettings::new(OFF_APP, OFF_KEY);
    off.edition = Edition::Ultimate;
    off.status_enabled = false;
    vec![ultimate, basic, off]
}

/// What the Java tests read (`TestEnv.java`): no secret but the Ultimate app's, which only
/// `imstatus usersig --expire` is given to make a short-lived UserSig.
fn properties(server: &TestServer, imstatus_bin: &Path) -> String {
    let now = common::now_secs();
    let mut out = String::new();
    out.push_str(&format!("server={}\n", server.addr()));
    out.push_str(&format!("app.ultimate={APP}\napp.ultimate.key={KEY}\n"));
    out.push_str(&format!("app.basic={BASIC_APP}\napp.off={OFF_APP}\n"));
    out.push_str(&format!(
        "imstatus.bin={}\n",
        escape(&imstatus_bin.to_string_lossy())
    ));
    for (app, key) in [(APP, KEY), (BASIC_APP, BASIC_KEY), (OFF_APP, OFF_KEY)] {
        for user in USERS {
            let sig = usersig::generate(app, key, user, 86_400, now);
            out.push_str(&format!("sig.{app}.{user}={sig}\n"));
        }
    }
    out
}

/// What `TlsTest.java` reads (`TestEnv.tls*`): the TLS servers, the pins, and the CAs as PEM
/// files in `dir` (the command's `--ca` reads them too).
fn tls_properties(tls: &TlsWorld, dir: &Path) -> String {
    let ca = dir.join("tls-ca.pem");
    let other_ca = dir.join("tls-other-ca.pem");
    std::fs::write(&ca, tls.ca_pem()).unwrap();
    std::fs::write(&other_ca, tls.other_ca.cert_pem()).unwrap();
    [
        ("tls.server", tls.address()),
        ("tls.ca.file", ca.to_string_lossy().into_owned()),
        ("tls.other_ca.file", other_ca.to_string_lossy().into_owned()),
        ("tls.wrong_name_server", tls.wrong_name.address()),
        ("tls.pinned_server", tls.pinned.address()),
        ("tls.pin", tls.pin()),
        ("tls.wrong_pin", tls.wrong_pin()),
    ]
    .iter()
    .map(|(key, value)| format!("{key}={}\n", escape(value)))
    .collect()
}

/// Escapes a value for a Java properties file.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\")
}

/// Fails (never skips) when a tool the test needs is missing.
fn require_tools() {
    for tool in ["java", "javac", "jar"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "`{tool}` is missing: install a JDK (Debian: default-jdk-headless); scripts/test does"
        );
    }
    for jar in [JUNIT, HAMCREST] {
        assert!(
            Path::new(jar).is_file(),
            "{jar} is missing: apt-get install junit4 (scripts/test does)"
        );
    }
}

/// Builds the `imstatus` command and `libimstatus` with the `jni` and `test-hooks` features into
/// `target/jni` (checking on the way that a build without `test-hooks` exports no hook); returns
/// the library's directory and the command's path.
fn build_native_library(root: &Path) -> (PathBuf, PathBuf) {
    let target_dir = root.join("target").join("jni");
    let lib_dir = target_dir.join("debug");
    let lib = lib_dir.join(format!(
        "{}imstatus{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    // First the `imstatus` command (it builds the SDK as a dependency, without jni).
    cargo_build(
        &target_dir,
        &["-p", "imstatus-server", "--bin", "imstatus"],
        "imstatus",
    );
    // The library an app ships (only `jni`): the natives, and not one test hook.
    cargo_build(
        &target_dir,
        &["-p", "imstatus", "--lib", "--features", "jni"],
        "libimstatus with jni",
    );
    let symbols = exported_symbols(&lib);
    assert!(
        symbols
            .iter()
            .any(|s| s == "Java_io_imstatus_v2_Native_login"),
        "the jni build exports no natives"
    );
    let hooks: Vec<&String> = symbols.iter().filter(|s| s.contains("TestHooks")).collect();
    assert!(
        hooks.is_empty(),
        "test hooks in the library built without the test-hooks feature: {hooks:?}"
    );
    // The library the tests load, with the hooks.
    cargo_build(
        &target_dir,
        &["-p", "imstatus", "--lib", "--features", "jni,test-hooks"],
        "libimstatus with jni and test-hooks",
    );
    assert!(lib.is_file(), "no native library at {}", lib.display());
    let bin = lib_dir.join(format!("imstatus{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "no imstatus command at {}", bin.display());
    (lib_dir, bin)
}

/// The dynamic symbols a shared library defines (`nm -D --defined-only`).
fn exported_symbols(lib: &Path) -> Vec<String> {
    let out = run_ok(
        Command::new("nm").args(["-D", "--defined-only"]).arg(lib),
        "nm -D (binutils)",
    );
    out.lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(str::to_owned)
        .collect()
}

/// Runs a command to success; returns its standard output.
fn run_ok(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs the JVM, echoing its output as it comes (seen with `--nocapture`), and kills it when it
/// runs past [`JVM_TIMEOUT`]. Returns (success, stdout, stderr).
fn run_jvm(mut command: Command) -> (bool, String, String) {
    let mut child: Child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start java: {e}"));
    let out = echo(child.stdout.take().unwrap(), false);
    let err = echo(child.stderr.take().unwrap(), true);
    let deadline = Instant::now() + JVM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let stdout = out.recv().unwrap_or_default();
    let stderr = err.recv().unwrap_or_default();
    match status {
        Some(status) => (status.success(), stdout, stderr),
        None => panic!("the JVM ran past {JVM_TIMEOUT:?} and was killed\n{stdout}\n{stderr}"),
    }
}

fn echo(stream: impl Read + Send + 'static, to_stderr: bool) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if to_stderr {
                eprintln!("[jvm] {line}");
            } else {
                println!("[jvm] {line}");
            }
            all.push_str(&line);
            all.push('\n');
        }
        let _ = tx.send(all);
    });
    rx
}

/// `N passed, N failed` → (N, N).
fn parse_closing_line(line: &str) -> Option<(usize, usize)> {
    let (passed, failed) = line.trim().split_once(" passed, ")?;
    let failed = failed.strip_suffix(" failed")?;
    Some((passed.parse().ok()?, failed.parse().ok()?))
}

/// The `@Test` methods in the Java test sources: the runner must report every one.
fn count_tests(dir: &Path) -> usize {
    java_files(dir)
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter(|l| l.trim() == "@Test")
                .count()
        })
        .sum()
}

fn java_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "java") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn classpath(parts: &[&Path]) -> std::ffi::OsString {
    std::env::join_paths(parts).unwrap()
}

#[test]
fn closing_line_is_parsed() {
    assert_eq!(parse_closing_line("12 passed, 0 failed"), Some((12, 0)));
    assert_eq!(parse_closing_line("3 passed, 2 failed"), Some((3, 2)));
    assert_eq!(
        parse_closing_line("test result: ok. 1 passed; 0 failed"),
        None
    );
}
