//! The PROXY protocol (HAProxy's, versions 1 and 2), on the `ppp` crate:
//! reading the header a load balancer puts before a client's bytes
//! (`--accept-proxy`), and writing one before the bytes ferry relays to an
//! upstream (`--send-proxy`).
//!
//! A header is read without reading past it: the socket is peeked, and only
//! the header's own bytes are taken off it, so the client's first bytes stay
//! in the socket for the relay (and for the kernel's zero-copy routes)
//! instead of in a buffer of ours.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use ppp::v1;
use ppp::v2;
use ppp::PartialResult;
use tokio::io::{AsyncRead, AsyncReadExt, Interest};
use tokio::net::{TcpStream, UnixStream};

use crate::flags::{AcceptProxy, SendProxy};
use crate::messages::describe;

/// The longest header ferry waits for: a v2 header with the TLVs a load
/// balancer adds (SSL details, unique ids) fits many times over; a header
/// longer than this is refused rather than buffered.
const MOST: usize = 4096;

/// The client and the address it connected to, as a header told them.
pub type Addresses = (SocketAddr, SocketAddr);

/// A socket that can show its next bytes without taking them.
pub trait Peek: AsyncRead + Unpin {
    /// Waits until bytes are there and copies them into `buf`, leaving them
    /// in the socket; 0 at end of stream.
    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a;
}

impl Peek for TcpStream {
    fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        TcpStream::peek(self, buf)
    }
}

impl Peek for UnixStream {
    async fn peek<'a>(&'a self, buf: &'a mut [u8]) -> io::Result<usize> {
        loop {
            self.readable().await?;
            let peeked = self.try_io(Interest::READABLE, || {
                rustix::net::recv(self.as_fd(), &mut *buf, rustix::net::RecvFlags::PEEK)
                    .map(|(read, _)| read)
                    .map_err(io::Error::from)
            });
            match peeked {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                peeked => return peeked,
            }
        }
    }
}

/// Reads the PROXY header `accept` asks for at the start of `socket`, for
/// at most `timeout`, and takes exactly its bytes off the socket.
///
/// Returns the client's addresses, or `None` for a header that has none
/// to give (v2 `LOCAL`, v1 `UNKNOWN`, Unix addresses): the connection's
/// own addresses stand then.
///
/// # Errors
///
/// Why the connection gets no relay: no header in time, a header that is
/// not one (or not of the version asked for), the client leaving first.
pub async fn receive<S: Peek>(
    socket: &mut S,
    accept: AcceptProxy,
    timeout: Duration,
) -> Result<Option<Addresses>, String> {
    match tokio::time::timeout(timeout, read_header(socket, accept)).await {
        Ok(header) => header,
        Err(_) => Err(format!(
            "no complete PROXY header within {}",
            humantime::format_duration(timeout)
        )),
    }
}

async fn read_header<S: Peek>(
    socket: &mut S,
    accept: AcceptProxy,
) -> Result<Option<Addresses>, String> {
    // What was taken off the socket so far: all of it header.
    let mut taken = Vec::new();
    let mut peeked = vec![0; MOST];
    loop {
        let room = MOST - taken.len();
        let read = socket
            .peek(&mut peeked[..room])
            .await
            .map_err(|error| format!("cannot read the PROXY header: {}", describe(&error)))?;
        if read == 0 {
            return Err("the client closed before its PROXY header was complete".to_string());
        }
        let mut input = taken.clone();
        input.extend_from_slice(&peeked[..read]);
        match parse(&input, accept) {
            Parsed::Complete(length, addresses) => {
                let mut rest = vec![0; length - taken.len()];
                socket.read_exact(&mut rest).await.map_err(|error| {
                    format!("cannot read the PROXY header: {}", describe(&error))
                })?;
                return Ok(addresses);
            }
            Parsed::Incomplete if input.len() >= MOST => {
                return Err(format!("bad PROXY header: longer than {MOST} bytes"))
            }
            // Everything peeked is header: take it, so the next peek waits
            // for more instead of seeing the same bytes again.
            Parsed::Incomplete => {
                let mut more = vec![0; read];
                socket.read_exact(&mut more).await.map_err(|error| {
                    format!("cannot read the PROXY header: {}", describe(&error))
                })?;
                taken.extend_from_slice(&more);
            }
            Parsed::Invalid(why) => return Err(format!("bad PROXY header: {why}")),
        }
    }
}

/// What the bytes at hand make of a header.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A header of this many bytes, with the client's addresses if it gives any.
    Complete(usize, Option<Addresses>),
    /// A header's beginning: more bytes are needed.
    Incomplete,
    /// Not a header of the version accepted, whatever follows.
    Invalid(String),
}

fn parse(input: &[u8], accept: AcceptProxy) -> Parsed {
    // ppp reads a v1 line cut after a space as a bad port: parse only a
    // whole line (at most 107 bytes, the protocol's limit).
    let v1_line = input.contains(&b'\n') || input.len() >= V1_MOST;
    // A line that ended will never become a header: what ppp calls
    // missing (a port, an address) is then missing for good.
    let line_ended = input[..input.len().min(V1_MOST)]
        .windows(2)
        .any(|pair| pair == b"\r\n");
    let v1 = || match v1::Header::try_from(input) {
        _ if !v1_line && v1_prefix(input) => Parsed::Incomplete,
        Ok(header) => Parsed::Complete(header.header.len(), from_v1(header.addresses)),
        Err(error) if error.is_incomplete() && !line_ended => Parsed::Incomplete,
        Err(error) => Parsed::Invalid(format!("not a v1 header: {}", words(&error))),
    };
    let v2 = || match v2::Header::try_from(input) {
        Ok(header) => Parsed::Complete(header.len(), from_v2(&header)),
        Err(error) if error.is_incomplete() => Parsed::Incomplete,
        // ppp's text for this one holds the signature as escapes.
        Err(v2::ParseError::Prefix) => {
            Parsed::Invalid("not a v2 header: it does not start with the v2 signature".to_string())
        }
        Err(error) => Parsed::Invalid(format!("not a v2 header: {}", words(&error))),
    };
    match accept {
        AcceptProxy::V1 => v1(),
        AcceptProxy::V2 => v2(),
        // The two signatures differ from their first byte.
        AcceptProxy::Any if input.first() == Some(&b'P') => v1(),
        AcceptProxy::Any if input.first() == Some(&b'\r') => v2(),
        AcceptProxy::Any if input.is_empty() => Parsed::Incomplete,
        AcceptProxy::Any => Parsed::Invalid("neither a v1 nor a v2 header".to_string()),
    }
}

/// ppp's sentence for a refused header, as a clause of ferry's: `Header
/// missing source port.` → `header missing source port`.
fn words(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The longest v1 header, CRLF included.
const V1_MOST: usize = 107;

/// Whether `input` may begin a v1 header: `PROXY ` or the start of it.
fn v1_prefix(input: &[u8]) -> bool {
    const PREFIX: &[u8] = b"PROXY ";
    let common = input.len().min(PREFIX.len());
    input[..common] == PREFIX[..common]
}

fn from_v1(addresses: v1::Addresses) -> Option<Addresses> {
    match addresses {
        v1::Addresses::Tcp4(ip) => Some((
            SocketAddr::new(ip.source_address.into(), ip.source_port),
            SocketAddr::new(ip.destination_address.into(), ip.destination_port),
        )),
        v1::Addresses::Tcp6(ip) => Some((
            SocketAddr::new(ip.source_address.into(), ip.source_port),
            SocketAddr::new(ip.destination_address.into(), ip.destination_port),
        )),
        v1::Addresses::Unknown => None,
    }
}

fn from_v2(header: &v2::Header<'_>) -> Option<Addresses> {
    if header.command == v2::Command::Local {
        return None;
    }
    match header.addresses {
        v2::Addresses::IPv4(ip) => Some((
            SocketAddr::new(ip.source_address.into(), ip.source_port),
            SocketAddr::new(ip.destination_address.into(), ip.destination_port),
        )),
        v2::Addresses::IPv6(ip) => Some((
            SocketAddr::new(ip.source_address.into(), ip.source_port),
            SocketAddr::new(ip.destination_address.into(), ip.destination_port),
        )),
        v2::Addresses::Unspecified | v2::Addresses::Unix(_) => None,
    }
}

/// The header `version` writes for a client at `addresses` (client, and
/// the address it connected to); without addresses (a Unix-socket client)
/// the form that says so: v2 `LOCAL`, v1 `UNKNOWN`.
pub fn header(version: SendProxy, addresses: Option<Addresses>) -> Vec<u8> {
    let addresses = addresses.map(same_family);
    match version {
        SendProxy::V1 => match addresses {
            Some(addresses) => v1::Addresses::from(addresses).to_string(),
            None => v1::Addresses::Unknown.to_string(),
        }
        .into_bytes(),
        SendProxy::V2 => {
            let builder = match addresses {
                Some(addresses) => v2::Builder::with_addresses(
                    v2::Version::Two | v2::Command::Proxy,
                    v2::Protocol::Stream,
                    addresses,
                ),
                None => v2::Builder::with_addresses(
                    v2::Version::Two | v2::Command::Local,
                    v2::Protocol::Unspecified,
                    v2::Addresses::Unspecified,
                ),
            };
            // Addresses alone are far below the 64 KiB a header may hold.
            builder.build().unwrap_or_default()
        }
    }
}

/// Both addresses in one family, as a header carries them: IPv4 where both
/// are (a dual-stack listener shows IPv4 clients as `::ffff:a.b.c.d`),
/// IPv6 otherwise.
fn same_family((client, local): Addresses) -> Addresses {
    let canonical =
        |address: SocketAddr| SocketAddr::new(address.ip().to_canonical(), address.port());
    let (client, local) = (canonical(client), canonical(local));
    let v6 = |address: SocketAddr| match address.ip() {
        IpAddr::V4(ip) => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), address.port()),
        IpAddr::V6(_) => address,
    };
    if client.is_ipv4() == local.is_ipv4() {
        (client, local)
    } else {
        (v6(client), v6(local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(client: &str, local: &str) -> Addresses {
        (client.parse().unwrap(), local.parse().unwrap())
    }

    #[test]
    fn headers_written_are_read_back_whole_and_exactly() {
        for (client, local) in [
            ("192.0.2.7:40000", "127.0.0.1:8080"),
            ("[2001:db8::7]:40000", "[::1]:8080"),
        ] {
            let sent = addresses(client, local);
            for (version, accept) in [
                (SendProxy::V1, AcceptProxy::V1),
                (SendProxy::V2, AcceptProxy::V2),
                (SendProxy::V1, AcceptProxy::Any),
                (SendProxy::V2, AcceptProxy::Any),
            ] {
                let mut bytes = header(version, Some(sent));
                let length = bytes.len();
                // The client's first bytes follow at once.
                bytes.extend_from_slice(b"\x16\x03\x01GET / HTTP/1.1\r\n");
                assert_eq!(
                    parse(&bytes, accept),
                    Parsed::Complete(length, Some(sent)),
                    "{version:?} read as {accept:?}"
                );
                for cut in 0..length {
                    assert_eq!(parse(&bytes[..cut], accept), Parsed::Incomplete, "{cut}");
                }
            }
        }
    }

    #[test]
    fn a_client_without_addresses_gets_the_local_form() {
        assert_eq!(header(SendProxy::V1, None), b"PROXY UNKNOWN\r\n");
        let local = header(SendProxy::V2, None);
        assert_eq!(parse(&local, AcceptProxy::V2), Parsed::Complete(16, None));
    }

    #[test]
    fn mixed_families_are_written_as_ipv6_and_mapped_ones_as_ipv4() {
        let mapped = addresses("[::ffff:192.0.2.7]:1", "[::ffff:127.0.0.1]:2");
        assert_eq!(
            header(SendProxy::V1, Some(mapped)),
            b"PROXY TCP4 192.0.2.7 127.0.0.1 1 2\r\n"
        );
        let mixed = addresses("192.0.2.7:1", "[::1]:2");
        assert_eq!(
            header(SendProxy::V1, Some(mixed)),
            b"PROXY TCP6 ::ffff:192.0.2.7 ::1 1 2\r\n"
        );
    }

    #[test]
    fn a_complete_v1_line_is_judged_at_once() {
        // Ports missing, CRLF present: that line will never become a
        // header, with or without the client's bytes after it.
        for accept in [AcceptProxy::V1, AcceptProxy::Any] {
            for bytes in [
                &b"PROXY TCP4 203.0.113.7 127.0.0.1\r\n"[..],
                b"PROXY TCP4 203.0.113.7 127.0.0.1\r\nGET / HTTP/1.1\r\n\r\n",
                b"PROXY TCP4\r\n",
                b"PROXY\r\n",
            ] {
                assert!(
                    matches!(parse(bytes, accept), Parsed::Invalid(_)),
                    "{bytes:?} as {accept:?}: {:?}",
                    parse(bytes, accept)
                );
            }
        }
    }

    #[test]
    fn refusals_are_plain_words() {
        for (bytes, accept) in [
            (&b"GET / HTTP/1.1\r\n\r\n"[..], AcceptProxy::V2),
            (b"GET / HTTP/1.1\r\n\r\n", AcceptProxy::V1),
            (b"PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n", AcceptProxy::V1),
        ] {
            let Parsed::Invalid(why) = parse(bytes, accept) else {
                panic!("{bytes:?} was not refused");
            };
            assert!(
                !why.contains('\\') && !why.contains("b\"") && !why.ends_with('.'),
                "{why}"
            );
        }
        let Parsed::Invalid(why) = parse(b"GET / HTTP/1.1\r\n\r\n", AcceptProxy::V2) else {
            panic!("not refused");
        };
        assert_eq!(
            why,
            "not a v2 header: it does not start with the v2 signature"
        );
    }

    #[test]
    fn anything_else_is_refused_at_once() {
        for (bytes, accept) in [
            (&b"GET / HTTP/1.1\r\n"[..], AcceptProxy::Any),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", AcceptProxy::V2),
            (b"PROXY TCP9 x\r\n", AcceptProxy::V1),
            (b"\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c", AcceptProxy::V1),
        ] {
            assert!(
                matches!(parse(bytes, accept), Parsed::Invalid(_)),
                "{bytes:?} as {accept:?}"
            );
        }
    }
}
