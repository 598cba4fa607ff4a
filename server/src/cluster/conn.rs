//! One TCP connection to a Redis node, and the addresses it is opened to.

use std::io::{self, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::resp::{self, Value};

/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a command may wait for its reply: long enough that a `CLIENT PAUSE` of a few
/// seconds is waited out rather than failed.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// `host:port` from `redis://host:port`, `redis://host:port/`, or `host:port` itself (a
/// database number or user info are not supported: a cluster has only database 0).
pub fn parse_url(url: &str) -> Result<String, String> {
    let rest = url.trim();
    let rest = rest.strip_prefix("redis://").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('@') || rest.contains("://") {
        return Err(format!(
            "{url:?} is not redis://host:port (only plain TCP, database 0, no credentials)"
        ));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(rest.to_string())
        }
        _ => Err(format!("{url:?} has no host:port")),
    }
}

/// The host part of `host:port` (brackets of an IPv6 address removed).
pub fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Opens a TCP connection to `addr` with the connect timeout, TCP_NODELAY (commands are small
/// and answered at once), and `read_timeout`.
pub fn open(addr: &str, read_timeout: Option<Duration>) -> io::Result<TcpStream> {
    let mut last = None;
    for sock in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sock, CONNECT_TIMEOUT) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_read_timeout(read_timeout)?;
                stream.set_write_timeout(Some(READ_TIMEOUT))?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("the address resolves to nothing")))
}

/// A connection for commands: a request, then its replies in order.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Opens a connection to `addr`.
    pub fn open(addr: &str) -> io::Result<Conn> {
        Ok(Conn {
            reader: BufReader::new(open(addr, Some(READ_TIMEOUT))?),
        })
    }

    /// Sends `request` (one or more encoded commands) and reads `replies` replies.
    pub fn round_trip(&mut self, request: &[u8], replies: usize) -> io::Result<Vec<Value>> {
        self.reader.get_mut().write_all(request)?;
        (0..replies)
            .map(|_| resp::read_value(&mut self.reader))
            .collect()
    }

    /// Whether the connection can be given to the next command: no bytes left over from a
    /// reply we did not expect.
    pub fn is_clean(&self) -> bool {
        self.reader.buffer().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_or_without_the_scheme() {
        assert_eq!(
            parse_url("redis://127.0.0.1:6379").unwrap(),
            "127.0.0.1:6379"
        );
        assert_eq!(parse_url("redis://h:1/").unwrap(), "h:1");
        assert_eq!(parse_url("localhost:7000").unwrap(), "localhost:7000");
        assert_eq!(parse_url("[::1]:7000").unwrap(), "[::1]:7000");
        assert!(parse_url("redis://h").is_err());
        assert!(parse_url("redis://h:0").is_err());
        assert!(parse_url("redis://h:1/2").is_err());
        assert!(parse_url("rediss://h:1").is_err());
        assert!(parse_url("redis://u:p@h:1").is_err());
        assert!(parse_url("").is_err());
        assert_eq!(host_of("[::1]:7000"), "::1");
        assert_eq!(host_of("10.0.0.1:7000"), "10.0.0.1");
    }
}
