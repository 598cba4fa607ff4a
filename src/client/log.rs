//! The SDK's log: four levels, one process-wide [`Sink`], and the macros the library logs with
//! (`log!(Info, "logging in as {user}")`: a level's name, then `format!` arguments).
//!
//! Our own rather than `tracing`: the library only ever needed "a line at a level, to whatever
//! the host set" (`ims_set_log_callback`, the bindings' log listeners), and `tracing` with its
//! callsite machinery was about 33 KB of the stripped library. Being our own, it also works in a
//! process that already has a global `tracing` subscriber.
//!
//! A line is formatted only when a sink is set at its level or below; otherwise logging costs one
//! atomic load. A line logged while the sink runs on the same thread (the sink calling back into
//! the library) is dropped rather than recursing.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// How much a line matters, least first (V2TIM's DEBUG, INFO, WARN, ERROR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Details of the protocol and the connection.
    Debug = 1,
    /// Logins, logouts, reconnects.
    Info = 2,
    /// Something went wrong and was handled.
    Warn = 3,
    /// Something went wrong and could not be handled.
    Error = 4,
}

/// Where log lines go. Called on whichever thread logs (a caller's, a client's `imstatus-rt` or
/// `imstatus-callback`, the library's `imstatus-errors`), possibly on several at once.
pub trait Sink: Send + Sync {
    /// Receives one line (no trailing newline) at `level`, at or above the level it was set with.
    fn log(&self, level: Level, line: &str);
}

/// The lowest level forwarded, as its number; 0 while no sink is set.
static MIN_LEVEL: AtomicU8 = AtomicU8::new(0);
static SINK: Mutex<Option<Arc<dyn Sink>>> = Mutex::new(None);

thread_local! {
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Sets the process-wide sink: lines at `min` or above go to `sink` from now on; `None` turns
/// logging off. Returns the previous sink, so that the caller decides where it is dropped (a
/// sink's drop may run host code, which must not run under the log's lock). Calls of the previous
/// sink already running on other threads may still finish after this returns; they hold their
/// own reference to it.
pub fn set_sink(sink: Option<(Level, Arc<dyn Sink>)>) -> Option<Arc<dyn Sink>> {
    let mut slot = SINK.lock().unwrap_or_else(|p| p.into_inner());
    let (min, sink) = match sink {
        Some((min, sink)) => (min as u8, Some(sink)),
        None => (0, None),
    };
    // Under the lock, so that the level and the sink always change together.
    MIN_LEVEL.store(min, Ordering::Relaxed);
    std::mem::replace(&mut *slot, sink)
}

/// Whether a line at `level` would go anywhere now.
pub fn enabled(level: Level) -> bool {
    let min = MIN_LEVEL.load(Ordering::Relaxed);
    min != 0 && level as u8 >= min
}

/// Formats and forwards one line, if a sink wants it. The macros call this.
pub(crate) fn write(level: Level, args: fmt::Arguments<'_>) {
    if !enabled(level) || IN_SINK.with(Cell::get) {
        return;
    }
    let sink = {
        let slot = SINK.lock().unwrap_or_else(|p| p.into_inner());
        // Asked again under the lock: the level read above may have been the previous sink's.
        match &*slot {
            Some(sink) if enabled(level) => Arc::clone(sink),
            _ => return,
        }
    };
    let line = match args.as_str() {
        Some(text) => std::borrow::Cow::Borrowed(text),
        None => std::borrow::Cow::Owned(args.to_string()),
    };
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_SINK.with(|f| f.set(false));
        }
    }
    IN_SINK.with(|f| f.set(true));
    let _leave = Leave;
    sink.log(level, &line);
}

/// Logs one line at a [`Level`], given by its name, with `format!` arguments:
/// `log!(Info, "logging in as {user}")`.
macro_rules! log {
    ($level:ident, $($arg:tt)+) => {
        $crate::client::log::write($crate::client::log::Level::$level, format_args!($($arg)+))
    };
}

pub(crate) use log;

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects the lines logged on one thread (other tests log on theirs meanwhile); logs from
    /// inside its own `log` to check that such lines are dropped.
    struct Collect {
        thread: std::thread::ThreadId,
        lines: Mutex<Vec<(Level, String)>>,
    }

    impl Sink for Collect {
        fn log(&self, level: Level, line: &str) {
            if std::thread::current().id() != self.thread {
                return;
            }
            log!(Error, "logged from inside the sink");
            self.lines.lock().unwrap().push((level, line.to_owned()));
        }
    }

    // The only unit test that sets the sink: it is process-wide, and tests run in parallel.
    #[test]
    fn levels_filter_formats_only_what_is_wanted_and_the_sink_cannot_recurse() {
        let sink = Arc::new(Collect {
            thread: std::thread::current().id(),
            lines: Mutex::default(),
        });
        assert!(set_sink(Some((Level::Info, sink.clone()))).is_none());
        assert!(!enabled(Level::Debug) && enabled(Level::Info) && enabled(Level::Error));
        log!(Debug, "not wanted {}", 1);
        log!(Info, "logging in as {}", "alice");
        log!(Warn, "plain");
        log!(Error, "code {} desc {:?}", 6013, "x");
        assert_eq!(
            *sink.lines.lock().unwrap(),
            vec![
                (Level::Info, "logging in as alice".to_owned()),
                (Level::Warn, "plain".to_owned()),
                (Level::Error, "code 6013 desc \"x\"".to_owned()),
            ]
        );

        assert!(set_sink(None).is_some());
        assert!(!enabled(Level::Error));
        log!(Error, "nobody listens");
        assert_eq!(sink.lines.lock().unwrap().len(), 3);
    }
}
