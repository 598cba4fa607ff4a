//! Windows desktop apps: the SDK built for x86_64 Windows and used as a Windows program uses it.
//!
//! `scripts/build-windows.sh --no-install` builds the SDK alone for `x86_64-pc-windows-gnu`
//! (cargo target directory `target/windows`) and lays out the SDK folder and its zip in
//! `target/<profile>/windows-sdk/`. Then:
//!
//! - [`windows_sdk_folder`]: exactly the files the SDK ships (no test stand-in among them), the
//!   headers as in the repository, a stripped DLL that exports exactly the header's functions
//!   and needs no MinGW runtime DLL, `imstatus.def` and both import libraries naming them all.
//! - [`windows_headers_compile`]: `imstatus.h` as C11 (and `tests/c/header_layout.c`, the layouts
//!   pinned with static assertions, as C11 and C++11 to C++20) with MinGW gcc/g++, IMS_API being
//!   `__declspec(dllimport)` unless IMS_STATIC; `tests/c/header_layout.c` also with clang for
//!   `x86_64-pc-windows-msvc` (MSVC's ABI, `_MSC_VER`); the C++ wrapper
//!   (`tests/cpp/header_alone.cpp`) with MinGW g++ as C++11 to C++20 and the strict warnings of
//!   `tests/cpp_api.rs`.
//! - [`windows_programs_under_wine`]: the C programs of `tests/c/` and the C++ programs of
//!   `tests/cpp/` (the seed's Windows samples included) cross-built with mingw-w64 against the
//!   SDK folder's headers and libraries, and run under wine, each against a real server of its
//!   own on this machine's loopback, given what `tests/c_api.rs` and `tests/cpp_api.rs` give them
//!   (`tests/c/programs.rs`), `tests/c/tls.c` over TLS with real certificates (the test CA given
//!   as PEM bytes, an extra CA: wine's trust store has no CA of ours); `examples/` built with
//!   CMake `find_package(imstatus)` from a copy of the SDK folder in a path with a space (a
//!   MinGW cross build: `IMPORTED_IMPLIB`, the static targets, the build copying imstatus.dll
//!   next to the programs) and run; a C program built with pkg-config; and
//!   `tests/c/msvc_probe.c` compiled for MSVC's ABI by clang, linked by lld-link against
//!   `lib/imstatus.lib` alone and run. One wine prefix (in a temporary
//!   directory, removed at the end) serves them all, two programs at a time.
//!
//! How the programs differ from Linux, and why:
//! - They link imstatus.dll through `lib/libimstatus.dll.a`, except `seed_samples`: it watches
//!   the wrapper's C calls with `-Wl,--wrap=...`, which renames symbol references at link time,
//!   and a call through a DLL import (`__imp_...`) has none to rename. It links the static
//!   library instead (`-DIMS_STATIC`), which so runs on Windows too.
//! - `tests/c/thread_name.h` reads thread names with GetThreadDescription (Windows keeps all of
//!   "imstatus-callback"); `tests/c/platform.c` expects the platform "Windows".
//! - No valgrind (`IMS_VALGRIND` is for Linux); [`WINE_PACE`]: wine starts programs slower, so
//!   the short UserSig lives longer and the programs' waits are doubled.
//! - C++ programs link libgcc and libstdc++ statically and need `libwinpthread-1.dll` next to
//!   them, as a MinGW app ships it (the C programs' POSIX threads are winpthreads too).
//!
//! Wine 8 (Debian 12) lacks `ProcessPrng` in `bcryptprimitives.dll`, which Rust's standard
//! library calls for random numbers (Windows 10 and later have it). The test builds a stand-in
//! DLL over `RtlGenRandom` (advapi32's `SystemFunction036`) next to the programs; it never ships
//! ([`windows_sdk_folder`] checks that the SDK folder holds only what it should).
//!
//! Tools: wine64 (`/usr/lib/wine/wine64`, or `IMS_WINE`), mingw-w64 (gcc and g++ with the posix
//! thread model, binutils), llvm (llvm-dlltool, llvm-strip), clang, cmake, pkg-config, zip and
//! unzip, the Rust target `x86_64-pc-windows-gnu` and rust-lld (rustup's toolchain ships it).
//! `scripts/test` installs them; this test installs nothing, and fails naming what is missing.
//!
//! Not verified here: MSVC itself (cl.exe, link.exe, Visual Studio's CMake) and a real Windows.

mod common;
#[path = "c/programs.rs"]
mod programs;
#[path = "c/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::tls::TlsWorld;
use common::APP;
use programs::Pace;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "x86_64-pc-windows-gnu";
/// MinGW compilers with the posix thread model (the C++ wrapper's std::mutex needs it).
const CC: &str = "x86_64-w64-mingw32-gcc-posix";
const CXX: &str = "x86_64-w64-mingw32-g++-posix";
const OBJDUMP: &str = "x86_64-w64-mingw32-objdump";
const NM: &str = "x86_64-w64-mingw32-nm";
/// What the static library needs from Windows (rustc --print native-static-libs).
const NATIVE_LIBS: &[&str] = &[
    "-lkernel32",
    "-lntdll",
    "-luserenv",
    "-lws2_32",
    "-ldbghelp",
];
/// Under wine: a longer short UserSig (a program may start seconds late while the other core is
/// busy) and doubled waits.
const WINE_PACE: Pace = Pace {
    short_sig_secs: 15,
    time_scale: 2,
};
/// How long one program may run under wine.
const PROGRAM_LIMIT: Duration = Duration::from_secs(300);

// ---- tools ---------------------------------------------------------------------------------

/// Whether `cmd` runs and exits 0.
fn runs(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether an executable `tool` is on the PATH.
fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// wine64: `IMS_WINE`, else Debian's `/usr/lib/wine/wine64`, else `wine64` on the PATH.
fn wine_binary() -> PathBuf {
    if let Some(wine) = std::env::var_os("IMS_WINE") {
        return PathBuf::from(wine);
    }
    let debian = Path::new("/usr/lib/wine/wine64");
    if debian.is_file() {
        debian.to_path_buf()
    } else {
        PathBuf::from("wine64")
    }
}

/// The wineserver that goes with [`wine_binary`].
fn wineserver_binary(wine: &Path) -> PathBuf {
    let next_to_wine = wine.with_file_name("wineserver64");
    if next_to_wine.is_file() {
        next_to_wine
    } else {
        PathBuf::from("wineserver")
    }
}

/// rust-lld, which rustup ships with every toolchain (`-flavor link` is lld-link, MSVC's
/// linker's command line).
fn rust_lld() -> PathBuf {
    let rustc = |arg: &str| -> String {
        let out = Command::new("rustc")
            .arg(arg)
            .output()
            .unwrap_or_else(|e| panic!("cannot run rustc {arg}: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let sysroot = rustc("--print=sysroot").trim().to_string();
    let host = rustc("-vV")
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .expect("rustc -vV names the host");
    PathBuf::from(sysroot).join(format!("lib/rustlib/{host}/bin/rust-lld"))
}

/// Fails, naming every missing tool and how to get it, unless all of these are there.
fn require_tools() {
    let mut missing = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            missing.push(what.to_string());
        }
    };
    for (tool, package) in [
        (CC, "gcc-mingw-w64-x86-64-posix"),
        (CXX, "g++-mingw-w64-x86-64-posix"),
        (OBJDUMP, "binutils-mingw-w64-x86-64"),
        (NM, "binutils-mingw-w64-x86-64"),
        ("llvm-dlltool", "llvm"),
        ("llvm-strip", "llvm"),
        ("clang", "clang"),
        ("cmake", "cmake"),
        ("pkg-config", "pkg-config"),
        ("zip", "zip"),
        ("unzip", "unzip"),
    ] {
        need(
            on_path(tool),
            &format!("`{tool}` (apt-get install {package})"),
        );
    }
    let wine = wine_binary();
    need(
        runs(Command::new(&wine).arg("--version")),
        &format!("`{}` (apt-get install wine64)", wine.display()),
    );
    need(
        rust_lld().is_file(),
        "rust-lld (it comes with rustup's toolchains)",
    );
    let target_ok = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .is_some_and(|mut entries| {
            entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
        });
    need(
        target_ok,
        &format!("the Rust target {TARGET} (rustup target add {TARGET})"),
    );
    assert!(
        missing.is_empty(),
        "the Windows tests need {}: `scripts/test` installs them",
        missing.join(", ")
    );
}

// ---- the SDK folder ------------------------------------------------------------------------

struct Sdk {
    /// `imstatus-VERSION-windows-x86_64/`
    dir: PathBuf,
    zip: PathBuf,
    /// What build-windows.sh printed (the sizes).
    report: String,
}

/// The SDK folder of this run, built once by `scripts/build-windows.sh --no-install`.
fn sdk() -> &'static Sdk {
    static SDK: OnceLock<Sdk> = OnceLock::new();
    SDK.get_or_init(|| {
        require_tools();
        let out = support::profile_dir().join("windows-sdk");
        let mut cmd = Command::new("bash");
        cmd.arg(support::root().join("scripts/build-windows.sh"))
            .arg("--no-install")
            .arg("--target-dir")
            .arg(support::root().join("target").join("windows"))
            .arg(&out)
            .env(
                "CARGO",
                std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned()),
            )
            // Outer cargo settings meant for the test build must not leak into this one.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR");
        let output = support::run_ok(&mut cmd, "scripts/build-windows.sh --no-install");
        let name = format!("imstatus-{VERSION}-windows-x86_64");
        Sdk {
            dir: out.join(&name),
            zip: out.join(format!("{name}.zip")),
            report: String::from_utf8_lossy(&output.stdout).into_owned(),
        }
    })
}

/// Every file under `dir`, as paths relative to it with `/`.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn stdout_of(cmd: &mut Command, what: &str) -> String {
    String::from_utf8_lossy(&support::run_ok(cmd, what).stdout).into_owned()
}

/// The functions `imstatus.h` declares: the name after each `IMS_API`.
fn header_functions(header: &str) -> BTreeSet<String> {
    header
        .split("IMS_API")
        .skip(1)
        .filter_map(|decl| {
            let before_paren = &decl[..decl.find('(')?];
            let name = before_paren
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()?;
            name.starts_with("ims_").then(|| name.to_string())
        })
        .collect()
}

/// The names in a PE file's export table (`objdump -p`).
fn dll_exports(dll: &Path) -> BTreeSet<String> {
    let dump = stdout_of(Command::new(OBJDUMP).arg("-p").arg(dll), "objdump -p");
    let mut names = BTreeSet::new();
    let mut in_table = false;
    for line in dump.lines() {
        if line.starts_with("[Ordinal/Name Pointer] Table") {
            in_table = true;
        } else if in_table && line.trim().is_empty() {
            break;
        } else if in_table {
            names.insert(line.split_whitespace().last().unwrap().to_string());
        }
    }
    names
}

/// The DLLs a PE file imports (`objdump -p`), lower-case.
fn dll_imports(pe: &Path) -> BTreeSet<String> {
    stdout_of(Command::new(OBJDUMP).arg("-p").arg(pe), "objdump -p")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("DLL Name: "))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// `__imp_` symbols an import library defines.
fn import_symbols(lib: &Path) -> BTreeSet<String> {
    stdout_of(Command::new(NM).arg(lib), "nm of an import library")
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter_map(|s| s.strip_prefix("__imp_"))
        .filter(|s| s.starts_with("ims_"))
        .map(str::to_owned)
        .collect()
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The SDK folder holds exactly what it ships, and its parts agree with the header.
#[test]
fn windows_sdk_folder() {
    let sdk = sdk();
    let root = support::root();
    println!("{}", sdk.report);

    // Exactly these files (so nothing test-only, such as the bcryptprimitives stand-in).
    let mut expected: BTreeSet<String> = [
        "README.txt",
        "bin/imstatus.dll",
        "include/imstatus.h",
        "lib/imstatus.def",
        "lib/imstatus.lib",
        "lib/libimstatus.a",
        "lib/libimstatus.dll.a",
        "lib/cmake/imstatus/imstatusConfig.cmake",
        "lib/cmake/imstatus/imstatusConfigVersion.cmake",
        "lib/pkgconfig/imstatus-cpp.pc",
        "lib/pkgconfig/imstatus.pc",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for header in files_under(&root.join("bindings/cpp/include")) {
        expected.insert(format!("include/imstatus/cpp/{header}"));
    }
    assert_eq!(files_under(&sdk.dir), expected, "the SDK folder's files");
    let name = sdk.dir.file_name().unwrap().to_string_lossy().into_owned();
    let zipped: BTreeSet<String> =
        stdout_of(Command::new("unzip").arg("-Z1").arg(&sdk.zip), "unzip -Z1")
            .lines()
            .filter(|l| !l.ends_with('/'))
            .map(|l| {
                l.strip_prefix(&format!("{name}/"))
                    .unwrap_or_else(|| panic!("{l} in the zip is not under {name}/"))
                    .to_string()
            })
            .collect();
    assert_eq!(zipped, expected, "the zip's files");

    // The headers are the repository's.
    assert_eq!(
        std::fs::read(sdk.dir.join("include/imstatus.h")).unwrap(),
        std::fs::read(root.join("include/imstatus.h")).unwrap(),
        "include/imstatus.h differs from the repository's"
    );
    for header in files_under(&root.join("bindings/cpp/include")) {
        assert_eq!(
            std::fs::read(sdk.dir.join("include/imstatus/cpp").join(&header)).unwrap(),
            std::fs::read(root.join("bindings/cpp/include").join(&header)).unwrap(),
            "include/imstatus/cpp/{header} differs from the repository's"
        );
    }

    // The DLL exports exactly the header's functions; the .def lists them; both import
    // libraries import each of them from imstatus.dll.
    let header = std::fs::read_to_string(root.join("include/imstatus.h")).unwrap();
    let functions = header_functions(&header);
    assert!(
        functions.len() >= 30,
        "too few functions found: {functions:?}"
    );
    let dll = sdk.dir.join("bin/imstatus.dll");
    assert_eq!(dll_exports(&dll), functions, "imstatus.dll's exports");
    let def = std::fs::read_to_string(sdk.dir.join("lib/imstatus.def")).unwrap();
    let mut def_lines = def.lines();
    assert_eq!(def_lines.next(), Some("LIBRARY imstatus.dll"));
    assert_eq!(def_lines.next(), Some("EXPORTS"));
    let def_names: BTreeSet<String> = def_lines.map(|l| l.trim().to_string()).collect();
    assert_eq!(def_names, functions, "imstatus.def");
    for lib in ["lib/imstatus.lib", "lib/libimstatus.dll.a"] {
        let path = sdk.dir.join(lib);
        assert_eq!(import_symbols(&path), functions, "{lib} imports");
        assert!(
            contains_bytes(&std::fs::read(&path).unwrap(), b"imstatus.dll"),
            "{lib} does not name imstatus.dll"
        );
    }

    // Stripped: no symbol table, no debug information.
    let nm = Command::new(NM).arg(&dll).output().unwrap();
    assert!(
        String::from_utf8_lossy(&nm.stderr).contains("no symbols"),
        "imstatus.dll has symbols:\n{}",
        String::from_utf8_lossy(&nm.stdout)
    );
    let sections = stdout_of(Command::new(OBJDUMP).arg("-h").arg(&dll), "objdump -h");
    assert!(
        !sections.contains(".debug"),
        "imstatus.dll has debug sections:\n{sections}"
    );

    // It needs Windows' own DLLs only: an app ships no MinGW runtime with it.
    let imports = dll_imports(&dll);
    assert!(imports.contains("kernel32.dll"), "{imports:?}");
    for runtime in ["libgcc", "libwinpthread", "libstdc++"] {
        assert!(
            !imports.iter().any(|i| i.starts_with(runtime)),
            "imstatus.dll needs a MinGW runtime DLL: {imports:?}"
        );
    }

    // The CMake package: the Windows layout, every placeholder filled.
    let config =
        std::fs::read_to_string(sdk.dir.join("lib/cmake/imstatus/imstatusConfig.cmake")).unwrap();
    assert!(config.contains("IMPORTED_IMPLIB"));
    assert!(config.contains("\"${_imstatus_prefix}/bin/imstatus.dll\""));
    for file in [
        "lib/cmake/imstatus/imstatusConfig.cmake",
        "lib/cmake/imstatus/imstatusConfigVersion.cmake",
        "lib/pkgconfig/imstatus.pc",
        "lib/pkgconfig/imstatus-cpp.pc",
    ] {
        let text = std::fs::read_to_string(sdk.dir.join(file)).unwrap();
        assert!(
            !text.lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with('#') && l.matches('@').count() >= 2
            }),
            "{file} has an unfilled @PLACEHOLDER@"
        );
    }
}

// ---- the headers ---------------------------------------------------------------------------

/// The headers compile for Windows: MinGW's gcc and g++, and clang with MSVC's ABI.
#[test]
fn windows_headers_compile() {
    let sdk = sdk();
    let include = sdk.dir.join("include");
    let cpp_include = include.join("imstatus/cpp");
    let layout = support::root().join("tests/c/header_layout.c");
    let check = |cmd: &mut Command, what: &str| {
        support::run_ok(cmd, what);
    };

    // C11: the header alone, and the pinned layouts; also as linked statically.
    for extra in [&[][..], &["-DIMS_STATIC"][..]] {
        for (file, lang) in [(include.join("imstatus.h"), "c"), (layout.clone(), "c")] {
            check(
                Command::new(CC)
                    .args(support::C_FLAGS)
                    .args(extra)
                    .arg("-fsyntax-only")
                    .arg("-I")
                    .arg(&include)
                    .arg("-x")
                    .arg(lang)
                    .arg(&file),
                &format!("{CC} {extra:?} {}", file.display()),
            );
        }
    }
    // IMS_API: __declspec(dllimport) (MinGW spells it __attribute__((dllimport))), unless
    // IMS_STATIC.
    let probe = support::out_dir().join("windows_ims_api.c");
    std::fs::write(&probe, "#include \"imstatus.h\"\nIMS_API\n").unwrap();
    for (extra, dllimport) in [(None, true), (Some("-DIMS_STATIC"), false)] {
        let out = stdout_of(
            Command::new(CC)
                .args(extra)
                .arg("-E")
                .arg("-P")
                .arg("-I")
                .arg(&include)
                .arg(&probe),
            "preprocessing IMS_API",
        );
        let last = out
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        assert_eq!(
            last.contains("dllimport"),
            dllimport,
            "IMS_API with {extra:?} expands to '{last}'"
        );
    }

    // C++11 to C++20: the pinned layouts, and the wrapper alone with the strict warnings.
    for std in support::CXX_STANDARDS {
        check(
            Command::new(CXX)
                .arg(format!("-std={std}"))
                .args(&support::CXX_FLAGS[1..])
                .arg("-fsyntax-only")
                .arg("-I")
                .arg(&include)
                .arg("-x")
                .arg("c++")
                .arg(&layout),
            &format!("{CXX} -std={std} header_layout.c"),
        );
        check(
            Command::new(CXX)
                .arg(format!("-std={std}"))
                .args(&support::CXX_FLAGS[1..])
                .args(support::CXX_STRICT_FLAGS)
                .arg("-fsyntax-only")
                .arg("-I")
                .arg(&cpp_include)
                .arg("-I")
                .arg(&include)
                .arg(support::root().join("tests/cpp/header_alone.cpp")),
            &format!("{CXX} -std={std} V2TIMManager.h"),
        );
    }

    // MSVC's ABI (clang: _MSC_VER, LLP64, __declspec): the pinned layouts hold there too. No
    // MSVC C library here, so freestanding (stdbool.h, stddef.h and stdint.h are clang's).
    check(
        Command::new("clang")
            .args(["--target=x86_64-pc-windows-msvc", "-ffreestanding"])
            .args(support::C_FLAGS)
            .arg("-fsyntax-only")
            .arg("-I")
            .arg(&include)
            .arg(&layout),
        "clang --target=x86_64-pc-windows-msvc header_layout.c",
    );
}

// ---- programs under wine -------------------------------------------------------------------

/// One wine prefix, in a temporary directory: made at the start, its wineserver stopped and the
/// directory removed at the end.
struct Wine {
    prefix: tempfile::TempDir,
    wine: PathBuf,
}

impl Wine {
    fn start() -> Wine {
        let wine = Wine {
            prefix: tempfile::Builder::new()
                .prefix("imstatus-wine-")
                .tempdir()
                .expect("a temporary directory for the wine prefix"),
            wine: wine_binary(),
        };
        let started = Instant::now();
        let mut boot = wine.command(Path::new("wineboot"));
        boot.arg("--init")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = support::run_with_limit(boot, Duration::from_secs(300), "wineboot --init");
        assert!(
            out.status.success(),
            "wineboot --init failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "wine prefix made in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        wine
    }

    /// `wine64 PROGRAM` in this prefix, quiet, without a display.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(&self.wine);
        cmd.arg(program)
            .env("WINEPREFIX", self.prefix.path())
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko installers when the prefix is made.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        if let Some(dir) = program.parent().filter(|d| !d.as_os_str().is_empty()) {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Runs a Windows program to its end (at most [`PROGRAM_LIMIT`]).
    fn run(&self, exe: &Path, args: &[&str], env: &[(String, String)]) -> Output {
        let mut cmd = self.command(exe);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        support::run_with_limit(cmd, PROGRAM_LIMIT, &name)
    }

    /// Runs a test program; panics with its output unless it exits 0 and says all passed.
    fn run_test_program(&self, exe: &Path, env: &[(String, String)]) {
        let out = self.run(exe, &[], env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let name = exe.file_name().unwrap().to_string_lossy();
        assert!(
            out.status.success() && stdout.contains("all checks passed"),
            "{name} under wine failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        // Stops this prefix's wineserver and the Windows processes it still runs.
        let _ = Command::new(wineserver_binary(&self.wine))
            .arg("-k")
            .env("WINEPREFIX", self.prefix.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Where the programs and the DLLs they load go: `target/<profile>/windows-tests/`.
struct Bin {
    dir: PathBuf,
}

/// The bcryptprimitives.dll stand-in (test-only: wine 8 lacks ProcessPrng).
const PROCESS_PRNG_C: &str = r#"/* Test-only stand-in for Windows 10's bcryptprimitives.dll, which wine 8 lacks. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  for (ULONG chunk; len > 0; data += chunk, len -= chunk) {
    chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!SystemFunction036(data, chunk)) return FALSE;
  }
  return TRUE;
}
"#;

impl Bin {
    /// Makes the directory, with imstatus.dll, the stand-in and libwinpthread-1.dll in it.
    fn new(sdk: &Sdk) -> Bin {
        let dir = support::profile_dir().join("windows-tests");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(sdk.dir.join("bin/imstatus.dll"), dir.join("imstatus.dll")).unwrap();
        let src = dir.join("process_prng.c");
        let def = dir.join("process_prng.def");
        std::fs::write(&src, PROCESS_PRNG_C).unwrap();
        std::fs::write(
            &def,
            "LIBRARY bcryptprimitives.dll\nEXPORTS\n    ProcessPrng\n",
        )
        .unwrap();
        support::run_ok(
            Command::new(CC)
                .args(["-shared", "-O2", "-s", "-o"])
                .arg(dir.join("bcryptprimitives.dll"))
                .arg(&src)
                .arg(&def)
                .arg("-ladvapi32"),
            "building the bcryptprimitives.dll stand-in",
        );
        let winpthread = stdout_of(
            Command::new(CC).arg("-print-file-name=libwinpthread-1.dll"),
            "locating libwinpthread-1.dll",
        );
        let winpthread = PathBuf::from(winpthread.trim());
        assert!(
            winpthread.is_file(),
            "{CC} does not find libwinpthread-1.dll (apt-get install mingw-w64-x86-64-dev)"
        );
        std::fs::copy(&winpthread, dir.join("libwinpthread-1.dll")).unwrap();
        Bin { dir }
    }

    /// Puts the DLLs a program needs besides imstatus.dll into `dir`: the stand-in and MinGW's
    /// libwinpthread-1.dll.
    fn add_runtime_dlls(&self, dir: &Path) {
        for dll in ["bcryptprimitives.dll", "libwinpthread-1.dll"] {
            std::fs::copy(self.dir.join(dll), dir.join(dll)).unwrap();
        }
    }

    /// Compiles and links a program into this directory.
    fn build(&self, compiler: &str, args: &[OsString], name: &str) -> PathBuf {
        let exe = self.dir.join(format!("{name}.exe"));
        support::run_ok(
            Command::new(compiler).args(args).arg("-o").arg(&exe),
            &format!("building {name}.exe with {compiler}"),
        );
        exe
    }
}

fn os(s: impl Into<OsString>) -> OsString {
    s.into()
}

fn include_flags(dirs: &[PathBuf]) -> Vec<OsString> {
    dirs.iter()
        .flat_map(|d| [os("-I"), d.clone().into_os_string()])
        .collect()
}

/// `tests/c/<name>.c` with `tests/c/common.c`, linked with imstatus.dll's MinGW import library.
fn build_c(bin: &Bin, sdk: &Sdk, name: &str) -> PathBuf {
    let c = support::root().join("tests/c");
    let mut args: Vec<OsString> = support::C_FLAGS.iter().map(os).collect();
    args.extend(["-O0", "-pthread"].map(os));
    args.extend(include_flags(&[sdk.dir.join("include"), c.clone()]));
    args.push(c.join(format!("{name}.c")).into());
    args.push(c.join("common.c").into());
    args.push(sdk.dir.join("lib/libimstatus.dll.a").into());
    bin.build(CC, &args, &format!("c-{name}"))
}

/// `tests/cpp/<name>.cpp` with `tests/cpp/harness.cpp`, linked with imstatus.dll's MinGW import
/// library, or (`static_lib`) with the static library and IMS_STATIC; `extra` goes to g++.
fn build_cpp(bin: &Bin, sdk: &Sdk, name: &str, static_lib: bool, extra: &[String]) -> PathBuf {
    let root = support::root();
    let include = sdk.dir.join("include");
    let mut args: Vec<OsString> = support::CXX_FLAGS.iter().map(os).collect();
    args.extend(["-O0", "-pthread", "-static-libgcc", "-static-libstdc++"].map(os));
    args.extend(include_flags(&[
        include.join("imstatus/cpp"),
        include.clone(),
        root.join("tests/cpp"),
        root.join("tests/c"),
    ]));
    if static_lib {
        args.push(os("-DIMS_STATIC"));
    }
    args.extend(extra.iter().map(os));
    args.push(root.join(format!("tests/cpp/{name}.cpp")).into());
    args.push(root.join("tests/cpp/harness.cpp").into());
    if static_lib {
        args.push(sdk.dir.join("lib/libimstatus.a").into());
        args.extend(NATIVE_LIBS.iter().map(os));
    } else {
        args.push(sdk.dir.join("lib/libimstatus.dll.a").into());
    }
    bin.build(CXX, &args, &format!("cpp-{name}"))
}

/// A line of a Windows program's output (text mode ends lines with CR LF).
fn has_line(output: &str, line: &str) -> bool {
    output.lines().any(|l| l.trim_end_matches('\r') == line)
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    for file in files_under(from) {
        let dest = to.join(&file);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&file), dest).unwrap();
    }
}

/// `examples/` with CMake find_package(imstatus) (a MinGW cross build) from a copy of the SDK
/// folder under a path with a space, and with pkg-config; the programs run under wine.
fn cmake_examples(wine: &Wine, bin: &Bin, sdk: &Sdk) {
    let work = tempfile::tempdir().unwrap();
    let prefix = work.path().join("Program Files").join("imstatus");
    copy_tree(&sdk.dir, &prefix);
    let build = work.path().join("build");
    let warnings = "-Wall -Wextra -Wpedantic -Werror";
    let configure = stdout_of(
        Command::new("cmake")
            .arg("-S")
            .arg(support::root().join("examples"))
            .arg("-B")
            .arg(&build)
            .arg("-DCMAKE_SYSTEM_NAME=Windows")
            .arg("-DCMAKE_SYSTEM_PROCESSOR=AMD64")
            .arg(format!("-DCMAKE_C_COMPILER={CC}"))
            .arg(format!("-DCMAKE_CXX_COMPILER={CXX}"))
            .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
            .arg("-DCMAKE_BUILD_TYPE=Debug")
            .arg(format!("-DCMAKE_C_FLAGS={warnings}"))
            .arg(format!("-DCMAKE_CXX_FLAGS={warnings}"))
            .arg("-DCMAKE_EXE_LINKER_FLAGS=-static-libgcc -static-libstdc++")
            .arg("-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
            .arg("-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF"),
        "cmake configure of examples/ for Windows (MinGW)",
    );
    let built = stdout_of(
        Command::new("cmake")
            .arg("--build")
            .arg(&build)
            .arg("--verbose"),
        "cmake --build of examples/ for Windows",
    );
    // The shared programs linked MinGW's import library (IMPORTED_IMPLIB) and need imstatus.dll,
    // which the build copied next to them ($<TARGET_RUNTIME_DLLS>); the static one needs none.
    for name in ["status_c", "status_cpp"] {
        // The Makefile generator passes the libraries in a response file.
        let libs =
            std::fs::read_to_string(build.join(format!("CMakeFiles/{name}.dir/linkLibs.rsp")))
                .unwrap_or_default();
        assert!(
            libs.contains("lib/libimstatus.dll.a"),
            "{name} did not link lib/libimstatus.dll.a ({libs}):\n{configure}\n{built}"
        );
    }
    let exe = |name: &str| build.join(format!("{name}.exe"));
    for name in ["status_c", "status_cpp"] {
        assert!(
            dll_imports(&exe(name)).contains("imstatus.dll"),
            "{name}.exe does not import imstatus.dll"
        );
    }
    assert!(!dll_imports(&exe("status_cpp_static")).contains("imstatus.dll"));
    assert_eq!(
        std::fs::read(build.join("imstatus.dll")).ok(),
        std::fs::read(sdk.dir.join("bin/imstatus.dll")).ok(),
        "the build did not copy imstatus.dll next to the programs"
    );
    bin.add_runtime_dlls(&build);

    // pkg-config (MinGW): -limstatus finds the import library.
    let pkg = stdout_of(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "imstatus"])
            .env("PKG_CONFIG_PATH", sdk.dir.join("lib/pkgconfig"))
            .env("PKG_CONFIG_LIBDIR", sdk.dir.join("lib/pkgconfig")),
        "pkg-config imstatus",
    );
    let pc_c = build.join("pc_status_c.exe");
    support::run_ok(
        Command::new(CC)
            .args(support::C_FLAGS)
            .arg(support::root().join("examples/status.c"))
            .args(pkg.split_whitespace())
            .arg("-o")
            .arg(&pc_c),
        "MinGW gcc with pkg-config imstatus",
    );
    assert!(dll_imports(&pc_c).contains("imstatus.dll"));

    let server = programs::c_server();
    let addr = server.addr().to_string();
    let env = vec![("IMSTATUS_SERVER".to_string(), addr)];
    let app = APP.to_string();
    let run = |name: &str, args: &[&str]| -> String {
        let out = wine.run(&exe(name), args, &env);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{name}.exe {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let sig_alice = common::sig("alice");
    let out = run(
        "status_c",
        &[&app, "alice", &sig_alice, "listening to music"],
    );
    assert!(
        has_line(&out, "alice ONLINE listening to music"),
        "status_c printed:\n{out}"
    );

    let carol = common::Wire::login(server.addr(), "carol", "Web", "carol-web").0;
    let sig_bob = common::sig("bob");
    let out = run(
        "status_cpp",
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
    let sig_dave = common::sig("dave");
    let out = run("status_cpp_static", &[&app, "dave", &sig_dave, "static"]);
    assert!(
        has_line(&out, "dave ONLINE static"),
        "status_cpp_static printed:\n{out}"
    );
    let sig_erin = common::sig("erin");
    let out = run("pc_status_c", &[&app, "erin", &sig_erin, "pkg-config"]);
    assert!(
        has_line(&out, "erin ONLINE pkg-config"),
        "pc_status_c printed:\n{out}"
    );

    // An error exits 1 with the V2TIM code.
    let out = wine.run(&exe("status_cpp"), &[&app, "erin", "not-a-usersig"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Login failed: 70003"));
    drop(carol);
}

/// `tests/c/msvc_probe.c`: MSVC's ABI by clang, linked by lld-link against imstatus.lib alone.
fn msvc_probe(wine: &Wine, bin: &Bin, sdk: &Sdk) {
    let obj = bin.dir.join("msvc_probe.obj");
    support::run_ok(
        Command::new("clang")
            .args([
                "--target=x86_64-pc-windows-msvc",
                "-ffreestanding",
                "-O1",
                "-c",
            ])
            .args(support::C_FLAGS)
            .arg("-I")
            .arg(sdk.dir.join("include"))
            .arg(support::root().join("tests/c/msvc_probe.c"))
            .arg("-o")
            .arg(&obj),
        "clang --target=x86_64-pc-windows-msvc msvc_probe.c",
    );
    let exe = bin.dir.join("msvc_probe.exe");
    support::run_ok(
        Command::new(rust_lld())
            .args(["-flavor", "link", "/nologo", "/subsystem:console"])
            .args(["/entry:probe_main", "/nodefaultlib"])
            .arg(format!("/out:{}", exe.display()))
            .arg(&obj)
            .arg(sdk.dir.join("lib/imstatus.lib")),
        "lld-link msvc_probe.obj imstatus.lib",
    );
    assert_eq!(
        dll_imports(&exe),
        BTreeSet::from(["imstatus.dll".to_string()])
    );
    let out = wine.run(&exe, &[], &[]);
    assert!(
        out.status.success(),
        "msvc_probe.exe failed with {} (the number says which check: tests/c/msvc_probe.c)\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

/// The C and C++ test programs, the examples and the MSVC probe, under wine, two at a time.
#[test]
fn windows_programs_under_wine() {
    let sdk = sdk();
    let bin = &Bin::new(sdk);
    let started = Instant::now();
    let wine = Wine::start();
    let wine = &wine;

    let mut jobs: Vec<(String, Job)> = Vec::new();
    for &name in programs::C_PROGRAMS {
        jobs.push((
            format!("c/{name}"),
            Box::new(move || {
                let exe = build_c(bin, sdk, name);
                let server = programs::c_server();
                wine.run_test_program(&exe, &programs::c_env(&server, WINE_PACE));
            }),
        ));
    }
    // TLS with real certificates, the test CA given as PEM bytes. Wine 8's chain engine refuses
    // an extra root store, so this runs the SDK's own check of the extra CAs behind Windows'
    // verifier (src/client/tls/trust.rs); a real Windows takes them as an extra root store.
    jobs.push((
        "c/tls".to_string(),
        Box::new(move || {
            let exe = build_c(bin, sdk, "tls");
            let world = TlsWorld::start();
            wine.run_test_program(&exe, &programs::tls_env(&world, WINE_PACE));
        }),
    ));
    for &name in programs::CPP_PROGRAMS {
        jobs.push((
            format!("cpp/{name}"),
            Box::new(move || {
                let exe = build_cpp(bin, sdk, name, false, &[]);
                let server = programs::cpp_server();
                wine.run_test_program(&exe, &programs::cpp_env(&server, WINE_PACE));
            }),
        ));
    }
    jobs.push((
        "cpp/seed_samples (static library)".to_string(),
        Box::new(move || {
            let exe = build_cpp(
                bin,
                sdk,
                "seed_samples",
                true,
                &[programs::seed_wrap_flag()],
            );
            let server = programs::cpp_server();
            wine.run_test_program(&exe, &programs::cpp_env(&server, WINE_PACE));
        }),
    ));
    jobs.push((
        "examples (CMake, pkg-config)".to_string(),
        Box::new(move || cmake_examples(wine, bin, sdk)),
    ));
    jobs.push((
        "msvc_probe (clang, lld-link, imstatus.lib)".to_string(),
        Box::new(move || msvc_probe(wine, bin, sdk)),
    ));

    // Two workers take the jobs in order; a job's panic is its failure.
    let queue = Mutex::new(jobs.into_iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some((name, job)) = queue.lock().unwrap().next() else {
                    return;
                };
                let begun = Instant::now();
                let outcome = catch_unwind(AssertUnwindSafe(job)).map_err(|panic| {
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".to_string())
                });
                results
                    .lock()
                    .unwrap()
                    .push((name, begun.elapsed(), outcome));
            });
        }
    });

    let results = results.into_inner().unwrap();
    let mut failures = Vec::new();
    for (name, took, outcome) in &results {
        match outcome {
            Ok(()) => println!("windows: {name} passed ({:.1} s)", took.as_secs_f64()),
            Err(e) => {
                println!("windows: {name} FAILED ({:.1} s)", took.as_secs_f64());
                failures.push(format!("{name}:\n{e}"));
            }
        }
    }
    println!(
        "windows: {} programs under wine in {:.1} s",
        results.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} failed under wine:\n\n{}",
        failures.len(),
        results.len(),
        failures.join("\n\n")
    );
}
