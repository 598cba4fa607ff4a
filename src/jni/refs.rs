//! JNI global references that count themselves (with the feature `test-hooks`), so tests can see
//! that every one is released: the natives hold the few cached classes, plus one per live
//! session and per callback object of a call still pending.

use jni::errors::Result as JniResult;
use jni::objects::{GlobalRef, JObject};
use jni::JNIEnv;

use crate::live::{Kind, Live};

/// One JNI global reference, deleted exactly once: when this value is dropped. Deliberately not
/// `Clone` (share it in an `Arc`), so that each value is one reference in the JVM.
///
/// Drop it on an attached thread when possible (the callback thread is attached for good); on a
/// detached thread the `jni` crate attaches it for the duration of `DeleteGlobalRef`.
pub(super) struct Global {
    inner: GlobalRef,
    _live: Live,
}

impl Global {
    /// Makes a global reference to `obj`, which must not be null.
    pub(super) fn new(env: &JNIEnv, obj: &JObject) -> JniResult<Global> {
        let inner = env.new_global_ref(obj)?;
        Ok(Global {
            inner,
            _live: Live::new(Kind::JniGlobalRef),
        })
    }

    pub(super) fn as_obj(&self) -> &JObject<'static> {
        self.inner.as_obj()
    }

    /// The reference as the `GlobalRef` the `jni` crate's class descriptors accept.
    pub(super) fn as_global(&self) -> &GlobalRef {
        &self.inner
    }
}
