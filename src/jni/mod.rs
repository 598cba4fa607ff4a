//! The JNI natives behind the Java V2TIM API (`bindings/java`, package `io.imstatus.v2`).
//!
//! A thin bridge in the manner of libsignal's: every native is a static method of the Java class
//! `io.imstatus.v2.Native`, translates its arguments, calls [`crate::client`] directly (not the
//! C ABI), and translates back. No rule is decided here: limits, list checks, editions and
//! switches are the server's. The Java layer passes what the app gave it, nulls included, and
//! this layer refuses what cannot be translated the way V2TIM reports every error: through the
//! callback, never inline (see `args.rs` and [`start`]).
//!
//! - **Cache.** The JavaVM, the classes and the method IDs are looked up once, by
//!   `Native.init()` from `Native`'s static initializer (so with the app's class loader); see
//!   `cache.rs`.
//! - **Handle.** `Native.create` returns a `long`: a boxed `Handle` owning the client and a
//!   global reference to the Java `NativeSession`. `V2TIMManager` holds the only copy and passes
//!   it to `Native.destroy` exactly once. Every other native also takes 0, "not initialised":
//!   calls then fail with 6013 on the library's error thread (`imstatus-errors`), the getters
//!   answer logged out.
//! - **Callbacks.** Each call with a callback makes one global reference to the callback object
//!   and moves it into the client's `done`, which runs on the client's callback thread; it is
//!   deleted there, right after the callback ran (the client fires every `done` exactly once,
//!   6013 at shutdown). Listener events go through one `JniListener` per session.
//!   See `callback.rs` for attaching that thread and for exceptions.
//! - **Errors.** Client errors reach Java as `onError(code, desc)` with the V2TIM codes, and so
//!   do refusals: 6017 for a null or non-String argument (in call order, on the client's callback
//!   thread), 6013 without a client. Only what no callback can report throws: a null session or
//!   an unknown platform at `create` (`NullPointerException`, `IllegalArgumentException`); a panic
//!   is caught at the boundary and thrown as `IllegalStateException`. A JNI call that fails leaves
//!   its Java exception pending for the caller.
//!
//! Nothing here is specific to an OS but the `Context` that `create` hands to Android's
//! certificate verifier (`tls.rs`): the same code builds for Android targets.

mod args;
mod cache;
mod callback;
mod extensions;
#[cfg(feature = "test-hooks")]
mod hooks;
mod refs;
mod tls;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use jni::errors::Error as JniError;
use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, jstring};
use jni::JNIEnv;

use crate::client::{
    local_unix_ms, platform_from_code, report_later, Client, ClientConfig, ClientError, Listener,
    LoginStatus,
};
use crate::codes;
use crate::live::{Kind, Live};

use callback::{done_statuses, done_unit, fail_without_session, JniListener};
use refs::Global;

/// What `Native.create` hands to Java as a `long`.
struct Handle {
    client: Client,
    /// The Java `NativeSession`; the listener and every pending `done` hold it too.
    session: Arc<Global>,
    _live: Live,
}

/// Why a native could not do its work: a refusal for the callback, or a Java exception.
enum Failure {
    /// A call refused before it started (a null or non-String argument): reported through the
    /// call's callback, like every other error.
    Refused(ClientError),
    /// An argument the Java layer never passes as null was null.
    Null(&'static str),
    /// An argument that cannot be translated.
    Invalid(String),
    /// The client could not be created: "code: description".
    Client(i32, String),
    /// A JNI call failed; a Java exception may be pending already.
    Jni(JniError),
}

impl From<JniError> for Failure {
    fn from(e: JniError) -> Self {
        Failure::Jni(e)
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// The boundary every native goes through: runs `f`, turns a failure or a panic into a Java
/// exception, and then returns `fallback` (which Java never sees, as the exception is pending).
fn boundary<'l, R>(
    env: &mut JNIEnv<'l>,
    name: &str,
    fallback: R,
    f: impl FnOnce(&mut JNIEnv<'l>) -> Result<R>,
) -> R {
    let outcome = catch_unwind(AssertUnwindSafe(|| f(env)));
    let (class, message) = match outcome {
        Ok(Ok(value)) => return value,
        // Natives that take a callback turn refusals into callbacks (`start`); reaching here is
        // a native without one, which can only throw.
        Ok(Err(Failure::Refused(e))) => (
            "java/lang/IllegalArgumentException",
            format!("{name}: {}", e.desc),
        ),
        Ok(Err(Failure::Null(what))) => (
            "java/lang/NullPointerException",
            format!("{name}: {what} is null"),
        ),
        Ok(Err(Failure::Invalid(why))) => (
            "java/lang/IllegalArgumentException",
            format!("{name}: {why}"),
        ),
        Ok(Err(Failure::Client(code, desc))) => {
            ("java/lang/IllegalStateException", format!("{code}: {desc}"))
        }
        Ok(Err(Failure::Jni(e))) => (
            "java/lang/IllegalStateException",
            format!("{name}: JNI call failed: {e}"),
        ),
        Err(panic) => (
            "java/lang/IllegalStateException",
            format!(
                "{name}: panic in imstatus native code: {}",
                panic_text(&*panic)
            ),
        ),
    };
    // A failed JNI call usually left its own exception pending: keep that one.
    if !env.exception_check().unwrap_or(true) {
        let _ = env.throw_new(class, message);
    }
    fallback
}

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// The client behind a handle from `Native.create`; `None` for 0 (not initialised).
fn handle<'a>(raw: jlong) -> Option<&'a Handle> {
    // SAFETY: a non-zero handle is a `Box<Handle>` from `create`, which `V2TIMManager` frees
    // only after every call using it has returned (its read/write lock).
    (raw != 0).then(|| unsafe { &*(raw as *const Handle) })
}

/// What a call made before `initSDK` or after `unInitSDK` gets.
fn not_initialised() -> ClientError {
    ClientError::new(
        codes::ERR_SDK_NOT_INITIALIZED,
        "the SDK is not initialised: call initSDK first",
    )
}

/// A global reference to the callback object, or `None` for a null callback.
fn callback_ref(env: &JNIEnv, callback: &JObject) -> Result<Option<Global>> {
    if callback.is_null() {
        return Ok(None);
    }
    Ok(Some(Global::new(env, callback)?))
}

/// Reports `error` through `callback` (whichever of `V2TIMCallback` and `V2TIMValueCallback`: an
/// error calls `onError` on both): through the client, in call order on its callback thread, or
/// without one on the library's error thread.
fn refuse(handle: Option<&Handle>, callback: Option<Global>, error: ClientError) -> Result<()> {
    match handle {
        Some(handle) => {
            handle
                .client
                .refuse(error, done_unit(Arc::clone(&handle.session), callback));
            Ok(())
        }
        None => {
            let Some(callback) = callback else {
                return Ok(());
            };
            report_later(move || fail_without_session(callback, error)).map_err(|e| {
                Failure::Client(
                    codes::ERR_SDK_NOT_INITIALIZED,
                    format!("cannot start the library's error thread: {e}"),
                )
            })
        }
    }
}

/// Runs a native that takes a callback: with a client and translatable arguments, `begin` starts
/// the call; otherwise the callback gets the refusal (6013 without a client, else what `args`
/// refused), never inline.
fn start<'l, A>(
    env: &mut JNIEnv<'l>,
    raw: jlong,
    callback: &JObject,
    args: impl FnOnce(&mut JNIEnv<'l>) -> Result<A>,
    begin: impl FnOnce(&Handle, A, Option<Global>),
) -> Result<()> {
    let callback = callback_ref(env, callback)?;
    let Some(handle) = handle(raw) else {
        return refuse(None, callback, not_initialised());
    };
    match args(env) {
        Ok(args) => {
            begin(handle, args, callback);
            Ok(())
        }
        Err(Failure::Refused(error)) => refuse(Some(handle), callback, error),
        Err(other) => Err(other),
    }
}

/// `static native void init()`: caches the JavaVM, classes and method IDs.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_init(mut env: JNIEnv, _class: JClass) {
    boundary(&mut env, "init", (), |env| Ok(cache::init(env)?));
}

/// `static native long create(NativeSession session, int sdkAppID, String serverAddress,
/// int platform, boolean useTLS, byte[] caCertificatesPEM, Object[] spkiPins, Object context)`:
/// the platform is a code of `platform_from_code` (Java's `V2TIMSDKConfig.PLATFORM_*`); another
/// one, a CA PEM without a usable certificate or a pin that is not one throws
/// `IllegalArgumentException`. On Android `context` (the app's `Context`, or null) goes to the
/// platform's certificate verifier (`tls.rs`).
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_create(
    mut env: JNIEnv,
    _class: JClass,
    session: JObject,
    sdk_app_id: jint,
    server_address: JString,
    platform: jint,
    use_tls: jboolean,
    ca_certificates_pem: JByteArray,
    spki_pins: JObjectArray,
    context: JObject,
) -> jlong {
    boundary(&mut env, "create", 0, |env| {
        if session.is_null() {
            return Err(Failure::Null("session"));
        }
        // An sdkAppID is a u32; Java has only signed ints, so the bits are taken as they are.
        let mut config = ClientConfig::new(sdk_app_id as u32);
        config.server_addr = args::optional_string(env, &server_address)?;
        config.platform = platform_from_code(platform).ok_or_else(|| {
            Failure::Invalid(format!(
                "platform {platform} is not one of V2TIMSDKConfig.PLATFORM_*"
            ))
        })?;
        tls::configure(
            env,
            &mut config.tls,
            use_tls,
            &ca_certificates_pem,
            &spki_pins,
        )?;
        tls::platform_context(env, &context)?;
        let session = Arc::new(Global::new(env, &session)?);
        let client = Client::new(config).map_err(|e| Failure::Client(e.code, e.desc))?;
        let listener: Arc<dyn Listener> = Arc::new(JniListener {
            session: Arc::clone(&session),
        });
        client.add_listener(listener);
        let handle = Box::new(Handle {
            client,
            session,
            _live: Live::new(Kind::JniClient),
        });
        Ok(Box::into_raw(handle) as jlong)
    })
}

/// `static native void destroy(long handle)`: shuts the client down (pending callbacks fire
/// with 6013 first) and frees the handle. 0 does nothing.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_destroy(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
) {
    boundary(&mut env, "destroy", (), |_| {
        if raw == 0 {
            return Ok(());
        }
        // SAFETY: `raw` came from `Box::into_raw` in `create`, and `V2TIMManager` hands it
        // here once, after taking it away from every other caller.
        let handle = unsafe { Box::from_raw(raw as *mut Handle) };
        handle.client.shutdown();
        drop(handle);
        Ok(())
    });
}

/// `static native void login(long handle, String userID, String userSig, V2TIMCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_login(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    user_id: JString,
    user_sig: JString,
    callback: JObject,
) {
    boundary(&mut env, "login", (), |env| {
        let args = |env: &mut JNIEnv| {
            let id = args::string(env, &user_id, "userID")?;
            Ok((id, args::string(env, &user_sig, "userSig")?))
        };
        start(env, raw, &callback, args, |handle, (id, sig), callback| {
            let done = done_unit(Arc::clone(&handle.session), callback);
            handle.client.login(&id, &sig, done);
        })
    });
}

/// `static native void logout(long handle, V2TIMCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_logout(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    callback: JObject,
) {
    boundary(&mut env, "logout", (), |env| {
        start(
            env,
            raw,
            &callback,
            |_| Ok(()),
            |handle, (), callback| {
                let done = done_unit(Arc::clone(&handle.session), callback);
                handle.client.logout(done);
            },
        )
    });
}

/// `static native String getLoginUser(long handle)`: null when nobody is logged in.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_getLoginUser(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
) -> jstring {
    boundary(
        &mut env,
        "getLoginUser",
        std::ptr::null_mut(),
        |env| match handle(raw).and_then(|h| h.client.login_user()) {
            Some(user) => Ok(env.new_string(user)?.into_raw()),
            None => Ok(std::ptr::null_mut()),
        },
    )
}

/// `static native int getLoginStatus(long handle)`: the V2TIM values 1, 2, 3.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_getLoginStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
) -> jint {
    boundary(&mut env, "getLoginStatus", 0, |_| {
        let status = handle(raw).map_or(LoginStatus::Logout, |h| h.client.login_status());
        Ok(status as jint)
    })
}

/// `static native long getServerTime(long handle)`: the server's time in Unix seconds; the
/// local clock before the first login and without a client.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_getServerTime(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
) -> jlong {
    boundary(&mut env, "getServerTime", 0, |_| {
        let ms = handle(raw).map_or_else(local_unix_ms, |h| h.client.server_time_ms());
        Ok(i64::try_from(ms / 1000).unwrap_or(i64::MAX))
    })
}

/// `static native void setSelfStatus(long handle, V2TIMUserStatus status, V2TIMCallback cb)`:
/// the status's custom status, null clearing it; a null status is refused.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_setSelfStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    status: JObject,
    callback: JObject,
) {
    boundary(&mut env, "setSelfStatus", (), |env| {
        let args = |env: &mut JNIEnv| args::custom_status(env, &status);
        start(env, raw, &callback, args, |handle, custom, callback| {
            let done = done_unit(Arc::clone(&handle.session), callback);
            handle.client.set_self_status(custom.as_deref(), done);
        })
    });
}

/// `static native void getUserStatus(long handle, Object[] ids, V2TIMValueCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_getUserStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    user_ids: JObjectArray,
    callback: JObject,
) {
    boundary(&mut env, "getUserStatus", (), |env| {
        let args = |env: &mut JNIEnv| args::ids(env, &user_ids);
        start(env, raw, &callback, args, |handle, ids, callback| {
            let done = done_statuses(Arc::clone(&handle.session), callback);
            handle.client.get_user_status(ids, done);
        })
    });
}

/// `static native void subscribeUserStatus(long handle, Object[] ids, V2TIMCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_subscribeUserStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    user_ids: JObjectArray,
    callback: JObject,
) {
    boundary(&mut env, "subscribeUserStatus", (), |env| {
        let args = |env: &mut JNIEnv| args::ids(env, &user_ids);
        start(env, raw, &callback, args, |handle, ids, callback| {
            let done = done_unit(Arc::clone(&handle.session), callback);
            handle.client.subscribe_user_status(ids, done);
        })
    });
}

/// `static native void unsubscribeUserStatus(long handle, Object[] ids, V2TIMCallback cb)`;
/// a null array unsubscribes from everyone.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_unsubscribeUserStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    user_ids: JObjectArray,
    callback: JObject,
) {
    boundary(&mut env, "unsubscribeUserStatus", (), |env| {
        let args = |env: &mut JNIEnv| match user_ids.is_null() {
            true => Ok(None),
            false => args::ids(env, &user_ids).map(Some),
        };
        start(env, raw, &callback, args, |handle, ids, callback| {
            let done = done_unit(Arc::clone(&handle.session), callback);
            handle.client.unsubscribe_user_status(ids, done);
        })
    });
}

/// `static native void fail(long handle, Object callback, int code, String desc)`: reports an
/// error the Java layer met while translating a call's arguments (a list it could not read)
/// through `callback`, as a refused call: in call order through the client, or without one on
/// the library's error thread.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_fail(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    callback: JObject,
    code: jint,
    desc: JString,
) {
    boundary(&mut env, "fail", (), |env| {
        let desc = args::optional_string(env, &desc)?.unwrap_or_default();
        let callback = callback_ref(env, &callback)?;
        refuse(handle(raw), callback, ClientError::new(code, desc))
    });
}
