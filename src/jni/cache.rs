//! What the natives look up once: the JavaVM, the classes they create or call, and the method
//! IDs. Filled by `Native.init()`, which `Native`'s static initializer calls, so `FindClass` runs
//! on a Java thread with the app's class loader; the callback thread (a native thread) could not
//! find the app's classes itself.

use std::sync::OnceLock;

use jni::errors::Result as JniResult;
use jni::objects::{JMethodID, JStaticMethodID};
use jni::{JNIEnv, JavaVM};

use super::refs::Global;

/// The Java class whose methods the callback thread calls, and its member signatures. They must
/// match `bindings/java/src/io/imstatus/v2/NativeSession.java` and `V2TIMUserStatus.java`.
const SESSION_CLASS: &str = "io/imstatus/v2/NativeSession";
const STATUS_CLASS: &str = "io/imstatus/v2/V2TIMUserStatus";
const STRING_CLASS: &str = "java/lang/String";
/// The constructor with the fields beyond V2TIM: last seen (ms), invisible, visibility.
const STATUS_CTOR_SIG: &str = "(Ljava/lang/String;ILjava/lang/String;[Ljava/lang/String;JZI)V";
const STATUS_ARRAY_SIG: &str = "[Lio/imstatus/v2/V2TIMUserStatus;";

pub(super) struct Cache {
    pub(super) vm: JavaVM,
    /// `NativeSession`, for its static methods; holding it also keeps the method IDs valid (a
    /// class is never unloaded while referenced).
    pub(super) session_class: Global,
    pub(super) status_class: Global,
    pub(super) string_class: Global,
    pub(super) status_ctor: JMethodID,
    /// `V2TIMUserStatus.getCustomStatus()`.
    pub(super) status_custom: JMethodID,
    pub(super) on_success: JMethodID,
    pub(super) on_error: JMethodID,
    pub(super) on_statuses: JMethodID,
    pub(super) on_connecting: JMethodID,
    pub(super) on_connect_success: JMethodID,
    pub(super) on_connect_failed: JMethodID,
    pub(super) on_kicked_offline: JMethodID,
    pub(super) on_user_sig_expired: JMethodID,
    pub(super) on_user_status_changed: JMethodID,
    pub(super) log_exception: JStaticMethodID,
    pub(super) log_native: JStaticMethodID,
    /// `NativeSession.onErrorWithoutSession(Object, int, String)`.
    pub(super) on_error_without_session: JStaticMethodID,
}

static CACHE: OnceLock<Cache> = OnceLock::new();

/// The cache, once `Native.init()` ran (it runs before any other native can be called).
pub(super) fn get() -> Option<&'static Cache> {
    CACHE.get()
}

/// Fills the cache; a second call (the library loaded again) keeps the first.
pub(super) fn init(env: &mut JNIEnv) -> JniResult<()> {
    if CACHE.get().is_some() {
        return Ok(());
    }
    let cache = load(env)?;
    // Lost a race with another init: the spare is dropped, releasing its references.
    let _ = CACHE.set(cache);
    Ok(())
}

fn load(env: &mut JNIEnv) -> JniResult<Cache> {
    let session = env.find_class(SESSION_CLASS)?;
    let status = env.find_class(STATUS_CLASS)?;
    let string = env.find_class(STRING_CLASS)?;
    let statuses = format!("(Ljava/lang/Object;{STATUS_ARRAY_SIG})V");
    let changed = format!("({STATUS_ARRAY_SIG})V");
    let cache = Cache {
        vm: env.get_java_vm()?,
        status_ctor: env.get_method_id(&status, "<init>", STATUS_CTOR_SIG)?,
        status_custom: env.get_method_id(&status, "getCustomStatus", "()Ljava/lang/String;")?,
        on_success: env.get_method_id(&session, "onSuccess", "(Ljava/lang/Object;)V")?,
        on_error: env.get_method_id(
            &session,
            "onError",
            "(Ljava/lang/Object;ILjava/lang/String;)V",
        )?,
        on_statuses: env.get_method_id(&session, "onStatuses", statuses.as_str())?,
        on_connecting: env.get_method_id(&session, "onConnecting", "()V")?,
        on_connect_success: env.get_method_id(&session, "onConnectSuccess", "()V")?,
        on_connect_failed: env.get_method_id(
            &session,
            "onConnectFailed",
            "(ILjava/lang/String;)V",
        )?,
        on_kicked_offline: env.get_method_id(&session, "onKickedOffline", "()V")?,
        on_user_sig_expired: env.get_method_id(&session, "onUserSigExpired", "()V")?,
        on_user_status_changed: env.get_method_id(
            &session,
            "onUserStatusChanged",
            changed.as_str(),
        )?,
        log_exception: env.get_static_method_id(
            &session,
            "logCallbackException",
            "(Ljava/lang/String;Ljava/lang/Throwable;)V",
        )?,
        log_native: env.get_static_method_id(&session, "logNative", "(Ljava/lang/String;)V")?,
        on_error_without_session: env.get_static_method_id(
            &session,
            "onErrorWithoutSession",
            "(Ljava/lang/Object;ILjava/lang/String;)V",
        )?,
        session_class: Global::new(env, &session)?,
        status_class: Global::new(env, &status)?,
        string_class: Global::new(env, &string)?,
    };
    env.delete_local_ref(session)?;
    env.delete_local_ref(status)?;
    env.delete_local_ref(string)?;
    Ok(cache)
}
