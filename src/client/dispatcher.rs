//! The callback thread: where every user callback and listener event runs.
//!
//! One thread per client, fed by a queue, so that callbacks run one at a time in the order the
//! client decided them, never on a runtime worker (a slow callback cannot stall the network
//! code) and never inside the API call that caused them (a callback may call the client again
//! without re-entrancy surprises).

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread::JoinHandle;

use super::listener::lock;
use super::log::log;
use super::queue;
use super::types::ClientError;
use crate::live::{Kind, Live};

/// Name of every client's callback thread.
pub const CALLBACK_THREAD_NAME: &str = "imstatus-callback";

type Job = Box<dyn FnOnce() + Send>;

enum Msg {
    Job(Job),
    Stop,
}

thread_local! {
    static ON_CALLBACK_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is the callback thread of some client. Blocking calls check it:
/// waiting there for a callback that is queued behind the current one would never end.
pub(crate) fn on_callback_thread() -> bool {
    ON_CALLBACK_THREAD.with(Cell::get)
}

/// Posts jobs to the callback thread; cheap to clone, one per pending callback.
#[derive(Clone)]
pub(crate) struct DispatchHandle {
    tx: queue::Sender<Msg>,
}

impl DispatchHandle {
    /// Queues a job. Returns false (and drops the job) once the callback thread has stopped,
    /// which only happens after the client was dropped.
    pub(crate) fn post(&self, job: impl FnOnce() + Send + 'static) -> bool {
        self.tx.send(Msg::Job(Box::new(job))).is_ok()
    }
}

/// Owns the callback thread.
pub(crate) struct Dispatcher {
    handle: DispatchHandle,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: std::thread::ThreadId,
}

impl Dispatcher {
    pub(crate) fn start() -> std::io::Result<Dispatcher> {
        let (tx, rx) = queue::channel::<Msg>();
        let thread = std::thread::Builder::new()
            .name(CALLBACK_THREAD_NAME.into())
            .spawn(move || run(rx))?;
        Ok(Dispatcher {
            handle: DispatchHandle { tx },
            thread_id: thread.thread().id(),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) fn handle(&self) -> &DispatchHandle {
        &self.handle
    }

    /// Waits until the thread has run every job queued before this call, unless called on that
    /// thread (it cannot wait for itself: what is queued runs after the current job returns).
    /// Returns at once when the thread has stopped.
    pub(crate) fn flush(&self) {
        if std::thread::current().id() == self.thread_id {
            return;
        }
        let (tx, rx) = queue::channel::<()>();
        if self.handle.post(move || drop(tx)) {
            // Ends when the job ran (and dropped `tx`), or when the thread stopped and dropped
            // the queue with it: either way nothing queued before is left.
            let _ = rx.recv();
        }
    }

    /// Lets the thread run what is queued, then stop; waits for that unless called from the
    /// callback thread itself (a client dropped inside its own callback), which cannot wait for
    /// itself and simply finishes the queue after the current callback returns.
    pub(crate) fn stop(&self) {
        let _ = self.handle.tx.send(Msg::Stop);
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                log!(Error, "the callback thread ended with a panic");
            }
        }
    }
}

fn run(rx: queue::Receiver<Msg>) {
    ON_CALLBACK_THREAD.with(|flag| flag.set(true));
    while let Some(Msg::Job(job)) = rx.recv() {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(job)) {
            log!(
                Error,
                "a client callback panicked: {}; the callback thread goes on",
                panic_message(&panic)
            );
        }
    }
}

fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

type Callback<T> = Box<dyn FnOnce(Result<T, ClientError>) + Send>;

/// A user's `done` callback that fires exactly once, on the callback thread. If it is dropped
/// without being completed (the runtime was shut down under it, or a queued command was
/// discarded) it fires with 6013 "client was shut down": this is what makes "every pending
/// callback fires exactly once" hold without tracking callbacks anywhere else.
pub(crate) struct Completion<T: Send + 'static> {
    callback: Option<Callback<T>>,
    dispatcher: DispatchHandle,
    /// What the callback gets when this is dropped uncompleted: 6013, or for a refusal its own
    /// error (a refused call reports why it was refused, whatever happens to the client).
    if_dropped: Option<ClientError>,
    _live: Live,
}

impl<T: Send + 'static> Completion<T> {
    pub(crate) fn new(
        dispatcher: DispatchHandle,
        callback: impl FnOnce(Result<T, ClientError>) + Send + 'static,
    ) -> Self {
        Completion {
            callback: Some(Box::new(callback)),
            dispatcher,
            if_dropped: None,
            _live: Live::new(Kind::PendingCallback),
        }
    }

    /// A completion for a call refused with `error`: the same error fires whether it is
    /// completed or dropped.
    pub(crate) fn refusal(
        dispatcher: DispatchHandle,
        error: ClientError,
        callback: impl FnOnce(Result<T, ClientError>) + Send + 'static,
    ) -> Self {
        let mut done = Completion::new(dispatcher, callback);
        done.if_dropped = Some(error);
        done
    }

    /// The callback thread this completion fires on, to build related completions.
    pub(crate) fn dispatcher(&self) -> &DispatchHandle {
        &self.dispatcher
    }

    /// Queues the callback with its result.
    pub(crate) fn complete(mut self, result: Result<T, ClientError>) {
        self.fire(result);
    }

    fn fire(&mut self, result: Result<T, ClientError>) {
        if let Some(callback) = self.callback.take() {
            if !self.dispatcher.post(move || callback(result)) {
                log!(
                    Warn,
                    "a callback was dropped: the callback thread has stopped"
                );
            }
        }
    }
}

impl<T: Send + 'static> Drop for Completion<T> {
    fn drop(&mut self) {
        let error = self
            .if_dropped
            .take()
            .unwrap_or_else(ClientError::shut_down);
        self.fire(Err(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::channel;
    use std::sync::Arc;
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(5);

    #[test]
    fn jobs_run_in_order_on_the_named_thread_and_survive_panics() {
        let dispatcher = Dispatcher::start().unwrap();
        let (tx, rx) = channel();
        for i in 0..20 {
            let tx = tx.clone();
            dispatcher.handle().post(move || {
                if i == 5 {
                    panic!("boom");
                }
                let name = std::thread::current().name().map(str::to_owned);
                tx.send((i, name, on_callback_thread())).unwrap();
            });
        }
        for i in (0..20).filter(|i| *i != 5) {
            let (got, name, flagged) = rx.recv_timeout(WAIT).unwrap();
            assert_eq!(got, i);
            assert_eq!(name.as_deref(), Some(CALLBACK_THREAD_NAME));
            assert!(flagged);
        }
        assert!(!on_callback_thread());
        dispatcher.stop();
    }

    #[test]
    fn completion_fires_once_and_dropping_it_fires_6013() {
        let dispatcher = Dispatcher::start().unwrap();
        let (tx, rx) = channel();
        let tx2 = tx.clone();
        let done = Completion::new(dispatcher.handle().clone(), move |r: Result<u8, _>| {
            tx.send(r).unwrap()
        });
        done.complete(Ok(7));
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), Ok(7));
        let dropped = Completion::new(dispatcher.handle().clone(), move |r: Result<u8, _>| {
            tx2.send(r).unwrap()
        });
        drop(dropped);
        let err = rx.recv_timeout(WAIT).unwrap().unwrap_err();
        assert_eq!(err.code, codes::ERR_SDK_NOT_INITIALIZED);
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        dispatcher.stop();
    }

    #[test]
    fn a_refusal_reports_its_own_error_whether_completed_or_dropped() {
        let dispatcher = Dispatcher::start().unwrap();
        let (tx, rx) = channel();
        let refused = || ClientError::new(codes::ERR_INVALID_PARAMETERS, "user_id is NULL");
        for complete in [true, false] {
            let tx = tx.clone();
            let done = Completion::refusal(
                dispatcher.handle().clone(),
                refused(),
                move |r: Result<(), _>| tx.send(r).unwrap(),
            );
            if complete {
                done.complete(Err(refused()));
            } else {
                drop(done);
            }
            assert_eq!(rx.recv_timeout(WAIT).unwrap(), Err(refused()));
        }
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        dispatcher.stop();
    }

    #[test]
    fn flush_waits_for_what_is_queued_and_not_for_itself() {
        let dispatcher = Arc::new(Dispatcher::start().unwrap());
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let ran = Arc::clone(&ran);
            dispatcher.handle().post(move || {
                std::thread::sleep(Duration::from_millis(20));
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        dispatcher.flush();
        assert_eq!(ran.load(Ordering::SeqCst), 5);
        // On the callback thread itself, flush returns at once instead of deadlocking.
        let (tx, rx) = channel();
        let inner = Arc::clone(&dispatcher);
        dispatcher.handle().post(move || {
            inner.flush();
            tx.send(()).unwrap();
        });
        rx.recv_timeout(WAIT).unwrap();
        dispatcher.stop();
        dispatcher.flush();
    }

    #[test]
    fn stop_runs_what_is_queued_first() {
        let dispatcher = Dispatcher::start().unwrap();
        let (tx, rx) = channel();
        for i in 0..10 {
            let tx = tx.clone();
            dispatcher.handle().post(move || {
                std::thread::sleep(Duration::from_millis(2));
                tx.send(i).unwrap();
            });
        }
        dispatcher.stop();
        assert_eq!(rx.try_iter().count(), 10);
        assert!(!dispatcher.handle().post(|| {}));
    }
}
