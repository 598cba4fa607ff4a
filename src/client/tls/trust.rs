//! Which verifier says whether a certificate chain is trusted.
//!
//! The platform's verifier (`rustls-platform-verifier`) always, with the app's extra CA
//! certificates handed to it where it takes them: Apple adds them as anchors beside the system's,
//! Windows builds the chain in an engine of its own with them, Linux merges them with the
//! system's CA bundle.
//!
//! Where it cannot take them, the extra CAs get a webpki verifier of their own, asked only when
//! the platform's says "unknown issuer" ([`super::verifier::Verifier`]):
//! - Android's verifier has no extra roots at all;
//! - a Windows whose chain engine refuses an exclusive root store (wine 8 does; Windows 8 and
//!   later take it) makes `new_with_extra_roots` fail; the system's verifier is then used without
//!   them.
//!
//! Android's verifier also needs the app's `Context` (`src/jni` hands it over at `initSDK`); until
//! it has it, only the extra CAs are trusted, and with none a connection fails saying so.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::RootCertStore;

use super::super::log::log;
use super::TlsConfig;

/// The platform's verifier, and the extra CAs' own when the platform's does not hold them. An
/// error says why no certificate could be trusted.
pub(crate) type Verifiers = (
    Arc<dyn ServerCertVerifier>,
    Option<Arc<dyn ServerCertVerifier>>,
);

/// The verifiers for `settings`: the platform's, with the extra CAs where it takes them, else
/// beside a verifier of the extra CAs alone (or that alone where the platform's cannot start).
pub(crate) fn verifiers(
    settings: &TlsConfig,
    provider: Arc<CryptoProvider>,
) -> Result<Verifiers, String> {
    #[cfg(not(target_os = "android"))]
    if !settings.ca_certificates().is_empty() {
        let roots = settings.roots();
        match rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone()) {
            Ok(platform) => return Ok((Arc::new(platform), None)),
            Err(e) => log!(
                Warn,
                "the platform's certificate verifier takes no extra CA here ({e}): they are \
                 checked apart"
            ),
        }
    }
    let extra = if settings.ca_certificates().is_empty() {
        None
    } else {
        Some(extra_roots(settings, &provider)?)
    };
    match (platform_alone(provider), extra) {
        (Ok(platform), extra) => Ok((platform, extra)),
        (Err(_), Some(extra)) => Ok((extra, None)),
        (Err(why), None) => Err(format!(
            "untrusted certificate: no CA is trusted here: {why}, and no extra CA certificate \
             was given"
        )),
    }
}

/// A webpki verifier trusting the extra CAs alone.
fn extra_roots(
    settings: &TlsConfig,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let mut roots = RootCertStore::empty();
    // Each was checked to be a usable anchor when it was added.
    roots.add_parsable_certificates(settings.roots());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("the extra CA certificates cannot be used: {e}"))?;
    Ok(verifier)
}

/// The platform's verifier without extra roots, or why it cannot start (Linux without a CA
/// bundle, Android before it has a Context).
fn platform_alone(provider: Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>, String> {
    #[cfg(target_os = "android")]
    if !super::android::ready() {
        return Err(
            "Android's trust store is not reachable before initSDK is given the app's \
                    Context"
                .to_owned(),
        );
    }
    match rustls_platform_verifier::Verifier::new(provider) {
        Ok(platform) => Ok(Arc::new(platform)),
        Err(e) => {
            log!(
                Warn,
                "the platform's certificate verifier cannot start: {e}"
            );
            Err(format!(
                "the platform's certificate verifier cannot start ({e})"
            ))
        }
    }
}
