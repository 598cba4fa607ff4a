//! Which Redis Cluster node masters which slot, and the slot of a key.

use super::resp::Value;

/// The number of hash slots of a Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16/XMODEM (polynomial 0x1021, initial value 0), the checksum the cluster spec hashes keys
/// with. Bitwise: keys are short and a table would be 512 bytes of constants to get right.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of `key`: only the part between the first `{` and the next `}` is hashed when that
/// part is not empty (the hash tag), so related keys can be put in one slot on purpose.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % SLOTS as u16
}

/// The master of every slot, as `host:port`; a slot nobody serves (cluster being set up or
/// down) has none.
#[derive(Debug, Clone)]
pub struct SlotMap {
    nodes: Vec<String>,
    owner: Vec<u16>,
}

/// `owner` value of a slot without a master.
const NONE: u16 = u16::MAX;

impl SlotMap {
    /// A map where no slot has an owner yet.
    pub fn empty() -> SlotMap {
        SlotMap {
            nodes: Vec::new(),
            owner: vec![NONE; SLOTS],
        }
    }

    /// The master of `slot`, if known.
    pub fn owner(&self, slot: u16) -> Option<&str> {
        let index = *self.owner.get(slot as usize)?;
        self.nodes.get(index as usize).map(String::as_str)
    }

    /// Every master named in the map.
    pub fn masters(&self) -> &[String] {
        &self.nodes
    }

    /// Records that `addr` masters `slot` (from a `-MOVED`), before the whole map is re-read.
    pub fn set(&mut self, slot: u16, addr: &str) {
        if slot as usize >= SLOTS {
            return;
        }
        let index = match self.nodes.iter().position(|n| n == addr) {
            Some(i) => i,
            // More masters than slots is not a real cluster; keep what we have.
            None if self.nodes.len() >= SLOTS => return,
            None => {
                self.nodes.push(addr.to_string());
                self.nodes.len() - 1
            }
        };
        self.owner[slot as usize] = index as u16;
    }

    /// Reads a `CLUSTER SLOTS` reply. `asked_host` stands in for an empty or `?` host (Redis
    /// answers that when a node does not know its own address). None when the reply is not one.
    pub fn parse(reply: &Value, asked_host: &str) -> Option<SlotMap> {
        let Value::Array(ranges) = reply else {
            return None;
        };
        let mut map = SlotMap::empty();
        for range in ranges {
            let Value::Array(fields) = range else {
                return None;
            };
            let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                return None;
            };
            let (Some(Value::Data(host)), Some(Value::Int(port))) = (master.first(), master.get(1))
            else {
                return None;
            };
            let host = String::from_utf8_lossy(host);
            let host = if host.is_empty() || host == "?" {
                asked_host
            } else {
                &host
            };
            if !(0..SLOTS as i64).contains(start)
                || !(0..SLOTS as i64).contains(end)
                || !(1..=65535).contains(port)
            {
                return None;
            }
            let addr = format!("{}:{port}", bracket(host));
            for slot in *start..=*end {
                map.set(slot as u16, &addr);
            }
        }
        Some(map)
    }
}

/// `host` ready to be followed by `:port` (an IPv6 address goes in brackets).
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_is_xmodem() {
        // The check value of CRC-16/XMODEM, and the example of the cluster spec.
        assert_eq!(crc16(b"123456789"), 0x31c3);
    }

    #[test]
    fn key_slots_match_what_redis_answers_to_cluster_keyslot() {
        // Values from `redis-cli CLUSTER KEYSLOT` on Redis 7.0.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"user:1"), 10778);
        assert_eq!(key_slot(b"{user1000}.following"), 3443);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        // An empty tag hashes the whole key; only the first `{` counts.
        assert_eq!(key_slot(b"foo{}{bar}"), 8363);
        assert_eq!(key_slot(b"foo{{bar}}zap"), 4015);
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn a_slot_map_is_read_from_cluster_slots() {
        let node = |host: &str, port| {
            Value::Array(vec![
                Value::Data(host.into()),
                Value::Int(port),
                Value::Data(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![Value::Int(0), Value::Int(99), node("10.0.0.1", 7000)]),
            Value::Array(vec![Value::Int(100), Value::Int(16383), node("", 7001)]),
        ]);
        let map = SlotMap::parse(&reply, "127.0.0.1").unwrap();
        assert_eq!(map.owner(0), Some("10.0.0.1:7000"));
        assert_eq!(map.owner(99), Some("10.0.0.1:7000"));
        assert_eq!(map.owner(100), Some("127.0.0.1:7001"));
        assert_eq!(map.masters().len(), 2);
        let bad = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(20000),
            node("h", 1),
        ])]);
        assert!(SlotMap::parse(&bad, "h").is_none());
        assert!(SlotMap::parse(&Value::Nil, "h").is_none());
    }
}
