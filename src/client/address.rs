//! What a server address says: `host:port` is plaintext TCP, `tls://host:port` is TLS over TCP.
//!
//! Parsed at every connect, since the address may come from the environment
//! ([`SERVER_ADDR_ENV`](super::SERVER_ADDR_ENV)), and once at [`Client::new`](super::Client::new)
//! for an explicit address, so that a mistyped one is refused at once.

use rustls::pki_types::ServerName;

use super::types::ClientError;

/// The scheme that turns TLS on.
pub const TLS_SCHEME: &str = "tls://";

/// Where to connect, and whether over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `host:port` without the scheme, as `TcpStream::connect` takes it.
    pub(crate) addr: String,
    /// With TLS: the host, which the client sends as SNI and which the server's certificate must
    /// name. `None`: plaintext.
    pub(crate) tls_name: Option<ServerName<'static>>,
}

/// Reads `address`; `tls` (the config's switch) turns TLS on for an address without `tls://`.
/// Only the TLS form needs its host understood here; a plaintext address is left to the
/// resolver, as before TLS existed.
pub(crate) fn parse(address: &str, tls: bool) -> Result<Target, ClientError> {
    let (addr, tls) = match address.strip_prefix(TLS_SCHEME) {
        Some(rest) => (rest, true),
        None if address.contains("://") => {
            return Err(bad(
                address,
                "the only scheme is tls:// (none means plaintext)",
            ))
        }
        None => (address, tls),
    };
    if !tls {
        return Ok(Target {
            addr: addr.to_owned(),
            tls_name: None,
        });
    }
    let host = host_of(addr).ok_or_else(|| bad(address, "it is not host:port"))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| bad(address, "its host is neither a DNS name nor an IP address"))?;
    Ok(Target {
        addr: addr.to_owned(),
        tls_name: Some(name),
    })
}

/// The host of `host:port`, `[v6]:port` without its brackets.
fn host_of(addr: &str) -> Option<&str> {
    let (host, port) = addr.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

fn bad(address: &str, why: &str) -> ClientError {
    ClientError::disconnected(format!("the server address {address:?} is unusable: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(address: &str, tls: bool) -> Option<String> {
        parse(address, tls)
            .unwrap()
            .tls_name
            .map(|n| n.to_str().into_owned())
    }

    #[test]
    fn the_scheme_or_the_switch_turns_tls_on() {
        assert_eq!(name("127.0.0.1:7800", false), None);
        assert_eq!(
            parse("tls://localhost:7801", false).unwrap().addr,
            "localhost:7801"
        );
        assert_eq!(
            name("tls://localhost:7801", false).as_deref(),
            Some("localhost")
        );
        assert_eq!(
            name("example.com:443", true).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            name("tls://127.0.0.1:1", false).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(name("tls://[::1]:1", false).as_deref(), Some("::1"));
        assert_eq!(parse("tls://[::1]:1", false).unwrap().addr, "[::1]:1");
    }

    #[test]
    fn unusable_addresses_say_why() {
        for (address, why) in [
            ("tcp://a:1", "scheme"),
            ("tls://localhost", "host:port"),
            ("tls://:7800", "host:port"),
            ("tls://a:b", "host:port"),
            ("tls://a b:1", "neither"),
        ] {
            let e = parse(address, false).unwrap_err();
            assert_eq!(e.code, crate::codes::ERR_SDK_NET_DISCONNECT);
            assert!(e.desc.contains(why), "{address}: {}", e.desc);
        }
    }
}
