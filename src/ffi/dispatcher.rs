//! Where host callbacks run: on the client's callback thread (the default), or wherever the
//! host's dispatcher hook sends them (for example its UI loop).

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::client::log::log;

/// Runs one task the library handed to a dispatcher hook. The host calls it with that `task`
/// exactly once, on any thread.
pub type ims_task_fn = Option<unsafe extern "C" fn(task: *mut c_void)>;

/// A dispatcher hook (see `ims_config_set_dispatcher`): queue `run(task)` to be called later,
/// exactly once, on a thread of the host's choice, and return without waiting for it.
pub type ims_post_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, run: ims_task_fn, task: *mut c_void)>;

type Job = Box<dyn FnOnce() + Send>;

/// How callbacks of one client reach the host.
#[derive(Clone, Copy)]
pub(crate) enum Delivery {
    /// Called directly on the client's callback thread (`imstatus-callback`).
    Direct,
    /// Handed to the host's `post` from the callback thread, as a task it runs later.
    Host(HostDispatcher),
}

/// The host's dispatcher hook.
#[derive(Clone, Copy)]
pub(crate) struct HostDispatcher {
    post: unsafe extern "C" fn(ctx: *mut c_void, run: ims_task_fn, task: *mut c_void),
    ctx: *mut c_void,
}

// SAFETY: `ctx` is only passed back to the host's own `post`, which `ims_config_set_dispatcher`
// requires to be callable from the client's callback thread with that `ctx`; the library never
// dereferences it.
unsafe impl Send for HostDispatcher {}
// SAFETY: as above; `post` is only called from the callback thread, and the copy is immutable.
unsafe impl Sync for HostDispatcher {}

impl HostDispatcher {
    pub(crate) fn new(
        post: unsafe extern "C" fn(*mut c_void, ims_task_fn, *mut c_void),
        ctx: *mut c_void,
    ) -> Self {
        HostDispatcher { post, ctx }
    }
}

impl Delivery {
    /// Runs `job` now (default), or posts it to the host. Called on the callback thread.
    pub(crate) fn deliver(&self, job: impl FnOnce() + Send + 'static) {
        match self {
            Delivery::Direct => job(),
            Delivery::Host(host) => {
                let task: Box<Job> = Box::new(Box::new(job));
                let task = Box::into_raw(task).cast::<c_void>();
                // SAFETY: `post` and `ctx` are the host's hook, called as its contract says; the
                // task pointer is released by `run_task`, which the host calls exactly once.
                unsafe { (host.post)(host.ctx, Some(run_task), task) };
            }
        }
    }
}

/// The `run` handed to a dispatcher hook: runs and frees one task.
unsafe extern "C" fn run_task(task: *mut c_void) {
    if task.is_null() {
        return;
    }
    // SAFETY: the host hands back a pointer `deliver` made with `Box::into_raw`, exactly once.
    let job = unsafe { Box::from_raw(task.cast::<Job>()) };
    if catch_unwind(AssertUnwindSafe(job)).is_err() {
        log!(Error, "a task run through the dispatcher hook panicked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Sender};
    use std::sync::Mutex;

    struct Queue(Mutex<Vec<(ims_task_fn, usize)>>);

    unsafe extern "C" fn post(ctx: *mut c_void, run: ims_task_fn, task: *mut c_void) {
        let queue = unsafe { &*ctx.cast::<Queue>() };
        queue.0.lock().unwrap().push((run, task as usize));
    }

    #[test]
    fn host_tasks_run_when_the_host_says() {
        let queue = Queue(Mutex::new(Vec::new()));
        let delivery = Delivery::Host(HostDispatcher::new(
            post,
            &queue as *const Queue as *mut c_void,
        ));
        let (tx, rx) = channel();
        let send = |tx: &Sender<u8>, n| {
            let tx = tx.clone();
            move || tx.send(n).unwrap()
        };
        delivery.deliver(send(&tx, 1));
        delivery.deliver(send(&tx, 2));
        assert!(
            rx.try_recv().is_err(),
            "nothing runs before the host runs it"
        );
        for (run, task) in queue.0.lock().unwrap().drain(..) {
            unsafe { run.unwrap()(task as *mut c_void) };
        }
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1, 2]);
        Delivery::Direct.deliver(send(&tx, 3));
        assert_eq!(rx.try_recv().unwrap(), 3);
    }
}
