//! The panic boundary every `extern "C"` body runs inside.
//!
//! A Rust panic must never unwind into C (since Rust 1.81 it aborts the process). Every entry
//! point therefore runs its body through [`entry`] (for functions returning an `ims_result`) or
//! [`entry_or`] (for getters with a safe default): a panic becomes `IMS_ERR_PANIC` or the default,
//! and its description goes to `ims_last_error_message`. This needs `panic = "unwind"`, which the
//! crate keeps in every profile.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{ims_result, set_last_error, Rejection, IMS_ERR_PANIC, IMS_OK};

const PANIC_MESSAGE: &str =
    "internal error: a panic was caught at the C boundary (please report it); the call did nothing";

/// Runs the body of an entry point that returns an `ims_result`: `Ok` is `IMS_OK`, a
/// [`Rejection`] is its code (with its message recorded for `ims_last_error_message`), and a
/// panic is `IMS_ERR_PANIC`.
///
/// `AssertUnwindSafe` is sound here: after a panic the library only touches state behind
/// mutexes that it reads with poisoning ignored, and whose invariants hold between statements.
pub(crate) fn entry(body: impl FnOnce() -> Result<(), Rejection>) -> ims_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => IMS_OK,
        Ok(Err(rejection)) => {
            set_last_error(&rejection.message);
            rejection.code
        }
        Err(_) => {
            set_last_error(PANIC_MESSAGE);
            IMS_ERR_PANIC
        }
    }
}

/// Runs the body of an entry point that returns a value rather than an `ims_result`; a panic
/// gives `on_panic`.
pub(crate) fn entry_or<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            set_last_error(PANIC_MESSAGE);
            on_panic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::{ims_last_error_message, IMS_ERR_INVALID_PARAMETERS};
    use std::ffi::CStr;

    fn last() -> String {
        unsafe { CStr::from_ptr(ims_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn results_rejections_and_panics() {
        assert_eq!(entry(|| Ok(())), IMS_OK);
        assert_eq!(
            entry(|| Err(Rejection::invalid("user_id is NULL"))),
            IMS_ERR_INVALID_PARAMETERS
        );
        assert_eq!(last(), "user_id is NULL");
        assert_eq!(entry(|| panic!("boom")), IMS_ERR_PANIC);
        assert!(last().contains("panic"));
        assert_eq!(entry_or(3, || panic!("boom")), 3);
        assert_eq!(entry_or(3, || 1), 1);
    }
}
