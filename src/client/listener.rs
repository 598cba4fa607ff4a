//! `V2TIMSDKListener` and the set of registered listeners.

use std::sync::{Arc, Mutex};

use super::types::UserStatus;

/// Receives the SDK's events (`V2TIMSDKListener`). Every method has an empty default body, so an
/// implementation overrides only what it needs.
///
/// All methods run on the client's callback thread (`imstatus-callback`), one at a time and in
/// the order the events happened, never inside the API call that caused them and never while
/// the client holds a lock. So a listener may call any non-blocking [`Client`](super::Client)
/// method; the `*_blocking` ones refuse to run there. A panic in a listener is caught and
/// logged. The client keeps an `Arc` to each registered listener until it is removed.
pub trait Listener: Send + Sync {
    /// The client starts connecting: an explicit login, or a reconnect after a network loss.
    fn on_connecting(&self) {}
    /// The TCP connection and the protocol handshake succeeded (the login may still fail).
    fn on_connect_success(&self) {}
    /// Connecting failed with a V2TIM code (9508 for network failures); while reconnecting, a
    /// refused re-login is reported here too and the client keeps retrying.
    fn on_connect_failed(&self, code: i32, desc: &str) {
        let _ = (code, desc);
    }
    /// Another device logged in on this platform (L2). The client is now logged out and does not
    /// reconnect; later calls fail with 6014.
    fn on_kicked_offline(&self) {}
    /// The UserSig of the running session expired. The client is now logged out and does not
    /// reconnect; log in again with a fresh UserSig.
    fn on_user_sig_expired(&self) {}
    /// Statuses changed: pushes (N1), the own account going offline (D4), and the resync after a
    /// reconnect (N4). Several users may share one call (N5).
    fn on_user_status_changed(&self, statuses: &[UserStatus]) {
        let _ = statuses;
    }
}

/// The registered listeners. A `Vec` rather than a set: registration order is the order events
/// are delivered in, which callers can rely on.
#[derive(Default)]
pub(crate) struct ListenerSet {
    listeners: Mutex<Vec<Arc<dyn Listener>>>,
}

impl ListenerSet {
    /// Adds a listener unless that same object is already registered.
    pub(crate) fn add(&self, listener: Arc<dyn Listener>) {
        let mut listeners = lock(&self.listeners);
        if !listeners.iter().any(|l| same(l, &listener)) {
            listeners.push(listener);
        }
    }

    pub(crate) fn remove(&self, listener: &Arc<dyn Listener>) {
        lock(&self.listeners).retain(|l| !same(l, listener));
    }

    /// A copy of the current listeners, so that they can be called after the lock is released
    /// (a listener may add or remove listeners).
    pub(crate) fn snapshot(&self) -> Vec<Arc<dyn Listener>> {
        lock(&self.listeners).clone()
    }
}

/// Compares the objects, not the vtables: the same object can be reached through different
/// vtable pointers (one per codegen unit), which would make `Arc::ptr_eq` on fat pointers lie.
fn same(a: &Arc<dyn Listener>, b: &Arc<dyn Listener>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// Locks, ignoring poisoning: the lists stay consistent even if a holder panicked, because no
/// user code ever runs under these locks.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nop;
    impl Listener for Nop {}

    #[test]
    fn same_arc_twice_is_added_once_and_removed_by_identity() {
        let set = ListenerSet::default();
        let a: Arc<dyn Listener> = Arc::new(Nop);
        let b: Arc<dyn Listener> = Arc::new(Nop);
        set.add(a.clone());
        set.add(a.clone());
        set.add(b.clone());
        assert_eq!(set.snapshot().len(), 2);
        set.remove(&a);
        let left = set.snapshot();
        assert_eq!(left.len(), 1);
        assert!(same(&left[0], &b));
        set.remove(&a);
        assert_eq!(set.snapshot().len(), 1);
    }
}
