//! The HTTP-shaped connections of `serve-http`: what a load generator such
//! as `wrk -H 'Connection: close'` makes of each connection, and what the
//! backend answers.

use std::io;
use std::net::SocketAddr;
use std::sync::LazyLock;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::backend::Backend;
use super::clients::connect_side_by_side;
use crate::workload::absorb;
use crate::Measurement;

/// The request each connection sends: a GET of 94 bytes, as curl or wrk
/// would send it, asking the server to close the connection after its answer.
pub const HTTP_REQUEST: &[u8] = b"GET /1k HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ferry-bench\r\nAccept: */*\r\nConnection: close\r\n\r\n";

/// The bytes of the response's body.
pub const HTTP_BODY: usize = 1024;

/// How many clients make connections at once, each one after another (as
/// issue 25 measured with wrk).
pub const HTTP_CLIENTS: usize = 16;

/// The longest request head the backend reads before it gives up.
const MAX_HEAD: usize = 8 * 1024;

/// The backend's answer: a 200 with a [`HTTP_BODY`]-byte body, then close.
pub fn http_response() -> &'static [u8] {
    static RESPONSE: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {HTTP_BODY}\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        response.extend((0..HTTP_BODY).map(|i| b'a' + (i % 26) as u8));
        response
    });
    &RESPONSE
}

/// Makes `connections` connections to `addr`, [`HTTP_CLIENTS`] at a time,
/// each sending [`HTTP_REQUEST`] and reading the response to the end, which
/// must be exactly [`http_response`]; each timed from connect to close. The
/// backend must have received exactly one request on each.
pub(super) async fn run(
    addr: SocketAddr,
    backend: &mut Backend,
    connections: u64,
) -> io::Result<Measurement> {
    let each = HTTP_REQUEST.len() as u64;
    connect_side_by_side(
        addr,
        backend,
        connections,
        HTTP_CLIENTS,
        each,
        |addr, _, _| fetch(addr),
    )
    .await
}

/// One connection: the request, the whole response, close.
async fn fetch(addr: SocketAddr) -> io::Result<()> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    socket.write_all(HTTP_REQUEST).await?;
    let expected = http_response();
    let mut response = Vec::with_capacity(expected.len());
    socket.read_to_end(&mut response).await?;
    if response != expected {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "got a different response ({} bytes, expected {})",
                response.len(),
                expected.len()
            ),
        ));
    }
    Ok(())
}

/// The backend's side: reads a request head up to its blank line, answers
/// with [`http_response`], closes its side (`Connection: close`), then
/// reads to the client's close. Returns the bytes received.
pub(super) async fn respond(mut socket: TcpStream) -> io::Result<u64> {
    socket.set_nodelay(true)?;
    let mut head = Vec::with_capacity(HTTP_REQUEST.len());
    let mut chunk = [0u8; 512];
    while !head.ends_with(b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the client closed after {} bytes of a request", head.len()),
            ));
        }
        head.extend_from_slice(&chunk[..n]);
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no end of the request head within {MAX_HEAD} bytes"),
            ));
        }
    }
    socket.write_all(http_response()).await?;
    socket.shutdown().await?;
    let after = absorb(&mut socket).await?;
    Ok(head.len() as u64 + after)
}
