//! Test-only natives of the Java test class `io.imstatus.v2.TestHooks` (in
//! `bindings/java/test`, not in the jar): exact counters for leak tests and a deliberate panic.
//! Compiled only with the feature `test-hooks`, which release builds leave off, so an app's
//! library carries none of them.

use jni::objects::{JClass, JString};
use jni::sys::jlong;
use jni::JNIEnv;

use crate::live::{count, Kind};

use super::{args, boundary, Failure, Result};

/// `static native long liveObjects(String kind)`: how many objects of a counted kind are alive
/// (`PendingCallback`, `JniGlobalRef`, `JniClient`; see `crate::live::Kind`).
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_TestHooks_liveObjects(
    mut env: JNIEnv,
    _class: JClass,
    kind: JString,
) -> jlong {
    boundary(&mut env, "liveObjects", 0, |env| {
        let kind = match args::string(env, &kind, "kind")?.as_str() {
            "PendingCallback" => Kind::PendingCallback,
            "JniGlobalRef" => Kind::JniGlobalRef,
            "JniClient" => Kind::JniClient,
            other => return Err(Failure::Invalid(format!("no counter named {other:?}"))),
        };
        Ok(count(kind))
    })
}

/// `static native void panic()`: panics inside a native, to show the boundary turning it into an
/// `IllegalStateException`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_TestHooks_panic(mut env: JNIEnv, _class: JClass) {
    boundary(&mut env, "panic", (), |_| -> Result<()> {
        panic!("TestHooks.panic was called")
    });
}
