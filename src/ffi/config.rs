//! `ims_config`: the builder an `ims_client` is created from.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use crate::client::{platform_from_code, ClientConfig, Platform};

use super::boundary::entry;
use super::dispatcher::{ims_post_fn, Delivery, HostDispatcher};
use super::error::{ims_result, Rejection};
use super::strings;

/// The platform a client declares at login (`V2TIMSDKConfig` has none; the server uses it for
/// the multi-device rules and reports it in `online_devices`).
pub type ims_platform = i32;

/// The platform this process runs on (the default): Android, iPhone, Windows, Mac or Linux.
pub const IMS_PLATFORM_DEFAULT: ims_platform = 0;
/// "Android".
pub const IMS_PLATFORM_ANDROID: ims_platform = 1;
/// "iPhone".
pub const IMS_PLATFORM_IPHONE: ims_platform = 2;
/// "iPad".
pub const IMS_PLATFORM_IPAD: ims_platform = 3;
/// "Windows".
pub const IMS_PLATFORM_WINDOWS: ims_platform = 4;
/// "Mac".
pub const IMS_PLATFORM_MAC: ims_platform = 5;
/// "Linux".
pub const IMS_PLATFORM_LINUX: ims_platform = 6;
/// "Web".
pub const IMS_PLATFORM_WEB: ims_platform = 7;

/// Settings for `ims_client_new`: an owned builder. Create it with `ims_config_new`, change it
/// with the `ims_config_set_*` functions, pass it to any number of `ims_client_new` calls (each
/// client copies it), and free it with `ims_config_free`. Not thread-safe: use one config from
/// one thread at a time.
pub struct ims_config {
    pub(crate) client: ClientConfig,
    pub(crate) delivery: Delivery,
    /// `ims_config_set_async_refusals`.
    pub(crate) async_refusals: bool,
}

/// The codes are the client's (`platform_from_code`); the constants above only name them.
fn platform(value: ims_platform) -> Result<Platform, Rejection> {
    platform_from_code(value)
        .ok_or_else(|| Rejection::invalid(format!("platform {value} is not one of IMS_PLATFORM_*")))
}

/// Runs `f` on the config behind `config`, or rejects a NULL one.
///
/// # Safety
/// `config` is NULL or a live `ims_config` not used by another thread during the call.
pub(super) unsafe fn with_config(
    config: *mut ims_config,
    f: impl FnOnce(&mut ims_config) -> Result<(), Rejection>,
) -> ims_result {
    entry(|| {
        // SAFETY: per this function's contract.
        let config =
            unsafe { config.as_mut() }.ok_or_else(|| Rejection::invalid("config is NULL"))?;
        f(config)
    })
}

/// Creates a config for the app `sdk_app_id` with the defaults: server address from the
/// environment variable `IMSTATUS_SERVER`, else 127.0.0.1:7800; this host's platform; 120 s
/// heartbeat; 10 s request timeout; reconnect backoff 500 ms up to 30 s; callbacks on the client's
/// callback thread.
///
/// # Safety
/// `out` is NULL (rejected with `IMS_ERR_INVALID_PARAMETERS`) or points to writable storage for
/// one pointer. On `IMS_OK`, `*out` is a new config the caller owns and frees with
/// `ims_config_free`; otherwise `*out` is untouched.
#[no_mangle]
pub unsafe extern "C" fn ims_config_new(sdk_app_id: u32, out: *mut *mut ims_config) -> ims_result {
    entry(|| {
        if out.is_null() {
            return Err(Rejection::invalid("out is NULL"));
        }
        let config = Box::new(ims_config {
            client: ClientConfig::new(sdk_app_id),
            delivery: Delivery::Direct,
            async_refusals: false,
        });
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { out.write(Box::into_raw(config)) };
        Ok(())
    })
}

/// Frees a config made by `ims_config_new`. NULL is fine. Clients made from it are unaffected.
///
/// # Safety
/// `config` is NULL or a config from `ims_config_new` that is not freed yet and not in use by
/// another thread. It must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ims_config_free(config: *mut ims_config) {
    let _ = entry(|| {
        if !config.is_null() {
            // SAFETY: made by `Box::into_raw` in `ims_config_new`, freed once per the contract.
            drop(unsafe { Box::from_raw(config) });
        }
        Ok(())
    });
}

/// Sets the server address, "host:port" (copied), or "tls://host:port" for TLS (see
/// `ims_config_set_tls`). NULL or "" goes back to the default: `IMSTATUS_SERVER`, else
/// 127.0.0.1:7800, read at every connect. An address `ims_client_new` cannot use (a scheme other
/// than tls://, a tls:// address that is not host:port) makes it fail with
/// `IMS_ERR_INVALID_PARAMETERS`.
///
/// # Safety
/// `config` is NULL or a live config; `server_addr` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_server_addr(
    config: *mut ims_config,
    server_addr: *const c_char,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            let addr = strings::optional(server_addr, "server_addr")?;
            c.client.server_addr = addr.filter(|a| !a.is_empty()).map(str::to_owned);
            Ok(())
        })
    }
}

/// Sets the platform this client declares at login, one of `IMS_PLATFORM_*`; anything else is
/// `IMS_ERR_INVALID_PARAMETERS`.
///
/// # Safety
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_platform(
    config: *mut ims_config,
    platform: ims_platform,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.client.platform = self::platform(platform)?;
            Ok(())
        })
    }
}

/// Sets how often a logged-in client sends a heartbeat, in milliseconds (default 120000). The
/// client refuses 0 at `ims_client_new`.
///
/// # Safety
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_heartbeat_interval_ms(
    config: *mut ims_config,
    interval_ms: u32,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.client.heartbeat_interval = Duration::from_millis(interval_ms.into());
            Ok(())
        })
    }
}

/// Sets how long a request (and a connect) may wait for the server before it fails with
/// `IMS_ERR_REQUEST_TIME_OUT`, in milliseconds (default 10000). The client refuses 0 at
/// `ims_client_new`.
///
/// # Safety
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_request_timeout_ms(
    config: *mut ims_config,
    timeout_ms: u32,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.client.request_timeout = Duration::from_millis(timeout_ms.into());
            Ok(())
        })
    }
}

/// Sets the reconnect backoff after a network loss: the first wait and the longest one, in
/// milliseconds (defaults 500 and 30000). The client refuses unusable values at `ims_client_new`.
///
/// # Safety
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_reconnect_backoff_ms(
    config: *mut ims_config,
    base_ms: u32,
    max_ms: u32,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.client.reconnect_base = Duration::from_millis(base_ms.into());
            c.client.reconnect_max = Duration::from_millis(max_ms.into());
            Ok(())
        })
    }
}

/// Sets a dispatcher hook, so that the callbacks and listener events of clients made from this
/// config run where the host wants (for example on its UI thread) instead of on the client's
/// callback thread. NULL `post` goes back to the default.
///
/// For every callback or event the client's callback thread calls `post(ctx, run, task)`, in
/// the order the client decided them. `post` must queue the pair and return without waiting for
/// it to run (and without calling any `ims_` function). The host must later call `run(task)`
/// exactly once, on any thread; running tasks one at a time in the order they were posted keeps
/// the SDK's ordering. A task that is never run leaks, and its callback never fires. Tasks may
/// still be waiting after `ims_client_free` returned: run them as usual (those of calls that were
/// in flight report 6013; events of removed listeners are skipped).
///
/// `ctx` is passed back to `post` untouched; it must stay valid until every client made from
/// this config has been freed, and every error reported through it with `ims_callback_fail` has
/// been posted (then `post` is called from the library's error thread).
///
/// # Safety
/// `config` is NULL or a live config; `post`, when not NULL, follows the rules above.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_dispatcher(
    config: *mut ims_config,
    post: ims_post_fn,
    ctx: *mut c_void,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.delivery = match post {
                Some(post) => Delivery::Host(HostDispatcher::new(post, ctx)),
                None => Delivery::Direct,
            };
            Ok(())
        })
    }
}

/// Makes clients from this config report every refusal of a callback-taking call through the
/// callback, as V2TIM reports every error, instead of synchronously (default: off, the rule of
/// the header's "Results" convention).
///
/// With it on, `ims_client_login`, `ims_client_logout`, `ims_client_set_self_status`,
/// `ims_client_get_user_status`, `ims_client_subscribe_user_status` and
/// `ims_client_unsubscribe_user_status` return `IMS_OK` for anything they would have refused (a
/// NULL or non-UTF-8 argument, a call after `ims_client_shutdown`, ...): the callback's
/// `on_error` then gets the same code and description (6017, 6013, ...), followed by its
/// `free_user_data`, after the call returned, on the client's callback thread or through its
/// dispatcher hook, in call order with the callbacks of earlier calls. Two refusals stay
/// synchronous, as nothing can report them: a NULL client (`IMS_ERR_SDK_NOT_INITIALIZED`; see
/// `ims_callback_fail`) and a library bug (`IMS_ERR_PANIC`). Calls without a callback and the
/// getters are unchanged.
///
/// # Safety
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_async_refusals(
    config: *mut ims_config,
    on: bool,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.async_refusals = on;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::{IMS_ERR_INVALID_PARAMETERS, IMS_OK};
    use std::ptr;

    #[test]
    fn builder_sets_fields_and_rejects_nulls() {
        unsafe {
            assert_eq!(
                ims_config_new(7, ptr::null_mut()),
                IMS_ERR_INVALID_PARAMETERS
            );
            let mut config = ptr::null_mut();
            assert_eq!(ims_config_new(7, &mut config), IMS_OK);
            assert_eq!(
                ims_config_set_server_addr(config, c"127.0.0.1:9".as_ptr()),
                IMS_OK
            );
            // The names and the client's codes agree.
            for (code, expected) in [
                (IMS_PLATFORM_DEFAULT, crate::client::host_platform()),
                (IMS_PLATFORM_ANDROID, Platform::Android),
                (IMS_PLATFORM_IPHONE, Platform::IPhone),
                (IMS_PLATFORM_IPAD, Platform::IPad),
                (IMS_PLATFORM_WINDOWS, Platform::Windows),
                (IMS_PLATFORM_MAC, Platform::Mac),
                (IMS_PLATFORM_LINUX, Platform::Linux),
                (IMS_PLATFORM_WEB, Platform::Web),
            ] {
                assert_eq!(ims_config_set_platform(config, code), IMS_OK);
                assert_eq!((*config).client.platform, expected);
            }
            assert_eq!(
                ims_config_set_platform(config, 99),
                IMS_ERR_INVALID_PARAMETERS
            );
            assert_eq!(ims_config_set_heartbeat_interval_ms(config, 1500), IMS_OK);
            assert!(!(*config).async_refusals);
            assert_eq!(ims_config_set_async_refusals(config, true), IMS_OK);
            assert!((*config).async_refusals);
            assert_eq!(
                ims_config_set_async_refusals(ptr::null_mut(), true),
                IMS_ERR_INVALID_PARAMETERS
            );
            let c = &(*config).client;
            assert_eq!(c.sdk_app_id, 7);
            assert_eq!(c.server_addr.as_deref(), Some("127.0.0.1:9"));
            assert_eq!(c.platform, Platform::Web);
            assert_eq!(c.heartbeat_interval, Duration::from_millis(1500));
            assert_eq!(ims_config_set_server_addr(config, ptr::null()), IMS_OK);
            assert_eq!((*config).client.server_addr, None);
            assert_eq!(
                ims_config_set_platform(ptr::null_mut(), IMS_PLATFORM_WEB),
                IMS_ERR_INVALID_PARAMETERS
            );
            ims_config_free(config);
            ims_config_free(ptr::null_mut());
        }
    }
}
