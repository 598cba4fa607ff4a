//! The certificates and servers every face's TLS tests use: a server with a TLS listener
//! ([`TestServer::start_tls`]), one whose certificate names another host, one whose key the tests
//! pin, a CA that signed nothing here, and the pins. All made on the spot (rcgen, through
//! `imstatus_server::dev_cert`), so nothing expires in the repository.
#![allow(dead_code)]

use std::sync::Arc;

use imstatus_server::dev_cert::{DevCa, DevCert};
use imstatus_server::{spawn, Config, ServerHandle};

use super::{app, TempDir, TestServer};

/// A server with a TLS listener only, whose certificate the test chose.
pub struct TlsOnly {
    pub handle: ServerHandle,
    pub cert: DevCert,
    _dir: TempDir,
}

impl TlsOnly {
    /// A server for the test app whose certificate, signed by `ca`, names `names`.
    pub fn start(ca: &DevCa, names: &[&str]) -> TlsOnly {
        let dir = TempDir::new();
        let cert = ca.server_cert(names);
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, &cert.cert_pem).unwrap();
        std::fs::write(&key_path, &cert.key_pem).unwrap();
        let handle = spawn(Config {
            listen: String::new(),
            admin_listen: String::new(),
            data_dir: Some(dir.path().join("data")),
            tls_listen: "127.0.0.1:0".into(),
            tls_cert: Some(cert_path),
            tls_key: Some(key_path),
            apps: vec![app()],
            ..Config::default()
        })
        .expect("the TLS server starts");
        TlsOnly {
            handle,
            cert,
            _dir: dir,
        }
    }

    /// `tls://localhost:PORT`.
    pub fn address(&self) -> String {
        let port = self.handle.started().tls_addr.unwrap().port();
        format!("tls://localhost:{port}")
    }
}

/// Everything a face's TLS test needs.
pub struct TlsWorld {
    /// Plaintext and TLS listeners; its certificate names `localhost` and `127.0.0.1`.
    pub server: TestServer,
    /// Its certificate, signed by the same CA, names only `wrong.example`.
    pub wrong_name: TlsOnly,
    /// Its certificate, signed by the same CA, names `localhost`; its key is [`Self::pin`].
    pub pinned: TlsOnly,
    /// A CA that signed none of these certificates.
    pub other_ca: DevCa,
}

impl TlsWorld {
    pub fn start() -> TlsWorld {
        let server = TestServer::start_tls(vec![app()]);
        let ca: Arc<DevCa> = Arc::clone(server.tls_ca.as_ref().unwrap());
        TlsWorld {
            wrong_name: TlsOnly::start(&ca, &["wrong.example"]),
            pinned: TlsOnly::start(&ca, &["localhost", "127.0.0.1"]),
            other_ca: DevCa::new("a CA that signed nothing here"),
            server,
        }
    }

    /// The CA of every server here, PEM.
    pub fn ca_pem(&self) -> &str {
        self.server.tls_ca_pem()
    }

    /// `tls://localhost:PORT` of [`Self::server`].
    pub fn address(&self) -> String {
        format!("tls://localhost:{}", self.server.tls_addr().port())
    }

    /// The SHA-256 of the SubjectPublicKeyInfo of [`Self::pinned`]'s certificate.
    pub fn pin_sha256(&self) -> [u8; 32] {
        spki_sha256(&self.pinned.cert.cert_der)
    }

    /// [`Self::pin_sha256`] in base64, as apps write pins.
    pub fn pin(&self) -> String {
        base64(&self.pin_sha256())
    }

    /// A pin of a key no server here has.
    pub fn wrong_pin(&self) -> String {
        let cert = self.other_ca.server_cert(&["localhost"]);
        format!("sha256/{}", base64(&spki_sha256(&cert.cert_der)))
    }

    /// What the test programs of every face are told (`IMS_TEST_TLS_*`).
    pub fn env(&self) -> Vec<(String, String)> {
        let pin_hex: String = self
            .pin_sha256()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        [
            ("IMS_TEST_TLS_SERVER", self.address()),
            ("IMS_TEST_TLS_CA", self.ca_pem().to_owned()),
            ("IMS_TEST_TLS_OTHER_CA", self.other_ca.cert_pem().to_owned()),
            ("IMS_TEST_TLS_WRONG_NAME_SERVER", self.wrong_name.address()),
            ("IMS_TEST_TLS_PINNED_SERVER", self.pinned.address()),
            ("IMS_TEST_TLS_PIN", self.pin()),
            ("IMS_TEST_TLS_PIN_HEX", pin_hex),
            ("IMS_TEST_TLS_WRONG_PIN", self.wrong_pin()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// SHA-256 of a certificate's DER SubjectPublicKeyInfo, the whole SEQUENCE (computed here with
/// webpki and ring, independently of the SDK's own code).
pub fn spki_sha256(cert_der: &[u8]) -> [u8; 32] {
    let der = rustls::pki_types::CertificateDer::from(cert_der.to_vec());
    let cert = webpki::EndEntityCert::try_from(&der).expect("the certificate parses");
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        cert.subject_public_key_info().as_ref(),
    );
    digest.as_ref().try_into().unwrap()
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
