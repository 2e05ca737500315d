//! A set of IP networks (the CIDRs of `--allow`, `--deny` and
//! `--accept-proxy-from`), and whether an address is in it.
//!
//! Networks are parsed and merged with the `ipnet` crate. Merged, they are
//! disjoint and sorted, so an address is looked up by binary search: a
//! 100-entry list costs about seven comparisons per connection.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What a CIDR may look like, for the error of one that does not parse.
const EXPECTED: &str = "expected an IP address or a network like 10.0.0.0/8 or 2001:db8::/32";

/// Networks, merged and sorted, IPv4 and IPv6 apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

impl Networks {
    /// The set of `networks`. Their host bits are ignored (`10.1.2.3/8` is
    /// `10.0.0.0/8`), and an IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`)
    /// is the IPv4 network it maps.
    pub fn new(networks: &[IpNet]) -> Networks {
        let networks: Vec<IpNet> = networks.iter().map(|network| unmapped(*network)).collect();
        let mut set = Networks::default();
        for network in IpNet::aggregate(&networks) {
            match network {
                IpNet::V4(network) => set.v4.push(network),
                IpNet::V6(network) => set.v6.push(network),
            }
        }
        set
    }

    /// Whether `address` is in one of the networks; an IPv4-mapped IPv6
    /// address (a dual-stack listener's IPv4 client) is taken as the IPv4
    /// address it maps.
    pub fn contains(&self, address: IpAddr) -> bool {
        match address.to_canonical() {
            IpAddr::V4(address) => within(&self.v4, address, |n| (n.network(), n.broadcast())),
            IpAddr::V6(address) => within(&self.v6, address, |n| (n.network(), n.broadcast())),
        }
    }
}

/// Whether `address` is in one of `networks`, disjoint and sorted, each
/// spanning `range` (first and last address): only the last network that
/// starts at or before it can hold it.
fn within<N, A: Ord>(networks: &[N], address: A, range: fn(&N) -> (A, A)) -> bool {
    let after = networks.partition_point(|each| range(each).0 <= address);
    after > 0 && address <= range(&networks[after - 1]).1
}

/// An IPv4-mapped IPv6 network as the IPv4 network it maps; any other as it is.
fn unmapped(network: IpNet) -> IpNet {
    if let IpNet::V6(v6) = network {
        if let (Some(v4), Some(length)) =
            (v6.addr().to_ipv4_mapped(), v6.prefix_len().checked_sub(96))
        {
            if let Ok(v4) = Ipv4Net::new(v4, length) {
                return IpNet::V4(v4);
            }
        }
    }
    network
}

/// Parses a CIDR as the command line gives it: `10.0.0.0/8`,
/// `2001:db8::/32`, or a bare address, which is that one address (`/32`,
/// `/128`).
///
/// # Errors
///
/// What was expected, for clap to print with the value: the prefix
/// length's range when the address before it is good.
pub fn parse(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(network) = text.parse::<IpNet>() {
        return Ok(network);
    }
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok(IpNet::from(address));
    }
    let family = text
        .split_once('/')
        .and_then(|(address, _)| address.parse::<IpAddr>().ok());
    Err(match family {
        Some(IpAddr::V4(_)) => "the prefix length after / is 0 to 32 for IPv4".to_string(),
        Some(IpAddr::V6(_)) => "the prefix length after / is 0 to 128 for IPv6".to_string(),
        None => EXPECTED.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn networks(texts: &[&str]) -> Networks {
        let parsed: Vec<IpNet> = texts.iter().map(|text| parse(text).unwrap()).collect();
        Networks::new(&parsed)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn bare_addresses_are_one_address_and_networks_their_range() {
        let set = networks(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1"]);
        for inside in [
            "10.0.0.0",
            "10.255.255.255",
            "192.0.2.7",
            "2001:db8::9",
            "::1",
        ] {
            assert!(set.contains(ip(inside)), "{inside}");
        }
        for outside in [
            "9.255.255.255",
            "11.0.0.0",
            "192.0.2.6",
            "192.0.2.8",
            "2001:db9::",
            "::2",
        ] {
            assert!(!set.contains(ip(outside)), "{outside}");
        }
        assert!(!Networks::default().contains(ip("10.0.0.1")));
    }

    #[test]
    fn ipv4_clients_of_a_dual_stack_listener_match_ipv4_networks() {
        let set = networks(&["10.0.0.0/8", "::ffff:192.0.2.0/120"]);
        assert!(set.contains(ip("::ffff:10.1.2.3")));
        assert!(set.contains(ip("192.0.2.200")));
        assert!(!set.contains(ip("::ffff:11.1.2.3")));
    }

    #[test]
    fn overlapping_and_adjacent_networks_are_merged_and_still_found() {
        let set = networks(&["10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "10.1.2.3/8"]);
        assert_eq!(set.v4, vec!["10.0.0.0/8".parse::<Ipv4Net>().unwrap()]);
        // Many disjoint networks: every one found, nothing between them.
        let many: Vec<String> = (0..100).map(|n| format!("172.16.{n}.0/25")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let set = networks(&many);
        for n in 0..100 {
            assert!(set.contains(ip(&format!("172.16.{n}.127"))));
            assert!(!set.contains(ip(&format!("172.16.{n}.128"))));
        }
        assert!(!set.contains(ip("172.16.100.1")));
    }

    #[test]
    fn malformed_cidrs_say_what_was_wrong() {
        for (text, why) in [
            ("300.1.1.1/8", EXPECTED),
            ("nonsense", EXPECTED),
            ("10.0.0.0/33", "0 to 32 for IPv4"),
            ("::1/129", "0 to 128 for IPv6"),
            ("10.0.0.0/", "0 to 32 for IPv4"),
            ("", EXPECTED),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
