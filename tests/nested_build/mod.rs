//! Cargo builds made from inside a test, as a user would make them, into a target directory of
//! their own: the running `cargo test` holds the lock of `target`, and a build of its own
//! selects only the packages and features it names (a build together with the server crate would
//! unify features into the SDK's dependencies that a user building the SDK alone never gets).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository (the SDK crate's directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo running this test (else the one that built it).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned())
}

/// `cargo build ARGS --target-dir TARGET_DIR` in the repository; panics with cargo's output when
/// it fails.
pub fn cargo_build(target_dir: &Path, args: &[&str], what: &str) {
    let output = Command::new(cargo())
        .current_dir(root())
        .arg("build")
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        // Outer cargo settings meant for the test build must not leak into this one.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo build ({what}): {e}"));
    assert!(
        output.status.success(),
        "cargo build ({what}) failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
