//! Which verifier says whether a certificate chain is trusted, per platform.
//!
//! - Everywhere but Android: the platform verifier (`rustls-platform-verifier`) with the app's
//!   extra CAs handed to it (Apple adds them as anchors beside the system's, Windows builds the
//!   chain in an extra store, Linux merges them with the system's CA bundle).
//! - Android: its verifier takes no extra roots, so they get a webpki verifier of their own, asked
//!   when Android's says "unknown issuer" ([`super::verifier::Verifier`]). Android's verifier
//!   needs the app's `Context` first (`src/jni` hands it over at `initSDK`); until it has it, only
//!   the extra CAs are trusted, and with none a connection fails saying so.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;

use super::TlsConfig;

/// The platform's verifier, and the extra CAs' own when the platform cannot take them. An error
/// says why no certificate could be trusted.
pub(crate) type Verifiers = (
    Arc<dyn ServerCertVerifier>,
    Option<Arc<dyn ServerCertVerifier>>,
);

#[cfg(not(target_os = "android"))]
pub(crate) fn verifiers(
    settings: &TlsConfig,
    provider: Arc<CryptoProvider>,
) -> Result<Verifiers, String> {
    match rustls_platform_verifier::Verifier::new_with_extra_roots(settings.roots(), provider) {
        Ok(platform) => Ok((Arc::new(platform), None)),
        // Linux with no CA bundle at all (a bare container, wine) and no extra CA.
        Err(e) if settings.ca_certificates().is_empty() => Err(format!(
            "untrusted certificate: no CA is trusted here: the system has none and no extra CA \
             certificate was given ({e})"
        )),
        Err(e) => Err(format!(
            "the platform's certificate verifier cannot start: {e}"
        )),
    }
}

#[cfg(target_os = "android")]
pub(crate) fn verifiers(
    settings: &TlsConfig,
    provider: Arc<CryptoProvider>,
) -> Result<Verifiers, String> {
    let extra = if settings.ca_certificates().is_empty() {
        None
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(settings.roots());
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| format!("the extra CA certificates cannot be used: {e}"))?;
        Some(webpki as Arc<dyn ServerCertVerifier>)
    };
    if super::android::ready() {
        let platform = rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| format!("Android's certificate verifier cannot start: {e}"))?;
        return Ok((Arc::new(platform), extra));
    }
    match extra {
        Some(extra) => Ok((extra, None)),
        None => Err(
            "untrusted certificate: Android's trust store is not reachable before \
                     initSDK is given the app's Context, and no extra CA certificate was given"
                .to_owned(),
        ),
    }
}
