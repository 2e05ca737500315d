//! Connecting over TCP, from a bound local address and port when asked
//! (`bind=`, `--bind`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::names;
use crate::address::Bind;

/// Connects to `host:port`; with `bind`, from that local address and port.
/// Each of the host's addresses (see [`names::resolve`]) is tried in turn
/// until one answers; when none does, or the caller stops waiting, the
/// next connection resolves the host again.
///
/// With `bind`, only the host's addresses of the bound address's family
/// are tried (an IPv4 source cannot reach an IPv6 peer).
///
/// # Errors
///
/// What resolving, binding or the last address tried answered; a host with
/// no address (of the bound family) is `InvalidInput`.
pub async fn connect(host: &str, port: u16, bind: Option<Bind>) -> io::Result<TcpStream> {
    let mut refused = None;
    let pending = names::Pending::new(host, port);
    for &peer in names::resolve(host, port).await?.iter() {
        let local = match (bind, peer) {
            (None, _) => None,
            (Some(Bind { ip: Some(ip), .. }), peer) if ip.is_ipv4() != peer.is_ipv4() => continue,
            (Some(Bind { ip: Some(ip), port }), _) => Some(SocketAddr::new(ip, port)),
            (Some(Bind { ip: None, port }), SocketAddr::V4(_)) => {
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
            }
            (Some(Bind { ip: None, port }), SocketAddr::V6(_)) => {
                Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
            }
        };
        // A bind that fails (address in use, not on this machine) fails
        // the same way for every peer address.
        let socket = socket_from(peer, local)?;
        match establish(socket, peer).await {
            Ok(stream) => {
                pending.answered();
                return Ok(stream);
            }
            Err(error) => refused = Some(error),
        }
    }
    Err(refused.unwrap_or_else(|| {
        let why = match bind {
            Some(bind) => {
                let family = match bind.ip {
                    Some(IpAddr::V6(_)) => "IPv6",
                    _ => "IPv4",
                };
                format!("{host} has no {family} address to connect to from {bind}")
            }
            None => format!("{host} has no address to connect to"),
        };
        io::Error::new(io::ErrorKind::InvalidInput, why)
    }))
}

/// A non-blocking TCP socket for `peer`'s family, bound to `local` if given.
fn socket_from(peer: SocketAddr, local: Option<SocketAddr>) -> io::Result<OwnedFd> {
    let family = match peer {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let socket = rustix::net::socket_with(family, SocketType::STREAM, flags, None)?;
    if let Some(local) = local {
        if local.port() != 0 {
            // A fixed source port is often reused right after a connection
            // from it closed; TIME_WAIT must not refuse it.
            sockopt::set_socket_reuseaddr(&socket, true)?;
        }
        rustix::net::bind(&socket, &local)?;
    }
    Ok(socket)
}

/// Connects `socket` to `peer`. A connection that failed shows as closed
/// when it becomes writable, and only then is the socket asked why: one
/// that succeeded costs no `SO_ERROR` call.
async fn establish(socket: OwnedFd, peer: SocketAddr) -> io::Result<TcpStream> {
    match rustix::net::connect(&socket, &peer) {
        Ok(()) | Err(Errno::INPROGRESS) => {}
        Err(errno) => return Err(errno.into()),
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
    let ready = stream.ready(Interest::WRITABLE).await?;
    if ready.is_write_closed() {
        return Err(stream
            .take_error()?
            .unwrap_or_else(|| io::ErrorKind::ConnectionRefused.into()));
    }
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_refused() {
        // A port just closed: nothing listens on it.
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let error = connect("127.0.0.1", port, None).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[tokio::test]
    async fn a_connection_carries_bytes_from_the_bound_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let bind = Bind {
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: 0,
        };
        let (connected, accepted) =
            tokio::join!(connect("127.0.0.1", port, Some(bind)), listener.accept());
        let (connected, (mut accepted, peer)) = (connected.unwrap(), accepted.unwrap());
        assert_eq!(connected.local_addr().unwrap(), peer);
        let mut connected = connected;
        tokio::io::AsyncWriteExt::write_all(&mut connected, b"ferry")
            .await
            .unwrap();
        let mut read = [0; 5];
        tokio::io::AsyncReadExt::read_exact(&mut accepted, &mut read)
            .await
            .unwrap();
        assert_eq!(&read, b"ferry");
    }

    #[tokio::test]
    async fn a_host_with_no_address_of_the_bound_family_is_invalid_input() {
        let bind = Bind {
            ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            port: 0,
        };
        let error = connect("127.0.0.1", 9, Some(bind)).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("no IPv6 address"), "{error}");
    }
}
