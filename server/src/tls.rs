//! TLS for the server's listeners: the certificate chain and key from PEM files, with rustls
//! and its `ring` provider, reloaded without dropping a connection.
//!
//! New handshakes ask [`Certificates`] for the current certificate; [`Certificates::reload`]
//! (on SIGHUP, in `imstatus serve`) reads the files again and swaps it in. Connections already
//! established keep the session they made. A reload that fails (a missing file, a key that does
//! not match) keeps the old certificate and says why.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The server's certificate, as the files say now.
#[derive(Debug)]
pub struct Certificates {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl Certificates {
    /// Reads the chain (leaf first) and the key.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Certificates>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = read(cert_path, key_path, &provider)?;
        Ok(Arc::new(Certificates {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            current: RwLock::new(current),
            provider,
        }))
    }

    /// Reads the files again; new handshakes use what they hold from now on. On an error the
    /// old certificate stays.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = read(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// An acceptor for TLS 1.2 and 1.3 with this certificate.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, String> {
        let config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn read(
    cert_path: &Path,
    key_path: &Path,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert_path.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no PEM certificate", cert_path.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| format!("cannot read the private key {}: {e}", key_path.display()))?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        format!(
            "the certificate {} and the key {} do not go together: {e}",
            cert_path.display(),
            key_path.display()
        )
    })?;
    Ok(Arc::new(certified))
}

/// Reads the certificate again whenever the process gets SIGHUP, until `stop` completes.
/// Connections stay up: only new handshakes see the new certificate.
pub async fn reload_on_sighup(
    certificates: Arc<Certificates>,
    stop: impl std::future::Future<Output = ()>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: the TLS certificate will not be reloaded");
                return stop.await;
            }
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                Some(()) = hangups.recv() => match certificates.reload() {
                    Ok(()) => tracing::info!(cert = %certificates.cert_path.display(), "TLS certificate reloaded"),
                    Err(e) => tracing::error!(error = %e, "TLS certificate not reloaded; keeping the old one"),
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = certificates;
        stop.await
    }
}
