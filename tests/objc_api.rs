//! The Objective-C V2TIM API (`bindings/apple`) on Linux, with clang against GNUstep Base and the
//! blocks runtime (GCC's Objective-C runtime):
//!
//! - the wrapper is compiled without ARC (`-Wall -Wextra -Werror`) and linked with the static
//!   library `libimstatus.a` of this very build; each program of `tests/objc/` runs against a
//!   real server started here (an Ultimate app with both switches, a Basic app, an app with the
//!   status switch off), with addresses and UserSigs in its environment;
//! - `main_queue` runs the wrapper built for Apple's main-queue delivery (`IMS_V2TIM_MAIN_QUEUE`)
//!   against a stand-in main queue the test program drains on its main thread;
//! - `seed_samples` holds the seed's iOS and macOS samples verbatim (checked against the copy of
//!   the seed's Objective-C code blocks kept in `tests/objc/seed/seed-objc-samples.md`);
//! - the ARC build is compiled to object code with `-fobjc-arc` (GCC's runtime has no ARC, so with
//!   clang's GNUstep 2.0 runtime ABI; it is not linked or run here);
//! - `module.modulemap` is checked as a Clang module, laid out as `build-xcframework.sh` does;
//! - `tls` connects over TLS with real certificates (`tests/common/tls.rs`).
//!
//! It fails (never skips) when clang, GNUstep Base, the blocks runtime or GCC's Objective-C
//! headers are missing: `scripts/test` installs them (`clang libgnustep-base-dev
//! libblocksruntime-dev gobjc`).

mod common;
#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{TestServer, APP, KEY};
use imstatus_server::engine::{AppSettings, Edition};
use imstatus_server::usersig;

const BASIC_APP: u32 = APP + 1;
const BASIC_KEY: &str = "basic-secret-key";
const OFF_APP: u32 = APP + 2;
const OFF_KEY: &str = "switch-off-secret-key";

/// The users the programs log in as; each gets a UserSig in every app.
const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "seed-me", "userid1", "userid2", "userid3",
];
/// Users who also get a UserSig that expires within seconds.
const SHORT_SIG_USERS: &[&str] = &["judy"];
/// How long those short UserSigs live.
const SHORT_SIG_SECONDS: u64 = 6;

/// How the wrapper delivers blocks and listener methods.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// On the SDK's callback thread (no main queue: GNUstep, Linux).
    CallbackThread,
    /// On the main queue, as on Apple platforms (`IMS_V2TIM_MAIN_QUEUE`, stand-in libdispatch).
    MainQueue,
}

fn objc_dir() -> PathBuf {
    support::root().join("tests/objc")
}

fn apple_dir() -> PathBuf {
    support::root().join("bindings/apple")
}

fn out_dir() -> PathBuf {
    let dir = support::out_dir().join("objc");
    std::fs::create_dir_all(&dir).expect("can create the objc build directory");
    dir
}

/// GCC's include directory, which holds the GCC runtime's `objc/objc.h` that GNUstep's headers
/// include (clang ships none).
fn gcc_objc_include() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        support::require_tool("gcc", "gcc");
        let out = support::run_ok(
            Command::new("gcc").arg("-print-file-name=include"),
            "gcc -print-file-name=include",
        );
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        assert!(
            dir.join("objc/objc.h").is_file(),
            "GCC's Objective-C headers are missing ({}): apt-get install gobjc (scripts/test \
             installs it)",
            dir.join("objc/objc.h").display()
        );
        dir
    })
    .clone()
}

/// Fails with an install hint unless everything the programs need is here.
fn require_objc_toolchain() {
    support::require_tool("clang", "clang");
    for (file, package) in [
        (
            "/usr/include/GNUstep/Foundation/Foundation.h",
            "libgnustep-base-dev",
        ),
        ("/usr/include/Block.h", "libblocksruntime-dev"),
    ] {
        assert!(
            Path::new(file).is_file(),
            "{file} is missing: apt-get install {package} (scripts/test installs it)"
        );
    }
    gcc_objc_include();
}

/// The flags every Objective-C file is compiled with, for GNUstep with GCC's runtime (no ARC).
fn objc_flags() -> Vec<String> {
    let mut flags: Vec<String> = [
        "-fblocks",
        "-fobjc-runtime=gcc",
        "-fobjc-exceptions",
        // Unwind tables in every function, blocks included, as `gnustep-config --objc-flags`
        // has (on Apple platforms clang implies it for Objective-C): without them an exception
        // thrown in an app's block aborts before the wrapper's @catch.
        "-fexceptions",
        "-fconstant-string-class=NSConstantString",
        "-DGNUSTEP",
        "-DGNUSTEP_BASE_LIBRARY=1",
        "-DGNU_RUNTIME=1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-g",
        "-O0",
        "-pthread",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    flags.extend(include_flags());
    flags
}

/// The include path: the `objc/blocks_runtime.h` shim, GNUstep (as system headers, so their own
/// warnings do not count), the C API, the wrapper's headers, and last GCC's runtime headers (after
/// clang's own, whose `stddef.h` and friends must win).
fn include_flags() -> Vec<String> {
    vec![
        format!("-I{}", objc_dir().join("shim").display()),
        "-isystem".into(),
        "/usr/include/GNUstep".into(),
        format!("-I{}", support::root().join("include").display()),
        format!("-I{}", apple_dir().join("include").display()),
        format!("-I{}", objc_dir().display()),
        "-idirafter".into(),
        gcc_objc_include().display().to_string(),
    ]
}

fn clang(args: &[String], what: &str) {
    let mut cmd = Command::new("clang");
    cmd.args(args);
    support::run_ok(&mut cmd, what);
}

/// The wrapper compiled without ARC, once per delivery mode.
fn wrapper_object(delivery: Delivery) -> PathBuf {
    static CALLBACK_THREAD: OnceLock<PathBuf> = OnceLock::new();
    static MAIN_QUEUE: OnceLock<PathBuf> = OnceLock::new();
    let cell = match delivery {
        Delivery::CallbackThread => &CALLBACK_THREAD,
        Delivery::MainQueue => &MAIN_QUEUE,
    };
    cell.get_or_init(|| {
        require_objc_toolchain();
        let (name, extra) = match delivery {
            Delivery::CallbackThread => ("V2TIMManager.o", vec![]),
            Delivery::MainQueue => ("V2TIMManager-main-queue.o", main_queue_flags()),
        };
        let object = out_dir().join(name);
        let mut args = objc_flags();
        args.extend(extra);
        args.push("-c".into());
        args.push(apple_dir().join("src/V2TIMManager.m").display().to_string());
        args.push("-o".into());
        args.push(object.display().to_string());
        clang(
            &args,
            "compiling bindings/apple/src/V2TIMManager.m (no ARC)",
        );
        object
    })
    .clone()
}

/// Builds the wrapper for main-queue delivery against the stand-in `<dispatch/dispatch.h>`.
fn main_queue_flags() -> Vec<String> {
    vec![
        "-DIMS_V2TIM_MAIN_QUEUE=1".into(),
        format!("-I{}", objc_dir().join("stub").display()),
    ]
}

/// Compiles `tests/objc/<name>.m` with the test kit, links it with the wrapper, the static
/// library and GNUstep.
fn build_program(name: &str, delivery: Delivery) -> PathBuf {
    let wrapper = wrapper_object(delivery);
    let exe = out_dir().join(name);
    let mut args = objc_flags();
    if delivery == Delivery::MainQueue {
        args.extend(main_queue_flags());
    }
    args.push(objc_dir().join(format!("{name}.m")).display().to_string());
    args.push(objc_dir().join("testkit.m").display().to_string());
    args.push(wrapper.display().to_string());
    args.push(support::static_lib().display().to_string());
    // libBlocksRuntime first: GNUstep Base (built for GCC's runtime) exports a `_Block_copy` of
    // its own that does not copy clang's blocks (it tests a flag clang no longer sets), and the
    // first library named wins the symbol.
    args.extend(
        ["-lBlocksRuntime", "-lgnustep-base", "-lobjc"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(support::NATIVE_LIBS.iter().map(|s| s.to_string()));
    args.push("-o".into());
    args.push(exe.display().to_string());
    clang(&args, &format!("compiling and linking tests/objc/{name}.m"));
    exe
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

/// Builds `tests/objc/<name>.m` and runs it against a real server of its own.
fn run_objc(name: &str, delivery: Delivery) {
    let exe = build_program(name, delivery);
    let server = TestServer::start(apps());
    support::run_program(&exe, &objc_env(&server));
    drop(server);
}

/// What every program is told about `server`: its address, the apps, UserSigs, the fake servers.
fn objc_env(server: &TestServer) -> Vec<(String, String)> {
    let now = common::now_secs();
    let mut env = vec![
        ("IMS_TEST_SERVER".to_string(), server.addr().to_string()),
        ("IMS_TEST_APP_ID".to_string(), APP.to_string()),
        ("IMS_TEST_BASIC_APP_ID".to_string(), BASIC_APP.to_string()),
        ("IMS_TEST_OFF_APP_ID".to_string(), OFF_APP.to_string()),
        (
            "IMS_TEST_DEAD_SERVER".to_string(),
            support::dead_address().to_string(),
        ),
        (
            "IMS_TEST_STALL_SERVER".to_string(),
            support::stall_server().to_string(),
        ),
        // For clients that set no address.
        ("IMSTATUS_SERVER".to_string(), server.addr().to_string()),
    ];
    for user in USERS {
        for (prefix, app, key) in [
            ("IMS_TEST_SIG_", APP, KEY),
            ("IMS_TEST_BASIC_SIG_", BASIC_APP, BASIC_KEY),
            ("IMS_TEST_OFF_SIG_", OFF_APP, OFF_KEY),
        ] {
            env.push((
                format!("{prefix}{user}"),
                usersig::generate(app, key, user, 86_400, now),
            ));
        }
    }
    // Made last, right before the run, since they expire within seconds.
    for user in SHORT_SIG_USERS {
        env.push((
            format!("IMS_TEST_SHORT_SIG_{user}"),
            usersig::generate(APP, KEY, user, SHORT_SIG_SECONDS, common::now_secs()),
        ));
    }
    env
}

#[test]
fn objc_every_api() {
    run_objc("api", Delivery::CallbackThread);
}

/// TLS with real certificates (`tls.m`): the programs' environment for the plaintext listener of
/// the TLS world's server, and the world's servers, CAs and pins (`IMS_TEST_TLS_*`).
#[test]
fn objc_tls() {
    let exe = build_program("tls", Delivery::CallbackThread);
    let world = common::tls::TlsWorld::start();
    let mut env = world.env();
    env.extend(objc_env(&world.server));
    support::run_program(&exe, &env);
}

#[test]
fn objc_error_paths() {
    run_objc("errors", Delivery::CallbackThread);
}

#[test]
fn objc_listener_events() {
    run_objc("listener", Delivery::CallbackThread);
}

#[test]
fn objc_presence_extensions() {
    // covers: X1, X2, X4, X5, X6, X9, X10 (through IMStatusExtensions.h)
    run_objc("extensions", Delivery::CallbackThread);
}

#[test]
fn objc_platform_from_the_device_idiom() {
    run_objc("platform", Delivery::CallbackThread);
}

#[test]
fn objc_main_queue_delivery() {
    run_objc("main_queue", Delivery::MainQueue);
}

#[test]
fn objc_seed_samples_compile_unchanged_and_behave_as_the_seed_says() {
    check_seed_samples_are_verbatim();
    run_objc("seed_samples", Delivery::CallbackThread);
}

/// The ARC build: GCC's runtime has no ARC, so the wrapper (in both delivery modes) and the seed
/// samples are compiled with `-fobjc-arc` for clang's GNUstep 2.0 runtime ABI, which has ARC and
/// zeroing weak references, against the same headers. Object code only: nothing here can link it.
#[test]
fn objc_wrapper_compiles_with_arc() {
    require_objc_toolchain();
    let mut base: Vec<String> = [
        "-x",
        "objective-c",
        "-fobjc-arc",
        "-fblocks",
        "-fobjc-runtime=gnustep-2.0",
        "-fobjc-exceptions",
        "-fexceptions",
        "-DGNUSTEP",
        "-DGNUSTEP_BASE_LIBRARY=1",
        "-DGNU_RUNTIME=1",
        "-Wall",
        "-Wextra",
        "-Werror",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // GCC's <objc/runtime.h> does not compile under ARC; the shim that comes first fixes that.
    base.push(format!("-I{}", objc_dir().join("shim-arc").display()));
    base.extend(include_flags());
    let wrapper = apple_dir().join("src/V2TIMManager.m").display().to_string();
    for (delivery, extra) in [
        (Delivery::CallbackThread, vec![]),
        (Delivery::MainQueue, main_queue_flags()),
    ] {
        let object = out_dir().join(match delivery {
            Delivery::CallbackThread => "V2TIMManager-arc.o",
            Delivery::MainQueue => "V2TIMManager-arc-main-queue.o",
        });
        let mut args = base.clone();
        args.extend(extra);
        args.extend([
            "-c".into(),
            wrapper.clone(),
            "-o".into(),
            object.display().to_string(),
        ]);
        clang(
            &args,
            "compiling bindings/apple/src/V2TIMManager.m with -fobjc-arc",
        );
        // ARC really was on: the compiler inserted the runtime's reference counting and weak
        // references (the manual build sends -retain/-release instead).
        let symbols = support::run_ok(Command::new("nm").arg("-u").arg(&object), "nm");
        let symbols = String::from_utf8_lossy(&symbols.stdout);
        for symbol in [
            "objc_retain",
            "objc_release",
            "objc_storeWeak",
            "objc_loadWeakRetained",
        ] {
            assert!(
                symbols.lines().any(|l| l.trim().ends_with(symbol)),
                "the ARC build of the wrapper does not call {symbol}:\n{symbols}"
            );
        }
    }
    let mut args = base;
    args.extend([
        "-fsyntax-only".into(),
        objc_dir().join("seed_samples.m").display().to_string(),
    ]);
    clang(&args, "compiling tests/objc/seed_samples.m with -fobjc-arc");
}

/// The public headers (IMStatusExtensions.h included) alone, from Objective-C and Objective-C++ (an app's `.mm` files), held to
/// `-Wall -Wextra -Werror` (nullability completeness included).
#[test]
fn objc_headers_compile_alone_from_objective_c_and_objective_c_plus_plus() {
    require_objc_toolchain();
    let work = tempfile::tempdir().unwrap();
    let source = "#import \"V2TIMManager.h\"\n\
                  #import \"V2TIMManager.h\"\n\
                  #include \"TIMErrorCode.h\"\n\
                  #import \"IMStatusExtensions.h\"\n\
                  int uses_header(void);\n\
                  int uses_header(void) {\n\
                    V2TIMSucc succ = ^{ };\n\
                    (void)succ;\n\
                    return (int)V2TIM_USER_STATUS_ONLINE + (int)V2TIM_STATUS_LOGOUT + ERR_SUCC +\n\
                           (int)IMSVisibilityNobody;\n\
                  }\n";
    for (language, file) in [("objective-c", "alone.m"), ("objective-c++", "alone.mm")] {
        let path = work.path().join(file);
        std::fs::write(&path, source).unwrap();
        let mut args = objc_flags();
        args.extend([
            "-x".into(),
            language.into(),
            "-fsyntax-only".into(),
            path.display().to_string(),
        ]);
        clang(&args, &format!("V2TIMManager.h alone as {language}"));
    }
}

/// `module.modulemap` as a Clang module, in the layout of the xcframework's headers
/// (`Headers/imstatus/`): C includes `<imstatus/imstatus.h>` and Objective-C does
/// `@import imstatus;` (both with `-fmodules`, so each builds the module from the map).
#[test]
fn objc_module_map_is_a_clang_module() {
    require_objc_toolchain();
    let work = tempfile::tempdir().unwrap();
    let headers = work.path().join("Headers/imstatus");
    std::fs::create_dir_all(&headers).unwrap();
    for file in [
        support::root().join("include/imstatus.h"),
        apple_dir().join("include/V2TIMManager.h"),
        apple_dir().join("include/IMStatusExtensions.h"),
        apple_dir().join("include/TIMErrorCode.h"),
        apple_dir().join("module.modulemap"),
    ] {
        std::fs::copy(&file, headers.join(file.file_name().unwrap())).unwrap();
    }
    let c_file = work.path().join("uses_module.c");
    std::fs::write(
        &c_file,
        "#include <imstatus/imstatus.h>\n\
         int main(void) {\n\
           ims_config *config = 0;\n\
           if (ims_config_new(1400000000u, &config) != IMS_OK) return 1;\n\
           ims_config_free(config);\n\
           return ims_version_number() == IMS_VERSION_NUMBER ? 0 : 1;\n\
         }\n",
    )
    .unwrap();
    let objc_file = work.path().join("uses_module.m");
    std::fs::write(
        &objc_file,
        "@import imstatus;\n\
         static void use(void) {\n\
           V2TIMUserStatus *status = [[V2TIMUserStatus alloc] init];\n\
           status.customStatus = @\"x\";\n\
           [V2TIMManager.sharedInstance setSelfStatus:status succ:^{\n\
           } fail:^(int code, NSString *desc) {\n\
             (void)desc;\n\
             if (code == ERR_SVR_ACCOUNT_USER_STATUS_DISABLED) return;\n\
           }];\n\
           ims_config *config = 0;\n\
           (void)ims_config_new(1400000000u, &config);\n\
         }\n\
         int main(void) { use(); return 0; }\n",
    )
    .unwrap();
    let cache = work.path().join("module-cache");
    let module_flags = vec![
        "-fmodules".to_string(),
        format!("-fmodules-cache-path={}", cache.display()),
        format!(
            "-fmodule-map-file={}",
            headers.join("module.modulemap").display()
        ),
        format!("-I{}", work.path().join("Headers").display()),
        "-Rmodule-build".to_string(),
        "-Wall".to_string(),
        "-Werror".to_string(),
        "-fsyntax-only".to_string(),
    ];
    let mut c_args = module_flags.clone();
    c_args.extend(["-x".into(), "c".into(), c_file.display().to_string()]);
    let c_out = support::run_ok(
        Command::new("clang").args(&c_args),
        "the module from C (#include <imstatus/imstatus.h>)",
    );
    let mut objc_args = module_flags;
    objc_args.extend(
        [
            "-fblocks",
            "-fobjc-runtime=gcc",
            "-fobjc-exceptions",
            "-DGNUSTEP",
            "-DGNUSTEP_BASE_LIBRARY=1",
            "-DGNU_RUNTIME=1",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    objc_args.push(format!("-I{}", objc_dir().join("shim").display()));
    objc_args.extend([
        "-isystem".into(),
        "/usr/include/GNUstep".into(),
        "-idirafter".into(),
        gcc_objc_include().display().to_string(),
        "-x".into(),
        "objective-c".into(),
        objc_file.display().to_string(),
    ]);
    let objc_out = support::run_ok(
        Command::new("clang").args(&objc_args),
        "the module from Objective-C (@import imstatus;)",
    );
    for (what, out) in [("C", c_out), ("Objective-C", objc_out)] {
        let remarks = String::from_utf8_lossy(&out.stderr);
        assert!(
            remarks.contains("building module 'imstatus'"),
            "{what}: clang did not build the imstatus module from the map:\n{remarks}"
        );
    }
}

/// Every Objective-C sample of the seed (the code blocks that are not API prototypes) appears
/// verbatim, whitespace included, in `tests/objc/seed_samples.m`. The seed itself is not part of
/// the repository: its Objective-C code blocks are, copied verbatim into
/// `tests/objc/seed/seed-objc-samples.md` (which names the seed's SHA-256).
fn check_seed_samples_are_verbatim() {
    let seed_path = objc_dir().join("seed/seed-objc-samples.md");
    let seed = std::fs::read_to_string(&seed_path)
        .unwrap_or_else(|e| panic!("{}: {e}", seed_path.display()));
    let samples = std::fs::read_to_string(objc_dir().join("seed_samples.m")).unwrap();
    let blocks = objc_code_blocks(&seed);
    let code: Vec<&String> = blocks
        .iter()
        .filter(|b| !b.trim_start().starts_with("/**"))
        .collect();
    assert_eq!(
        code.len(),
        6,
        "expected 6 Objective-C samples in the seed, found {}",
        code.len()
    );
    for block in code {
        // The listener sample is two pieces: a statement and a method.
        for piece in block.split("\n\n") {
            assert!(
                samples.contains(piece),
                "tests/objc/seed_samples.m lacks this sample of the seed verbatim:\n{piece}"
            );
        }
    }
}

/// The bodies of the seed's ```objectivec code blocks.
fn objc_code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```objectivec") => current = Some(Vec::new()),
            None => {}
            Some(lines) if line.trim_start().starts_with("```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    blocks
}
