//! For C and C++ users: `scripts/install.sh` into a fresh prefix, then `examples/` configured
//! with CMake `find_package(imstatus)` (`-DCMAKE_PREFIX_PATH=<prefix>`) and built with
//! `-Wall -Wextra -Wpedantic -Werror`, and its programs (the C one, the C++ one, the C++ one
//! linked statically) run against a real server, finding the installed `libimstatus.so` through
//! the RPATH CMake derives from the imported target, with no `LD_LIBRARY_PATH`. The same
//! examples are also built from the installed pkg-config files. Also checks the installed
//! layout, the library's SONAME (`libimstatus.so.0`, the name every example program needs, by
//! `readelf -d`) and the package version file.
//!
//! The install takes the libraries this very `cargo test` built (`--lib-dir target/<profile>/deps`):
//! the running `cargo test` holds the lock of `target`, so the script cannot run its own
//! `cargo build --release` here; everything after the build step is the same.

mod common;
#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestServer, APP};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What build.rs names the library on Linux, and what programs linked against it need.
fn soname() -> String {
    format!("libimstatus.so.{}", env!("CARGO_PKG_VERSION_MAJOR"))
}

fn cargo_lib_dir() -> PathBuf {
    let dir = support::profile_dir().join("deps");
    assert!(
        dir.join("libimstatus.so").is_file(),
        "{}/libimstatus.so is missing: it is built by `cargo test` (crate-type cdylib)",
        dir.display()
    );
    dir
}

/// Runs `scripts/install.sh --lib-dir <what cargo test built> <prefix>`.
fn install(prefix: &Path) {
    let mut cmd = Command::new("bash");
    cmd.arg(support::root().join("scripts/install.sh"))
        .arg("--lib-dir")
        .arg(cargo_lib_dir())
        .arg(prefix);
    support::run_ok(&mut cmd, "scripts/install.sh");
}

fn check_layout(prefix: &Path) {
    let mut expected = vec![
        format!("lib/libimstatus.so.{VERSION}"),
        "lib/libimstatus.so".to_string(),
        "lib/libimstatus.a".to_string(),
        "include/imstatus.h".to_string(),
        "lib/pkgconfig/imstatus.pc".to_string(),
        "lib/pkgconfig/imstatus-cpp.pc".to_string(),
        "lib/cmake/imstatus/imstatusConfig.cmake".to_string(),
        "lib/cmake/imstatus/imstatusConfigVersion.cmake".to_string(),
    ];
    for header in std::fs::read_dir(support::root().join("bindings/cpp/include")).unwrap() {
        let name = header.unwrap().file_name().to_string_lossy().into_owned();
        expected.push(format!("include/imstatus/cpp/{name}"));
    }
    assert!(expected.iter().any(|p| p.ends_with("V2TIMManager.h")));
    for path in &expected {
        assert!(
            prefix.join(path).is_file(),
            "{path} was not installed into {}",
            prefix.display()
        );
    }
    let installed = std::fs::read(prefix.join("include/imstatus.h")).unwrap();
    let source = std::fs::read(support::root().join("include/imstatus.h")).unwrap();
    assert_eq!(installed, source, "the installed imstatus.h differs");

    // The library under its full version, the SONAME and the link-time name linking to it
    // (relative links: the tree is relocatable), and the SONAME inside it.
    let lib = prefix.join("lib");
    let real = format!("libimstatus.so.{VERSION}");
    for (link, target) in [
        (soname(), real.clone()),
        ("libimstatus.so".into(), soname()),
    ] {
        let found = std::fs::read_link(lib.join(&link))
            .unwrap_or_else(|e| panic!("lib/{link} is not a symbolic link: {e}"));
        assert_eq!(
            found,
            Path::new(&target),
            "lib/{link} links to the wrong file"
        );
    }
    let dynamic = dynamic_section(&lib.join(&real));
    assert!(
        dynamic.contains(&format!("Library soname: [{}]", soname())),
        "lib/{real} has not the SONAME {}:\n{dynamic}",
        soname()
    );
}

/// Asserts that a program built against the shared library needs it by its SONAME.
fn assert_needs_soname(exe: &Path) {
    let dynamic = dynamic_section(exe);
    assert!(
        dynamic.contains(&format!("Shared library: [{}]", soname())),
        "{} does not need {}:\n{dynamic}",
        exe.display(),
        soname()
    );
    assert!(
        !dynamic.contains("Shared library: [libimstatus.so]"),
        "{} needs the unversioned libimstatus.so:\n{dynamic}",
        exe.display()
    );
}

const WARNINGS: &str = "-Wall -Wextra -Wpedantic -Werror";

/// Configures and builds `examples/` against `prefix`; returns the build directory.
fn cmake_build(prefix: &Path, build: &Path) {
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(support::root().join("examples"))
        .arg("-B")
        .arg(build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
        .arg("-DCMAKE_BUILD_TYPE=Debug")
        .arg(format!("-DCMAKE_C_FLAGS={WARNINGS}"))
        .arg(format!("-DCMAKE_CXX_FLAGS={WARNINGS}"))
        // Only the prefix given: no imstatus found anywhere else by accident.
        .arg("-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
        .arg("-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF");
    support::run_ok(&mut configure, "cmake configure of examples/");
    let mut make = Command::new("cmake");
    make.arg("--build").arg(build).arg("--verbose");
    support::run_ok(&mut make, "cmake --build of examples/");
}

/// Runs an example program against `server`; returns its standard output.
fn run_example(exe: &Path, server: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env("IMSTATUS_SERVER", server)
        .env_remove("LD_LIBRARY_PATH");
    let out = support::run_ok(&mut cmd, &format!("running {}", exe.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_line(output: &str, line: &str) -> bool {
    output.lines().any(|l| l == line)
}

/// The dynamic section of an ELF file (`readelf -d`).
fn dynamic_section(exe: &Path) -> String {
    let mut cmd = Command::new("readelf");
    cmd.arg("-d").arg(exe);
    String::from_utf8_lossy(&support::run_ok(&mut cmd, "readelf -d").stdout).into_owned()
}

fn sig(user: &str) -> String {
    common::sig(user)
}

#[test]
fn cmake_find_package_builds_and_runs_the_examples() {
    support::require_tool("cmake", "cmake");
    support::require_tool("gcc", "gcc");
    support::require_tool("g++", "g++");
    support::require_tool("pkg-config", "pkg-config");
    support::require_tool("readelf", "binutils");
    let work = tempfile::tempdir().unwrap();
    // A path with a space: the config files must quote it.
    let prefix = work.path().join("imstatus prefix");
    install(&prefix);
    check_layout(&prefix);

    let build = work.path().join("build");
    cmake_build(&prefix, &build);
    let (status_c, status_cpp, status_static) = (
        build.join("status_c"),
        build.join("status_cpp"),
        build.join("status_cpp_static"),
    );

    // The shared examples need libimstatus.so.0 and find it in the prefix via RUNPATH.
    let lib_dir = prefix.join("lib").display().to_string();
    for exe in [&status_c, &status_cpp] {
        assert_needs_soname(exe);
        let dynamic = dynamic_section(exe);
        assert!(
            dynamic.contains(&lib_dir),
            "{} has no RPATH/RUNPATH to {lib_dir}:\n{dynamic}",
            exe.display()
        );
    }
    assert!(!dynamic_section(&status_static).contains("libimstatus"));

    let server = TestServer::start(vec![common::app()]);
    let addr = server.addr().to_string();
    let app = APP.to_string();

    // C: alice sets a status and reads it back.
    let sig_alice = sig("alice");
    let out = run_example(
        &status_c,
        &addr,
        &[&app, "alice", &sig_alice, "listening to music"],
    );
    assert!(
        has_line(&out, "alice ONLINE listening to music"),
        "status_c printed:\n{out}"
    );

    // C++: bob, with carol online, asks for himself, carol and alice (logged out by now).
    let carol = common::Wire::login(server.addr(), "carol", "Web", "carol-web").0;
    let sig_bob = sig("bob");
    let out = run_example(
        &status_cpp,
        &addr,
        &[&app, "bob", &sig_bob, "coding", "carol", "alice"],
    );
    for line in [
        "bob ONLINE coding",
        "carol ONLINE ",
        "alice UNLOGINED ",
        "changed: bob ONLINE coding",
    ] {
        assert!(
            has_line(&out, line),
            "status_cpp printed no '{line}':\n{out}"
        );
    }

    // C++ linked with libimstatus.a.
    let sig_dave = sig("dave");
    let out = run_example(&status_static, &addr, &[&app, "dave", &sig_dave, "static"]);
    assert!(
        has_line(&out, "dave ONLINE static"),
        "status_cpp_static printed:\n{out}"
    );

    // An error exits non-zero with the V2TIM code.
    let mut bad = Command::new(&status_cpp);
    bad.args([app.as_str(), "erin", "not-a-usersig"])
        .env("IMSTATUS_SERVER", &addr);
    let output = bad.output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Login failed: 70003"));

    // pkg-config: the same programs built from the .pc files.
    let pc_dir = prefix.join("lib/pkgconfig");
    let pkg = |args: &[&str]| -> Vec<String> {
        let mut cmd = Command::new("pkg-config");
        cmd.args(args).env("PKG_CONFIG_PATH", &pc_dir);
        let out = support::run_ok(&mut cmd, &format!("pkg-config {args:?}"));
        shell_words(&String::from_utf8_lossy(&out.stdout))
    };
    assert_eq!(
        pkg(&["--modversion", "imstatus"]),
        vec![VERSION.to_string()]
    );
    assert_eq!(
        pkg(&["--modversion", "imstatus-cpp"]),
        vec![VERSION.to_string()]
    );
    let pc_c = work.path().join("pc_status_c");
    let mut cc = Command::new("gcc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .arg(support::root().join("examples/status.c"))
        .args(pkg(&["--cflags", "--libs", "imstatus"]))
        .arg(format!("-Wl,-rpath,{lib_dir}"))
        .arg("-o")
        .arg(&pc_c);
    support::run_ok(&mut cc, "gcc with pkg-config imstatus");
    let pc_cpp = work.path().join("pc_status_cpp");
    let mut cxx = Command::new("g++");
    cxx.args(support::CXX_FLAGS)
        .arg(support::root().join("examples/status.cpp"))
        .args(pkg(&["--cflags", "--libs", "imstatus-cpp"]))
        .arg(format!("-Wl,-rpath,{lib_dir}"))
        .arg("-o")
        .arg(&pc_cpp);
    support::run_ok(&mut cxx, "g++ with pkg-config imstatus-cpp");
    assert_needs_soname(&pc_c);
    assert_needs_soname(&pc_cpp);
    let sig_erin = sig("erin");
    let out = run_example(&pc_cpp, &addr, &[&app, "erin", &sig_erin, "pkg-config"]);
    assert!(has_line(&out, "erin ONLINE pkg-config"), "{out}");
    let out = run_example(&pc_c, &addr, &[&app, "erin", &sig_erin, "pkg-config c"]);
    assert!(has_line(&out, "erin ONLINE pkg-config c"), "{out}");

    drop(carol);
    drop(server);

    check_version_file(&prefix, work.path());
}

/// `find_package(imstatus X)`: this version and compatible requests are found, others not.
fn check_version_file(prefix: &Path, work: &Path) {
    let (major, minor, patch) = {
        let mut parts = VERSION.split('.').map(|p| p.parse::<u32>().unwrap());
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    let probe = work.join("version-probe");
    std::fs::create_dir_all(&probe).unwrap();
    let mut cases = vec![
        (String::new(), true),
        (format!("{major}.{minor}"), true),
        (format!("{major}.{minor}.{patch}"), true),
        (format!("{major}.{}", minor + 1), false),
        (format!("{}.0", major + 1), false),
    ];
    if major == 0 && minor > 0 {
        cases.push((format!("0.{}", minor - 1), false)); // before 1.0, minors are not compatible
    }
    let mut script = String::from("cmake_minimum_required(VERSION 3.14)\nproject(probe C)\n");
    for (i, (version, _)) in cases.iter().enumerate() {
        // A variable of its own per request (find_package caches imstatus_DIR only).
        script.push_str(&format!(
            "find_package(imstatus {version} QUIET)\nmessage(STATUS \"case {i}: ${{imstatus_FOUND}}\")\nunset(imstatus_FOUND)\n"
        ));
    }
    std::fs::write(probe.join("CMakeLists.txt"), script).unwrap();
    let mut cmd = Command::new("cmake");
    cmd.arg("-S")
        .arg(&probe)
        .arg("-B")
        .arg(probe.join("build"))
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()));
    let out = support::run_ok(&mut cmd, "cmake version probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (i, (version, found)) in cases.iter().enumerate() {
        let expected = format!("case {i}: {}", if *found { "1" } else { "0" });
        assert!(
            stdout.contains(&expected),
            "find_package(imstatus {version}) should {}be found:\n{stdout}",
            if *found { "" } else { "not " }
        );
    }
}

/// Splits pkg-config output into arguments (it quotes nothing here but paths with spaces are
/// escaped with a backslash).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut chars = s.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}
