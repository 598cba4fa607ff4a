//! The cap on connections per IP address that have not logged in yet: one address cannot hold
//! the server's sockets and memory without ever authenticating.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts unauthenticated connections per address.
pub struct Unauthenticated {
    cap: u32,
    counts: Mutex<HashMap<IpAddr, u32>>,
}

/// One unauthenticated connection of an address; dropping it (at login or close) frees its
/// place.
pub struct Permit {
    owner: Arc<Unauthenticated>,
    ip: IpAddr,
}

impl Unauthenticated {
    pub fn new(cap: u32) -> Arc<Unauthenticated> {
        Arc::new(Unauthenticated {
            cap,
            counts: Mutex::default(),
        })
    }

    /// A place for one more connection from `ip`, unless it holds `cap` already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(ip).or_default();
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Permit {
            owner: self.clone(),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_and_places_come_back() {
        let limit = Unauthenticated::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let a = limit.admit(ip).unwrap();
        let _b = limit.admit(ip).unwrap();
        assert!(limit.admit(ip).is_none());
        assert!(limit.admit(other).is_some());
        drop(a);
        let c = limit.admit(ip).unwrap();
        assert!(limit.admit(ip).is_none());
        drop(c);
        drop(_b);
        assert!(limit.counts.lock().unwrap().is_empty());
    }
}
