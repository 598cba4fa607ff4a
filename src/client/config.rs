//! What a [`Client`](super::Client) is told when it is created.

use std::time::Duration;

use crate::codes;
use crate::protocol::Platform;

use super::address;
use super::tls::TlsConfig;
use super::types::ClientError;

/// The address `imstatus serve` listens on unless told otherwise; the last fallback of
/// [`ClientConfig::resolved_server_addr`].
pub const DEFAULT_SERVER_ADDR: &str = "127.0.0.1:7800";

/// Environment variable consulted when [`ClientConfig::server_addr`] is `None`, so that the CLI,
/// tests and bindings can be pointed at another server without code changes.
pub const SERVER_ADDR_ENV: &str = "IMSTATUS_SERVER";

/// The platform this process runs on: the default a client declares at login.
pub fn host_platform() -> Platform {
    if cfg!(target_os = "android") {
        Platform::Android
    } else if cfg!(target_os = "ios") {
        Platform::IPhone
    } else if cfg!(target_os = "windows") {
        Platform::Windows
    } else if cfg!(target_os = "macos") {
        Platform::Mac
    } else {
        Platform::Linux
    }
}

/// The platform a binding names by number: 0 for [`host_platform`], then 1 Android, 2 iPhone,
/// 3 iPad, 4 Windows, 5 Mac, 6 Linux, 7 Web (the C API's `IMS_PLATFORM_*`, Objective-C's
/// `IMSPlatform`, Java's `V2TIMSDKConfig.PLATFORM_*`); `None` for any other number.
pub fn platform_from_code(code: i32) -> Option<Platform> {
    Some(match code {
        0 => host_platform(),
        1 => Platform::Android,
        2 => Platform::IPhone,
        3 => Platform::IPad,
        4 => Platform::Windows,
        5 => Platform::Mac,
        6 => Platform::Linux,
        7 => Platform::Web,
        _ => return None,
    })
}

/// Settings of one [`Client`](super::Client). The client copies it at creation; changing a
/// config afterwards has no effect on a running client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The app every login of this client belongs to (I1).
    pub sdk_app_id: u32,
    /// `host:port` of the server, `tls://host:port` over TLS. `None` means the `IMSTATUS_SERVER`
    /// environment variable, or [`DEFAULT_SERVER_ADDR`] when that is unset or empty.
    pub server_addr: Option<String>,
    /// TLS: the switch that turns it on for an address without `tls://`, the extra CA
    /// certificates, the SPKI pins. Default: off, no extra CA, no pin.
    pub tls: TlsConfig,
    /// The platform this device declares at login (I3, L2). Defaults to [`host_platform`].
    pub platform: Platform,
    /// How often a logged-in client sends a heartbeat (D3). Default 120 s.
    pub heartbeat_interval: Duration,
    /// How long a request may wait for its reply before it fails with
    /// [`ERR_REQUEST_TIME_OUT`](crate::codes::ERR_REQUEST_TIME_OUT). Also bounds the TCP connect
    /// and the protocol handshake. Default 10 s.
    pub request_timeout: Duration,
    /// First step of the reconnect backoff (D3). Default 500 ms.
    pub reconnect_base: Duration,
    /// Longest reconnect backoff step. Default 30 s.
    pub reconnect_max: Duration,
}

impl ClientConfig {
    /// The defaults for an app: host platform, 120 s heartbeat, 10 s request timeout, reconnect
    /// backoff from 500 ms up to 30 s, server address from the environment.
    pub fn new(sdk_app_id: u32) -> Self {
        ClientConfig {
            sdk_app_id,
            server_addr: None,
            tls: TlsConfig::default(),
            platform: host_platform(),
            heartbeat_interval: Duration::from_secs(120),
            request_timeout: Duration::from_secs(10),
            reconnect_base: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
        }
    }

    /// The address the client connects to: [`server_addr`](Self::server_addr), else the
    /// `IMSTATUS_SERVER` environment variable, else [`DEFAULT_SERVER_ADDR`]. Read at every
    /// connect, so the environment is consulted again on reconnects.
    pub fn resolved_server_addr(&self) -> String {
        if let Some(addr) = self.server_addr.as_deref().filter(|a| !a.is_empty()) {
            return addr.to_owned();
        }
        match std::env::var(SERVER_ADDR_ENV) {
            Ok(addr) if !addr.trim().is_empty() => addr.trim().to_owned(),
            _ => DEFAULT_SERVER_ADDR.to_owned(),
        }
    }

    /// Refuses settings that would make the client spin (zero intervals) or never retry, and an
    /// explicit address that cannot be connected to as it says (an unknown scheme, a `tls://`
    /// address without a usable host).
    pub(crate) fn validate(&self) -> Result<(), ClientError> {
        let invalid = |what: &str| Err(ClientError::new(codes::ERR_INVALID_PARAMETERS, what));
        if let Some(addr) = self.server_addr.as_deref().filter(|a| !a.is_empty()) {
            if let Err(e) = address::parse(addr, self.tls.enabled) {
                return invalid(&e.desc);
            }
        }
        if self.heartbeat_interval.is_zero() {
            return invalid("heartbeat_interval must be greater than zero");
        }
        if self.request_timeout.is_zero() {
            return invalid("request_timeout must be greater than zero");
        }
        if self.reconnect_base.is_zero() {
            return invalid("reconnect_base must be greater than zero");
        }
        if self.reconnect_max < self.reconnect_base {
            return invalid("reconnect_max must not be smaller than reconnect_base");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_brief() {
        let config = ClientConfig::new(1400000000);
        assert_eq!(config.heartbeat_interval, Duration::from_secs(120));
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.reconnect_base, Duration::from_millis(500));
        assert_eq!(config.reconnect_max, Duration::from_secs(30));
        assert_eq!(config.platform, host_platform());
        assert!(config.validate().is_ok());
    }

    #[test]
    fn platform_codes() {
        assert_eq!(platform_from_code(0), Some(host_platform()));
        assert_eq!(platform_from_code(3), Some(Platform::IPad));
        assert_eq!(platform_from_code(7), Some(Platform::Web));
        assert_eq!(platform_from_code(8), None);
        assert_eq!(platform_from_code(-1), None);
    }

    #[test]
    fn explicit_address_wins() {
        let mut config = ClientConfig::new(1);
        config.server_addr = Some("10.0.0.1:1".into());
        assert_eq!(config.resolved_server_addr(), "10.0.0.1:1");
    }

    #[test]
    fn unusable_explicit_addresses_are_refused() {
        let mut config = ClientConfig::new(1);
        config.server_addr = Some("tls://localhost".into());
        let e = config.validate().unwrap_err();
        assert_eq!(e.code, codes::ERR_INVALID_PARAMETERS);
        assert!(e.desc.contains("host:port"), "{}", e.desc);
        config.server_addr = Some("tls://localhost:7801".into());
        assert!(config.validate().is_ok());
        config.server_addr = Some("localhost".into());
        assert!(
            config.validate().is_ok(),
            "plaintext is the resolver's business"
        );
        config.tls.enabled = true;
        assert!(config.validate().is_err(), "TLS needs host:port");
    }

    #[test]
    fn zero_intervals_are_refused() {
        let mut config = ClientConfig::new(1);
        config.heartbeat_interval = Duration::ZERO;
        assert_eq!(
            config.validate().unwrap_err().code,
            codes::ERR_INVALID_PARAMETERS
        );
        let mut config = ClientConfig::new(1);
        config.reconnect_max = Duration::from_millis(1);
        assert!(config.validate().is_err());
    }
}
