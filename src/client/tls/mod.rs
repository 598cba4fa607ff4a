//! TLS to the server: on with a `tls://` address or [`TlsConfig::enabled`].
//!
//! rustls with the `ring` provider (it cross-builds for Android and iOS without cmake). The
//! server's certificate is checked by the platform's verifier ([`trust`]), trusting the app's
//! extra CA certificates too, then against the app's SPKI pins ([`verifier`]); the name checked
//! is the host of the address, also sent as SNI. Nothing turns verification off. A failed
//! handshake is a connection failure (9508, `on_connect_failed`) whose description starts with
//! the reason ([`failure`]).

#[cfg(target_os = "android")]
pub(crate) mod android;
mod connector;
mod failure;
mod pin;
mod settings;
mod trust;
mod verifier;

pub(crate) use connector::Tls;
pub use settings::TlsConfig;
