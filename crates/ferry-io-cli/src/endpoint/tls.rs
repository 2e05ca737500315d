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
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

use super::memory::{memory_sink, memory_source};

/// A TCP connection speaking TLS.
#[derive(Debug)]
pub struct Tls(TlsStream<TcpStream>);

/// Shakes hands as a client over `tcp`, verifying the server as `host`
/// (which is also sent as SNI unless it is an IP address).
///
/// # Errors
///
/// A host that is no valid server name, or a failed handshake (an
/// untrusted or expired certificate, a wrong name, an alert from the
/// server), as an `io::Error` whose text says so.
pub async fn connect(tcp: TcpStream, host: &str, config: &Arc<ClientConfig>) -> io::Result<Tls> {
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is not a valid TLS server name"),
        )
    })?;
    let stream = TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(handshake_failed)?;
    Ok(Tls::established(stream.into()))
}

/// Shakes hands as a server over an accepted `tcp`.
///
/// # Errors
///
/// A failed handshake (no or an untrusted client certificate when one is
/// required, a client that is not speaking TLS), as an `io::Error`.
pub async fn accept(tcp: TcpStream, acceptor: &TlsAcceptor) -> io::Result<Tls> {
    let stream = acceptor.accept(tcp).await.map_err(handshake_failed)?;
    Ok(Tls::established(stream.into()))
}

/// The acceptor for a server configuration.
pub fn acceptor(config: &Arc<ServerConfig>) -> TlsAcceptor {
    TlsAcceptor::from(config.clone())
}

/// Says which step failed: "TLS handshake failed: invalid peer certificate: ...".
fn handshake_failed(error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("TLS handshake failed: {error}"))
}

impl Tls {
    /// Logs what was agreed on (`-vv`), for comparing suites in benchmarks.
    fn established(stream: TlsStream<TcpStream>) -> Tls {
        let (_, session) = stream.get_ref();
        tracing::debug!(
            version = ?session.protocol_version(),
            suite = ?session.negotiated_cipher_suite().map(|suite| suite.suite()),
            "TLS established"
        );
        Tls(stream)
    }
}

impl AsFd for Tls {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.get_ref().0.as_fd()
    }
}

memory_source!(Tls, |this| &mut this.0);
memory_sink!(Tls, |this| &mut this.0);

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
