//! `ims_client`: one SDK instance (`V2TIMManager`), and every call on it.

use std::ffi::c_char;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::client::{Client, ClientError, Listener, UserStatus};

use super::boundary::{entry, entry_or};
use super::callback::{
    ims_callback, ims_user_status_callback, DoneCallback, StatusesCallback, FREED_DESC,
    SHUT_DOWN_DESC,
};
use super::config::ims_config;
use super::dispatcher::Delivery;
use super::error::{ims_result, Rejection, IMS_ERR_SDK_NOT_INITIALIZED};
use super::listener::{ims_listener, Hub};
use super::refusal::Refusable;
use super::strings;

/// V2TIM_STATUS_LOGINED: logged in (also while reconnecting after a network loss).
pub const IMS_LOGIN_STATUS_LOGINED: i32 = 1;
/// V2TIM_STATUS_LOGINING: a login is running.
pub const IMS_LOGIN_STATUS_LOGINING: i32 = 2;
/// V2TIM_STATUS_LOGOUT: not logged in (never, logged out, kicked, UserSig expired).
pub const IMS_LOGIN_STATUS_LOGOUT: i32 = 3;

/// One SDK instance (`V2TIMManager`): at most one logged-in user and one connection. A process
/// may hold any number of clients, each logged in as its own user.
///
/// Thread-safe: any function may be called on one client from several threads at once, except
/// `ims_client_free`, which must be the last call on it. `ims_client_shutdown` ends a client
/// while other threads may still call it.
///
/// Each client has one callback thread, `imstatus-callback` (Linux keeps 15 bytes of a thread
/// name: `pthread_getname_np` reports `imstatus-callba`; on Windows the name is the thread's
/// description, which `GetThreadDescription` and debuggers show whole), where all of its
/// callbacks and listener events run one at a time, in order, never inside the `ims_` call that
/// caused them (unless a dispatcher hook sends them elsewhere; see `ims_config_set_dispatcher`).
/// They may call any `ims_` function, including `ims_client_free` on their own client, but
/// should return quickly: every later callback of that client waits behind them.
pub struct ims_client {
    pub(crate) client: Client,
    hub: Arc<Hub>,
    delivery: Delivery,
    /// `ims_config_set_async_refusals` of the config the client was made from.
    async_refusals: bool,
    /// [`RUNNING`], [`SHUT_DOWN`] or [`FREED`], to explain the 6013 of calls cut short.
    ending: Arc<AtomicU8>,
}

/// Values of `ims_client::ending`.
const RUNNING: u8 = 0;
const SHUT_DOWN: u8 = 1;
const FREED: u8 = 2;

/// Borrows the client behind a handle, or rejects a NULL one with 6013.
///
/// # Safety
/// `client` is NULL or a live client from `ims_client_new` that is not being freed.
pub(crate) unsafe fn client_ref<'a>(
    client: *const ims_client,
) -> Result<&'a ims_client, Rejection> {
    // SAFETY: per this function's contract.
    unsafe { client.as_ref() }.ok_or_else(Rejection::no_client)
}

impl ims_client {
    /// Wraps an accepted call's `ims_callback` into the client's `done`.
    pub(crate) fn done(
        &self,
        cb: ims_callback,
    ) -> impl FnOnce(Result<(), ClientError>) + Send + 'static {
        let cb = DoneCallback::new(cb);
        let delivery = self.delivery;
        let ending = Arc::clone(&self.ending);
        move |result| delivery.deliver(move || cb.finish(explain(result, &ending)))
    }

    pub(crate) fn statuses_done(
        &self,
        cb: ims_user_status_callback,
    ) -> impl FnOnce(Result<Vec<UserStatus>, ClientError>) + Send + 'static {
        let cb = StatusesCallback::new(cb);
        let delivery = self.delivery;
        let ending = Arc::clone(&self.ending);
        move |result| delivery.deliver(move || cb.finish(explain(result, &ending)))
    }

    /// Shuts the client down (`ims_client_shutdown`).
    pub(crate) fn shutdown(&self) {
        // Stored first, so the 6013s the shutdown fires already say why.
        let _ =
            self.ending
                .compare_exchange(RUNNING, SHUT_DOWN, Ordering::SeqCst, Ordering::SeqCst);
        self.client.shutdown();
    }

    /// Refuses 6013 once `ims_client_shutdown` ran.
    fn running(&self) -> Result<(), Rejection> {
        if self.client.is_shut_down() {
            Err(Rejection::new(IMS_ERR_SDK_NOT_INITIALIZED, SHUT_DOWN_DESC))
        } else {
            Ok(())
        }
    }

    /// Ends a callback-taking call: with its arguments checked, `start` runs with them and the
    /// callback; a refusal is returned (the callback stays the caller's), or with async refusals
    /// reported through the callback.
    fn call<A, C: Refusable>(
        &self,
        callback: C,
        args: Result<A, Rejection>,
        start: impl FnOnce(A, C),
    ) -> Result<(), Rejection> {
        match self.running().and(args) {
            Ok(args) => {
                start(args, callback);
                Ok(())
            }
            Err(refusal) if self.async_refusals => {
                callback.refuse_on(self, ClientError::new(refusal.code, refusal.message));
                Ok(())
            }
            Err(refusal) => Err(refusal),
        }
    }
}

/// The client answers calls cut short by its shutdown with 6013 "client was shut down"; from C
/// that is `ims_client_shutdown` or `ims_client_free`, so say which.
fn explain<T>(result: Result<T, ClientError>, ending: &AtomicU8) -> Result<T, ClientError> {
    result.map_err(|e| {
        if e.code != IMS_ERR_SDK_NOT_INITIALIZED {
            return e;
        }
        match ending.load(Ordering::SeqCst) {
            FREED => ClientError::new(e.code, FREED_DESC),
            SHUT_DOWN => ClientError::new(e.code, SHUT_DOWN_DESC),
            _ => e,
        }
    })
}

/// Creates a client from `config` (copied: the config may be freed or changed afterwards). It
/// starts its threads but does not connect; that happens at `ims_client_login`.
///
/// Returns `IMS_ERR_INVALID_PARAMETERS` for a NULL argument or unusable settings (such as a zero
/// heartbeat interval), `IMS_ERR_SDK_NOT_INITIALIZED` if its threads cannot start.
///
/// # Safety
/// `config` is NULL or a live config; `out` is NULL or points to storage for one pointer. On
/// `IMS_OK`, `*out` is a new client the caller owns and frees with `ims_client_free`; otherwise
/// `*out` is untouched.
#[no_mangle]
pub unsafe extern "C" fn ims_client_new(
    config: *const ims_config,
    out: *mut *mut ims_client,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let config =
            unsafe { config.as_ref() }.ok_or_else(|| Rejection::invalid("config is NULL"))?;
        if out.is_null() {
            return Err(Rejection::invalid("out is NULL"));
        }
        let client =
            Client::new(config.client.clone()).map_err(|e| Rejection::new(e.code, e.desc))?;
        let hub = Arc::new(Hub::new(config.delivery));
        client.add_listener(Arc::clone(&hub) as Arc<dyn Listener>);
        let handle = Box::new(ims_client {
            client,
            hub,
            delivery: config.delivery,
            async_refusals: config.async_refusals,
            ending: Arc::new(AtomicU8::new(RUNNING)),
        });
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees a client (`UnInitSDK`): closes its connection without logging out (the server sees the
/// device go OFFLINE), removes every listener (their `free_user_data` runs), and stops its
/// threads. NULL is fine.
///
/// Every call still in flight completes exactly once with on_error 6013 "client was freed ...",
/// then its `free_user_data`. Called outside the client's own callbacks, this waits for the
/// callback thread: when it returns, every callback of the client has run (or, with a dispatcher
/// hook, has been posted) and no listener event runs any more. Called from inside one of the
/// client's own callbacks it does not wait for itself: the remaining callbacks (the 6013s) run
/// on the callback thread after the current one returns, and the thread then ends.
///
/// # Safety
/// `client` is NULL or a client from `ims_client_new` that is not freed yet. No other thread may
/// be inside a call on it, and it must not be used afterwards. Must not be called from the log
/// callback or a dispatcher hook's `post`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_free(client: *mut ims_client) {
    let _ = entry(|| {
        if client.is_null() {
            return Ok(());
        }
        // SAFETY: made by `Box::into_raw` in `ims_client_new`, freed once per the contract.
        let handle = unsafe { Box::from_raw(client) };
        handle.ending.store(FREED, Ordering::SeqCst);
        handle.hub.remove_all();
        // Dropping the client shuts it down: pending calls fire 6013 on the callback thread,
        // which is then joined (unless this is that thread).
        drop(handle);
        Ok(())
    });
}

/// Adds a listener (`AddSDKListener`); its events start with the next one the client decides.
/// On `IMS_OK`, `*out_id` is its id (never 0) for `ims_client_remove_listener`, and the library
/// owns `listener.user_data` until it calls `listener.free_user_data`.
///
/// # Safety
/// `client` is NULL or a live client; `out_id` is NULL or points to a writable `uint64_t`; the
/// listener's functions follow the rules of `ims_listener`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_add_listener(
    client: *mut ims_client,
    listener: ims_listener,
    out_id: *mut u64,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        if out_id.is_null() {
            return Err(Rejection::invalid("out_id is NULL"));
        }
        client.running()?;
        let id = client.hub.add(listener);
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out_id.write(id) };
        Ok(())
    })
}

/// Removes a listener (`RemoveSDKListener`). When this returns, no event of that listener is
/// running or will start, and its `free_user_data` has run, unless this is called from inside
/// one of that listener's own events: then that event finishes normally and `free_user_data`
/// runs right after it returns. An id that is not (or no longer) registered is
/// `IMS_ERR_INVALID_PARAMETERS`.
///
/// Waits for an event of that listener running on another thread: do not call it while holding
/// a lock that listener's events take.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn ims_client_remove_listener(
    client: *mut ims_client,
    id: u64,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        if client.hub.remove(id) {
            Ok(())
        } else {
            Err(Rejection::invalid(format!(
                "no listener with id {id} on this client"
            )))
        }
    })
}

/// Logs in (`Login`) with a UserSig made by the app's backend. `user_id` and `user_sig` are
/// copied. Logging in again as the logged-in user succeeds at once; as another user, the current
/// one is logged out first. Refusals carry the server's code (70001, 70003, 70013, 70014, 7003,
/// ...); an unreachable server is 9508 (after the listener's `on_connect_failed`).
///
/// # Safety
/// `client` is NULL or a live client; `user_id` and `user_sig` are NULL or NUL-terminated
/// strings; `callback` follows the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_login(
    client: *mut ims_client,
    user_id: *const c_char,
    user_sig: *const c_char,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let args = unsafe { strings::required(user_id, "user_id") }.and_then(|id| {
            // SAFETY: per the contract.
            Ok((id, unsafe { strings::required(user_sig, "user_sig") }?))
        });
        client.call(callback, args, |(user_id, user_sig), cb| {
            client.client.login(user_id, user_sig, client.done(cb))
        })
    })
}

/// Logs out (`Logout`); the client ends logged out whatever the server answers. Not logged in
/// is 6014.
///
/// # Safety
/// `client` is NULL or a live client; `callback` follows the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_logout(
    client: *mut ims_client,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        client.call(callback, Ok(()), |(), cb| {
            client.client.logout(client.done(cb))
        })
    })
}

/// Copies the logged-in user's ID (`GetLoginUser`), "" when not logged in, into `buf` as a
/// NUL-terminated string, and its length without the NUL into `*out_len`.
///
/// When `buf_len` is less than that length + 1, nothing is written to `buf`, `*out_len` still
/// gets the length (so the caller can retry with a big enough buffer), and the result is
/// `IMS_ERR_INVALID_PARAMETERS`. `buf` may be NULL only when `buf_len` is 0.
///
/// # Safety
/// `client` is NULL or a live client; `buf` is NULL or points to `buf_len` writable bytes;
/// `out_len` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_get_login_user(
    client: *const ims_client,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        if out_len.is_null() {
            return Err(Rejection::invalid("out_len is NULL"));
        }
        if buf.is_null() && buf_len > 0 {
            return Err(Rejection::invalid("buf is NULL but buf_len is not 0"));
        }
        let user = client.client.login_user().unwrap_or_default();
        let bytes = user.as_bytes();
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out_len.write(bytes.len()) };
        if buf_len <= bytes.len() {
            return Err(Rejection::invalid(format!(
                "buf_len {buf_len} is too small: the login user needs {} bytes with its NUL",
                bytes.len() + 1
            )));
        }
        // SAFETY: `buf` has `buf_len` > `bytes.len()` writable bytes per the contract.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            buf.add(bytes.len()).write(0);
        }
        Ok(())
    })
}

/// The login status (`GetLoginStatus`): one of `IMS_LOGIN_STATUS_*`. A NULL client is
/// `IMS_LOGIN_STATUS_LOGOUT`.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn ims_client_get_login_status(client: *const ims_client) -> i32 {
    entry_or(IMS_LOGIN_STATUS_LOGOUT, || {
        // SAFETY: per the contract.
        match unsafe { client.as_ref() } {
            Some(client) => client.client.login_status() as i32,
            None => IMS_LOGIN_STATUS_LOGOUT,
        }
    })
}

/// Sets the own custom status (`SetSelfStatus`; copied); NULL or "" clears it. The server decides
/// what is acceptable (more than 100 bytes is 6017 through `on_error`). The change also arrives
/// as `on_user_status_changed` for the own user.
///
/// # Safety
/// `client` is NULL or a live client; `custom_status` is NULL or a NUL-terminated string;
/// `callback` follows the rules of `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_set_self_status(
    client: *mut ims_client,
    custom_status: *const c_char,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let args = unsafe { strings::optional(custom_status, "custom_status") };
        client.call(callback, args, |custom_status, cb| {
            client
                .client
                .set_self_status(custom_status, client.done(cb))
        })
    })
}

/// Queries statuses (`GetUserStatus`) of `count` users (copied). The server decides what is
/// acceptable: an empty list or more than 500 IDs is 6017 through `on_error`; querying others
/// needs the Ultimate edition (7013) and the status switch (72001). Only the IDs that succeeded
/// are answered.
///
/// # Safety
/// `client` is NULL or a live client; `user_ids` is NULL (only with `count` 0) or points to
/// `count` pointers, each a NUL-terminated string; `callback` follows the rules of
/// `ims_user_status_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_get_user_status(
    client: *mut ims_client,
    user_ids: *const *const c_char,
    count: usize,
    callback: ims_user_status_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let args = unsafe { strings::list(user_ids, count, "user_ids") };
        client.call(callback, args, |ids, cb| {
            client.client.get_user_status(ids, client.statuses_done(cb))
        })
    })
}

/// Subscribes to users' status changes (`SubscribeUserStatus`; copied); changes then arrive as
/// `on_user_status_changed`. The server decides what is acceptable (an empty list, more than 100
/// IDs or only the own ID is 6017; 7013; 72001; 7008).
///
/// # Safety
/// As `ims_client_get_user_status`, with an `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_subscribe_user_status(
    client: *mut ims_client,
    user_ids: *const *const c_char,
    count: usize,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let args = unsafe { strings::list(user_ids, count, "user_ids") };
        client.call(callback, args, |ids, cb| {
            client.client.subscribe_user_status(ids, client.done(cb))
        })
    })
}

/// Unsubscribes (`UnsubscribeUserStatus`; copied). An empty list (NULL with `count` 0)
/// removes every subscription; IDs not subscribed are ignored.
///
/// # Safety
/// As `ims_client_get_user_status`, with an `ims_callback`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_unsubscribe_user_status(
    client: *mut ims_client,
    user_ids: *const *const c_char,
    count: usize,
    callback: ims_callback,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        // SAFETY: per the contract.
        let args = unsafe { strings::list(user_ids, count, "user_ids") };
        client.call(callback, args, |ids, cb| {
            let ids = if ids.is_empty() { None } else { Some(ids) };
            client.client.unsubscribe_user_status(ids, client.done(cb))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::LoginStatus;

    #[test]
    fn login_status_values_are_v2tim() {
        assert_eq!(IMS_LOGIN_STATUS_LOGINED, LoginStatus::Logined as i32);
        assert_eq!(IMS_LOGIN_STATUS_LOGINING, LoginStatus::Logining as i32);
        assert_eq!(IMS_LOGIN_STATUS_LOGOUT, LoginStatus::Logout as i32);
    }
}
