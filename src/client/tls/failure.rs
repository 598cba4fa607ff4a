//! What a failed handshake says to the app. The first words name the reason in terms an app
//! developer searches for ("untrusted certificate", "wrong name", "pin mismatch"); the tests of
//! every binding look for them.

use rustls::{CertificateError, Error};

use super::pin::PinMismatch;

/// Describes a handshake with `addr` (whose certificate must name `host`) that failed with `e`.
pub(crate) fn describe(e: &std::io::Error, addr: &str, host: &str) -> String {
    let why = match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(tls) => tls_reason(tls, host),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake (is this its TLS port?)"
                .to_owned()
        }
        None => e.to_string(),
    };
    format!("TLS handshake with {addr} failed: {why}")
}

fn tls_reason(e: &Error, host: &str) -> String {
    match e {
        Error::InvalidCertificate(cert) => certificate_reason(cert, host),
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => {
            format!("the server does not speak TLS here (is this its plaintext port?): {e}")
        }
        Error::AlertReceived(alert) => format!("the server refused the handshake ({alert:?})"),
        other => other.to_string(),
    }
}

fn certificate_reason(e: &CertificateError, host: &str) -> String {
    match e {
        CertificateError::UnknownIssuer => "untrusted certificate: its issuer is none of the \
            CAs trusted here (the system's and the extra CA certificates)"
            .to_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("wrong name: the server's certificate is not valid for {host}")
        }
        CertificateError::Other(other) if other.0.downcast_ref::<PinMismatch>().is_some() => {
            format!("pin mismatch: {}", PinMismatch)
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("expired certificate: {e}")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("certificate not valid yet (is the device's clock right?): {e}")
        }
        CertificateError::Revoked => "revoked certificate".to_owned(),
        // The platform's own words (Apple's and Windows' trust evaluation, Android's).
        other => format!("certificate refused: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::Arc;

    fn io_error(e: Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn the_reason_comes_first() {
        let cert = |c| describe(&io_error(Error::InvalidCertificate(c)), "h:1", "h");
        assert!(cert(CertificateError::UnknownIssuer).contains("failed: untrusted certificate"));
        assert!(cert(CertificateError::NotValidForName).contains("failed: wrong name"));
        assert!(cert(CertificateError::NotValidForName).contains("not valid for h"));
        let pin = CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch)));
        assert!(cert(pin).contains("failed: pin mismatch"));
        assert!(cert(CertificateError::Expired).contains("expired certificate"));
        let plain = describe(&io::ErrorKind::UnexpectedEof.into(), "h:1", "h");
        assert!(plain.contains("closed the connection"), "{plain}");
        assert!(plain.starts_with("TLS handshake with h:1 failed"));
    }
}
