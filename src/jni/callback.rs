//! The way back: results and events from the client's callback thread into Java.
//!
//! Everything here runs on the client's callback thread (`imstatus-callback`), or, for the errors
//! of calls made without a client, on the library's error thread (`imstatus-errors`). Both are
//! native threads: the first delivery attaches one to the JVM, as a daemon, for good (it detaches
//! itself when it ends: at `unInitSDK`, or when the error thread has been idle), and names its
//! `java.lang.Thread` after it. Each delivery
//! runs in its own JNI local frame, since a thread that never returns to Java never frees its
//! local references otherwise; a Java exception thrown by the app's callback is logged and
//! cleared before the frame is popped, so it is never left pending.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use jni::errors::{Error as JniError, Result as JniResult};
use jni::objects::{JObject, JObjectArray, JValue};
use jni::signature::{Primitive, ReturnType};
use jni::sys::jvalue;
use jni::JNIEnv;

use crate::client::log::log;
use crate::client::{ClientError, Listener, UserStatus};

use super::cache::{self, Cache};
use super::refs::Global;

/// Local references one delivery may hold at once (the session, the callback, a string or an
/// array, an exception); status arrays are filled in nested frames of their own.
const FRAME: i32 = 16;

thread_local! {
    static NAMED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `body` on the current (callback) thread with a JNI environment, then releases what it
/// made. Never fails: a problem (a failed JNI call, even a panic) is logged, as there is nobody
/// to return it to, and the local frame is popped whatever happened.
pub(super) fn deliver(what: &'static str, body: impl FnOnce(&mut JNIEnv, &Cache) -> JniResult<()>) {
    let Some(cache) = cache::get() else {
        log!(
            Error,
            "{what}: the JNI cache is missing; dropping the callback"
        );
        return;
    };
    let mut env = match cache.vm.attach_current_thread_as_daemon() {
        Ok(env) => env,
        Err(e) => {
            log!(
                Error,
                "{what}: cannot attach the callback thread to the JVM: {e}"
            );
            return;
        }
    };
    if !NAMED.with(Cell::get) {
        NAMED.with(|named| named.set(true));
        name_java_thread(&mut env);
    }
    let framed = env.with_local_frame(FRAME, |env| -> JniResult<()> {
        let result = catch_unwind(AssertUnwindSafe(|| body(env, cache)));
        let threw = take_exception(env, cache, what);
        match result {
            Ok(Ok(())) => {}
            Ok(Err(JniError::JavaException)) if threw => {}
            Ok(Err(e)) => log_native(env, cache, &format!("{what}: JNI call failed: {e}")),
            Err(_) => log_native(env, cache, &format!("{what}: panic while delivering")),
        }
        Ok(())
    });
    if let Err(e) = framed {
        // PushLocalFrame failed (out of memory): an OutOfMemoryError is pending.
        let _ = env.exception_clear();
        log!(Error, "{what}: cannot push a JNI local frame: {e}");
    }
}

/// Gives the attached thread's `java.lang.Thread` the native thread's name, so Java code sees
/// `imstatus-callback` (attaching without arguments names it `Thread-N`).
fn name_java_thread(env: &mut JNIEnv) {
    let Some(name) = std::thread::current().name().map(str::to_owned) else {
        return;
    };
    let _ = env.with_local_frame(4, |env| -> JniResult<()> {
        let thread = env
            .call_static_method(
                "java/lang/Thread",
                "currentThread",
                "()Ljava/lang/Thread;",
                &[],
            )?
            .l()?;
        let name = env.new_string(name)?;
        env.call_method(
            &thread,
            "setName",
            "(Ljava/lang/String;)V",
            &[JValue::Object(&name)],
        )?;
        Ok(())
    });
    let _ = env.exception_clear();
}

/// If a Java exception is pending: takes it, clears it, and hands it to the Java log. Returns
/// whether there was one.
fn take_exception(env: &mut JNIEnv, cache: &Cache, what: &str) -> bool {
    if !env.exception_check().unwrap_or(false) {
        return false;
    }
    let throwable = env.exception_occurred().unwrap_or_default();
    let _ = env.exception_clear();
    let logged = env.new_string(what).and_then(|where_| {
        // SAFETY: `log_exception` is `NativeSession.logCallbackException(String, Throwable)`,
        // looked up on the class the cache holds, and the arguments match that signature.
        unsafe {
            env.call_static_method_unchecked(
                cache.session_class.as_global(),
                cache.log_exception,
                ReturnType::Primitive(Primitive::Void),
                &[
                    JValue::Object(&where_).as_jni(),
                    JValue::Object(&throwable).as_jni(),
                ],
            )
        }
    });
    if logged.is_err() || env.exception_check().unwrap_or(false) {
        // The logger itself failed: print what we can and go on.
        let _ = env.exception_describe();
        let _ = env.exception_clear();
    }
    true
}

/// Writes a line to the SDK's Java log (the Android log, or standard error).
fn log_native(env: &mut JNIEnv, cache: &Cache, message: &str) {
    log!(Error, "{message}");
    let Ok(text) = env.new_string(message) else {
        let _ = env.exception_clear();
        return;
    };
    // SAFETY: `log_native` is `NativeSession.logNative(String)`; the argument matches.
    let _ = unsafe {
        env.call_static_method_unchecked(
            cache.session_class.as_global(),
            cache.log_native,
            ReturnType::Primitive(Primitive::Void),
            &[JValue::Object(&text).as_jni()],
        )
    };
    if env.exception_check().unwrap_or(false) {
        let _ = env.exception_describe();
        let _ = env.exception_clear();
    }
}

/// Calls a `void` method of the session.
///
/// # Safety
/// `method` must be a method of `NativeSession` whose parameters match `args`.
unsafe fn call_session(
    env: &mut JNIEnv,
    session: &Global,
    method: jni::objects::JMethodID,
    args: &[jvalue],
) -> JniResult<()> {
    // SAFETY: forwarded to the caller.
    unsafe {
        env.call_method_unchecked(
            session.as_obj(),
            method,
            ReturnType::Primitive(Primitive::Void),
            args,
        )
    }
    .map(|_| ())
}

/// The callback object as a local reference of the current delivery, its global reference
/// deleted first: by the time the app's callback runs the library holds nothing of it, so a
/// count of the library's references is exact as soon as the app has seen its callback.
fn into_local<'l>(env: &mut JNIEnv<'l>, callback: Global) -> JniResult<JObject<'l>> {
    let local = env.new_local_ref(callback.as_obj())?;
    drop(callback);
    Ok(local)
}

/// The `done` of a call without a value: `onSuccess(cb)` or `onError(cb, code, desc)` on the
/// session, on the callback thread; the callback's global reference is released just before.
/// When there is no callback (the app passed null) nothing crosses into Java.
pub(super) fn done_unit(
    session: Arc<Global>,
    callback: Option<Global>,
) -> impl FnOnce(Result<(), ClientError>) + Send + 'static {
    move |result| {
        let Some(callback) = callback else { return };
        deliver("V2TIMCallback", move |env, cache| {
            let callback = into_local(env, callback)?;
            match result {
                // SAFETY: onSuccess(Object) takes one object.
                Ok(()) => unsafe {
                    call_session(
                        env,
                        &session,
                        cache.on_success,
                        &[JValue::Object(&callback).as_jni()],
                    )
                },
                Err(e) => error(env, cache, &session, &callback, &e),
            }
        });
    }
}

/// The `done` of getUserStatus: `onStatuses(cb, V2TIMUserStatus[])` or `onError`.
pub(super) fn done_statuses(
    session: Arc<Global>,
    callback: Option<Global>,
) -> impl FnOnce(Result<Vec<UserStatus>, ClientError>) + Send + 'static {
    move |result| {
        let Some(callback) = callback else { return };
        deliver("V2TIMValueCallback", move |env, cache| {
            let callback = into_local(env, callback)?;
            match result {
                Ok(statuses) => {
                    let array = status_array(env, cache, &statuses)?;
                    // SAFETY: onStatuses(Object, V2TIMUserStatus[]).
                    unsafe {
                        call_session(
                            env,
                            &session,
                            cache.on_statuses,
                            &[
                                JValue::Object(&callback).as_jni(),
                                JValue::Object(&array).as_jni(),
                            ],
                        )
                    }
                }
                Err(e) => error(env, cache, &session, &callback, &e),
            }
        });
    }
}

fn error(
    env: &mut JNIEnv,
    cache: &Cache,
    session: &Global,
    callback: &JObject,
    e: &ClientError,
) -> JniResult<()> {
    let desc = env.new_string(&e.desc)?;
    // SAFETY: onError(Object, int, String).
    unsafe {
        call_session(
            env,
            session,
            cache.on_error,
            &[
                JValue::Object(callback).as_jni(),
                JValue::Int(e.code).as_jni(),
                JValue::Object(&desc).as_jni(),
            ],
        )
    }
}

/// Reports an error of a call made without a client (before `initSDK`, after `unInitSDK`):
/// `NativeSession.onErrorWithoutSession(cb, code, desc)`, which posts it to the main Looper when
/// there is one. Runs on the library's error thread, which is attached like the callback thread.
pub(super) fn fail_without_session(callback: Global, error: ClientError) {
    deliver("V2TIMCallback", move |env, cache| {
        let callback = into_local(env, callback)?;
        let desc = env.new_string(&error.desc)?;
        // SAFETY: onErrorWithoutSession(Object, int, String), static on NativeSession.
        unsafe {
            env.call_static_method_unchecked(
                cache.session_class.as_global(),
                cache.on_error_without_session,
                ReturnType::Primitive(Primitive::Void),
                &[
                    JValue::Object(&callback).as_jni(),
                    JValue::Int(error.code).as_jni(),
                    JValue::Object(&desc).as_jni(),
                ],
            )
        }
        .map(|_| ())
    });
}

/// `V2TIMUserStatus[]` from the client's statuses. Each element is built in a nested local frame,
/// so a list of any length holds only a few local references at a time.
pub(super) fn status_array<'l>(
    env: &mut JNIEnv<'l>,
    cache: &Cache,
    statuses: &[UserStatus],
) -> JniResult<JObjectArray<'l>> {
    let len = i32::try_from(statuses.len()).map_err(|_| JniError::WrongJValueType("len", "int"))?;
    let array = env.new_object_array(len, cache.status_class.as_global(), JObject::null())?;
    for (i, status) in (0..len).zip(statuses) {
        env.with_local_frame(8, |env| -> JniResult<()> {
            let user_id = env.new_string(&status.user_id)?;
            let custom = env.new_string(&status.custom_status)?;
            let devices = string_array(env, cache, &status.online_devices)?;
            // Beyond V2TIM: 0 for no last seen (never a real one), as Java reads it.
            let last_seen = status
                .last_seen_ms
                .map_or(0, |ms| i64::try_from(ms).unwrap_or(i64::MAX));
            // SAFETY: the constructor (String, int, String, String[], long, boolean, int) looked
            // up in the cache.
            let element = unsafe {
                env.new_object_unchecked(
                    cache.status_class.as_global(),
                    cache.status_ctor,
                    &[
                        JValue::Object(&user_id).as_jni(),
                        JValue::Int(status.status_type as i32).as_jni(),
                        JValue::Object(&custom).as_jni(),
                        JValue::Object(&devices).as_jni(),
                        JValue::Long(last_seen).as_jni(),
                        JValue::Bool(u8::from(status.invisible)).as_jni(),
                        JValue::Int(status.visibility as i32).as_jni(),
                    ],
                )
            }?;
            env.set_object_array_element(&array, i, element)
        })?;
    }
    Ok(array)
}

fn string_array<'l>(
    env: &mut JNIEnv<'l>,
    cache: &Cache,
    items: &[String],
) -> JniResult<JObjectArray<'l>> {
    let len = i32::try_from(items.len()).map_err(|_| JniError::WrongJValueType("len", "int"))?;
    let array = env.new_object_array(len, cache.string_class.as_global(), JObject::null())?;
    for (i, item) in (0..len).zip(items) {
        let text = env.new_string(item)?;
        env.set_object_array_element(&array, i, &text)?;
        env.delete_local_ref(text)?;
    }
    Ok(array)
}

/// The client's listener for one session: forwards each event to the session's Java methods,
/// which fan it out to the app's `V2TIMSDKListener`s.
pub(super) struct JniListener {
    pub(super) session: Arc<Global>,
}

impl JniListener {
    fn event(&self, what: &'static str, method: fn(&Cache) -> jni::objects::JMethodID) {
        deliver(what, |env, cache| {
            // SAFETY: every method passed here takes no arguments.
            unsafe { call_session(env, &self.session, method(cache), &[]) }
        });
    }
}

impl Listener for JniListener {
    fn on_connecting(&self) {
        self.event("onConnecting", |c| c.on_connecting);
    }

    fn on_connect_success(&self) {
        self.event("onConnectSuccess", |c| c.on_connect_success);
    }

    fn on_connect_failed(&self, code: i32, desc: &str) {
        deliver("onConnectFailed", |env, cache| {
            let desc = env.new_string(desc)?;
            // SAFETY: onConnectFailed(int, String).
            unsafe {
                call_session(
                    env,
                    &self.session,
                    cache.on_connect_failed,
                    &[JValue::Int(code).as_jni(), JValue::Object(&desc).as_jni()],
                )
            }
        });
    }

    fn on_kicked_offline(&self) {
        self.event("onKickedOffline", |c| c.on_kicked_offline);
    }

    fn on_user_sig_expired(&self) {
        self.event("onUserSigExpired", |c| c.on_user_sig_expired);
    }

    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        deliver("onUserStatusChanged", |env, cache| {
            let array = status_array(env, cache, statuses)?;
            // SAFETY: onUserStatusChanged(V2TIMUserStatus[]).
            unsafe {
                call_session(
                    env,
                    &self.session,
                    cache.on_user_status_changed,
                    &[JValue::Object(&array).as_jni()],
                )
            }
        });
    }
}
