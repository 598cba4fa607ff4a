//! What a Redis command can fail with, and which error replies are redirections or transient.

use std::fmt;
use std::io;

use super::conn;

/// What failed, and where: an error reply from Redis, or Redis not reachable.
#[derive(Debug, Clone)]
pub struct RedisError {
    kind: ErrorKind,
    message: String,
    addr: Option<String>,
    /// The command's name (its first word), once known.
    command: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    /// Redis answered with an error reply.
    Reply,
    /// The connection failed, timed out, or the bytes were not RESP2.
    Io,
    /// No node could be asked (bad URL, no slot owner known).
    Setup,
}

impl RedisError {
    pub(super) fn reply(message: String, addr: &str) -> RedisError {
        RedisError {
            kind: ErrorKind::Reply,
            message,
            addr: Some(addr.to_string()),
            command: None,
        }
    }

    pub(super) fn io(error: &io::Error, addr: &str) -> RedisError {
        RedisError {
            kind: ErrorKind::Io,
            message: error.to_string(),
            addr: Some(addr.to_string()),
            command: None,
        }
    }

    pub(super) fn setup(message: String) -> RedisError {
        RedisError {
            kind: ErrorKind::Setup,
            message,
            addr: None,
            command: None,
        }
    }

    /// Names the command that failed (its first word) for the message.
    pub(super) fn during(mut self, args: &[&[u8]]) -> RedisError {
        if let Some(name) = args.first() {
            let name = String::from_utf8_lossy(&name[..name.len().min(32)]);
            self.command = Some(name.to_ascii_uppercase());
        }
        self
    }

    /// Whether Redis answered with an error reply (a bad command, a script error, WRONGTYPE...),
    /// as opposed to Redis not being reachable: the command reached Redis and was refused.
    pub fn is_reply(&self) -> bool {
        self.kind == ErrorKind::Reply
    }

    /// The error reply, e.g. `ERR unknown command`, when [`RedisError::is_reply`].
    pub fn reply_text(&self) -> Option<&str> {
        self.is_reply().then_some(self.message.as_str())
    }

    /// The node the failure came from, when one was involved.
    pub fn addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redis")?;
        if let Some(command) = &self.command {
            write!(f, " {command}")?;
        }
        if let Some(addr) = &self.addr {
            write!(f, " at {addr}")?;
        }
        match self.kind {
            ErrorKind::Reply => write!(f, " answered: {}", self.message),
            _ => write!(f, " failed: {}", self.message),
        }
    }
}

impl std::error::Error for RedisError {}

/// What to do about an error reply.
pub(super) enum Redirect {
    /// `-MOVED slot addr`: the slot lives there now.
    Moved(u16, String),
    /// `-ASK slot addr`: ask there this once (the slot is being migrated).
    Ask(String),
    /// The cluster or node is in transition: wait and try again.
    Transient,
    /// An answer for the caller.
    Final,
}

/// Reads the error reply `message` that node `from` answered. A redirection to `:port` (Redis
/// names no host when it does not know its own) means the host of `from`.
pub(super) fn classify(message: &str, from: &str) -> Redirect {
    let mut words = message.split(' ');
    match words.next() {
        Some(code @ ("MOVED" | "ASK")) => {
            let slot = words.next().and_then(|s| s.parse::<u16>().ok());
            let addr = words.next().and_then(|a| match a.strip_prefix(':') {
                Some(port) => {
                    let host = conn::host_of(from);
                    let host = if host.contains(':') {
                        format!("[{host}]")
                    } else {
                        host.to_string()
                    };
                    conn::parse_url(&format!("{host}:{port}")).ok()
                }
                None => conn::parse_url(a).ok(),
            });
            match (code, slot, addr) {
                ("MOVED", Some(slot), Some(addr)) if (slot as usize) < super::slots::SLOTS => {
                    Redirect::Moved(slot, addr)
                }
                ("ASK", Some(_), Some(addr)) => Redirect::Ask(addr),
                _ => Redirect::Final,
            }
        }
        Some("TRYAGAIN" | "CLUSTERDOWN" | "LOADING" | "MASTERDOWN") => Redirect::Transient,
        _ => Redirect::Final,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirections_are_recognised() {
        assert!(matches!(
            classify("MOVED 3999 127.0.0.1:6381", "h:1"),
            Redirect::Moved(3999, a) if a == "127.0.0.1:6381"
        ));
        assert!(matches!(classify("ASK 3999 h:1", "h:2"), Redirect::Ask(a) if a == "h:1"));
        assert!(matches!(
            classify("MOVED 99999 h:1", "h:2"),
            Redirect::Final
        ));
        assert!(matches!(classify("MOVED x", "h:2"), Redirect::Final));
        assert!(matches!(
            classify("TRYAGAIN Multiple keys", "h:2"),
            Redirect::Transient
        ));
        assert!(matches!(
            classify("CLUSTERDOWN The cluster is down", "h:2"),
            Redirect::Transient
        ));
        assert!(matches!(
            classify("LOADING Redis is loading", "h:2"),
            Redirect::Transient
        ));
        assert!(matches!(
            classify("ERR unknown command", "h:2"),
            Redirect::Final
        ));
        assert!(matches!(classify("", "h:2"), Redirect::Final));
        assert!(matches!(
            classify("MOVED 1 :7001", "10.0.0.1:7000"),
            Redirect::Moved(1, a) if a == "10.0.0.1:7001"
        ));
        assert!(matches!(
            classify("ASK 1 :7001", "[::1]:7000"),
            Redirect::Ask(a) if a == "[::1]:7001"
        ));
    }

    #[test]
    fn errors_say_where() {
        let e = RedisError::reply("ERR no".into(), "h:1");
        assert!(e.is_reply());
        assert_eq!(e.reply_text(), Some("ERR no"));
        assert_eq!(e.to_string(), "Redis at h:1 answered: ERR no");
        let e = e.during(&[b"get", b"k"]);
        assert_eq!(e.to_string(), "Redis GET at h:1 answered: ERR no");
        let e = RedisError::io(&io::Error::other("refused"), "h:2");
        assert!(!e.is_reply());
        assert_eq!(e.addr(), Some("h:2"));
        assert_eq!(e.to_string(), "Redis at h:2 failed: refused");
    }
}
