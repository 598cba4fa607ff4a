//! The fields beyond V2TIM of the statuses lent to C right now, found by the address of their
//! `ims_user_status`.
//!
//! `ims_user_status` is part of the append-only ABI: a program compiled against an older header
//! steps through the arrays the library lends with the old `sizeof`, so the struct can never
//! grow. Its extensions (last seen, the own switches) are therefore kept here, beside each lent
//! array, for the accessor functions (`ims_status_last_seen_ms`, ...). A lent array registers
//! while it lives (the duration of one callback) and leaves when dropped; addresses are only
//! compared, never dereferenced, so a stale or foreign pointer is an error, not a crash.

use std::mem::size_of;
use std::sync::Mutex;

use crate::client::UserStatus;

use super::status::ims_user_status;

/// The extension fields of one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extras {
    pub(crate) last_seen_ms: Option<u64>,
    pub(crate) invisible: bool,
    pub(crate) visibility: i32,
}

impl Extras {
    fn of(status: &UserStatus) -> Extras {
        Extras {
            last_seen_ms: status.last_seen_ms,
            invisible: status.invisible,
            visibility: status.visibility as i32,
        }
    }
}

/// One lent array: the address of its first item and the extras of each item.
struct Lent {
    start: usize,
    extras: Vec<Extras>,
}

/// Every array lent right now. Few at a time (one per callback thread running a status
/// callback), so a list beats a map.
static LENT: Mutex<Vec<Lent>> = Mutex::new(Vec::new());

fn lent() -> std::sync::MutexGuard<'static, Vec<Lent>> {
    // Only pushes and removals of whole entries happen under the lock: a panic elsewhere
    // leaves the list consistent.
    LENT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the array at `start` with one entry per status (nothing for an empty array).
pub(crate) fn register(start: *const ims_user_status, statuses: &[UserStatus]) {
    if statuses.is_empty() || start.is_null() {
        return;
    }
    lent().push(Lent {
        start: start as usize,
        extras: statuses.iter().map(Extras::of).collect(),
    });
}

/// Removes the array at `start` (the array is about to be freed).
pub(crate) fn unregister(start: *const ims_user_status) {
    let start = start as usize;
    lent().retain(|l| l.start != start);
}

/// The extras of the status at `status`, if it is an item of an array lent right now.
pub(crate) fn find(status: *const ims_user_status) -> Option<Extras> {
    let addr = status as usize;
    let size = size_of::<ims_user_status>();
    lent().iter().find_map(|l| {
        let offset = addr.checked_sub(l.start)?;
        if offset % size != 0 {
            return None;
        }
        l.extras.get(offset / size).copied()
    })
}
