//! `file-tcp`: a file in the page cache into a loopback TCP connection.

use std::io::{self, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::expect_amount;
use super::owned::blocking;
use super::peer::{tcp_pair, CHUNK};
use super::source_file::{SourceFile, StreamHash};
use crate::{Implementation, Measurement};

/// Sends `source` over loopback TCP with `imp` (`tokio::fs::File` on the
/// runtime, or `std::fs::File` into the socket turned blocking for `std`),
/// then half-closes; a peer task reads to EOF. Timed from the first byte
/// until the peer has them all; checks the counts.
pub(super) async fn run(imp: Implementation, source: Arc<SourceFile>) -> io::Result<Measurement> {
    send(imp, &source, false)
        .await
        .map(|(measurement, _)| measurement)
}

/// As [`run`], with the peer hashing what it receives (too slow to time):
/// fails unless the bytes that arrived are the file's.
pub(super) async fn check(imp: Implementation, source: Arc<SourceFile>) -> io::Result<()> {
    let (_, hash) = send(imp, &source, true).await?;
    expect_amount(
        "hash of the bytes received",
        source.hash(),
        hash.unwrap_or(0),
    )
}

async fn send(
    imp: Implementation,
    source: &SourceFile,
    hashing: bool,
) -> io::Result<(Measurement, Option<u64>)> {
    let (mut tx, rx) = tcp_pair().await?;
    let (n, received, elapsed) = if imp.is_blocking() {
        let mut from = std::fs::File::open(source.path())?;
        let tx = tx.into_std()?;
        tx.set_nonblocking(false)?;
        let started = Instant::now();
        let peer = tokio::spawn(receive(rx, hashing));
        let sent = blocking(move || {
            let mut tx = tx;
            let n = io::copy(&mut from, &mut tx)?;
            tx.flush()?;
            tx.shutdown(Shutdown::Write)?;
            Ok(n)
        })
        .await;
        let received = peer.await.map_err(io::Error::other)?;
        (sent?, received?, started.elapsed())
    } else {
        let mut from = tokio::fs::File::open(source.path()).await?;
        let started = Instant::now();
        let peer = tokio::spawn(receive(rx, hashing));
        let sent = async {
            let n = imp.copy_fds(&mut from, &mut tx).await?;
            tx.shutdown().await?;
            Ok::<_, io::Error>(n)
        }
        .await;
        // Closing our end lets the peer finish if the copy failed.
        drop(tx);
        let received = peer.await.map_err(io::Error::other)?;
        (sent?, received?, started.elapsed())
    };
    let amount = source.len();
    expect_amount("bytes the copy reported", amount, n)?;
    expect_amount("bytes the peer received", amount, received.0)?;
    let measurement = Measurement {
        amount,
        elapsed,
        latency: None,
    };
    Ok((measurement, received.1))
}

/// Reads `socket` to EOF in [`CHUNK`]s; returns the count and, when
/// `hashing`, the [`StreamHash`] of the bytes.
async fn receive(mut socket: TcpStream, hashing: bool) -> io::Result<(u64, Option<u64>)> {
    let mut chunk = vec![0u8; CHUNK];
    let mut hash = hashing.then(StreamHash::new);
    let mut total = 0;
    loop {
        match socket.read(&mut chunk).await? {
            0 => return Ok((total, hash.map(|h| h.finish()))),
            n => {
                if let Some(hash) = &mut hash {
                    hash.update(&chunk[..n]);
                }
                total += n as u64;
            }
        }
    }
}
