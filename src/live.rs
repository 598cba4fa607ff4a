//! Exact counters of the library's own live objects, for leak tests (feature `test-hooks`).
//!
//! A leak test that reads the process's memory needs a tolerance, and then flakes when another
//! process loads the machine. These counters are exact instead: every object of a counted kind
//! holds a [`Live`] token, which counts up when made and down when dropped, so after a burst of
//! calls each count must be back where it was, to the unit.
//!
//! Release builds leave the feature off: [`Live`] is then an empty type with no `Drop`, and
//! nothing is counted or exported.

/// The kinds of objects counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
// The JNI kinds are only made with the feature `jni`.
#[cfg_attr(not(feature = "jni"), allow(dead_code))]
pub enum Kind {
    /// A call's callback held by the client core until it fires (`Completion`).
    PendingCallback = 0,
    /// A C caller's `ims_callback`/`ims_user_status_callback` held until it fires.
    CCallback = 1,
    /// A registered `ims_listener`.
    CListener = 2,
    /// A JNI global reference made by the natives.
    JniGlobalRef = 3,
    /// A client made through the JNI natives (`Native.create`).
    JniClient = 4,
}

#[cfg(feature = "test-hooks")]
mod counting {
    use super::Kind;
    use std::sync::atomic::{AtomicI64, Ordering};

    const KINDS: usize = 5;
    static COUNTS: [AtomicI64; KINDS] = [const { AtomicI64::new(0) }; KINDS];

    /// Held by each counted object.
    #[derive(Debug)]
    pub(crate) struct Live(Kind);

    impl Live {
        pub(crate) fn new(kind: Kind) -> Live {
            COUNTS[kind as usize].fetch_add(1, Ordering::SeqCst);
            Live(kind)
        }
    }

    impl Drop for Live {
        fn drop(&mut self) {
            COUNTS[self.0 as usize].fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// How many objects of `kind` are alive right now.
    pub fn count(kind: Kind) -> i64 {
        COUNTS[kind as usize].load(Ordering::SeqCst)
    }
}

#[cfg(feature = "test-hooks")]
pub use counting::count;
#[cfg(feature = "test-hooks")]
pub(crate) use counting::Live;

/// Without the feature: nothing to count, nothing to drop.
#[cfg(not(feature = "test-hooks"))]
#[derive(Debug)]
pub(crate) struct Live;

#[cfg(not(feature = "test-hooks"))]
impl Live {
    #[inline(always)]
    pub(crate) fn new(_kind: Kind) -> Live {
        Live
    }
}

#[cfg(all(test, feature = "test-hooks"))]
mod tests {
    use super::*;

    #[test]
    fn tokens_count_up_and_down() {
        // A kind nothing else in the unit tests makes, so tests running beside it do not count.
        let before = count(Kind::JniClient);
        let a = Live::new(Kind::JniClient);
        let b = Live::new(Kind::JniClient);
        assert_eq!(count(Kind::JniClient), before + 2);
        drop(a);
        drop(b);
        assert_eq!(count(Kind::JniClient), before);
    }
}
