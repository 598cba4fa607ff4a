//! The certificate check of every TLS connection: the platform's verdict, the extra CAs where
//! the platform cannot take them, then the pins.
//!
//! Order matters: a pin only ever narrows what verification accepted. A pinned key on a chain
//! that does not verify (wrong name, expired, unknown issuer) is still refused.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};

use super::super::log::log;
use super::pin::{self, PinMismatch};

/// A [`ServerCertVerifier`] that asks `platform`, then, when it may not know the issuer
/// ([`platform_may_not_know`]), the
/// `extra` CAs' verifier (where the platform's verifier takes no extra roots: Android, and a
/// Windows whose chain engine refuses them), then checks the pins.
#[derive(Debug)]
pub(crate) struct Verifier {
    platform: Arc<dyn ServerCertVerifier>,
    extra: Option<Arc<dyn ServerCertVerifier>>,
    pins: Vec<[u8; 32]>,
}

impl Verifier {
    pub(crate) fn new(
        platform: Arc<dyn ServerCertVerifier>,
        extra: Option<Arc<dyn ServerCertVerifier>>,
        pins: Vec<[u8; 32]>,
    ) -> Verifier {
        Verifier {
            platform,
            extra,
            pins,
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verify = |v: &dyn ServerCertVerifier| {
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        };
        let verified = match (verify(&*self.platform), &self.extra) {
            (Err(Error::InvalidCertificate(e)), Some(extra)) if platform_may_not_know(&e) => {
                verify(&**extra).inspect_err(|_| {
                    log!(Debug, "the platform's certificate verifier said: {e:?}")
                })?
            }
            (result, _) => result?,
        };
        if self.pins.is_empty()
            || pin::matches(&self.pins, [end_entity].into_iter().chain(intermediates))
        {
            Ok(verified)
        } else {
            Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch)),
            )))
        }
    }

    // Signatures are checked by whichever verifier the platform gave: both use the same
    // provider's algorithms.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.platform.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.platform.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

/// Whether the platform's refusal may only mean that it does not hold the extra CAs: it does not
/// know the issuer, or it says so in its own words. Wine's chain engine, holding none of the
/// app's CAs, answers CERT_E_REVOCATION_FAILURE for a chain to one of them, not
/// CERT_E_UNTRUSTEDROOT. A verdict on the certificate itself (its name, its dates, revoked, its
/// purpose) stands. The extra CAs' verifier asked then accepts only a chain to one of the app's
/// own CAs, checked in full.
fn platform_may_not_know(e: &CertificateError) -> bool {
    matches!(
        e,
        CertificateError::UnknownIssuer | CertificateError::Other(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use imstatus_server::dev_cert::DevCa;
    use rustls::client::WebPkiServerVerifier;
    use rustls::RootCertStore;

    fn webpki(cas: &[&DevCa]) -> Arc<dyn ServerCertVerifier> {
        let mut roots = RootCertStore::empty();
        for ca in cas {
            let der = CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).unwrap();
            roots.add(der).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap()
    }

    use rustls::pki_types::pem::PemObject;

    fn check(v: &Verifier, cert: &[u8], name: &str) -> Result<(), Error> {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let der = CertificateDer::from(cert.to_vec());
        v.verify_server_cert(&der, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    fn is_pin_mismatch(e: &Error) -> bool {
        matches!(e, Error::InvalidCertificate(CertificateError::Other(o))
            if o.0.downcast_ref::<PinMismatch>().is_some())
    }

    #[test]
    fn extra_roots_answer_only_what_the_platform_does_not_know() {
        let (system, app) = (DevCa::new("system"), DevCa::new("app"));
        let by_app = app.server_cert(&["localhost"]);
        let by_system = system.server_cert(&["localhost"]);
        // A platform that knows only `system`, the app's CA as the fallback (Android's case).
        let v = Verifier::new(webpki(&[&system]), Some(webpki(&[&app])), vec![]);
        check(&v, &by_app.cert_der, "localhost").unwrap();
        check(&v, &by_system.cert_der, "localhost").unwrap();
        // A platform that rejects for another reason is not overruled by the fallback.
        let e = check(&v, &by_system.cert_der, "example.com").unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            ),
            "{e:?}"
        );
        let e = check(&v, &by_app.cert_der, "example.com").unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            ),
            "{e:?}"
        );
        // Without the fallback, the app's CA is unknown.
        let v = Verifier::new(webpki(&[&system]), None, vec![]);
        let e = check(&v, &by_app.cert_der, "localhost").unwrap_err();
        assert_eq!(
            e,
            Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
    }

    /// A platform verifier that refuses everything in its own words (wine's chain engine).
    #[derive(Debug)]
    struct OwnWords(Arc<dyn ServerCertVerifier>);

    impl ServerCertVerifier for OwnWords {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            let words = std::io::Error::other("OS Error -2146762482");
            Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(words)),
            )))
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls12_signature(m, c, d)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls13_signature(m, c, d)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }

    #[test]
    fn extra_roots_answer_a_refusal_in_the_platforms_own_words() {
        let (app, other) = (DevCa::new("app"), DevCa::new("other"));
        let platform = Arc::new(OwnWords(webpki(&[&app])));
        let v = Verifier::new(platform, Some(webpki(&[&app])), vec![]);
        check(&v, &app.server_cert(&["localhost"]).cert_der, "localhost").unwrap();
        // The extra CAs' verdict then stands: their name check, and an issuer none of them is.
        let e = check(&v, &app.server_cert(&["localhost"]).cert_der, "example.com").unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            ),
            "{e:?}"
        );
        let e = check(&v, &other.server_cert(&["localhost"]).cert_der, "localhost").unwrap_err();
        assert_eq!(
            e,
            Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
    }

    #[test]
    fn pins_narrow_what_verified() {
        let ca = DevCa::new("pins");
        let cert = ca.server_cert(&["localhost"]);
        let hash = pin::spki_sha256(&CertificateDer::from(cert.cert_der.clone())).unwrap();
        let pinned = |pins| Verifier::new(webpki(&[&ca]), None, pins);
        check(&pinned(vec![[9; 32], hash]), &cert.cert_der, "localhost").unwrap();
        let e = check(&pinned(vec![[9; 32]]), &cert.cert_der, "localhost").unwrap_err();
        assert!(is_pin_mismatch(&e), "{e:?}");
        // A pinned key on a chain that does not verify is still refused, for that reason.
        let e = check(&pinned(vec![hash]), &cert.cert_der, "example.com").unwrap_err();
        assert!(!is_pin_mismatch(&e), "{e:?}");
        let other = DevCa::new("other").server_cert(&["localhost"]);
        let other_hash = pin::spki_sha256(&CertificateDer::from(other.cert_der.clone())).unwrap();
        let e = check(&pinned(vec![other_hash]), &other.cert_der, "localhost").unwrap_err();
        assert_eq!(
            e,
            Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
    }
}
