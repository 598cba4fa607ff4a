//! `ims_client_get_server_time` (`GetServerTime`).

use super::boundary::entry;
use super::client::{client_ref, ims_client};
use super::error::{ims_result, Rejection};

/// The server's current time (`GetServerTime`), in Unix seconds, into `*out_seconds`.
///
/// The server stamps its replies to the login and to heartbeats with its clock; the client keeps
/// the best reading (allowing for half the round trip) and carries it forward on the local
/// monotonic clock, so changing the device's clock does not move the answer. Before the
/// client's first successful login it answers the local clock. It keeps answering the server's
/// time after a logout and after `ims_client_shutdown`.
///
/// A NULL client is `IMS_ERR_SDK_NOT_INITIALIZED`, a NULL `out_seconds`
/// `IMS_ERR_INVALID_PARAMETERS`.
///
/// # Safety
/// `client` is NULL or a live client; `out_seconds` is NULL or points to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn ims_client_get_server_time(
    client: *const ims_client,
    out_seconds: *mut u64,
) -> ims_result {
    entry(|| {
        // SAFETY: per the contract.
        let client = unsafe { client_ref(client) }?;
        if out_seconds.is_null() {
            return Err(Rejection::invalid("out_seconds is NULL"));
        }
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out_seconds.write(client.client.server_time_ms() / 1000) };
        Ok(())
    })
}
