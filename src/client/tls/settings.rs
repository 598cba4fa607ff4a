//! [`TlsConfig`]: what an app says about TLS. Checked as it is given, so that a bad certificate
//! or pin is refused where the app passes it (6017), not at some later connect.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::codes;

use super::super::types::ClientError;
use super::pin;

/// The TLS settings of a [`ClientConfig`](crate::client::ClientConfig).
///
/// TLS is on when [`enabled`](Self::enabled) is set or the server address starts with `tls://`.
/// The server's certificate is then always verified, by the platform's verifier (Android's,
/// Apple's, Windows' trust store; on Linux the system's CA bundle) trusting, besides the system's
/// CAs, the [extra CA certificates](Self::add_ca_pem) given here, and its name must match the
/// host of the address. [Pins](Self::add_spki_pin), when given, are checked after that: some
/// certificate the server sent must have a pinned key. Nothing turns verification off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Connect over TLS also when the address has no `tls://`. Default off.
    pub enabled: bool,
    /// DER of the extra CA certificates, each checked to be usable as a trust anchor.
    ca_certificates: Vec<Vec<u8>>,
    /// SHA-256 of pinned SubjectPublicKeyInfos.
    spki_pins: Vec<[u8; 32]>,
}

impl TlsConfig {
    /// Adds every certificate of `pem` (one or more `-----BEGIN CERTIFICATE-----` blocks; other
    /// blocks are skipped) to the CAs trusted beside the system's, and answers how many it added.
    /// Bytes, not a file name: a mobile app reads them from its bundle or resources. Fails with
    /// 6017 (and adds nothing) when `pem` holds no certificate, a malformed block, or a
    /// certificate that cannot serve as a CA.
    pub fn add_ca_pem(&mut self, pem: &[u8]) -> Result<usize, ClientError> {
        let mut added = Vec::new();
        for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let cert = cert.map_err(|e| invalid(format!("the CA PEM is malformed: {e}")))?;
            webpki::anchor_from_trusted_cert(&cert).map_err(|e| {
                invalid(format!(
                    "certificate {} of the CA PEM is not a usable CA certificate: {e}",
                    i + 1
                ))
            })?;
            added.push(cert.as_ref().to_vec());
        }
        if added.is_empty() {
            return Err(invalid("the CA PEM holds no CERTIFICATE block"));
        }
        let count = added.len();
        self.ca_certificates.extend(added);
        Ok(count)
    }

    /// Pins a key by the SHA-256 of its DER SubjectPublicKeyInfo (32 bytes).
    pub fn add_spki_pin_sha256(&mut self, sha256: [u8; 32]) {
        if !self.spki_pins.contains(&sha256) {
            self.spki_pins.push(sha256);
        }
    }

    /// Pins a key given as base64 of its SubjectPublicKeyInfo's SHA-256, optionally prefixed with
    /// `sha256/` (the form of OkHttp, Android's network security config and
    /// `openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`). Fails with
    /// 6017 for anything else.
    pub fn add_spki_pin(&mut self, pin: &str) -> Result<(), ClientError> {
        let sha256 = pin::parse(pin).map_err(invalid)?;
        self.add_spki_pin_sha256(sha256);
        Ok(())
    }

    /// The extra CA certificates, DER, in the order given.
    pub fn ca_certificates(&self) -> &[Vec<u8>] {
        &self.ca_certificates
    }

    /// The pinned SubjectPublicKeyInfo hashes.
    pub fn spki_pins(&self) -> &[[u8; 32]] {
        &self.spki_pins
    }

    /// The extra CAs as rustls takes them.
    pub(crate) fn roots(&self) -> impl Iterator<Item = CertificateDer<'static>> + '_ {
        self.ca_certificates
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
    }
}

fn invalid(desc: impl Into<String>) -> ClientError {
    ClientError::new(codes::ERR_INVALID_PARAMETERS, desc)
}

#[cfg(test)]
mod tests {
    use super::*;

    use imstatus_server::dev_cert::DevCa;

    #[test]
    fn ca_pem_adds_every_certificate_or_none() {
        let mut tls = TlsConfig::default();
        let ca = DevCa::new("settings test CA");
        let ca_pem = ca.cert_pem();
        let two = format!(
            "{ca_pem}# a comment between blocks\n{}",
            DevCa::new("b").cert_pem()
        );
        assert_eq!(tls.add_ca_pem(two.as_bytes()).unwrap(), 2);
        assert_eq!(tls.ca_certificates().len(), 2);
        assert_eq!(tls.roots().count(), 2);

        for (bad, why) in [
            (&b""[..], "no CERTIFICATE"),
            (
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "no CERTIFICATE",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "malformed",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "not a usable",
            ),
        ] {
            let e = tls.add_ca_pem(bad).unwrap_err();
            assert_eq!(e.code, codes::ERR_INVALID_PARAMETERS);
            assert!(e.desc.contains(why), "{}", e.desc);
        }
        let half =
            format!("{ca_pem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert!(tls.add_ca_pem(half.as_bytes()).is_err());
        assert_eq!(tls.ca_certificates().len(), 2, "a refused PEM adds nothing");
    }

    #[test]
    fn pins_in_both_forms() {
        let mut tls = TlsConfig::default();
        tls.add_spki_pin_sha256([7; 32]);
        tls.add_spki_pin_sha256([7; 32]);
        tls.add_spki_pin("sha256/BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")
            .unwrap();
        tls.add_spki_pin("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
            .unwrap();
        assert_eq!(tls.spki_pins(), &[[7; 32], [1; 32]]);
        let e = tls.add_spki_pin("sha1/AAAA").unwrap_err();
        assert_eq!(e.code, codes::ERR_INVALID_PARAMETERS);
    }
}
