//! Refusals reported through the callback, as V2TIM reports every error: by a client made with
//! `ims_config_set_async_refusals`, and, where there is no client at all, by
//! `ims_callback_fail` and `ims_user_status_callback_fail` on the library's error thread.

use std::ffi::{c_char, CStr};

use crate::client::{report_later, ClientError};

use super::boundary::entry;
use super::callback::{ims_callback, ims_user_status_callback, DoneCallback, StatusesCallback};
use super::client::ims_client;
use super::config::ims_config;
use super::dispatcher::Delivery;
use super::error::{ims_error_str, ims_result, Rejection, IMS_ERR_SDK_NOT_INITIALIZED, IMS_OK};

/// A host callback struct that can be answered with an error instead of a result.
pub(crate) trait Refusable: Copy + 'static {
    /// Reports `error` through this callback on `client`'s callback thread, in call order.
    fn refuse_on(self, client: &ims_client, error: ClientError);

    /// A job that fires `on_error` with `error`, then `free_user_data`; dropped unrun, it
    /// fires 6013 instead (as every owned callback does).
    fn failing(self, error: ClientError) -> Box<dyn FnOnce() + Send>;
}

impl Refusable for ims_callback {
    fn refuse_on(self, client: &ims_client, error: ClientError) {
        client.client.refuse(error, client.done(self));
    }

    fn failing(self, error: ClientError) -> Box<dyn FnOnce() + Send> {
        let callback = DoneCallback::new(self);
        Box::new(move || callback.finish(Err(error)))
    }
}

impl Refusable for ims_user_status_callback {
    fn refuse_on(self, client: &ims_client, error: ClientError) {
        client.client.refuse(error, client.statuses_done(self));
    }

    fn failing(self, error: ClientError) -> Box<dyn FnOnce() + Send> {
        let callback = StatusesCallback::new(self);
        Box::new(move || callback.finish(Err(error)))
    }
}

/// A host callback on its way to the error thread. The host's contract makes its `user_data`
/// usable from the library's threads; it is only turned into a firing callback there, so that a
/// job that never runs (the thread could not start) fires nothing and leaves it the caller's.
struct Unfired<C>(C);

// SAFETY: as for `DoneCallback`: the host contract of `ims_callback` and
// `ims_user_status_callback` allows using them from the library's threads, and this value moves,
// never shares.
unsafe impl<C> Send for Unfired<C> {}

impl<C> Unfired<C> {
    /// A method, so that a closure moves the whole (Send) wrapper rather than its field.
    fn into_inner(self) -> C {
        self.0
    }
}

/// Reports `code` and `desc` through `callback` on the library's error thread, delivered like a
/// client made from `via` delivers (its dispatcher hook, if any).
///
/// # Safety
/// `via` is NULL or a live config; `desc` is NULL or a NUL-terminated string.
unsafe fn fail_later<C: Refusable>(
    via: *const ims_config,
    callback: C,
    code: ims_result,
    desc: *const c_char,
) -> ims_result {
    entry(|| {
        if code == IMS_OK {
            return Err(Rejection::invalid(
                "code is IMS_OK: only an error can be reported through on_error",
            ));
        }
        // SAFETY: per the contract.
        let delivery = unsafe { via.as_ref() }.map_or(Delivery::Direct, |c| c.delivery);
        let desc = if desc.is_null() {
            // SAFETY: ims_error_str returns a static NUL-terminated string.
            unsafe { CStr::from_ptr(ims_error_str(code)) }
        } else {
            // SAFETY: per the contract.
            unsafe { CStr::from_ptr(desc) }
        };
        // A report must not fail on its own text: bytes that are not UTF-8 become U+FFFD.
        let error = ClientError::new(code, desc.to_string_lossy());
        let unfired = Unfired(callback);
        report_later(move || {
            let callback = unfired.into_inner();
            delivery.deliver(callback.failing(error));
        })
        .map_err(|e| {
            Rejection::new(
                IMS_ERR_SDK_NOT_INITIALIZED,
                format!("cannot start the library's error thread: {e}"),
            )
        })
    })
}

/// Reports an error through `callback` without a client (V2TIM's 6013 before `InitSDK` or after
/// `UnInitSDK`; an argument a binding cannot pass to the library): its `on_error(code, desc)`
/// runs, then its `free_user_data`, after this returned, on the library's error thread
/// "imstatus-errors" (started when needed, ended when idle), in the order of these reports. With
/// `via`, they go through that config's dispatcher hook instead, as for a client made from it
/// (only the hook is used, and `via` may be freed once this returned; several threads may pass
/// the same config at once as long as none changes it).
///
/// `desc` is copied; NULL means `ims_error_str(code)`, and bytes that are not UTF-8 are replaced
/// by U+FFFD. Returns `IMS_OK`, or, leaving the callback untouched and `user_data` the caller's:
/// `IMS_ERR_INVALID_PARAMETERS` when `code` is `IMS_OK`, `IMS_ERR_SDK_NOT_INITIALIZED` when the
/// thread cannot be started.
///
/// # Safety
/// `via` is NULL or a live config; `desc` is NULL or a NUL-terminated string; `callback` follows
/// the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_callback_fail(
    via: *const ims_config,
    callback: ims_callback,
    code: ims_result,
    desc: *const c_char,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe { fail_later(via, callback, code, desc) }
}

/// `ims_callback_fail` for an `ims_user_status_callback`.
///
/// # Safety
/// As `ims_callback_fail`; `callback` follows the rules of `ims_user_status_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_user_status_callback_fail(
    via: *const ims_config,
    callback: ims_user_status_callback,
    code: ims_result,
    desc: *const c_char,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe { fail_later(via, callback, code, desc) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ERROR_THREAD_NAME;
    use crate::ffi::error::IMS_ERR_INVALID_PARAMETERS;
    use std::ffi::c_void;
    use std::ptr;
    use std::sync::mpsc::{channel, Sender};
    use std::time::Duration;

    type Seen = (i32, String, Option<String>);

    unsafe extern "C" fn on_error(user_data: *mut c_void, code: i32, desc: *const c_char) {
        let tx = unsafe { &*user_data.cast::<Sender<Seen>>() };
        let desc = unsafe { CStr::from_ptr(desc) }
            .to_string_lossy()
            .into_owned();
        let thread = std::thread::current().name().map(str::to_owned);
        tx.send((code, desc, thread)).unwrap();
    }

    unsafe extern "C" fn free(user_data: *mut c_void) {
        drop(unsafe { Box::from_raw(user_data.cast::<Sender<Seen>>()) });
    }

    fn callback(tx: &Sender<Seen>) -> ims_callback {
        ims_callback {
            user_data: Box::into_raw(Box::new(tx.clone())).cast(),
            on_success: None,
            on_error: Some(on_error),
            free_user_data: Some(free),
        }
    }

    #[test]
    fn fails_later_on_the_error_thread_and_refuses_a_success_code() {
        let (tx, rx) = channel();
        unsafe {
            assert_eq!(
                ims_callback_fail(
                    ptr::null(),
                    callback(&tx),
                    6013,
                    c"not initialised".as_ptr()
                ),
                IMS_OK
            );
            assert_eq!(
                ims_callback_fail(ptr::null(), callback(&tx), 6017, ptr::null()),
                IMS_OK
            );
            let kept = callback(&tx);
            assert_eq!(
                ims_callback_fail(ptr::null(), kept, IMS_OK, ptr::null()),
                IMS_ERR_INVALID_PARAMETERS
            );
            free(kept.user_data);
        }
        let wait = Duration::from_secs(10);
        let first = rx.recv_timeout(wait).unwrap();
        assert_eq!(first.0, 6013);
        assert_eq!(first.1, "not initialised");
        assert_eq!(first.2.as_deref(), Some(ERROR_THREAD_NAME));
        let second = rx.recv_timeout(wait).unwrap();
        assert_eq!((second.0, second.1.as_str()), (6017, "invalid parameters"));
        drop(tx);
        // Every clone of the sender was freed, by free_user_data or here: nothing holds one.
        assert_eq!(
            rx.recv_timeout(wait).unwrap_err(),
            std::sync::mpsc::RecvTimeoutError::Disconnected
        );
    }
}
