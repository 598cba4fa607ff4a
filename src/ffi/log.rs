//! The process-wide log callback: forwards the library's `tracing` events to the host.
//!
//! Process-wide on purpose: the library's log events (network, reconnects, the server code if
//! it is linked in) are not tied to one client, and `tracing` has one global subscriber per
//! process. The first `ims_set_log_callback` with a level other than NONE installs that
//! subscriber, a layer that forwards events at or above the chosen level to whatever callback
//! is set at that moment.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::fmt::{Debug, Write as _};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use super::boundary::entry;
use super::callback::ims_free_fn;
use super::error::{ims_result, Rejection, IMS_ERR_SDK_INVALID_OPERATION};
use super::strings::to_cstring;

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
/// an `ims_` call on the caller's thread, on a client's network threads (`imstatus-rt`) or its
/// callback thread, possibly on several threads at once. It must be thread-safe, return quickly,
/// and not call `ims_client_free`; anything logged while it runs on the same thread is dropped.
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

static SINK: Mutex<Option<Arc<Sink>>> = Mutex::new(None);
static LEVEL: AtomicI32 = AtomicI32::new(IMS_LOG_LEVEL_NONE);
/// Whether our subscriber is the process's global one (decided once).
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    static IN_ON_LOG: Cell<bool> = const { Cell::new(false) };
}

fn current_sink() -> Option<Arc<Sink>> {
    SINK.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn level_value(level: &Level) -> ims_log_level {
    match *level {
        Level::ERROR => IMS_LOG_LEVEL_ERROR,
        Level::WARN => IMS_LOG_LEVEL_WARN,
        Level::INFO => IMS_LOG_LEVEL_INFO,
        // TRACE is below V2TIM's lowest level and never forwarded (see `max_level_hint`).
        Level::DEBUG | Level::TRACE => IMS_LOG_LEVEL_DEBUG,
    }
}

fn wanted(level: &Level) -> bool {
    let min = LEVEL.load(Ordering::Relaxed);
    min != IMS_LOG_LEVEL_NONE && *level != Level::TRACE && level_value(level) >= min
}

/// Our global subscriber: it forwards events and has no use for spans, so it keeps none (a
/// span registry, `tracing-subscriber`'s, was 15 KB of the stripped library for nothing).
struct Forward;

impl Subscriber for Forward {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level changes at run time: ask `enabled` every time rather than caching.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && wanted(metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }

    // Spans are never enabled, so these are never called with anything to keep.
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let level = event.metadata().level();
        if !wanted(level) || IN_ON_LOG.with(Cell::get) {
            return;
        }
        let Some(sink) = current_sink() else {
            return;
        };
        let Some(on_log) = sink.0.on_log else {
            return;
        };
        let mut text = Text::default();
        event.record(&mut text);
        let line = to_cstring(&format!(
            "{}: {}{}",
            event.metadata().target(),
            text.message,
            text.fields
        ));
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                IN_ON_LOG.with(|f| f.set(false));
            }
        }
        IN_ON_LOG.with(|f| f.set(true));
        let _leave = Leave;
        // SAFETY: the host's function with its user_data, per `ims_log_callback`.
        unsafe { on_log(sink.0.user_data, level_value(level), line.as_ptr()) };
    }
}

/// An event's message and its other fields as ` key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

fn install() -> bool {
    *INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(Forward).is_ok())
}

/// Sets the process-wide log callback (`V2TIMSDKConfig.logLevel` and `logListener`): lines of
/// every client at `level` or above go to `callback.on_log`. `IMS_LOG_LEVEL_NONE` or a NULL
/// `on_log` turns logging off. May be called any number of times, from any thread; each call
/// replaces the previous callback, whose `free_user_data` runs once no `on_log` call of it is
/// running any more (possibly inside this call). Calls of the previous callback already running
/// on other threads may still finish after this returns.
///
/// A level other than the `IMS_LOG_LEVEL_*` values is `IMS_ERR_INVALID_PARAMETERS`. The first
/// call that turns logging on installs the process's global `tracing` subscriber; if the process
/// already has one (another Rust library in it installed its own), the result is
/// `IMS_ERR_SDK_INVALID_OPERATION` and nothing changes. On a non-zero result the caller keeps
/// `callback.user_data`.
///
/// # Safety
/// `callback` follows the rules of `ims_log_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_set_log_callback(
    level: ims_log_level,
    callback: ims_log_callback,
) -> ims_result {
    entry(|| {
        if !matches!(
            level,
            IMS_LOG_LEVEL_NONE
                | IMS_LOG_LEVEL_DEBUG
                | IMS_LOG_LEVEL_INFO
                | IMS_LOG_LEVEL_WARN
                | IMS_LOG_LEVEL_ERROR
        ) {
            return Err(Rejection::invalid(format!(
                "log level {level} is not one of IMS_LOG_LEVEL_*"
            )));
        }
        let on = level != IMS_LOG_LEVEL_NONE && callback.on_log.is_some();
        if on && !install() {
            return Err(Rejection::new(
                IMS_ERR_SDK_INVALID_OPERATION,
                "this process already has a global tracing subscriber, so the library's log \
                 lines cannot be forwarded to a log callback",
            ));
        }
        let sink = Arc::new(Sink(callback));
        let previous = SINK.lock().unwrap_or_else(|p| p.into_inner()).replace(sink);
        LEVEL.store(
            if on { level } else { IMS_LOG_LEVEL_NONE },
            Ordering::Relaxed,
        );
        // Frees the previous user_data now, or when its last running `on_log` returns.
        drop(previous);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_v2tim() {
        assert_eq!(level_value(&Level::ERROR), 6);
        assert_eq!(level_value(&Level::WARN), 5);
        assert_eq!(level_value(&Level::INFO), 4);
        assert_eq!(level_value(&Level::DEBUG), 3);
        LEVEL.store(IMS_LOG_LEVEL_WARN, Ordering::Relaxed);
        assert!(wanted(&Level::ERROR) && wanted(&Level::WARN) && !wanted(&Level::INFO));
        LEVEL.store(IMS_LOG_LEVEL_NONE, Ordering::Relaxed);
        assert!(!wanted(&Level::ERROR));
    }

    #[test]
    fn invalid_levels_are_rejected() {
        let zero = ims_log_callback {
            user_data: std::ptr::null_mut(),
            on_log: None,
            free_user_data: None,
        };
        assert_eq!(
            unsafe { ims_set_log_callback(2, zero) },
            crate::ffi::error::IMS_ERR_INVALID_PARAMETERS
        );
        assert_eq!(unsafe { ims_set_log_callback(IMS_LOG_LEVEL_NONE, zero) }, 0);
    }
}
