//! The upstreams of a server (its DSTs): in which order a connection tries
//! them (`--balance`), and which are skipped for a while after a connect to
//! them failed (`--upstream-backoff`).
//!
//! A connection tries the upstreams that are up, each at most once, in the
//! order the policy gives; when every upstream is down it tries the one
//! whose back-off ends first, so a client fails within one connect timeout
//! and an upstream that came back is found by the next client. With one
//! upstream there is nothing to skip to: it is always tried.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::address::Address;
use crate::flags::Balance;

/// The upstreams of one server.
#[derive(Debug)]
pub struct Upstreams {
    list: Vec<Upstream>,
    balance: Balance,
    backoff: Duration,
    /// Where the next round starts.
    next: AtomicUsize,
}

/// One upstream and its state.
#[derive(Debug)]
pub struct Upstream {
    /// Where it is.
    pub address: Address,
    /// Its address as text, for logs and metrics.
    pub name: String,
    /// Relays to it running now.
    active: AtomicUsize,
    /// Until when it is skipped, after a failed connect.
    down_until: Mutex<Option<Instant>>,
}

/// A relay running to an upstream, counted for `least-connections` until
/// dropped.
#[derive(Debug)]
pub struct Active<'a> {
    upstream: &'a Upstream,
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.upstream.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Upstreams {
    /// The upstreams at `addresses`, all up, picked by `balance`; one
    /// whose connect failed is skipped for `backoff`.
    pub fn new(addresses: &[Address], balance: Balance, backoff: Duration) -> Upstreams {
        Upstreams {
            list: addresses
                .iter()
                .map(|address| Upstream {
                    address: address.clone(),
                    name: address.to_string(),
                    active: AtomicUsize::new(0),
                    down_until: Mutex::new(None),
                })
                .collect(),
            balance,
            backoff,
            next: AtomicUsize::new(0),
        }
    }

    /// Every upstream's name, in the order given.
    pub fn names(&self) -> Vec<String> {
        self.list
            .iter()
            .map(|upstream| upstream.name.clone())
            .collect()
    }

    /// Whether there are several to choose from.
    pub fn several(&self) -> bool {
        self.list.len() > 1
    }

    /// Upstream `index`.
    pub fn get(&self, index: usize) -> &Upstream {
        &self.list[index]
    }

    /// The upstreams a new connection tries, in order (indexes): those up,
    /// by the policy, or the one back soonest when all are down.
    pub fn order(&self) -> Vec<usize> {
        let count = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        let now = Instant::now();
        let mut up: Vec<usize> = (0..count)
            .map(|offset| (start + offset) % count)
            .filter(|&index| self.list[index].back_at().is_none_or(|back| back <= now))
            .collect();
        if self.balance == Balance::LeastConnections {
            // Stable: equals stay in round-robin order.
            up.sort_by_key(|&index| self.list[index].active.load(Ordering::Relaxed));
        }
        if up.is_empty() {
            let soonest = (0..count).min_by_key(|&index| self.list[index].back_at());
            up.extend(soonest);
        }
        up
    }

    /// Connecting to upstream `index` failed: it is skipped for the
    /// back-off. Returns true when that took it down (it was up), for the
    /// log to say so once.
    pub fn failed(&self, index: usize) -> bool {
        if !self.several() {
            return false;
        }
        let mut down = self.list[index].down();
        let was_up = down.is_none_or(|back| back <= Instant::now());
        *down = Instant::now().checked_add(self.backoff);
        was_up
    }

    /// Connecting to upstream `index` worked: it is up. Returns true when
    /// it had been down.
    pub fn reached(&self, index: usize) -> bool {
        self.list[index].down().take().is_some()
    }

    /// Counts a relay to upstream `index` until the guard is dropped.
    pub fn start(&self, index: usize) -> Active<'_> {
        let upstream = &self.list[index];
        upstream.active.fetch_add(1, Ordering::Relaxed);
        Active { upstream }
    }

    /// How long a failed upstream is skipped.
    pub fn backoff(&self) -> Duration {
        self.backoff
    }
}

impl Upstream {
    fn down(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.down_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// When it may be tried again, if it is down.
    fn back_at(&self) -> Option<Instant> {
        *self.down()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstreams(count: u16, balance: Balance) -> Upstreams {
        let addresses: Vec<Address> = (1..=count)
            .map(|port| Address::Tcp {
                host: "127.0.0.1".to_string(),
                port,
                bind: None,
            })
            .collect();
        Upstreams::new(&addresses, balance, Duration::from_secs(60))
    }

    #[test]
    fn round_robin_takes_each_in_turn_and_skips_one_that_is_down() {
        let servers = upstreams(3, Balance::RoundRobin);
        let firsts: Vec<usize> = (0..6).map(|_| servers.order()[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 0, 1, 2]);
        assert_eq!(servers.order(), [0, 1, 2]);
        assert!(servers.failed(1));
        assert!(!servers.failed(1), "already down");
        for _ in 0..4 {
            assert!(!servers.order().contains(&1));
        }
        assert!(servers.reached(1));
        assert!(servers.order().contains(&1));
    }

    #[test]
    fn when_all_are_down_the_one_back_soonest_is_tried() {
        let servers = upstreams(2, Balance::RoundRobin);
        servers.failed(1);
        servers.failed(0);
        for _ in 0..3 {
            assert_eq!(servers.order(), [1]);
        }
    }

    #[test]
    fn least_connections_prefers_the_least_busy() {
        let servers = upstreams(3, Balance::LeastConnections);
        let _a = servers.start(0);
        let _b = servers.start(0);
        let _c = servers.start(2);
        assert_eq!(servers.order()[0], 1);
        drop((_a, _b));
        let order = servers.order();
        assert_eq!(order.len(), 3);
        assert_eq!(order[2], 2, "{order:?}");
    }

    #[test]
    fn one_upstream_is_never_skipped() {
        let servers = upstreams(1, Balance::RoundRobin);
        assert!(!servers.failed(0));
        assert_eq!(servers.order(), [0]);
    }
}
