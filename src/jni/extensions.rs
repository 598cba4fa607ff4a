//! The natives of `IMStatusExtensions` (presence beyond V2TIM): an expiring custom status,
//! appearing offline, who may see the user. Like every native: arguments translated or refused
//! through the callback (6017), 6013 without a client, the rules decided by the server.

use std::sync::Arc;
use std::time::Duration;

use jni::objects::{JClass, JObject};
use jni::sys::{jboolean, jint, jlong, JNI_FALSE};
use jni::JNIEnv;

use crate::client::{ClientError, Visibility};
use crate::codes;

use super::callback::done_unit;
use super::{args, boundary, start, Failure};

fn refused(desc: String) -> Failure {
    Failure::Refused(ClientError::new(codes::ERR_INVALID_PARAMETERS, desc))
}

/// `static native void setSelfStatusExpiring(long handle, V2TIMUserStatus status, long
/// expireAfterMs, V2TIMCallback cb)`: a null status or a negative expiry is refused; the server
/// decides the rest (0 and more than a year are 6017 there).
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_setSelfStatusExpiring(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    status: JObject,
    expire_after_ms: jlong,
    callback: JObject,
) {
    boundary(&mut env, "setSelfStatusExpiring", (), |env| {
        let args = |env: &mut JNIEnv| {
            let ms = u64::try_from(expire_after_ms)
                .map_err(|_| refused(format!("expireAfterMs is negative: {expire_after_ms}")))?;
            Ok((args::custom_status(env, &status)?, ms))
        };
        start(
            env,
            raw,
            &callback,
            args,
            |handle, (custom, ms), callback| {
                let done = done_unit(Arc::clone(&handle.session), callback);
                let expiry = Some(Duration::from_millis(ms));
                handle
                    .client
                    .set_self_status_expiring(custom.as_deref(), expiry, done);
            },
        )
    });
}

/// `static native void setInvisible(long handle, boolean on, V2TIMCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_setInvisible(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    on: jboolean,
    callback: JObject,
) {
    boundary(&mut env, "setInvisible", (), |env| {
        start(
            env,
            raw,
            &callback,
            |_| Ok(on != JNI_FALSE),
            |handle, on, callback| {
                let done = done_unit(Arc::clone(&handle.session), callback);
                handle.client.set_invisible(on, done);
            },
        )
    });
}

/// `static native void setVisibility(long handle, int visibility, V2TIMCallback cb)`: the
/// values of `IMStatusExtensions.VISIBILITY_*` but unknown; anything else is refused.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_setVisibility(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    visibility: jint,
    callback: JObject,
) {
    boundary(&mut env, "setVisibility", (), |env| {
        let args = |_: &mut JNIEnv| {
            Visibility::from_i32(visibility)
                .filter(|v| *v != Visibility::Unknown)
                .ok_or_else(|| {
                    refused(format!(
                        "visibility {visibility} is not VISIBILITY_EVERYONE, _FRIENDS or _NOBODY"
                    ))
                })
        };
        start(env, raw, &callback, args, |handle, visibility, callback| {
            let done = done_unit(Arc::clone(&handle.session), callback);
            handle.client.set_visibility(visibility, done);
        })
    });
}
