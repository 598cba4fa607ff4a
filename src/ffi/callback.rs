//! `ims_callback` and `ims_user_status_callback` (V2TIMCallback, V2TIMValueCallback), and the
//! wrappers that fire them exactly once.

use std::ffi::{c_char, c_void};

use crate::client::{ClientError, UserStatus};
use crate::live::{Kind, Live};

use super::error::IMS_ERR_SDK_NOT_INITIALIZED;
use super::status::{ims_user_status, CStatuses};
use super::strings::to_cstring;

/// Frees a `user_data` once the library no longer needs it.
pub type ims_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Reports a failed call: a V2TIM error code and a description (NUL-terminated UTF-8, borrowed
/// for the duration of the call).
pub type ims_error_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, code: i32, desc: *const c_char)>;

/// The result of an asynchronous call without a value (`V2TIMCallback`), passed by value.
///
/// When the call that takes it returns `IMS_OK`, exactly one of `on_success` or `on_error` runs
/// later (never inside that call), then `free_user_data`, each at most once and on the same
/// thread: the client's callback thread `imstatus-callback`, or wherever the client's dispatcher
/// hook runs tasks (for `ims_callback_fail`, the library's error thread `imstatus-errors`). Any member may be NULL: a NULL `on_success`/`on_error` is simply not called
/// (`free_user_data` still is), so a zeroed struct is a valid fire-and-forget callback. When the
/// call returns anything else, none of them ever runs and `user_data` stays the caller's.
///
/// `user_data` must be usable from the library's threads.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ims_callback {
    /// Passed as the first argument of every function below; never dereferenced by the library.
    pub user_data: *mut c_void,
    /// The call succeeded.
    pub on_success: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
    /// The call failed with a V2TIM code and a description.
    pub on_error: ims_error_fn,
    /// Runs once after `on_success`/`on_error`, even when those are NULL.
    pub free_user_data: ims_free_fn,
}

/// The result of `ims_client_get_user_status` (`V2TIMValueCallback<V2TIMUserStatusVector>`),
/// passed by value, with the same rules as `ims_callback`.
///
/// `on_success` gets `count` statuses in `statuses` (NULL when `count` is 0), borrowed until it
/// returns.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ims_user_status_callback {
    /// Passed as the first argument of every function below; never dereferenced by the library.
    pub user_data: *mut c_void,
    /// The call succeeded with these statuses.
    pub on_success: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            statuses: *const ims_user_status,
            count: usize,
        ),
    >,
    /// The call failed with a V2TIM code and a description.
    pub on_error: ims_error_fn,
    /// Runs once after `on_success`/`on_error`, even when those are NULL.
    pub free_user_data: ims_free_fn,
}

/// What the library says when a call could not finish because its client was freed.
pub(crate) const FREED_DESC: &str =
    "client was freed (ims_client_free) before the call could finish";

/// What the library says about a call cut short by, or made after, `ims_client_shutdown`.
pub(crate) const SHUT_DOWN_DESC: &str =
    "client was shut down (ims_client_shutdown); create a new one to go on";

/// The parts both callback kinds share: error reporting and freeing.
struct Tail {
    user_data: *mut c_void,
    on_error: ims_error_fn,
    free_user_data: ims_free_fn,
    /// Set once the callback has fired; Drop fires it otherwise.
    fired: bool,
    _live: Live,
}

impl Tail {
    fn error(&mut self, code: i32, desc: &str) {
        let desc = to_cstring(desc);
        if let Some(on_error) = self.on_error {
            // SAFETY: the host's function with the host's user_data, as `ims_callback` documents.
            unsafe { on_error(self.user_data, code, desc.as_ptr()) };
        }
    }

    fn free(&mut self) {
        self.fired = true;
        if let Some(free) = self.free_user_data {
            // SAFETY: as above; runs once, since `fired` stops Drop from coming back here.
            unsafe { free(self.user_data) };
        }
    }

    /// The safety net behind "exactly once": a callback that is dropped without having fired
    /// (its task was discarded) reports 6013, then frees.
    fn drop_unfired(&mut self) {
        if !self.fired {
            self.error(IMS_ERR_SDK_NOT_INITIALIZED, FREED_DESC);
            self.free();
        }
    }
}

/// An accepted call's `ims_callback`, owned until it fires.
pub(crate) struct DoneCallback {
    on_success: Option<unsafe extern "C" fn(*mut c_void)>,
    tail: Tail,
}

// SAFETY: the host contract of `ims_callback`: `user_data` and the functions may be used from the
// client's callback thread (or the dispatcher hook's threads). The library never dereferences
// `user_data`, and uses it from one thread at a time since this value moves, never shares.
unsafe impl Send for DoneCallback {}

impl DoneCallback {
    pub(crate) fn new(cb: ims_callback) -> Self {
        DoneCallback {
            on_success: cb.on_success,
            tail: Tail {
                user_data: cb.user_data,
                on_error: cb.on_error,
                free_user_data: cb.free_user_data,
                fired: false,
                _live: Live::new(Kind::CCallback),
            },
        }
    }

    /// Fires `on_success` or `on_error`, then `free_user_data`.
    pub(crate) fn finish(mut self, result: Result<(), ClientError>) {
        match result {
            Ok(()) => {
                if let Some(on_success) = self.on_success {
                    // SAFETY: see `Tail::error`.
                    unsafe { on_success(self.tail.user_data) };
                }
            }
            Err(e) => self.tail.error(e.code, &e.desc),
        }
        self.tail.free();
    }
}

impl Drop for DoneCallback {
    fn drop(&mut self) {
        self.tail.drop_unfired();
    }
}

/// An accepted call's `ims_user_status_callback`, owned until it fires.
pub(crate) struct StatusesCallback {
    on_success: Option<unsafe extern "C" fn(*mut c_void, *const ims_user_status, usize)>,
    tail: Tail,
}

// SAFETY: as for `DoneCallback`.
unsafe impl Send for StatusesCallback {}

impl StatusesCallback {
    pub(crate) fn new(cb: ims_user_status_callback) -> Self {
        StatusesCallback {
            on_success: cb.on_success,
            tail: Tail {
                user_data: cb.user_data,
                on_error: cb.on_error,
                free_user_data: cb.free_user_data,
                fired: false,
                _live: Live::new(Kind::CCallback),
            },
        }
    }

    /// Fires `on_success` with the statuses or `on_error`, then `free_user_data`.
    pub(crate) fn finish(mut self, result: Result<Vec<UserStatus>, ClientError>) {
        match result {
            Ok(statuses) => {
                if let Some(on_success) = self.on_success {
                    let c = CStatuses::new(&statuses);
                    // SAFETY: see `Tail::error`; the array outlives the call.
                    unsafe { on_success(self.tail.user_data, c.as_ptr(), c.len()) };
                }
            }
            Err(e) => self.tail.error(e.code, &e.desc),
        }
        self.tail.free();
    }
}

impl Drop for StatusesCallback {
    fn drop(&mut self) {
        self.tail.drop_unfired();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    unsafe extern "C" fn ok(user_data: *mut c_void) {
        let r = unsafe { &*user_data.cast::<Record>() };
        r.0.lock().unwrap().push("ok".into());
    }
    unsafe extern "C" fn err(user_data: *mut c_void, code: i32, desc: *const c_char) {
        let r = unsafe { &*user_data.cast::<Record>() };
        let desc = unsafe { CStr::from_ptr(desc) }.to_str().unwrap();
        r.0.lock().unwrap().push(format!("err {code} {desc}"));
    }
    unsafe extern "C" fn free(user_data: *mut c_void) {
        let r = unsafe { &*user_data.cast::<Record>() };
        r.0.lock().unwrap().push("free".into());
    }

    fn cb(r: &Record) -> ims_callback {
        ims_callback {
            user_data: r as *const Record as *mut c_void,
            on_success: Some(ok),
            on_error: Some(err),
            free_user_data: Some(free),
        }
    }

    #[test]
    fn fires_once_then_frees_and_dropping_fires_6013() {
        let r = Record::default();
        DoneCallback::new(cb(&r)).finish(Ok(()));
        DoneCallback::new(cb(&r)).finish(Err(ClientError::new(6014, "nope")));
        drop(DoneCallback::new(cb(&r)));
        let log = r.0.lock().unwrap().clone();
        assert_eq!(
            log,
            vec![
                "ok".to_string(),
                "free".into(),
                "err 6014 nope".into(),
                "free".into(),
                format!("err 6013 {FREED_DESC}"),
                "free".into(),
            ]
        );
    }

    #[test]
    fn null_members_are_skipped_but_free_still_runs() {
        let r = Record::default();
        let mut c = cb(&r);
        c.on_success = None;
        c.on_error = None;
        DoneCallback::new(c).finish(Ok(()));
        DoneCallback::new(c).finish(Err(ClientError::new(1, "x")));
        assert_eq!(*r.0.lock().unwrap(), vec!["free", "free"]);
        let zeroed = ims_callback {
            user_data: ptr::null_mut(),
            on_success: None,
            on_error: None,
            free_user_data: None,
        };
        DoneCallback::new(zeroed).finish(Ok(()));
    }

    #[test]
    fn layouts_are_four_pointers() {
        use std::mem::size_of;
        assert_eq!(size_of::<ims_callback>(), 4 * size_of::<usize>());
        assert_eq!(
            size_of::<ims_user_status_callback>(),
            4 * size_of::<usize>()
        );
    }
}
