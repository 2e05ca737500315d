//! Connecting over TCP, from a bound local address and port when asked
//! (`bind=`, `--bind`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};

use crate::address::Bind;

/// Connects to `host:port`; with `bind`, from that local address and port.
///
/// With `bind`, only the host's addresses of the bound address's family
/// are tried (an IPv4 source cannot reach an IPv6 peer).
///
/// # Errors
///
/// What resolving, binding or connecting answered; a host with no address
/// of the bound family is `InvalidInput`.
pub async fn connect(host: &str, port: u16, bind: Option<Bind>) -> io::Result<TcpStream> {
    let Some(bind) = bind else {
        return TcpStream::connect((host, port)).await;
    };
    let mut refused = None;
    for peer in tokio::net::lookup_host((host, port)).await? {
        let local = match (bind.ip, peer) {
            (Some(ip), peer) if ip.is_ipv4() != peer.is_ipv4() => continue,
            (Some(ip), _) => ip,
            (None, SocketAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            (None, SocketAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let socket = match peer {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if bind.port != 0 {
            // A fixed source port is often reused right after a connection
            // from it closed; TIME_WAIT must not refuse it.
            socket.set_reuseaddr(true)?;
        }
        // A bind that fails (address in use, not on this machine) fails
        // the same way for every peer address.
        socket.bind(SocketAddr::new(local, bind.port))?;
        match socket.connect(peer).await {
            Ok(stream) => return Ok(stream),
            Err(error) => refused = Some(error),
        }
    }
    Err(refused.unwrap_or_else(|| {
        let family = match bind.ip {
            Some(IpAddr::V6(_)) => "IPv6",
            _ => "IPv4",
        };
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host} has no {family} address to connect to from {bind}"),
        )
    }))
}
