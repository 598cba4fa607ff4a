//! `ims_client_shutdown`: ending a client while its handle stays valid (`UnInitSDK`).

use super::boundary::entry;
use super::client::{client_ref, ims_client};
use super::error::ims_result;

/// Shuts a client down (`UnInitSDK`) and keeps its handle valid until `ims_client_free`, so that
/// other threads may go on calling it meanwhile.
///
/// Closes the connection without logging out (the server sees the device go OFFLINE), stops the
/// client's network threads, and ends every call in flight exactly once with on_error 6013
/// "client was shut down ...", then its `free_user_data`. Called outside the client's own
/// callbacks, this returns once those callbacks (and any queued before them) have run (or, with a
/// dispatcher hook, have been posted); from inside one of them it does not wait for itself.
///
/// Afterwards the client's callback thread and its listeners stay (until `ims_client_free`,
/// which frees the listeners), but no event comes any more. Calls that take a callback are
/// refused with `IMS_ERR_SDK_NOT_INITIALIZED`: synchronously, or through the callback with
/// `ims_config_set_async_refusals` (a call racing with the shutdown may also be accepted and then
/// get 6013 through its callback). `ims_client_add_listener` is refused the same way;
/// `ims_client_remove_listener` works. The getters answer logged out (user "",
/// `IMS_LOGIN_STATUS_LOGOUT`); `ims_client_get_server_time` still answers the server's time.
///
/// Idempotent: a second call returns `IMS_OK` at once. A NULL client is
/// `IMS_ERR_SDK_NOT_INITIALIZED`.
///
/// # Safety
/// `client` is NULL or a live client. Must not be called from the log callback or a dispatcher
/// hook's `post`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_shutdown(client: *mut ims_client) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        client.shutdown();
        Ok(())
    })
}
