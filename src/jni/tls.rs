//! The TLS arguments of `Native.create`: `V2TIMSDKConfig`'s `useTLS`, `caCertificatesPEM` and
//! `spkiPins` onto the client's [`TlsConfig`], and on Android the app's `Context` for the
//! platform's certificate verifier. They only translate: what TLS does is the client's.

use jni::objects::{JByteArray, JObject, JObjectArray};
use jni::sys::jboolean;
use jni::JNIEnv;

use crate::client::TlsConfig;

use super::{args, Failure, Result};

/// Sets `tls` from the Java arguments. A PEM or a pin the client refuses is
/// `IllegalArgumentException` (initSDK then logs it and returns false).
pub(super) fn configure(
    env: &mut JNIEnv,
    tls: &mut TlsConfig,
    use_tls: jboolean,
    ca_pem: &JByteArray,
    pins: &JObjectArray,
) -> Result<()> {
    tls.enabled = use_tls != 0;
    if !ca_pem.is_null() {
        let pem = env.convert_byte_array(ca_pem)?;
        tls.add_ca_pem(&pem).map_err(|e| Failure::Invalid(e.desc))?;
    }
    if !pins.is_null() {
        for pin in args::strings(env, pins, "spkiPins")? {
            tls.add_spki_pin(&pin)
                .map_err(|e| Failure::Invalid(e.desc))?;
        }
    }
    Ok(())
}

/// Hands the app's `Context` to Android's certificate verifier (once per process; later ones are
/// ignored). Without one, TLS on Android trusts only the extra CA certificates.
#[cfg(target_os = "android")]
pub(super) fn platform_context(env: &mut JNIEnv, context: &JObject) -> Result<()> {
    if context.is_null() {
        return Ok(());
    }
    crate::client::tls_android_init(env, context)?;
    Ok(())
}

/// Elsewhere the platform's verifier needs no context.
#[cfg(not(target_os = "android"))]
pub(super) fn platform_context(_env: &mut JNIEnv, _context: &JObject) -> Result<()> {
    Ok(())
}
