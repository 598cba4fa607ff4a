//! JNI global references that count themselves, so tests can see that every one is released.

use std::sync::atomic::{AtomicI64, Ordering};

use jni::errors::Result as JniResult;
use jni::objects::{GlobalRef, JObject};
use jni::JNIEnv;

/// Global references made by this module and not yet deleted.
static LIVE: AtomicI64 = AtomicI64::new(0);

/// How many global references the natives hold right now: the few cached classes, plus one per
/// live session and per callback object of a call still pending.
pub(super) fn live() -> i64 {
    LIVE.load(Ordering::SeqCst)
}

/// One JNI global reference, deleted exactly once: when this value is dropped. Deliberately not
/// `Clone` (share it in an `Arc`), so that each value is one reference in the JVM.
///
/// Drop it on an attached thread when possible (the callback thread is attached for good); on a
/// detached thread the `jni` crate attaches it for the duration of `DeleteGlobalRef`.
pub(super) struct Global {
    inner: GlobalRef,
}

impl Global {
    /// Makes a global reference to `obj`, which must not be null.
    pub(super) fn new(env: &JNIEnv, obj: &JObject) -> JniResult<Global> {
        let inner = env.new_global_ref(obj)?;
        LIVE.fetch_add(1, Ordering::SeqCst);
        Ok(Global { inner })
    }

    pub(super) fn as_obj(&self) -> &JObject<'static> {
        self.inner.as_obj()
    }

    /// The reference as the `GlobalRef` the `jni` crate's class descriptors accept.
    pub(super) fn as_global(&self) -> &GlobalRef {
        &self.inner
    }
}

impl Drop for Global {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        // `inner` is dropped right after this: that is the DeleteGlobalRef.
    }
}
