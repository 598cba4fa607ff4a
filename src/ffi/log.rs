//! The process-wide log callback: where the library's log lines (`crate::client::log`) go.
//!
//! Process-wide on purpose: the library's log lines (network, reconnects) are not tied to one
//! client. `ims_set_log_callback` sets the library's one log sink, which forwards lines at or
//! above the chosen level to the host's callback.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::boundary::entry;
use super::callback::ims_free_fn;
use super::error::{ims_result, Rejection};
use super::strings::to_cstring;
use crate::client::log::{self, Level};

/// A log level, with the values of `V2TIMLogLevel`.
pub type ims_log_level = i32;

/// V2TIM_LOG_NONE: no logging.
pub const IMS_LOG_LEVEL_NONE: ims_log_level = 0;
/// V2TIM_LOG_DEBUG: everything, including details of the protocol.
pub const IMS_LOG_LEVEL_DEBUG: ims_log_level = 3;
/// V2TIM_LOG_INFO: logins, logouts, reconnects.
pub const IMS_LOG_LEVEL_INFO: ims_log_level = 4;
/// V2TIM_LOG_WARN: something went wrong and was handled.
pub const IMS_LOG_LEVEL_WARN: ims_log_level = 5;
/// V2TIM_LOG_ERROR: something went wrong and could not be handled.
pub const IMS_LOG_LEVEL_ERROR: ims_log_level = 6;

/// Where log lines go (`V2TIMLogListener`), passed by value to `ims_set_log_callback`.
///
/// `on_log` gets the line's level (`IMS_LOG_LEVEL_*`) and text (NUL-terminated UTF-8, borrowed
/// for the duration of the call, no trailing newline). It runs on whichever thread logs: inside
/// an `ims_` call on the caller's thread, on a client's network thread (`imstatus-rt`), its
/// callback thread or the library's error thread (`imstatus-errors`), possibly on several
/// threads at once. It must be thread-safe, return quickly, and not call `ims_client_free`;
/// anything logged while it runs on the same thread is dropped.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ims_log_callback {
    /// Passed as the first argument of `on_log` and `free_user_data`; never dereferenced.
    pub user_data: *mut c_void,
    /// Receives one log line. NULL: nothing is logged.
    pub on_log: Option<
        unsafe extern "C" fn(user_data: *mut c_void, level: ims_log_level, message: *const c_char),
    >,
    /// Runs once when this callback has been replaced and no `on_log` call is running any more.
    pub free_user_data: ims_free_fn,
}

struct Sink(ims_log_callback);

// SAFETY: the host contract of `ims_log_callback`: `on_log` is thread-safe and may be called with
// `user_data` from any thread; `free_user_data` runs once, from whichever thread drops the last
// reference.
unsafe impl Send for Sink {}
// SAFETY: as above.
unsafe impl Sync for Sink {}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(free) = self.0.free_user_data {
            // SAFETY: the host's function with its user_data, once (this is the only owner).
            unsafe { free(self.0.user_data) };
        }
    }
}

impl log::Sink for Sink {
    fn log(&self, level: Level, line: &str) {
        if let Some(on_log) = self.0.on_log {
            let line = to_cstring(line);
            // SAFETY: the host's function with its user_data, per `ims_log_callback`.
            unsafe { on_log(self.0.user_data, level_value(level), line.as_ptr()) };
        }
    }
}

fn level_value(level: Level) -> ims_log_level {
    match level {
        Level::Error => IMS_LOG_LEVEL_ERROR,
        Level::Warn => IMS_LOG_LEVEL_WARN,
        Level::Info => IMS_LOG_LEVEL_INFO,
        Level::Debug => IMS_LOG_LEVEL_DEBUG,
    }
}

/// The library's level for an `IMS_LOG_LEVEL_*` other than NONE.
fn level_of(value: ims_log_level) -> Option<Level> {
    Some(match value {
        IMS_LOG_LEVEL_DEBUG => Level::Debug,
        IMS_LOG_LEVEL_INFO => Level::Info,
        IMS_LOG_LEVEL_WARN => Level::Warn,
        IMS_LOG_LEVEL_ERROR => Level::Error,
        _ => return None,
    })
}

/// Sets the process-wide log callback (`V2TIMSDKConfig.logLevel` and `logListener`): lines of
/// every client at `level` or above go to `callback.on_log`. `IMS_LOG_LEVEL_NONE` or a NULL
/// `on_log` turns logging off; such a callback is not kept, and its `free_user_data` runs before
/// this returns. May be called any number of times, from any thread; each call replaces the
/// previous callback, whose `free_user_data` runs once no `on_log` call of it is running any more
/// (possibly inside this call). Calls of the previous callback already running on other threads
/// may still finish after this returns.
///
/// A level other than the `IMS_LOG_LEVEL_*` values is `IMS_ERR_INVALID_PARAMETERS`, and the
/// caller keeps `callback.user_data`. The library logs through a logger of its own, so this
/// works whatever else the process logs with (a global `tracing` subscriber installed by another
/// Rust library included); `IMS_ERR_SDK_INVALID_OPERATION`, which earlier versions answered in
/// that case, no longer happens.
///
/// # Safety
/// `callback` follows the rules of `ims_log_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_set_log_callback(
    level: ims_log_level,
    callback: ims_log_callback,
) -> ims_result {
    entry(|| {
        let min = match level_of(level) {
            Some(min) => Some(min),
            None if level == IMS_LOG_LEVEL_NONE => None,
            None => {
                return Err(Rejection::invalid(format!(
                    "log level {level} is not one of IMS_LOG_LEVEL_*"
                )))
            }
        };
        let sink = Arc::new(Sink(callback));
        let wanted = match min {
            Some(min) if callback.on_log.is_some() => Some((min, sink as Arc<dyn log::Sink>)),
            // Off: the callback is not kept, so its user_data is freed now (dropping `sink`).
            _ => None,
        };
        // Frees the previous user_data now, or when its last running `on_log` returns; not
        // under the log's lock, as `free_user_data` is the host's code.
        drop(log::set_sink(wanted));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_v2tim_both_ways() {
        for (level, value) in [
            (Level::Error, 6),
            (Level::Warn, 5),
            (Level::Info, 4),
            (Level::Debug, 3),
        ] {
            assert_eq!(level_value(level), value);
            assert_eq!(level_of(value), Some(level));
        }
        for value in [IMS_LOG_LEVEL_NONE, 1, 2, 7, -1] {
            assert_eq!(level_of(value), None);
        }
    }

    #[test]
    fn invalid_levels_are_rejected() {
        // (Turning logging on or off is left to tests/c/log.c: the sink is process-wide, and
        // `client::log`'s own test sets it.)
        let zero = ims_log_callback {
            user_data: std::ptr::null_mut(),
            on_log: None,
            free_user_data: None,
        };
        assert_eq!(
            unsafe { ims_set_log_callback(2, zero) },
            crate::ffi::error::IMS_ERR_INVALID_PARAMETERS
        );
    }
}
