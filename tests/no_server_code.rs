//! The SDK as a user builds it, alone (`cargo build --release -p imstatus --lib`, what
//! `scripts/install.sh` and the README run), carries no server code: `libimstatus.a` holds no
//! object of the server crate or of a crate only the server uses (redb, axum, hyper, toml,
//! regex, clap, tracing-subscriber, rand, ...), and none of its objects has a symbol of one
//! (generic code of such a crate is compiled into the objects of the crate that uses it).
//!
//! Built into `target/sdk-alone` (see `nested_build`): built together with the server, cargo
//! would unify the server's features into shared dependencies, which is not what a user gets.
//! The archive is read with `ar` and `readelf` (binutils; `scripts/test` installs them). Not
//! `nm`: the release objects carry LLVM bitcode (for LTO), which `nm` hands to its LLVM plugin,
//! and when that plugin is older than rustc's LLVM it lists no symbol at all.

mod nested_build;
#[path = "c/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates of the server that an app embedding the SDK must not ship (crate names as rustc
/// spells them, `-` as `_`).
const SERVER_ONLY: &[&str] = &[
    "imstatus_server",
    "redb",
    "axum",
    "axum_core",
    "hyper",
    "hyper_util",
    "tower",
    "toml",
    "toml_edit",
    "toml_datetime",
    "regex",
    "regex_automata",
    "regex_syntax",
    "clap",
    "clap_builder",
    "clap_lex",
    "tracing_subscriber",
    "rand",
    "rand_core",
    "rand_chacha",
    "sha2",
    "hmac",
    "flate2",
    "humantime",
];

/// Builds the SDK alone, in release as an app ships it; returns `libimstatus.a`.
fn build_static_library() -> PathBuf {
    let target_dir = nested_build::root().join("target").join("sdk-alone");
    nested_build::cargo_build(
        &target_dir,
        &["--release", "-p", "imstatus", "--lib"],
        "the SDK alone",
    );
    let lib = target_dir.join("release").join("libimstatus.a");
    assert!(lib.is_file(), "no static library at {}", lib.display());
    lib
}

/// The crates whose objects the archive holds, from its members' names: rustc names them
/// `<crate>-<hash>.<crate>.<hash>-cgu.<n>.rcgu.o` (the crate being built: `<crate>.<crate>...`).
fn crates_in_archive(lib: &Path) -> BTreeSet<String> {
    let out = support::run_ok(Command::new("ar").arg("t").arg(lib), "ar t (binutils)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|member| {
            member
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Every symbol of the archive's objects, demangled (`readelf -W -s -C`: one line per symbol,
/// its name last).
fn symbols(lib: &Path) -> Vec<String> {
    let out = support::run_ok(
        Command::new("readelf").args(["-W", "-s", "-C"]).arg(lib),
        "readelf -s (binutils)",
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether `symbol` names an item of `krate`: `krate::` at the start of a path, not inside a
/// longer name or another crate's path (`tokio::util::rand::` is tokio's).
fn names_crate(symbol: &str, krate: &str) -> bool {
    let path = format!("{krate}::");
    symbol.match_indices(&path).any(|(at, _)| {
        !symbol[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    })
}

#[test]
fn the_static_library_built_alone_holds_no_server_code() {
    support::require_tool("ar", "binutils");
    support::require_tool("readelf", "binutils");
    let lib = build_static_library();

    let crates = crates_in_archive(&lib);
    // What must be there, so that a listing that parses nothing cannot pass.
    for expected in ["imstatus", "imstatus_protocol", "tokio", "std"] {
        assert!(
            crates.contains(expected),
            "{} has no object of {expected}; its crates: {crates:?}",
            lib.display()
        );
    }
    let server: Vec<&String> = crates
        .iter()
        .filter(|c| SERVER_ONLY.contains(&c.as_str()))
        .collect();
    assert!(
        server.is_empty(),
        "{} holds objects of server crates {server:?}; all its crates: {crates:?}",
        lib.display()
    );

    let symbols = symbols(&lib);
    assert!(
        symbols.iter().any(|s| names_crate(s, "imstatus")),
        "readelf found no symbol of the imstatus crate in {}",
        lib.display()
    );
    let server_symbols: Vec<&String> = symbols
        .iter()
        .filter(|s| SERVER_ONLY.iter().any(|k| names_crate(s, k)))
        .take(20)
        .collect();
    assert!(
        server_symbols.is_empty(),
        "{} has symbols of server crates, e.g.:\n{}",
        lib.display(),
        server_symbols
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn names_crate_matches_whole_crate_names_only() {
    assert!(names_crate("redb::tree_store::btree::Btree::get", "redb"));
    assert!(names_crate(
        "<hyper::proto::h1::Conn<I,B,T> as core::fmt::Debug>::fmt",
        "hyper"
    ));
    assert!(!names_crate("hyper_util::rt::TokioIo::new", "hyper"));
    assert!(!names_crate(
        "imstatus_protocol::message::encode",
        "imstatus"
    ));
    assert!(!names_crate("mytoml::parse", "toml"));
    assert!(!names_crate("tokio::util::rand::FastRand::new", "rand"));
    assert!(names_crate(
        "core::ptr::drop_in_place<rand::rngs::thread::ThreadRng>",
        "rand"
    ));
}
