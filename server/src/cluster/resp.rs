//! RESP2, the Redis protocol: commands out as arrays of bulk strings, replies in.
//!
//! The parser never trusts the lengths it reads: a bulk string is at most Redis' own 512 MiB
//! and is read as it arrives rather than allocated up front, arrays are capped and nesting is
//! bounded, so a broken or hostile server gives an error, never a panic or a huge allocation.

use std::io::{self, BufRead, Read};

/// A reply from Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A nil bulk string or nil array (`$-1`, `*-1`).
    Nil,
    /// `:123`
    Int(i64),
    /// A bulk string.
    Data(Vec<u8>),
    /// `+OK`
    Status(String),
    /// An array, possibly nested.
    Array(Vec<Value>),
    /// `-ERR ...`: what Redis said, without the `-`.
    Error(String),
}

impl Value {
    /// The bytes of a bulk string or status, for replies that are one or the other.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Data(d) => Some(d),
            Value::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

/// Redis' own limit on a bulk string (`proto-max-bulk-len`).
pub const MAX_BULK: usize = 512 * 1024 * 1024;

/// Longest array accepted: far above any reply we ask for, far below what would exhaust memory
/// in `Value`s before any element arrived.
pub const MAX_ARRAY: usize = 16 * 1024 * 1024;

/// Deepest nesting accepted (CLUSTER SLOTS nests 3 deep); bounds the parser's recursion.
const MAX_DEPTH: usize = 16;

/// Longest header line (`+`, `-`, `:`, lengths); error messages are short.
const MAX_LINE: u64 = 64 * 1024;

/// Elements reserved up front at most, whatever length an array claims.
const PREALLOCATE: usize = 1024;

/// Appends `args` as one RESP2 command (an array of bulk strings) to `out`.
pub fn encode_into(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// `args` as one RESP2 command.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, args);
    out
}

/// Reads one reply. An `io::ErrorKind::InvalidData` error means the bytes were not RESP2 (the
/// connection cannot be trusted any more); `UnexpectedEof` that the peer closed mid-reply.
pub fn read_value<R: BufRead>(reader: &mut R) -> io::Result<Value> {
    read_nested(reader, 0)
}

fn read_nested<R: BufRead>(reader: &mut R, depth: usize) -> io::Result<Value> {
    let line = read_line(reader)?;
    let (&kind, rest) = line.split_first().ok_or_else(|| invalid("an empty line"))?;
    match kind {
        b'+' => Ok(Value::Status(String::from_utf8_lossy(rest).into_owned())),
        b'-' => Ok(Value::Error(String::from_utf8_lossy(rest).into_owned())),
        b':' => Ok(Value::Int(parse_int(rest)?)),
        b'$' => {
            let len = parse_int(rest)?;
            if len < 0 {
                return Ok(Value::Nil);
            }
            if len as u64 > MAX_BULK as u64 {
                return Err(invalid("a bulk string longer than 512 MiB"));
            }
            let len = len as usize;
            let mut data = Vec::with_capacity(len.min(64 * 1024));
            reader.take(len as u64 + 2).read_to_end(&mut data)?;
            if data.len() < len + 2 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if !data.ends_with(b"\r\n") {
                return Err(invalid("a bulk string not ended by CRLF"));
            }
            data.truncate(len);
            Ok(Value::Data(data))
        }
        b'*' => {
            let len = parse_int(rest)?;
            if len < 0 {
                return Ok(Value::Nil);
            }
            if len as u64 > MAX_ARRAY as u64 {
                return Err(invalid("an array of more than 16M elements"));
            }
            if depth >= MAX_DEPTH {
                return Err(invalid("arrays nested too deep"));
            }
            let len = len as usize;
            let mut items = Vec::with_capacity(len.min(PREALLOCATE));
            for _ in 0..len {
                items.push(read_nested(reader, depth + 1)?);
            }
            Ok(Value::Array(items))
        }
        _ => Err(invalid("a reply of unknown type")),
    }
}

/// One line without its CRLF.
fn read_line<R: BufRead>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    reader.take(MAX_LINE).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if !line.ends_with(b"\n") {
        return Err(if line.len() as u64 >= MAX_LINE {
            invalid("a line longer than 64 KiB")
        } else {
            io::ErrorKind::UnexpectedEof.into()
        });
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid("a line not ended by CRLF"));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_int(digits: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("a malformed integer"))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not RESP2: {what} from the server"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<Value> {
        read_value(&mut &bytes[..])
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(
            encode(&[b"SET", b"k", b""]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn every_reply_type_is_read() {
        assert_eq!(parse(b"+OK\r\n").unwrap(), Value::Status("OK".into()));
        assert_eq!(
            parse(b"-ERR no\r\n").unwrap(),
            Value::Error("ERR no".into())
        );
        assert_eq!(parse(b":-42\r\n").unwrap(), Value::Int(-42));
        assert_eq!(parse(b"$-1\r\n").unwrap(), Value::Nil);
        assert_eq!(parse(b"*-1\r\n").unwrap(), Value::Nil);
        assert_eq!(parse(b"$0\r\n\r\n").unwrap(), Value::Data(vec![]));
        assert_eq!(
            parse(b"$4\r\na\r\nb\r\n").unwrap(),
            Value::Data(b"a\r\nb".to_vec())
        );
        assert_eq!(
            parse(b"*2\r\n$1\r\nx\r\n*1\r\n:1\r\n").unwrap(),
            Value::Array(vec![
                Value::Data(b"x".to_vec()),
                Value::Array(vec![Value::Int(1)])
            ])
        );
    }

    #[test]
    fn consecutive_replies_are_read_one_at_a_time() {
        let bytes = b"+OK\r\n:1\r\n";
        let mut reader = &bytes[..];
        assert_eq!(read_value(&mut reader).unwrap(), Value::Status("OK".into()));
        assert_eq!(read_value(&mut reader).unwrap(), Value::Int(1));
        assert!(read_value(&mut reader).is_err());
    }

    #[test]
    fn every_truncation_of_a_reply_is_an_error() {
        let whole = b"*3\r\n$5\r\nhello\r\n:12\r\n*1\r\n+OK\r\n";
        assert!(parse(whole).is_ok());
        for end in 0..whole.len() {
            assert!(parse(&whole[..end]).is_err(), "cut at {end}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases: &[&[u8]] = &[
            b"?\r\n",
            b"\r\n",
            b":abc\r\n",
            b":1\n",
            b"$3\r\nabcde",
            b"$3\r\nabc\n\n",
            b"$99999999999999999999\r\n",
            b"$536870913\r\n",
            b"*16777217\r\n",
            b"*-9223372036854775808\r\n",
            b"*99999999\r\n:1\r\n",
            b"$-\r\n",
        ];
        for case in cases {
            assert!(
                matches!(parse(case), Err(_) | Ok(Value::Nil)),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
        assert!(parse(b"*-5\r\n").is_ok());
        let deep = b"*1\r\n".repeat(100);
        assert!(parse(&deep).is_err());
        let long = vec![b'+'; 100 * 1024];
        assert!(parse(&long).is_err());
        // Every byte string of a few bytes, and pseudo-random ones: no panic.
        const ALPHABET: &[u8] = b"*$:+-\r\n0123-x";
        let mut seed: u32 = 1;
        for _ in 0..20_000 {
            let len = (seed % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    ALPHABET[(seed >> 16) as usize % ALPHABET.len()]
                })
                .collect();
            let _ = parse(&bytes);
        }
    }
}
