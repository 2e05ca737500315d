//! TLS ends: a TCP connection with rustls on it, as a client (`tls:`) or a
//! server (`tls-listen:`).
//!
//! The bytes on the socket are not the bytes of the copy, so a TLS end
//! reports [`FdKind::Other`](ferry_io::zero_copy::FdKind) and the library
//! moves it through memory with the engine: a flush whenever the reader
//! stalls writes out the TLS records a peer waits for, and the half-close
//! of a relay (`shutdown`) sends `close_notify` before the TCP FIN.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ProtocolVersion, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

use super::memory::{memory_sink, memory_source};
use crate::tls::words::{self, Peer};

/// A TCP connection speaking TLS.
#[derive(Debug)]
pub struct Tls {
    stream: TlsStream<TcpStream>,
    /// The `tls:` address connected to, for a refusal that comes after
    /// the handshake; `None` for an accepted client.
    address: Option<String>,
    /// A write, flush or shutdown that failed because the server closed,
    /// held until the alert that may say why can be read.
    unexplained: Option<io::Error>,
}

/// A TLS server's refusal of ferry's client certificate, which TLS 1.3
/// tells only after the handshake, at the first read: bad input, said as
/// [`certificate_refused`] gives it.
#[derive(Debug)]
struct CertificateRefused(String);

impl std::fmt::Display for CertificateRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertificateRefused {}

/// The message, `cannot connect to tls:HOST:PORT: the TLS server refused
/// ...`, when `error` is a TLS server's refusal of ferry's certificate.
pub fn certificate_refused(error: &io::Error) -> Option<String> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<CertificateRefused>())
        .map(|refused| refused.0.clone())
}

/// Shakes hands as a client over `tcp`, verifying the server as `host`
/// (which is also sent as SNI unless it is an IP address).
///
/// # Errors
///
/// A host that is no valid server name, or a failed handshake (an
/// untrusted or expired certificate, a wrong name, an alert from the
/// server), as an `io::Error` whose text says so.
pub async fn connect(
    tcp: TcpStream,
    host: &str,
    config: &Arc<ClientConfig>,
    address: String,
) -> io::Result<Tls> {
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is not a valid TLS server name"),
        )
    })?;
    let stream = TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(|error| handshake_failed(error, Peer::Server))?;
    Ok(Tls::established(stream.into(), Some(address)))
}

/// Shakes hands as a server over an accepted `tcp`.
///
/// # Errors
///
/// A failed handshake (no or an untrusted client certificate when one is
/// required, a client that is not speaking TLS), as an `io::Error`.
pub async fn accept(tcp: TcpStream, acceptor: &TlsAcceptor) -> io::Result<Tls> {
    let stream = acceptor
        .accept(tcp)
        .await
        .map_err(|error| handshake_failed(error, Peer::Client))?;
    Ok(Tls::established(stream.into(), None))
}

/// The acceptor for a server configuration.
pub fn acceptor(config: &Arc<ServerConfig>) -> TlsAcceptor {
    TlsAcceptor::from(config.clone())
}

/// Says which step failed, in words: "TLS handshake failed: the server's
/// certificate is for ..., not for ...".
fn handshake_failed(error: io::Error, peer: Peer) -> io::Error {
    let why = match rustls_error(&error) {
        Some(rustls) => words::handshake(rustls, peer),
        None => crate::messages::describe(&error),
    };
    io::Error::new(error.kind(), format!("TLS handshake failed: {why}"))
}

/// The rustls error inside an I/O error of tokio-rustls.
fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

impl Tls {
    /// Logs what was agreed on (`-vv`), for comparing suites in benchmarks.
    fn established(stream: TlsStream<TcpStream>, address: Option<String>) -> Tls {
        let (_, session) = stream.get_ref();
        let version = match session.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
            Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "none".to_string(),
        };
        let suite = session
            .negotiated_cipher_suite()
            .and_then(|suite| suite.suite().as_str())
            .unwrap_or("none");
        tracing::debug!(version = %version, suite = %suite, "TLS established");
        Tls {
            stream,
            address,
            unexplained: None,
        }
    }
}

impl AsFd for Tls {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.get_ref().0.as_fd()
    }
}

// Through this end's own reads and writes, which tell a refused
// certificate (see `certificate_refused`).
memory_source!(Tls, |this| this);
memory_sink!(Tls, |this| this);

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        let Poll::Ready(Err(error)) = read else {
            return read;
        };
        Poll::Ready(Err(self.refused(&error).unwrap_or(error)))
    }
}

impl Tls {
    /// A server's refusal of ferry's certificate, after the handshake, as
    /// the error [`certificate_refused`] knows; `None` for other errors.
    fn refused(&self, error: &io::Error) -> Option<io::Error> {
        let (Some(address), Some(rustls::Error::AlertReceived(alert))) =
            (&self.address, rustls_error(error))
        else {
            return None;
        };
        let why = words::refusal(*alert)?;
        let message = format!("cannot connect to {address}: {why}");
        Some(io::Error::new(
            io::ErrorKind::PermissionDenied,
            CertificateRefused(message),
        ))
    }

    /// Runs a write, flush or shutdown, and explains its failure: one
    /// because the server refused ferry's certificate and closed leaves
    /// the server's alert in the socket, read it to say so.
    fn write_side<T>(
        &mut self,
        cx: &mut Context<'_>,
        call: impl FnOnce(Pin<&mut TlsStream<TcpStream>>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let error = match self.unexplained.take() {
            Some(error) => error,
            None => match ready!(call(Pin::new(&mut self.stream), cx)) {
                Ok(done) => return Poll::Ready(Ok(done)),
                Err(error) => error,
            },
        };
        if self.address.is_none() {
            return Poll::Ready(Err(error));
        }
        let mut scratch = [0; 512];
        let mut buf = ReadBuf::new(&mut scratch);
        match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
            Poll::Ready(Err(read)) => Poll::Ready(Err(self.refused(&read).unwrap_or(error))),
            // The runtime may not have seen the alert arrive yet. A closed
            // socket is readable at once, so waiting for it cannot hang.
            Poll::Pending if peer_closed(&error) => {
                self.unexplained = Some(error);
                Poll::Pending
            }
            _ => Poll::Ready(Err(error)),
        }
    }
}

/// A write error that says the peer closed the connection.
fn peer_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_side(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_side(cx, |stream, cx| stream.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_side(cx, |stream, cx| stream.poll_shutdown(cx))
    }
}
