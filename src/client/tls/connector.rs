//! The TLS side of a client: its rustls configuration, made at the first TLS connect and kept
//! for the client's life (on Linux making it reads the system's CA bundle), and the handshake.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::super::types::ClientError;
use super::verifier::Verifier;
use super::{failure, trust, TlsConfig};

/// A client's TLS settings and, once made, the connector built from them.
pub(crate) struct Tls {
    settings: TlsConfig,
    connector: OnceLock<Result<TlsConnector, String>>,
}

impl Tls {
    pub(crate) fn new(settings: TlsConfig) -> Tls {
        Tls {
            settings,
            connector: OnceLock::new(),
        }
    }

    /// Whether the app pinned keys: then a plaintext connection would silently skip them.
    pub(crate) fn pinned(&self) -> bool {
        !self.settings.spki_pins().is_empty()
    }

    /// Runs the handshake over `tcp` with `addr`, whose certificate must name `name`. Every
    /// failure is 9508 with a description saying why ([`failure`]).
    pub(crate) async fn handshake(
        &self,
        tcp: TcpStream,
        name: ServerName<'static>,
        addr: &str,
    ) -> Result<TlsStream<TcpStream>, ClientError> {
        let fail = |why: String| {
            ClientError::disconnected(format!("TLS handshake with {addr} failed: {why}"))
        };
        let connector = self
            .connector
            .get_or_init(|| build(&self.settings))
            .as_ref()
            .map_err(|why| fail(why.clone()))?;
        let host = name.to_str().into_owned();
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| ClientError::disconnected(failure::describe(&e, addr, &host)))
    }
}

fn build(settings: &TlsConfig) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (platform, extra) = trust::verifiers(settings, Arc::clone(&provider))?;
    let verifier = Verifier::new(platform, extra, settings.spki_pins().to_vec());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        // rustls' name for "a verifier of our own"; ours only ever adds checks to the platform's.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
