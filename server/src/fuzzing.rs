//! Every decoder that reads what the network or an operator gives the server, each as one
//! function of arbitrary bytes that must never panic, whatever the bytes. The cargo-fuzz targets
//! in `fuzz/` run them under coverage (`fuzz/run.sh`); the test `decoders_never_panic` runs them
//! over the seed corpus and mutations of it on the stable toolchain, in every CI run.

use imstatus_protocol::{decode_request, decode_server_message, split_frame, Split};

use crate::{usersig, Config};

/// The app and key `usersig` checks against.
const APP: u32 = 1_400_000_000;
const KEY: &str = "fuzz-secret-key";

/// The frame splitter, over a buffer that may hold any number of frames.
pub fn frame(data: &[u8]) {
    let mut rest = data;
    while let Ok(Split::Frame { payload }) = split_frame(rest, 64 * 1024) {
        let _ = decode_request(&rest[payload.clone()]);
        rest = &rest[payload.end..];
    }
}

/// A client's request, as the server decodes it.
pub fn request(data: &[u8]) {
    let _ = decode_request(data);
}

/// A server's message, as the SDK decodes it.
pub fn server_message(data: &[u8]) {
    let _ = decode_server_message(data);
}

/// A UserSig, checked for a user and at a time taken from the input too.
pub fn usersig(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (user, sig) = text.split_once('|').unwrap_or(("alice", &text));
    let _ = usersig::verify(sig, APP, KEY, user, 1_800_000_000);
    // A real sig with the input as its user: generation must take any user too.
    if crate::engine::check_user_id(user).is_ok() {
        let made = usersig::generate(APP, KEY, user, 3600, 1_800_000_000);
        assert!(
            usersig::verify(&made, APP, KEY, user, 1_800_000_000).is_ok(),
            "a UserSig made here must verify here"
        );
    }
}

/// The admin API's path IDs and JSON bodies.
pub fn admin_body(data: &[u8]) {
    crate::admin::decode_everything(data);
}

/// A configuration file.
pub fn config(data: &[u8]) {
    let _ = Config::from_toml(&String::from_utf8_lossy(data));
}

/// A fuzz target: one decoder over arbitrary bytes.
pub type Target = fn(&[u8]);

/// Every target, by name, for runners that take the name from outside.
pub const TARGETS: [(&str, Target); 6] = [
    ("frame", frame),
    ("request", request),
    ("server_message", server_message),
    ("usersig", usersig),
    ("admin_body", admin_body),
    ("config", config),
];
