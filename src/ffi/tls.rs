//! `ims_config_set_tls`, `ims_config_add_ca_pem`, `ims_config_add_spki_pin_sha256`,
//! `ims_config_add_spki_pin`: TLS settings of an `ims_config`. They only translate; what TLS
//! does is [`crate::client::TlsConfig`]'s.

use std::ffi::c_char;

use crate::client::ClientError;

use super::config::{ims_config, with_config};
use super::error::{ims_result, Rejection};
use super::strings;

fn rejected(e: ClientError) -> Rejection {
    Rejection::new(e.code, e.desc)
}

/// Turns TLS on (or off again) for every server address of clients made from this config,
/// including addresses without "tls://" (an address with "tls://" is TLS whatever this says).
/// Default off.
///
/// Over TLS the server's certificate is always verified: by the platform's verifier (Android's,
/// Apple's or Windows' trust store; on Linux the system's CA bundle) trusting also the CAs of
/// `ims_config_add_ca_pem`, for the host of the address (also sent as SNI), then against the pins
/// of `ims_config_add_spki_pin*` when there are any. Nothing turns verification off. A failed
/// handshake is a connection failure: the listener's `on_connect_failed` and the login's
/// `on_error` get `IMS_ERR_SDK_NET_DISCONNECT` with a description that starts with the reason:
/// "untrusted certificate", "wrong name", "pin mismatch", "expired certificate", ...
///
/// # Safety
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn ims_config_set_tls(config: *mut ims_config, on: bool) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            c.client.tls.enabled = on;
            Ok(())
        })
    }
}

/// Adds the CA certificates of `pem[0..len]` (copied) to the CAs trusted beside the system's:
/// one or more "-----BEGIN CERTIFICATE-----" blocks (other blocks, such as keys, are skipped).
/// Bytes rather than a file name, since a mobile app reads them from its bundle. Each call adds
/// to the earlier ones. `IMS_ERR_INVALID_PARAMETERS`, adding nothing, for a NULL `pem`, bytes
/// without a certificate, a malformed block, or a certificate that cannot serve as a CA.
///
/// # Safety
/// `config` is NULL or a live config; `pem` is NULL or points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ims_config_add_ca_pem(
    config: *mut ims_config,
    pem: *const u8,
    len: usize,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            if pem.is_null() {
                return Err(Rejection::invalid("pem is NULL"));
            }
            // SAFETY: non-NULL, `len` readable bytes per the contract.
            let pem = std::slice::from_raw_parts(pem, len);
            c.client.tls.add_ca_pem(pem).map(drop).map_err(rejected)
        })
    }
}

/// Pins a key: `sha256` points to the 32 bytes of the SHA-256 of a DER SubjectPublicKeyInfo.
/// With pins, a TLS connection is accepted only when the server's certificate chain verifies
/// (see `ims_config_set_tls`) and some certificate the server sent (its own or an intermediate)
/// has a pinned key; pin a backup key too, for the day the server's key changes. With pins, a
/// plaintext address fails to connect rather than skip them. `IMS_ERR_INVALID_PARAMETERS` for a
/// NULL `sha256`.
///
/// # Safety
/// `config` is NULL or a live config; `sha256` is NULL or points to 32 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ims_config_add_spki_pin_sha256(
    config: *mut ims_config,
    sha256: *const u8,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            if sha256.is_null() {
                return Err(Rejection::invalid("sha256 is NULL"));
            }
            // SAFETY: non-NULL, 32 readable bytes per the contract.
            let hash = sha256.cast::<[u8; 32]>().read_unaligned();
            c.client.tls.add_spki_pin_sha256(hash);
            Ok(())
        })
    }
}

/// Pins a key given as text: the base64 (standard alphabet, padded, 44 characters) of the SHA-256
/// of its DER SubjectPublicKeyInfo, optionally after "sha256/", as OkHttp, Android's network
/// security config and `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl
/// dgst -sha256 -binary | base64` write it. Otherwise as `ims_config_add_spki_pin_sha256`.
/// `IMS_ERR_INVALID_PARAMETERS` for NULL, non-UTF-8, or anything but such a pin.
///
/// # Safety
/// `config` is NULL or a live config; `pin` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ims_config_add_spki_pin(
    config: *mut ims_config,
    pin: *const c_char,
) -> ims_result {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(config, |c| {
            let pin = strings::required(pin, "pin")?;
            c.client.tls.add_spki_pin(pin).map_err(rejected)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::config::{ims_config_free, ims_config_new};
    use crate::ffi::error::{ims_last_error_message, IMS_ERR_INVALID_PARAMETERS, IMS_OK};
    use std::ffi::CStr;
    use std::ptr;

    fn last() -> String {
        unsafe { CStr::from_ptr(ims_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn tls_settings_reach_the_client_config_and_bad_input_is_refused() {
        let ca = imstatus_server::dev_cert::DevCa::new("ffi test CA");
        let pem = ca.cert_pem().as_bytes();
        unsafe {
            let mut config = ptr::null_mut();
            assert_eq!(ims_config_new(1, &mut config), IMS_OK);
            assert_eq!(ims_config_set_tls(config, true), IMS_OK);
            assert_eq!(
                ims_config_add_ca_pem(config, pem.as_ptr(), pem.len()),
                IMS_OK
            );
            let raw = [3u8; 32];
            assert_eq!(ims_config_add_spki_pin_sha256(config, raw.as_ptr()), IMS_OK);
            let text = c"sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
            assert_eq!(ims_config_add_spki_pin(config, text.as_ptr()), IMS_OK);
            let tls = &(*config).client.tls;
            assert!(tls.enabled);
            assert_eq!(tls.ca_certificates().len(), 1);
            assert_eq!(tls.spki_pins(), &[[3; 32], [1; 32]]);

            let refused = |result: ims_result, words: &str| {
                assert_eq!(result, IMS_ERR_INVALID_PARAMETERS, "{words}");
                assert!(last().contains(words), "{words:?} not in {:?}", last());
            };
            refused(ims_config_set_tls(ptr::null_mut(), true), "config is NULL");
            refused(ims_config_add_ca_pem(config, ptr::null(), 3), "pem is NULL");
            refused(ims_config_add_ca_pem(config, pem.as_ptr(), 10), "CA PEM");
            let null_config = ims_config_add_ca_pem(ptr::null_mut(), pem.as_ptr(), pem.len());
            refused(null_config, "config is NULL");
            refused(
                ims_config_add_spki_pin_sha256(config, ptr::null()),
                "sha256 is NULL",
            );
            refused(ims_config_add_spki_pin(config, ptr::null()), "pin is NULL");
            refused(
                ims_config_add_spki_pin(config, c"sha1/AAAA".as_ptr()),
                "only sha256/",
            );
            let tls = &(*config).client.tls;
            assert_eq!((tls.ca_certificates().len(), tls.spki_pins().len()), (1, 2));
            assert_eq!(ims_config_set_tls(config, false), IMS_OK);
            assert!(!(*config).client.tls.enabled);
            ims_config_free(config);
        }
    }
}
