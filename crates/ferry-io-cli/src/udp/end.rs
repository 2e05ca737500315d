//! The ends of a datagram relay: a UDP socket talking to one peer, and the
//! standard streams, where stdin's lines become datagrams.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Stdin, Stdout};
use tokio::net::UdpSocket;

/// The largest datagram over IPv4: 65535 bytes of IP packet less the IPv4
/// and UDP headers. A line of stdin longer than this is sent as several
/// datagrams.
pub const MAX_DATAGRAM: usize = 65_507;

/// Room for any datagram that is not an IPv6 jumbogram, so none is cut.
pub const RECEIVE_SIZE: usize = 1 << 16;

/// Where datagrams come from.
#[derive(Debug)]
pub enum Inbound {
    /// A socket connected to its one peer.
    Socket(Arc<UdpSocket>),
    /// stdin, one datagram per line (the newline kept).
    Lines(BufReader<Stdin>),
}

/// Where datagrams go.
#[derive(Debug)]
pub enum Outbound {
    /// A socket connected to its one peer.
    Socket(Arc<UdpSocket>),
    /// stdout, each datagram written as it came.
    Stdout(Stdout),
}

impl Inbound {
    /// Receives the next datagram into `datagram` (replacing what it held);
    /// `false` at the end of stdin. A socket never ends; a peer that is not
    /// listening (an ICMP "port unreachable" for an earlier send) is logged
    /// and the socket read again.
    ///
    /// # Errors
    ///
    /// What the socket or stdin answered.
    pub async fn recv(&mut self, datagram: &mut Vec<u8>) -> io::Result<bool> {
        datagram.clear();
        match self {
            Inbound::Socket(socket) => loop {
                datagram.resize(RECEIVE_SIZE, 0);
                match socket.recv(datagram).await {
                    Ok(length) => {
                        datagram.truncate(length);
                        return Ok(true);
                    }
                    Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                        tracing::debug!("UDP peer refused a datagram (nothing listening)");
                    }
                    Err(error) => return Err(error),
                }
            },
            Inbound::Lines(stdin) => {
                let mut line = stdin.take(MAX_DATAGRAM as u64);
                Ok(line.read_until(b'\n', datagram).await? > 0)
            }
        }
    }
}

impl Outbound {
    /// Sends one datagram whole (to stdout: writes it and flushes).
    ///
    /// # Errors
    ///
    /// What the socket or stdout answered.
    pub async fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        match self {
            Outbound::Socket(socket) => match socket.send(datagram).await {
                Ok(_) => Ok(()),
                // The peer's "port unreachable" for an earlier datagram
                // comes back on the next call: that datagram is lost, this
                // one is sent again.
                Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                    socket.send(datagram).await.map(drop)
                }
                Err(error) => Err(error),
            },
            Outbound::Stdout(stdout) => {
                stdout.write_all(datagram).await?;
                stdout.flush().await
            }
        }
    }
}

/// A socket connected to `host:port`, bound to an ephemeral port of the
/// peer's family.
///
/// # Errors
///
/// What resolving, binding or connecting answered.
pub async fn connect(host: &str, port: u16) -> io::Result<UdpSocket> {
    let peer = tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let socket = UdpSocket::bind(unspecified(peer)).await?;
    socket.connect(peer).await?;
    Ok(socket)
}

/// Any local address of `peer`'s family, any port.
pub fn unspecified(peer: SocketAddr) -> SocketAddr {
    let ip = match peer {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}
