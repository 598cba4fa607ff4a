//! The library's error thread, `imstatus-errors`: where errors of calls that have no client are
//! reported (V2TIM's 6013 before `InitSDK` or after `UnInitSDK`, and errors a binding decides
//! before a call can reach a client).
//!
//! V2TIM never runs a callback inside the call that takes it, not even for such errors. Every
//! binding used to run a thread of its own for them; this is the one thread that replaces them.
//! It is started on the first report, runs reports one at a time in the order they were made,
//! and ends after a few idle seconds, so a library that is not used holds no thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Duration;

use super::listener::lock;
use super::log::log;
use super::queue::{self, RecvTimeoutError};

/// Name of the library's error thread.
pub const ERROR_THREAD_NAME: &str = "imstatus-errors";

/// How long the thread waits for more work before it ends.
const IDLE: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce() + Send>;

/// The queue of the running thread, if one runs. A sender is only used under this lock, and the
/// thread decides to end under it too, so no job is ever sent to a thread that has decided to
/// end.
struct ErrorThread {
    queue: Mutex<Option<queue::Sender<Job>>>,
    idle: Duration,
}

static THREAD: ErrorThread = ErrorThread {
    queue: Mutex::new(None),
    idle: IDLE,
};

/// Runs `job` later on the library's error thread ([`ERROR_THREAD_NAME`]), never on the calling
/// thread, after every job posted before it. A panic in a job is caught and logged.
///
/// Fails only when the thread cannot be started (the system refuses a new thread); `job` is then
/// dropped without running.
pub fn report_later(job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    THREAD.post(Box::new(job))
}

impl ErrorThread {
    fn post(&'static self, job: Job) -> std::io::Result<()> {
        let mut queue = lock(&self.queue);
        let job = match queue.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return Ok(()),
                // The thread died (it only ends under the lock, after clearing `queue`, so this
                // is a panic that escaped); start another.
                Err(job) => job,
            },
            None => job,
        };
        let (tx, rx) = queue::channel::<Job>();
        // Cannot fail: the receiver is right here.
        let _ = tx.send(job);
        std::thread::Builder::new()
            .name(ERROR_THREAD_NAME.into())
            .spawn(move || self.run(rx))?;
        *queue = Some(tx);
        Ok(())
    }

    fn run(&self, rx: queue::Receiver<Job>) {
        loop {
            let job = match rx.recv_timeout(self.idle) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    let mut queue = lock(&self.queue);
                    // Something may have been sent between the timeout and taking the lock.
                    match rx.try_recv() {
                        Some(job) => {
                            drop(queue);
                            job
                        }
                        None => {
                            *queue = None;
                            return;
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if catch_unwind(AssertUnwindSafe(job)).is_err() {
                log!(
                    Error,
                    "a job on the error thread panicked; the thread goes on"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn jobs_run_in_order_on_the_named_thread_never_inline_and_survive_panics() {
        let (tx, rx) = channel();
        let caller = std::thread::current().id();
        for i in 0..20 {
            let tx = tx.clone();
            report_later(move || {
                if i == 3 {
                    panic!("boom");
                }
                let me = std::thread::current();
                tx.send((i, me.name().map(str::to_owned), me.id() != caller))
                    .unwrap();
            })
            .unwrap();
        }
        for i in (0..20).filter(|i| *i != 3) {
            let (got, name, elsewhere) = rx.recv_timeout(WAIT).unwrap();
            assert_eq!(got, i);
            assert_eq!(name.as_deref(), Some(ERROR_THREAD_NAME));
            assert!(elsewhere);
        }
    }

    #[test]
    fn an_idle_thread_ends_and_a_later_job_starts_another() {
        static SHORT: ErrorThread = ErrorThread {
            queue: Mutex::new(None),
            idle: Duration::from_millis(50),
        };
        let (tx, rx) = channel();
        let first = tx.clone();
        SHORT
            .post(Box::new(move || {
                first.send(std::thread::current().id()).unwrap()
            }))
            .unwrap();
        let first = rx.recv_timeout(WAIT).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        while lock(&SHORT.queue).is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "the idle thread never ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        SHORT
            .post(Box::new(move || {
                tx.send(std::thread::current().id()).unwrap()
            }))
            .unwrap();
        assert_ne!(rx.recv_timeout(WAIT).unwrap(), first);
    }
}
