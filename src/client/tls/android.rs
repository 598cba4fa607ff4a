//! Android's verifier calls into the JVM (its `TrustManager`, through the Kotlin classes that
//! `rustls-platform-verifier-android` ships), so it needs the JVM and the app's `Context` before
//! its first use. `src/jni` hands them over when the Java `initSDK` is given a Context.

use std::sync::atomic::{AtomicBool, Ordering};

static READY: AtomicBool = AtomicBool::new(false);

/// Whether Android's verifier has its JVM and Context.
pub(crate) fn ready() -> bool {
    READY.load(Ordering::Acquire)
}

/// Hands the JVM and the app's `Context` to Android's verifier; later calls keep the first.
#[cfg(feature = "jni")]
pub(crate) fn init(
    env: &mut jni::JNIEnv,
    context: &jni::objects::JObject,
) -> Result<(), jni::errors::Error> {
    // SAFETY: `context` is a live local reference for the duration of this call; the verifier
    // only takes a global reference of it (and of its class loader).
    let context = unsafe { jni::objects::JObject::from_raw(context.as_raw()) };
    rustls_platform_verifier::android::init_with_env(env, context)?;
    READY.store(true, Ordering::Release);
    Ok(())
}
