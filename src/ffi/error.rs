//! Status codes, their static descriptions, and the per-thread description of the last
//! synchronous rejection.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

use super::strings::to_cstring;

/// What every `ims_` function that can fail returns: `IMS_OK` (0), a V2TIM error code
/// (`IMS_ERR_*`, the numbers of `V2TIMErrorCode`), or `IMS_ERR_PANIC`.
///
/// A non-zero result means the call was rejected synchronously: nothing was started, no
/// callback of that call will ever run, and the caller still owns every `user_data` it passed.
/// `ims_last_error_message()` then says what was wrong.
pub type ims_result = i32;

/// Success.
pub const IMS_OK: ims_result = 0;
/// A bug inside the library was caught at the C boundary (a Rust panic). The call did nothing.
/// Outside the V2TIM range on purpose.
// The cast makes cbindgen write `(ims_result)-1`, a macro that stays one operand in any C
// expression (a bare `-1` would turn `x-IMS_ERR_PANIC` into `x--1`).
#[allow(clippy::unnecessary_cast)]
pub const IMS_ERR_PANIC: ims_result = -1 as ims_result;
/// ERR_REQUEST_TIME_OUT: the server did not answer in time.
pub const IMS_ERR_REQUEST_TIME_OUT: ims_result = 6012;
/// ERR_SDK_NOT_INITIALIZED: the client is NULL, or was shut down or freed while the call was in
/// flight, or the call was made after `ims_client_shutdown`.
pub const IMS_ERR_SDK_NOT_INITIALIZED: ims_result = 6013;
/// ERR_SDK_NOT_LOGGED_IN: not logged in, or kicked offline.
pub const IMS_ERR_SDK_NOT_LOGGED_IN: ims_result = 6014;
/// ERR_IN_PROGESS (sic, the V2TIM spelling): a login or logout is already in progress.
pub const IMS_ERR_IN_PROGESS: ims_result = 6015;
/// ERR_INVALID_PARAMETERS: a NULL pointer, a string that is not UTF-8, a bad value; or, from the
/// server, an empty or oversized list or a too-long custom status.
pub const IMS_ERR_INVALID_PARAMETERS: ims_result = 6017;
/// ERR_USER_SIG_EXPIRED: the UserSig expired (noticed by the SDK).
pub const IMS_ERR_USER_SIG_EXPIRED: ims_result = 6206;
/// ERR_LOGIN_KICKED_OFF_BY_OTHER: another device logged in with this account on this platform.
pub const IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER: ims_result = 6208;
/// ERR_SDK_COMM_INVALID_IDENTIFIER: a userID is empty, longer than 32 bytes or not printable
/// ASCII.
pub const IMS_ERR_SDK_COMM_INVALID_IDENTIFIER: ims_result = 7003;
/// ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT: too many calls in the rate window.
pub const IMS_ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT: ims_result = 7008;
/// ERR_SDK_INTERFACE_NOT_SUPPORT: the app's edition lacks this API (needs Ultimate).
pub const IMS_ERR_SDK_INTERFACE_NOT_SUPPORT: ims_result = 7013;
/// ERR_SDK_INVALID_OPERATION: the call is not allowed in this state or on this thread.
pub const IMS_ERR_SDK_INVALID_OPERATION: ims_result = 7014;
/// ERR_SDK_NET_DISCONNECT: the server cannot be reached.
pub const IMS_ERR_SDK_NET_DISCONNECT: ims_result = 9508;
/// ERR_SVR_ACCOUNT_USERSIG_EXPIRED: the server says the UserSig expired.
pub const IMS_ERR_SVR_ACCOUNT_USERSIG_EXPIRED: ims_result = 70001;
/// ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED: the UserSig is malformed or its signature is wrong.
pub const IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED: ims_result = 70003;
/// ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID: the UserSig was made for another userID.
pub const IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID: ims_result = 70013;
/// ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID: the UserSig was made for another SDKAppID.
pub const IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID: ims_result = 70014;
/// ERR_SVR_ACCOUNT_USER_STATUS_DISABLED: "user status query and status change notification" is
/// off for the app.
pub const IMS_ERR_SVR_ACCOUNT_USER_STATUS_DISABLED: ims_result = 72001;

/// A static, NUL-terminated English description of a status code, for logs. Never NULL; unknown
/// codes give "unknown error code". The string lives for the whole process; do not free it.
#[no_mangle]
pub extern "C" fn ims_error_str(code: ims_result) -> *const c_char {
    let text: &'static CStr = match code {
        IMS_OK => c"success",
        IMS_ERR_PANIC => c"internal error caught at the C boundary",
        IMS_ERR_REQUEST_TIME_OUT => c"request timed out",
        IMS_ERR_SDK_NOT_INITIALIZED => c"SDK not initialized (client NULL or freed)",
        IMS_ERR_SDK_NOT_LOGGED_IN => c"not logged in",
        IMS_ERR_IN_PROGESS => c"a login or logout is already in progress",
        IMS_ERR_INVALID_PARAMETERS => c"invalid parameters",
        IMS_ERR_USER_SIG_EXPIRED => c"UserSig expired",
        IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER => c"kicked offline by another device",
        IMS_ERR_SDK_COMM_INVALID_IDENTIFIER => c"invalid userID",
        IMS_ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT => c"API call frequency limit exceeded",
        IMS_ERR_SDK_INTERFACE_NOT_SUPPORT => c"not supported by the app's edition",
        IMS_ERR_SDK_INVALID_OPERATION => c"invalid operation",
        IMS_ERR_SDK_NET_DISCONNECT => c"network disconnected",
        IMS_ERR_SVR_ACCOUNT_USERSIG_EXPIRED => c"UserSig expired (server)",
        IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED => c"UserSig check failed",
        IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID => c"UserSig made for another userID",
        IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID => c"UserSig made for another SDKAppID",
        IMS_ERR_SVR_ACCOUNT_USER_STATUS_DISABLED => c"user status is disabled for the app",
        _ => c"unknown error code",
    };
    text.as_ptr()
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// What was wrong with the last call on this thread that returned a non-zero `ims_result`
/// (NUL-terminated UTF-8, never NULL; empty before the first failure).
///
/// Successful calls leave it unchanged, so read it right after the failing call. The pointer
/// stays valid until the next failing `ims_` call on this thread, or until the thread ends; do
/// not free it. Each thread has its own message.
#[no_mangle]
pub extern "C" fn ims_last_error_message() -> *const c_char {
    std::panic::catch_unwind(|| LAST_ERROR.with(|last| last.borrow().as_ptr()))
        .unwrap_or(c"".as_ptr())
}

/// A synchronous refusal: the code an entry point returns and the description it leaves in
/// `ims_last_error_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) code: ims_result,
    pub(crate) message: String,
}

impl Rejection {
    pub(crate) fn new(code: ims_result, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }

    /// 6017: a bad argument.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Rejection::new(IMS_ERR_INVALID_PARAMETERS, message)
    }

    /// 6013: the client handle is NULL.
    pub(crate) fn no_client() -> Self {
        Rejection::new(
            IMS_ERR_SDK_NOT_INITIALIZED,
            "client is NULL: create one with ims_client_new",
        )
    }
}

/// Records the description of a rejection for `ims_last_error_message` on this thread.
pub(crate) fn set_last_error(message: &str) {
    let message = to_cstring(message);
    // `try_with`: a thread being torn down has no storage left, and that must not panic.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = message;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn codes_are_the_v2tim_ones() {
        let pairs = [
            (IMS_OK, codes::ERR_SUCC),
            (IMS_ERR_REQUEST_TIME_OUT, codes::ERR_REQUEST_TIME_OUT),
            (IMS_ERR_SDK_NOT_INITIALIZED, codes::ERR_SDK_NOT_INITIALIZED),
            (IMS_ERR_SDK_NOT_LOGGED_IN, codes::ERR_SDK_NOT_LOGGED_IN),
            (IMS_ERR_IN_PROGESS, codes::ERR_IN_PROGESS),
            (IMS_ERR_INVALID_PARAMETERS, codes::ERR_INVALID_PARAMETERS),
            (IMS_ERR_USER_SIG_EXPIRED, codes::ERR_USER_SIG_EXPIRED),
            (
                IMS_ERR_LOGIN_KICKED_OFF_BY_OTHER,
                codes::ERR_LOGIN_KICKED_OFF_BY_OTHER,
            ),
            (
                IMS_ERR_SDK_COMM_INVALID_IDENTIFIER,
                codes::ERR_SDK_COMM_INVALID_IDENTIFIER,
            ),
            (
                IMS_ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                codes::ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
            ),
            (
                IMS_ERR_SDK_INTERFACE_NOT_SUPPORT,
                codes::ERR_SDK_INTERFACE_NOT_SUPPORT,
            ),
            (
                IMS_ERR_SDK_INVALID_OPERATION,
                codes::ERR_SDK_INVALID_OPERATION,
            ),
            (IMS_ERR_SDK_NET_DISCONNECT, codes::ERR_SDK_NET_DISCONNECT),
            (
                IMS_ERR_SVR_ACCOUNT_USERSIG_EXPIRED,
                codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED,
            ),
            (
                IMS_ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED,
                codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED,
            ),
            (
                IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID,
                codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID,
            ),
            (
                IMS_ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
                codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
            ),
            (
                IMS_ERR_SVR_ACCOUNT_USER_STATUS_DISABLED,
                codes::ERR_SVR_ACCOUNT_USER_STATUS_DISABLED,
            ),
        ];
        for (ours, v2tim) in pairs {
            assert_eq!(ours, v2tim);
            let text = unsafe { CStr::from_ptr(ims_error_str(ours)) };
            assert_ne!(text.to_str().unwrap(), "unknown error code", "{ours}");
        }
        let unknown = unsafe { CStr::from_ptr(ims_error_str(12345)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown error code");
    }

    #[test]
    fn last_error_is_per_thread() {
        set_last_error("first");
        std::thread::spawn(|| {
            let empty = unsafe { CStr::from_ptr(ims_last_error_message()) };
            assert_eq!(empty.to_bytes(), b"");
            set_last_error("other");
        })
        .join()
        .unwrap();
        let first = unsafe { CStr::from_ptr(ims_last_error_message()) };
        assert_eq!(first.to_str().unwrap(), "first");
    }
}
