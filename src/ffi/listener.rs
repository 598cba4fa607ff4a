//! `ims_listener` (V2TIMSDKListener): the host's event callbacks, and the hub that fans the
//! client's events out to them with the removal guarantee of `ims_client_remove_listener`.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

use crate::client::{Listener, UserStatus};
use crate::live::{Kind, Live};

use super::callback::ims_free_fn;
use super::dispatcher::Delivery;
use super::status::{ims_user_status, CStatuses};
use super::strings::to_cstring;

/// An event without arguments.
pub type ims_event_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The SDK's events (`V2TIMSDKListener`), passed by value to `ims_client_add_listener`.
///
/// Every member may be NULL (that event is ignored). Events run one at a time, in the order the
/// client decided them, on the client's callback thread `imstatus-callback` (or wherever the
/// client's dispatcher hook runs tasks), never inside an `ims_` call. Several listeners of one
/// client hear each event in the order they were added. `free_user_data` runs exactly once,
/// after the last event of this listener has returned: inside `ims_client_remove_listener` or
/// `ims_client_free`, or, when removed from inside one of its own events, right after that event
/// returns.
///
/// `user_data` must be usable from the callback thread.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ims_listener {
    /// Passed as the first argument of every function below; never dereferenced by the library.
    pub user_data: *mut c_void,
    /// The client starts connecting: a login, or a reconnect after a network loss.
    pub on_connecting: ims_event_fn,
    /// The connection to the server is up (the login itself may still fail).
    pub on_connect_success: ims_event_fn,
    /// Connecting failed: a V2TIM code (9508 for network failures) and a description, borrowed
    /// for the duration of the call. While reconnecting the client keeps retrying.
    pub on_connect_failed:
        Option<unsafe extern "C" fn(user_data: *mut c_void, code: i32, desc: *const c_char)>,
    /// Another device logged in with this account on this platform: this client is logged out
    /// and does not reconnect.
    pub on_kicked_offline: ims_event_fn,
    /// The UserSig of the session expired: this client is logged out; log in with a fresh one.
    pub on_user_sig_expired: ims_event_fn,
    /// Statuses changed (subscribed users, friends, the own account on other devices, the own
    /// account going offline). `statuses` holds `count` entries, borrowed until the call returns.
    pub on_user_status_changed: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            statuses: *const ims_user_status,
            count: usize,
        ),
    >,
    /// Runs once when the library no longer needs `user_data`.
    pub free_user_data: ims_free_fn,
}

/// One event, owned, so that it can travel to the host's dispatcher.
enum Event {
    Connecting,
    ConnectSuccess,
    ConnectFailed(i32, String),
    KickedOffline,
    UserSigExpired,
    StatusChanged(Vec<UserStatus>),
}

/// One registered listener.
struct Entry {
    id: u64,
    callbacks: ims_listener,
    state: Mutex<EntryState>,
    /// Signalled whenever an event of this listener returns.
    idle: Condvar,
    _live: Live,
}

#[derive(Default)]
struct EntryState {
    removed: bool,
    /// Threads currently inside one of this listener's functions.
    running: Vec<ThreadId>,
    /// Removed from inside one of its own events: the last event to return frees user_data.
    free_on_leave: bool,
    freed: bool,
}

// SAFETY: the host contract of `ims_listener`: its functions and `user_data` may be used from the
// callback thread (or the dispatcher hook's threads). The library never dereferences
// `user_data`; `state` serialises removal against running events.
unsafe impl Send for Entry {}
// SAFETY: as above.
unsafe impl Sync for Entry {}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Entry {
    /// Calls `f` with the callbacks unless the listener was removed, tracking the call so that
    /// a removal can wait for it.
    fn run(&self, f: impl FnOnce(&ims_listener)) {
        let me = thread::current().id();
        {
            let mut state = lock(&self.state);
            if state.removed {
                return;
            }
            state.running.push(me);
        }
        struct Leave<'a>(&'a Entry, ThreadId);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                let mut state = lock(&self.0.state);
                if let Some(i) = state.running.iter().position(|t| *t == self.1) {
                    state.running.swap_remove(i);
                }
                // A removal from another thread frees after its wait; only one made from inside
                // an event of this listener leaves the freeing to the event's return.
                let free_now = state.free_on_leave && state.running.is_empty() && !state.freed;
                if free_now {
                    state.freed = true;
                }
                drop(state);
                self.0.idle.notify_all();
                if free_now {
                    self.0.free_user_data();
                }
            }
        }
        let _leave = Leave(self, me);
        f(&self.callbacks);
    }

    /// Marks the listener removed; waits until no other thread runs one of its events; frees
    /// its user_data unless the current thread is inside one of them (then leaving frees it).
    fn remove(&self) {
        let me = thread::current().id();
        let mut state = lock(&self.state);
        state.removed = true;
        while state.running.iter().any(|t| *t != me) {
            state = self.idle.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        let free_now = state.running.is_empty() && !state.freed;
        if free_now {
            state.freed = true;
        } else {
            // Only this thread's own event of this listener is still running.
            state.free_on_leave = true;
        }
        drop(state);
        if free_now {
            self.free_user_data();
        }
    }

    fn free_user_data(&self) {
        if let Some(free) = self.callbacks.free_user_data {
            // SAFETY: the host's function with its user_data, once (guarded by `freed`).
            unsafe { free(self.callbacks.user_data) };
        }
    }

    fn deliver(&self, event: &Event, statuses: &Option<CStatuses>) {
        let user_data = self.callbacks.user_data;
        self.run(|cb| {
            // SAFETY (every call below): the host's functions with its user_data, as
            // `ims_listener` documents; borrowed data outlives each call.
            match event {
                Event::Connecting => {
                    if let Some(f) = cb.on_connecting {
                        unsafe { f(user_data) }
                    }
                }
                Event::ConnectSuccess => {
                    if let Some(f) = cb.on_connect_success {
                        unsafe { f(user_data) }
                    }
                }
                Event::ConnectFailed(code, desc) => {
                    if let Some(f) = cb.on_connect_failed {
                        let desc = to_cstring(desc);
                        unsafe { f(user_data, *code, desc.as_ptr()) }
                    }
                }
                Event::KickedOffline => {
                    if let Some(f) = cb.on_kicked_offline {
                        unsafe { f(user_data) }
                    }
                }
                Event::UserSigExpired => {
                    if let Some(f) = cb.on_user_sig_expired {
                        unsafe { f(user_data) }
                    }
                }
                Event::StatusChanged(_) => {
                    if let (Some(f), Some(c)) = (cb.on_user_status_changed, statuses) {
                        unsafe { f(user_data, c.as_ptr(), c.len()) }
                    }
                }
            }
        });
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Every path removes before the last reference goes; this only guards against leaks.
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if !state.freed {
            state.freed = true;
            self.free_user_data();
        }
    }
}

/// The one [`Listener`] an `ims_client` registers with its client; fans events out to the
/// host's listeners through the client's delivery.
pub(crate) struct Hub {
    entries: Mutex<Vec<Arc<Entry>>>,
    next_id: AtomicU64,
    delivery: Delivery,
}

impl Hub {
    pub(crate) fn new(delivery: Delivery) -> Hub {
        Hub {
            entries: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            delivery,
        }
    }

    /// Registers a listener; its id is never 0 and never reused by this client.
    pub(crate) fn add(&self, callbacks: ims_listener) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.entries).push(Arc::new(Entry {
            id,
            callbacks,
            state: Mutex::default(),
            idle: Condvar::new(),
            _live: Live::new(Kind::CListener),
        }));
        id
    }

    /// Unregisters a listener (see `ims_client_remove_listener`); false for an unknown id.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let entry = {
            let mut entries = lock(&self.entries);
            let Some(i) = entries.iter().position(|e| e.id == id) else {
                return false;
            };
            entries.remove(i)
        };
        entry.remove();
        true
    }

    /// Unregisters every listener, as `remove` does.
    pub(crate) fn remove_all(&self) {
        let entries = std::mem::take(&mut *lock(&self.entries));
        for entry in entries {
            entry.remove();
        }
    }

    fn emit(&self, event: Event) {
        let entries = lock(&self.entries).clone();
        if entries.is_empty() {
            return;
        }
        self.delivery.deliver(move || {
            let statuses = match &event {
                Event::StatusChanged(list) => Some(CStatuses::new(list)),
                _ => None,
            };
            for entry in &entries {
                entry.deliver(&event, &statuses);
            }
        });
    }
}

impl Listener for Hub {
    fn on_connecting(&self) {
        self.emit(Event::Connecting);
    }
    fn on_connect_success(&self) {
        self.emit(Event::ConnectSuccess);
    }
    fn on_connect_failed(&self, code: i32, desc: &str) {
        self.emit(Event::ConnectFailed(code, desc.to_owned()));
    }
    fn on_kicked_offline(&self) {
        self.emit(Event::KickedOffline);
    }
    fn on_user_sig_expired(&self) {
        self.emit(Event::UserSigExpired);
    }
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        self.emit(Event::StatusChanged(statuses.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[derive(Default)]
    struct Counts {
        connecting: AtomicUsize,
        frees: AtomicUsize,
    }

    unsafe extern "C" fn connecting(user_data: *mut c_void) {
        let c = unsafe { &*user_data.cast::<Counts>() };
        c.connecting.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(100));
    }
    unsafe extern "C" fn free(user_data: *mut c_void) {
        let c = unsafe { &*user_data.cast::<Counts>() };
        c.frees.fetch_add(1, Ordering::SeqCst);
    }

    fn listener(c: &Counts) -> ims_listener {
        ims_listener {
            user_data: c as *const Counts as *mut c_void,
            on_connecting: Some(connecting),
            on_connect_success: None,
            on_connect_failed: None,
            on_kicked_offline: None,
            on_user_sig_expired: None,
            on_user_status_changed: None,
            free_user_data: Some(free),
        }
    }

    #[test]
    fn remove_waits_for_a_running_event_then_frees_once() {
        let counts: &'static Counts = Box::leak(Box::default());
        let hub = Arc::new(Hub::new(Delivery::Direct));
        let id = hub.add(listener(counts));
        let h = Arc::clone(&hub);
        let events = thread::spawn(move || h.on_connecting());
        while counts.connecting.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        assert!(hub.remove(id));
        // The event had started and slept; remove returned only after it finished.
        assert_eq!(counts.frees.load(Ordering::SeqCst), 1);
        events.join().unwrap();
        hub.on_connecting();
        assert_eq!(counts.connecting.load(Ordering::SeqCst), 1);
        assert!(!hub.remove(id));
        assert_eq!(counts.frees.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn remove_all_frees_everything_once() {
        let a = Counts::default();
        let b = Counts::default();
        let hub = Hub::new(Delivery::Direct);
        hub.add(listener(&a));
        hub.add(listener(&b));
        hub.remove_all();
        hub.on_connecting();
        assert_eq!(a.frees.load(Ordering::SeqCst), 1);
        assert_eq!(b.frees.load(Ordering::SeqCst), 1);
        assert_eq!(a.connecting.load(Ordering::SeqCst), 0);
    }
}
