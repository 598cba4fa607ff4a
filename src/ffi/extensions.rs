//! Presence beyond V2TIM (docs/behaviour-extensions.md): an expiring custom status, appearing
//! offline, who may see the user, and the fields of a status that carry them. Functions beside
//! V2TIM's; `ims_user_status` itself never grows (see `lent`).

use std::ffi::c_char;
use std::time::Duration;

use crate::client::Visibility;

use super::boundary::entry;
use super::callback::ims_callback;
use super::client::{client_ref, ims_client};
use super::error::{ims_result, Rejection};
use super::lent;
use super::status::ims_user_status;
use super::strings;

/// Who may see the user (beyond V2TIM, X10): everyone who may see statuses at all (the default).
pub const IMS_VISIBILITY_EVERYONE: i32 = 0;
/// Only the user's friends; everyone else sees the user as if appearing offline.
pub const IMS_VISIBILITY_FRIENDS: i32 = 1;
/// Nobody but the user's own devices.
pub const IMS_VISIBILITY_NOBODY: i32 = 2;
/// Read only: a value this library predates, sent by a newer server.
pub const IMS_VISIBILITY_UNKNOWN: i32 = 3;

/// Sets the own custom status like `ims_client_set_self_status` (NULL or "" clears it), and has
/// the server clear it `expire_after_ms` milliseconds later, as an ordinary change every watcher
/// sees (beyond V2TIM, X9). Setting a status again replaces the expiry. The server refuses 0 and
/// more than a year with 6017 through `on_error`.
///
/// # Safety
/// `client` is NULL or a live client; `custom_status` is NULL or a NUL-terminated string;
/// `callback` follows the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_set_self_status_expiring(
    client: *mut ims_client,
    custom_status: *const c_char,
    expire_after_ms: u64,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let args = unsafe { strings::optional(custom_status, "custom_status") };
        client.call(callback, args, |custom_status, cb| {
            let expiry = Some(Duration::from_millis(expire_after_ms));
            client
                .client
                .set_self_status_expiring(custom_status, expiry, client.done(cb))
        })
    })
}

/// Appears offline to everyone else (`on` true), or stops (beyond V2TIM, X6). Others then see
/// the user OFFLINE (UNLOGINED when logged out) without a custom status, with the last-seen time
/// frozen at this moment; the user's own devices keep seeing the truth, and
/// `ims_status_invisible` of the own status says true. Kept across logouts.
///
/// # Safety
/// `client` is NULL or a live client; `callback` follows the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_set_invisible(
    client: *mut ims_client,
    on: bool,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        client.call(callback, Ok(()), |(), cb| {
            client.client.set_invisible(on, client.done(cb))
        })
    })
}

/// Sets who may see the user's status (beyond V2TIM, X10): `IMS_VISIBILITY_EVERYONE`,
/// `IMS_VISIBILITY_FRIENDS` or `IMS_VISIBILITY_NOBODY`; any other value is
/// `IMS_ERR_INVALID_PARAMETERS`. A watcher who may not see the user sees what they would see if
/// the user appeared offline.
///
/// # Safety
/// `client` is NULL or a live client; `callback` follows the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_set_visibility(
    client: *mut ims_client,
    visibility: i32,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        let args = Visibility::from_i32(visibility)
            .filter(|v| *v != Visibility::Unknown)
            .ok_or_else(|| {
                Rejection::invalid(format!(
                    "visibility {visibility} is not IMS_VISIBILITY_EVERYONE, _FRIENDS or _NOBODY"
                ))
            });
        client.call(callback, args, |visibility, cb| {
            client.client.set_visibility(visibility, client.done(cb))
        })
    })
}

/// The extras of a status lent to a callback, or why not.
fn extras(status: *const ims_user_status) -> Result<lent::Extras, Rejection> {
    if status.is_null() {
        return Err(Rejection::invalid("status is NULL"));
    }
    lent::find(status).ok_or_else(|| {
        Rejection::invalid(
            "status is not a status the library lends right now (use it inside its callback)",
        )
    })
}

/// Writes `value` through `out`, or rejects a NULL `out`.
///
/// # Safety
/// `out` is NULL or points to a writable `T`.
unsafe fn put<T>(out: *mut T, value: T) -> Result<(), Rejection> {
    if out.is_null() {
        return Err(Rejection::invalid("out is NULL"));
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { out.write(value) };
    Ok(())
}

/// When the user last stopped being ONLINE, in Unix milliseconds, into `*out_ms`; 0 while the
/// user is ONLINE and for a user never seen ONLINE (beyond V2TIM, X1, X2). Frozen while the user
/// appears offline or hides from this user.
///
/// `status` must be an item of the array a callback (`on_success` of
/// `ims_client_get_user_status`, `on_user_status_changed`) received, called before that callback
/// returns; anything else, and a NULL argument, is `IMS_ERR_INVALID_PARAMETERS`.
///
/// # Safety
/// `out_ms` is NULL or points to a writable `uint64_t`. `status` is only compared, never read.
#[no_mangle]
pub unsafe extern "C" fn ims_status_last_seen_ms(
    status: *const ims_user_status,
    out_ms: *mut u64,
) -> ims_result {
    entry(|| {
        let extras = extras(status)?;
        // SAFETY: per the contract.
        unsafe { put(out_ms, extras.last_seen_ms.unwrap_or(0)) }
    })
}

/// Whether the user appears offline to others, into `*out` (beyond V2TIM, X6). Only the user's
/// own status says true; anyone else's always says false. Arguments as for
/// `ims_status_last_seen_ms`.
///
/// # Safety
/// `out` is NULL or points to a writable `bool`. `status` is only compared, never read.
#[no_mangle]
pub unsafe extern "C" fn ims_status_invisible(
    status: *const ims_user_status,
    out: *mut bool,
) -> ims_result {
    entry(|| {
        let extras = extras(status)?;
        // SAFETY: per the contract.
        unsafe { put(out, extras.invisible) }
    })
}

/// Who may see the user, one of `IMS_VISIBILITY_*`, into `*out` (beyond V2TIM, X10). Only the
/// user's own status carries it; anyone else's says `IMS_VISIBILITY_EVERYONE`. Arguments as for
/// `ims_status_last_seen_ms`.
///
/// # Safety
/// `out` is NULL or points to a writable `int32_t`. `status` is only compared, never read.
#[no_mangle]
pub unsafe extern "C" fn ims_status_visibility(
    status: *const ims_user_status,
    out: *mut i32,
) -> ims_result {
    entry(|| {
        let extras = extras(status)?;
        // SAFETY: per the contract.
        unsafe { put(out, extras.visibility) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_values_are_the_clients() {
        assert_eq!(IMS_VISIBILITY_EVERYONE, Visibility::Everyone as i32);
        assert_eq!(IMS_VISIBILITY_FRIENDS, Visibility::Friends as i32);
        assert_eq!(IMS_VISIBILITY_NOBODY, Visibility::Nobody as i32);
        assert_eq!(IMS_VISIBILITY_UNKNOWN, Visibility::Unknown as i32);
    }
}
