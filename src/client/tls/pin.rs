//! SPKI SHA-256 pins: the hash of a certificate's DER SubjectPublicKeyInfo (the whole SEQUENCE,
//! as HPKP, OkHttp and Android's network security config hash it), and the base64 form apps
//! write them in.

use std::fmt;

use rustls::pki_types::CertificateDer;

/// The error a pinned verifier returns when the chain verified but no key of it is pinned;
/// recognised again when the handshake's failure is described.
#[derive(Debug)]
pub(crate) struct PinMismatch;

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no certificate of the server's chain has a pinned key")
    }
}

impl std::error::Error for PinMismatch {}

/// The SHA-256 of `cert`'s SubjectPublicKeyInfo; `None` when it does not parse (such a
/// certificate has already failed verification before pins are looked at).
pub(crate) fn spki_sha256(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    let spki = parsed.subject_public_key_info();
    let digest = ring::digest::digest(&ring::digest::SHA256, spki.as_ref());
    digest.as_ref().try_into().ok()
}

/// Whether some certificate of `chain` (the server's certificate, then the intermediates it
/// sent) has a key in `pins`.
pub(crate) fn matches<'a>(
    pins: &[[u8; 32]],
    chain: impl IntoIterator<Item = &'a CertificateDer<'a>>,
) -> bool {
    chain
        .into_iter()
        .filter_map(spki_sha256)
        .any(|hash| pins.contains(&hash))
}

/// Reads a pin written as base64 (standard alphabet, padded) of 32 bytes, with or without a
/// `sha256/` prefix.
pub(crate) fn parse(text: &str) -> Result<[u8; 32], String> {
    let bad = |why: &str| format!("the SPKI pin {text:?} is not usable: {why}");
    let text = text.trim();
    // Whole first: base64 may itself hold a '/'.
    if let Some(hash) = sha256_of_base64(text) {
        return Ok(hash);
    }
    match text.split_once('/') {
        Some(("sha256", body)) => {
            sha256_of_base64(body).ok_or_else(|| bad("it is not base64 of 32 bytes"))
        }
        Some((algorithm, _)) if algorithm.starts_with("sha") => {
            Err(bad("only sha256/ pins are supported"))
        }
        _ => Err(bad("it is not base64 of 32 bytes")),
    }
}

fn sha256_of_base64(text: &str) -> Option<[u8; 32]> {
    base64_decode(text)?.try_into().ok()
}

/// Standard base64 with padding, strictly: a pin is short and written once, so no line breaks or
/// URL-safe alphabet to guess about.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.len() / 4;
    for (i, quad) in bytes.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(base64_decode("Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(base64_decode("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in ["", "Zm9", "Zm9v YmFy", "Zg==Zg==", "Z===", "Zm9-"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pins_are_32_bytes_of_sha256() {
        let ones = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        assert_eq!(parse(ones).unwrap(), [1; 32]);
        assert_eq!(parse(&format!("sha256/{ones}")).unwrap(), [1; 32]);
        assert!(parse("sha1/AQEBAQEBAQEBAQEBAQEBAQEBAQE=")
            .unwrap_err()
            .contains("sha256/"));
        assert!(parse("Zm9vYmFy").unwrap_err().contains("32 bytes"));
        assert!(parse("sha256/Zm9vYmFy").unwrap_err().contains("32 bytes"));
        assert!(parse("not base64!").unwrap_err().contains("base64"));
        assert_eq!(parse(&format!(" {ones}\n")).unwrap(), [1; 32]);
    }

    #[test]
    fn the_hash_covers_the_whole_subject_public_key_info() {
        let ca = imstatus_server::dev_cert::DevCa::new("pin test CA");
        let cert = ca.server_cert(&["localhost"]);
        let der = CertificateDer::from(cert.cert_der.clone());
        let hash = spki_sha256(&der).unwrap();
        // The SPKI of an rcgen P-256 key starts with the SEQUENCE header 30 59.
        let spki = webpki::EndEntityCert::try_from(&der)
            .unwrap()
            .subject_public_key_info();
        assert_eq!(&spki.as_ref()[..2], &[0x30, 0x59]);
        assert!(matches(&[[0; 32], hash], [&der]));
        assert!(!matches(&[[0; 32]], [&der]));
        assert_eq!(spki_sha256(&CertificateDer::from(vec![1, 2, 3])), None);
    }
}
