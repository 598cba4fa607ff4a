//! The client's network thread, `imstatus-rt`: a current-thread tokio runtime that runs the
//! driver (and the connection tasks it spawns) until the client is shut down.
//!
//! One thread of our own rather than tokio's multi-thread runtime: a client handles a few
//! messages a minute, so a second worker buys nothing, and the multi-thread scheduler was about
//! 80 KB of the stripped library (docs/benchmarks.md, "The SDK's own cost"). The runtime is
//! built, run and dropped on that thread only, so stopping it never blocks inside a caller's
//! async code (tokio forbids dropping a runtime there) and never needs the caller's runtime.

use std::future::Future;
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tokio::sync::oneshot;

use super::queue::{self, RecvTimeoutError};

/// Name of every client's network thread.
pub(crate) const RUNTIME_THREAD_NAME: &str = "imstatus-rt";

/// The running network thread of one client.
pub(crate) struct RuntimeThread {
    stop: oneshot::Sender<()>,
    /// Disconnected once the thread has dropped the runtime (and with it every task).
    stopped: queue::Receiver<()>,
    thread: JoinHandle<()>,
}

impl RuntimeThread {
    /// Starts the thread and runs `main` on it until [`stop`](Self::stop) (or until `main`
    /// returns). Returns once the runtime is built, so a failure to build it is reported here.
    pub(crate) fn start(
        main: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<RuntimeThread> {
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready) = queue::channel::<std::io::Result<()>>();
        let (stopped_tx, stopped) = queue::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(RUNTIME_THREAD_NAME.into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    // Also the name of the thread a host name is resolved on (tokio's blocking
                    // pool; an address that is already an IP needs none).
                    .thread_name(RUNTIME_THREAD_NAME)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                runtime.block_on(async move {
                    tokio::select! {
                        // A stop wins over whatever `main` would do next.
                        biased;
                        _ = stop_rx => {}
                        () = main => {}
                    }
                });
                // Dropping the runtime drops the tasks `main` spawned (the connection's pumps).
                drop(runtime);
                drop(stopped_tx);
            })?;
        // The thread answers before anything else it does; no answer means it died first.
        match ready.recv() {
            Some(Ok(())) => Ok(RuntimeThread {
                stop,
                stopped,
                thread,
            }),
            Some(Err(e)) => Err(e),
            None => Err(std::io::Error::other("the runtime thread ended at start")),
        }
    }

    /// The thread's ID, to recognise a call made on it.
    pub(crate) fn id(&self) -> ThreadId {
        self.thread.thread().id()
    }

    /// Stops the runtime: `main` and every task are dropped on the thread. Waits up to `grace`
    /// for that, unless called on the thread itself (e.g. from a log callback), which cannot wait
    /// for itself: the runtime then stops as soon as the current task yields. Returns whether
    /// the runtime is known to have stopped.
    pub(crate) fn stop(self, grace: Duration) -> bool {
        let on_this_thread = std::thread::current().id() == self.id();
        let _ = self.stop.send(());
        if on_this_thread {
            return false;
        }
        match self.stopped.recv_timeout(grace) {
            Err(RecvTimeoutError::Disconnected) => {
                let _ = self.thread.join();
                true
            }
            // Something on the thread does not yield (a host's log callback that blocks): leave
            // the thread to finish on its own rather than hang the caller.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    const WAIT: Duration = Duration::from_secs(10);

    /// Tells, when dropped, on which thread that happened.
    struct DropProbe(std::sync::mpsc::Sender<Option<String>>);

    impl Drop for DropProbe {
        fn drop(&mut self) {
            let _ = self
                .0
                .send(std::thread::current().name().map(str::to_owned));
        }
    }

    #[test]
    fn runs_on_its_named_thread_and_stop_drops_main_and_its_tasks_there() {
        let (name_tx, name_rx) = channel();
        let (drop_tx, drop_rx) = channel();
        let task_probe = DropProbe(drop_tx.clone());
        let main_probe = DropProbe(drop_tx);
        let thread = RuntimeThread::start(async move {
            name_tx
                .send(std::thread::current().name().map(str::to_owned))
                .unwrap();
            tokio::spawn(async move {
                let _probe = task_probe;
                std::future::pending::<()>().await;
            });
            let _probe = main_probe;
            std::future::pending::<()>().await;
        })
        .unwrap();
        assert_eq!(
            name_rx.recv_timeout(WAIT).unwrap().as_deref(),
            Some(RUNTIME_THREAD_NAME)
        );
        assert!(thread.stop(WAIT));
        // Both were dropped before `stop` returned, on the runtime's thread.
        for _ in 0..2 {
            assert_eq!(
                drop_rx.try_recv().unwrap().as_deref(),
                Some(RUNTIME_THREAD_NAME)
            );
        }
    }

    #[test]
    fn stop_from_async_code_and_from_the_thread_itself_does_not_deadlock() {
        let outer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let thread = RuntimeThread::start(std::future::pending()).unwrap();
        assert!(outer.block_on(async move { thread.stop(WAIT) }));

        // Stopped from inside its own `main`: it cannot wait for itself, and ends anyway.
        let (slot_tx, slot_rx) = channel::<RuntimeThread>();
        let (drop_tx, drop_rx) = channel();
        let probe = DropProbe(drop_tx);
        let thread = RuntimeThread::start(async move {
            let _probe = probe;
            let me = slot_rx.recv().unwrap();
            assert!(!me.stop(WAIT));
            std::future::pending::<()>().await;
        })
        .unwrap();
        slot_tx.send(thread).unwrap();
        assert_eq!(
            drop_rx.recv_timeout(WAIT).unwrap().as_deref(),
            Some(RUNTIME_THREAD_NAME)
        );
    }
}
