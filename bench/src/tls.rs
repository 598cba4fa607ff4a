//! TLS for the harness's imstatus clients: a tokio-rustls connector (the `ring` provider, as
//! the server and the SDK use) that trusts only the CA given (`imstatus dev-cert`'s `ca.pem`)
//! and resumes no session, and connections split into boxed halves so that a device runs the
//! same code over TCP and TLS.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// The read half of a connection, TCP or TLS.
pub type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a connection, TCP or TLS.
pub type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// How the harness's imstatus clients talk TLS: whom they trust and the name they expect.
#[derive(Clone)]
pub struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("name", &self.name).finish()
    }
}

impl Tls {
    /// Trusts the CA certificates in `ca_pem` (and nothing else) and expects the server to be
    /// `name` (a DNS name or an IP address).
    pub fn new(ca_pem: &[u8], name: &str) -> Result<Tls, String> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| format!("CA PEM: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("no CA certificate in the PEM".into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Every handshake a full one (certificate chain, signature, key exchange): what a new
        // device pays, and the upper bound of what a reconnect pays. With resumption, thousands
        // of clients in one process would share session tickets as no fleet of devices does.
        config.resumption = rustls::client::Resumption::disabled();
        let name = ServerName::try_from(name.to_string())
            .map_err(|e| format!("server name {name:?}: {e}"))?;
        Ok(Tls {
            connector: TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// Reads the CA certificates from the PEM file `path`.
    pub fn from_file(path: &std::path::Path, name: &str) -> Result<Tls, String> {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Tls::new(&pem, name)
    }

    /// The TLS handshake over `tcp`.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        self.connector.connect(self.name.clone(), tcp).await
    }
}

/// Connects to `addr` (TCP_NODELAY), then does the TLS handshake when `tls` is given; answers
/// the connection's halves. A TCP connection is split without a lock (`into_split`); a TLS
/// one with tokio's `split`, since both directions share the TLS session.
pub async fn connect(addr: &str, tls: Option<&Tls>) -> Result<(ReadHalf, WriteHalf), String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => {
            let (rd, wr) = tcp.into_split();
            Ok((Box::new(rd), Box::new(wr)))
        }
        Some(tls) => {
            let stream = tls
                .handshake(tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            let (rd, wr) = tokio::io::split(stream);
            Ok((Box::new(rd), Box::new(wr)))
        }
    }
}
