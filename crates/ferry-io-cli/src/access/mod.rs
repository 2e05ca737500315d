//! Who may use a server: `--allow` and `--deny` lists, the peers whose
//! PROXY headers are trusted (`--accept-proxy-from`), and the most
//! connections (UDP: flows) one client address may hold at once
//! (`--max-connections-per-source`).
//!
//! A client is the address ferry knows it by: the socket's peer, or the
//! source a trusted PROXY header gives. The rules are checked once per
//! connection (UDP: once per new flow), never per byte or datagram.

mod networks;
mod sources;

use std::net::IpAddr;

use ipnet::IpNet;

pub use networks::{parse, Networks};
pub use sources::{SourceSlot, Sources};

/// The rules of a server. Without any, everyone is let in and nothing is
/// counted.
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Only clients in these are served, when given.
    allow: Option<Networks>,
    /// Clients in these are refused, even when `allow` has them.
    deny: Networks,
    /// Only these peers may send a PROXY header, when given.
    proxy_senders: Option<Networks>,
    /// The most connections at once from one client address.
    per_source: Option<usize>,
}

/// Why a client was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `--allow` was given and the client is in none of its networks.
    NotAllowed,
    /// The client is in a `--deny` network.
    Denied,
    /// The client has `--max-connections-per-source` connections open.
    PerSourceLimit(usize),
    /// A peer not in `--accept-proxy-from` would have sent a PROXY header.
    UntrustedProxy,
}

impl Access {
    /// The rules the flags give: `allow` (none: everyone), `deny`,
    /// `proxy_senders` (none: any peer), `per_source`.
    pub fn new(
        allow: &[IpNet],
        deny: &[IpNet],
        proxy_senders: &[IpNet],
        per_source: Option<usize>,
    ) -> Access {
        let set = |networks: &[IpNet]| (!networks.is_empty()).then(|| Networks::new(networks));
        Access {
            allow: set(allow),
            deny: Networks::new(deny),
            proxy_senders: set(proxy_senders),
            per_source,
        }
    }

    /// Whether a PROXY header from `peer` may be believed; a peer without
    /// an IP address (a Unix socket) is trusted only when every peer is.
    pub fn trusts(&self, peer: Option<IpAddr>) -> bool {
        match (&self.proxy_senders, peer) {
            (None, _) => true,
            (Some(senders), Some(peer)) => senders.contains(peer),
            (Some(_), None) => false,
        }
    }

    /// The counts `--max-connections-per-source` needs, for one server;
    /// none without it.
    pub fn sources(&self) -> Option<Sources> {
        self.per_source.map(Sources::new)
    }

    /// Lets `client` in, counted in `sources`, or says why not. A client
    /// without an IP address (on a Unix socket, or a PROXY header without
    /// addresses from one) is in no network and is not counted.
    ///
    /// # Errors
    ///
    /// The [`Refusal`]: not allowed, denied, or over its limit.
    pub fn admit(
        &self,
        client: Option<IpAddr>,
        sources: Option<&Sources>,
    ) -> Result<Option<SourceSlot>, Refusal> {
        let within = |networks: &Networks| client.is_some_and(|client| networks.contains(client));
        if self.allow.as_ref().is_some_and(|allow| !within(allow)) {
            return Err(Refusal::NotAllowed);
        }
        if within(&self.deny) {
            return Err(Refusal::Denied);
        }
        match (sources, client) {
            (Some(sources), Some(client)) => sources
                .take(client)
                .map(Some)
                .ok_or(Refusal::PerSourceLimit(sources.limit())),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(texts: &[&str]) -> Vec<IpNet> {
        texts.iter().map(|text| parse(text).unwrap()).collect()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn deny_wins_over_allow_and_allow_shuts_out_the_rest() {
        let access = Access::new(&nets(&["10.0.0.0/8"]), &nets(&["10.0.0.66"]), &[], None);
        assert_eq!(access.admit(ip("10.1.2.3"), None).map(|_| ()), Ok(()));
        assert_eq!(
            access.admit(ip("10.0.0.66"), None).map(|_| ()),
            Err(Refusal::Denied)
        );
        assert_eq!(
            access.admit(ip("11.0.0.1"), None).map(|_| ()),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            access.admit(None, None).map(|_| ()),
            Err(Refusal::NotAllowed)
        );
        let deny_only = Access::new(&[], &nets(&["10.0.0.66"]), &[], None);
        assert!(deny_only.admit(ip("11.0.0.1"), None).is_ok());
        assert!(deny_only.admit(None, None).is_ok());
    }

    #[test]
    fn proxy_senders_are_trusted_only_when_listed() {
        let open = Access::default();
        assert!(open.trusts(ip("192.0.2.1")) && open.trusts(None));
        let access = Access::new(&[], &[], &nets(&["10.0.0.2", "10.0.1.0/24"]), None);
        assert!(access.trusts(ip("10.0.0.2")) && access.trusts(ip("10.0.1.9")));
        assert!(!access.trusts(ip("10.0.0.3")) && !access.trusts(None));
    }

    #[test]
    fn the_per_source_limit_counts_open_connections() {
        let access = Access::new(&[], &[], &[], Some(1));
        let sources = access.sources().unwrap();
        let held = access.admit(ip("10.0.0.1"), Some(&sources)).unwrap();
        assert!(held.is_some());
        assert_eq!(
            access.admit(ip("10.0.0.1"), Some(&sources)).map(|_| ()),
            Err(Refusal::PerSourceLimit(1))
        );
        assert!(access.admit(ip("10.0.0.2"), Some(&sources)).is_ok());
        drop(held);
        assert!(access.admit(ip("10.0.0.1"), Some(&sources)).is_ok());
        assert!(Access::default().sources().is_none());
    }
}
