//! Generates the C header from `src/ffi/` with cbindgen (settings in `cbindgen.toml`) into
//! `$OUT_DIR/imstatus.h`. The checked-in `include/imstatus.h` is never written here: the test
//! `tests/c_header.rs` compares the two and, with `IMS_BLESS=1`, refreshes the checked-in copy.
//! That keeps one source of truth (the Rust code) without a build silently editing the tree.
//!
//! It also gives the shared library its SONAME on Linux and Android (see [`soname`]).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

    if let Some(soname) = soname() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("imstatus.h");

    let mut config = cbindgen::Config::from_file(manifest_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is a valid cbindgen config");
    // The version macros first, then what cbindgen.toml puts after the includes (IMS_API).
    let after_includes = config.after_includes.take().unwrap_or_default();
    config.after_includes = Some(version_macros() + &after_includes);

    match cbindgen::Builder::new()
        .with_config(config)
        .with_src(manifest_dir.join("src/ffi/mod.rs"))
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(&out);
        }
        Err(e) => {
            // A source that does not parse fails the compile with a better message anyway;
            // leave no stale header behind so the header test cannot pass by accident.
            let _ = std::fs::remove_file(&out);
            println!("cargo:warning=cbindgen could not generate the C header: {e}");
        }
    }
}

/// The SONAME of the shared library, by the target's conventions.
///
/// Linux: `libimstatus.so.MAJOR`, so that programs linked against this library need this major
/// version and not whatever `libimstatus.so` a system holds later (scripts/install.sh installs
/// the file as `libimstatus.so.MAJOR.MINOR.PATCH` with the links `libimstatus.so.MAJOR` and
/// `libimstatus.so`). Android: `libimstatus.so`, its file name: an app ships its libraries as
/// `lib<name>.so` files only, and the loader finds a library another one needs by that name.
/// Elsewhere (macOS install names, Windows DLLs) rustc's defaults stay.
fn soname() -> Option<String> {
    match env::var("CARGO_CFG_TARGET_OS").ok()?.as_str() {
        "linux" => Some(format!(
            "libimstatus.so.{}",
            env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo")
        )),
        "android" => Some("libimstatus.so".to_owned()),
        _ => None,
    }
}

/// `IMS_VERSION_*` from the package version, so the header can never disagree with Cargo.toml.
fn version_macros() -> String {
    let part = |name: &str| env::var(name).expect("set by cargo");
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    );
    let number = major.parse::<u32>().unwrap_or(0) * 10000
        + minor.parse::<u32>().unwrap_or(0) * 100
        + patch.parse::<u32>().unwrap_or(0);
    format!(
        "\n/** The version of this header; compare with ims_version() / ims_version_number(). */\n\
         #define IMS_VERSION_MAJOR {major}\n\
         #define IMS_VERSION_MINOR {minor}\n\
         #define IMS_VERSION_PATCH {patch}\n\
         #define IMS_VERSION_NUMBER {number}\n\
         #define IMS_VERSION_STRING \"{version}\"",
        version = part("CARGO_PKG_VERSION"),
    )
}
