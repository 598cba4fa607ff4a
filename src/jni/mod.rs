//! The JNI natives behind the Java V2TIM API (`bindings/java`, package `io.imstatus.v2`).
//!
//! A thin bridge in the manner of libsignal's: every native is a static method of the Java class
//! `io.imstatus.v2.Native`, translates its arguments, calls [`crate::client`] directly (not the
//! C ABI), and translates back. No rule is decided here: limits, list checks, editions and
//! switches are the server's; this layer only refuses what cannot be translated (null where the
//! Java layer never passes one, a zero handle).
//!
//! - **Cache.** The JavaVM, the classes and the method IDs are looked up once, by
//!   `Native.init()` from `Native`'s static initializer (so with the app's class loader); see
//!   `cache.rs`.
//! - **Handle.** `Native.create` returns a `long`: a boxed `Handle` owning the client and a
//!   global reference to the Java `NativeSession`. `V2TIMManager` holds the only copy and passes
//!   it to `Native.destroy` exactly once.
//! - **Callbacks.** Each call with a callback makes one global reference to the callback object
//!   and moves it into the client's `done`, which runs on the client's callback thread; it is
//!   deleted there, right after the callback ran (the client fires every `done` exactly once,
//!   6013 at shutdown). Listener events go through one `JniListener` per session.
//!   See `callback.rs` for attaching that thread and for exceptions.
//! - **Errors.** Client errors reach Java as `onError(code, desc)` with the V2TIM codes. A native
//!   that cannot translate its arguments throws `NullPointerException` or
//!   `IllegalArgumentException`; a panic is caught at the boundary and thrown as
//!   `IllegalStateException`. A JNI call that fails leaves its Java exception pending for the
//!   caller.
//!
//! Nothing here is specific to an OS: the same code builds for Android targets.

mod cache;
mod callback;
#[cfg(feature = "test-hooks")]
mod hooks;
mod refs;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use jni::errors::Error as JniError;
use jni::objects::{JClass, JObject, JObjectArray, JString};
use jni::sys::{jint, jlong, jstring};
use jni::JNIEnv;

use crate::client::{Client, ClientConfig, Listener};
use crate::live::{Kind, Live};

use callback::{done_statuses, done_unit, JniListener};
use refs::Global;

/// What `Native.create` hands to Java as a `long`.
struct Handle {
    client: Client,
    /// The Java `NativeSession`; the listener and every pending `done` hold it too.
    session: Arc<Global>,
    _live: Live,
}

/// Why a native could not do its work; becomes a Java exception.
enum Failure {
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

/// The client behind a handle from `Native.create`.
fn handle<'a>(raw: jlong) -> Result<&'a Handle> {
    if raw == 0 {
        return Err(Failure::Invalid("handle is 0 (not initialised)".into()));
    }
    // SAFETY: a non-zero handle is a `Box<Handle>` from `create`, which `V2TIMManager` frees
    // only after every call using it has returned (its read/write lock).
    Ok(unsafe { &*(raw as *const Handle) })
}

fn string(env: &mut JNIEnv, value: &JString, what: &'static str) -> Result<String> {
    if value.is_null() {
        return Err(Failure::Null(what));
    }
    // SAFETY: `value` is a `java.lang.String`: every native declares its string parameters as
    // String, which the JVM enforces. (The checked `get_string` would leak local references.)
    let text = unsafe { env.get_string_unchecked(value) }?;
    Ok(text.into())
}

fn optional_string(env: &mut JNIEnv, value: &JString) -> Result<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    string(env, value, "string").map(Some)
}

/// The elements of a `String[]`, each read and released in turn.
fn strings(env: &mut JNIEnv, array: &JObjectArray, what: &'static str) -> Result<Vec<String>> {
    if array.is_null() {
        return Err(Failure::Null(what));
    }
    let len = env.get_array_length(array)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for i in 0..len {
        let element = JString::from(env.get_object_array_element(array, i)?);
        if element.is_null() {
            return Err(Failure::Null("an element of the ID list"));
        }
        out.push(string(env, &element, what)?);
        env.delete_local_ref(element)?;
    }
    Ok(out)
}

/// A global reference to the callback object, or `None` for a null callback.
fn callback_ref(env: &JNIEnv, callback: &JObject) -> Result<Option<Global>> {
    if callback.is_null() {
        return Ok(None);
    }
    Ok(Some(Global::new(env, callback)?))
}

/// `static native void init()`: caches the JavaVM, classes and method IDs.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_init(mut env: JNIEnv, _class: JClass) {
    boundary(&mut env, "init", (), |env| Ok(cache::init(env)?));
}

/// `static native long create(NativeSession session, int sdkAppID, String serverAddress)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_create(
    mut env: JNIEnv,
    _class: JClass,
    session: JObject,
    sdk_app_id: jint,
    server_address: JString,
) -> jlong {
    boundary(&mut env, "create", 0, |env| {
        if session.is_null() {
            return Err(Failure::Null("session"));
        }
        // An sdkAppID is a u32; Java has only signed ints, so the bits are taken as they are.
        let mut config = ClientConfig::new(sdk_app_id as u32);
        config.server_addr = optional_string(env, &server_address)?;
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
/// with 6013 first) and frees the handle.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_destroy(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
) {
    boundary(&mut env, "destroy", (), |_| {
        handle(raw)?;
        // SAFETY: `raw` came from `Box::into_raw` in `create`, and `V2TIMManager` hands it
        // here once, after taking it away from every other caller.
        let handle = unsafe { Box::from_raw(raw as *mut Handle) };
        let Handle {
            client,
            session,
            _live,
        } = *handle;
        drop(client);
        drop(session);
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
        let handle = handle(raw)?;
        let user_id = string(env, &user_id, "userID")?;
        let user_sig = string(env, &user_sig, "userSig")?;
        let callback = callback_ref(env, &callback)?;
        let done = done_unit(Arc::clone(&handle.session), callback);
        handle.client.login(&user_id, &user_sig, done);
        Ok(())
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
        let handle = handle(raw)?;
        let callback = callback_ref(env, &callback)?;
        handle
            .client
            .logout(done_unit(Arc::clone(&handle.session), callback));
        Ok(())
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
        |env| match handle(raw)?.client.login_user() {
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
        Ok(handle(raw)?.client.login_status() as jint)
    })
}

/// `static native void setSelfStatus(long handle, String customStatus, V2TIMCallback cb)`;
/// a null custom status clears it.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_setSelfStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    custom_status: JString,
    callback: JObject,
) {
    boundary(&mut env, "setSelfStatus", (), |env| {
        let handle = handle(raw)?;
        let custom = optional_string(env, &custom_status)?;
        let callback = callback_ref(env, &callback)?;
        handle.client.set_self_status(
            custom.as_deref(),
            done_unit(Arc::clone(&handle.session), callback),
        );
        Ok(())
    });
}

/// `static native void getUserStatus(long handle, String[] ids, V2TIMValueCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_getUserStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    user_ids: JObjectArray,
    callback: JObject,
) {
    boundary(&mut env, "getUserStatus", (), |env| {
        let handle = handle(raw)?;
        let ids = strings(env, &user_ids, "userIDList")?;
        let callback = callback_ref(env, &callback)?;
        handle
            .client
            .get_user_status(ids, done_statuses(Arc::clone(&handle.session), callback));
        Ok(())
    });
}

/// `static native void subscribeUserStatus(long handle, String[] ids, V2TIMCallback cb)`.
#[no_mangle]
pub extern "system" fn Java_io_imstatus_v2_Native_subscribeUserStatus(
    mut env: JNIEnv,
    _class: JClass,
    raw: jlong,
    user_ids: JObjectArray,
    callback: JObject,
) {
    boundary(&mut env, "subscribeUserStatus", (), |env| {
        let handle = handle(raw)?;
        let ids = strings(env, &user_ids, "userIDList")?;
        let callback = callback_ref(env, &callback)?;
        handle
            .client
            .subscribe_user_status(ids, done_unit(Arc::clone(&handle.session), callback));
        Ok(())
    });
}

/// `static native void unsubscribeUserStatus(long handle, String[] ids, V2TIMCallback cb)`;
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
        let handle = handle(raw)?;
        let ids = if user_ids.is_null() {
            None
        } else {
            Some(strings(env, &user_ids, "userIDList")?)
        };
        let callback = callback_ref(env, &callback)?;
        handle
            .client
            .unsubscribe_user_status(ids, done_unit(Arc::clone(&handle.session), callback));
        Ok(())
    });
}
