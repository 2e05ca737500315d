//! How many connections (UDP: flows) each client address has open, for
//! `--max-connections-per-source`: a count per address, taken when a
//! client is let in and given back when its connection ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The open connections of each client address, at most `limit` each.
#[derive(Debug)]
pub struct Sources {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's share of its address's count, given back on drop.
#[derive(Debug)]
pub struct SourceSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl Sources {
    /// No connection yet; at most `limit` per address.
    pub fn new(limit: usize) -> Sources {
        Sources {
            limit,
            open: Arc::default(),
        }
    }

    /// Counts one more connection from `address`, or `None` when it has
    /// `limit` open already. IPv4-mapped IPv6 addresses count as the IPv4
    /// address they map.
    pub fn take(&self, address: IpAddr) -> Option<SourceSlot> {
        let address = address.to_canonical();
        let mut open = lock(&self.open);
        let count = open.entry(address).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            open: self.open.clone(),
            address,
        })
    }

    /// How many the server allows from one address.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            // Addresses gone quiet take no memory.
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// The counts, even after a panic elsewhere: they stay consistent, since
/// each change is one step.
fn lock(open: &Mutex<HashMap<IpAddr, usize>>) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_limit_and_slots_come_back_on_drop() {
        let sources = Sources::new(2);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let first = sources.take(a).unwrap();
        let second = sources.take(a).unwrap();
        assert!(sources.take(a).is_none());
        // The same address, as a dual-stack listener shows it.
        assert!(sources.take("::ffff:127.0.0.2".parse().unwrap()).is_none());
        let other = sources.take(b).unwrap();
        drop(first);
        let third = sources.take(a).unwrap();
        assert!(sources.take(a).is_none());
        drop((second, third, other));
        assert!(lock(&sources.open).is_empty());
    }
}
