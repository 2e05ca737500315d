//! The peers around the copy under test: a load generator, a receiver, and
//! loopback connections.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::ends::pattern;

/// The peers' chunk: the load generator writes and the final receiver reads
/// 256 KiB at a time, whatever the implementation in the middle uses.
pub const CHUNK: usize = 256 * 1024;

/// Writes `amount` bytes of the pattern in [`CHUNK`]s, then shuts `writer` down.
pub(crate) async fn generate<W: AsyncWrite + Unpin>(mut writer: W, amount: u64) -> io::Result<()> {
    let source = pattern();
    let chunk = &source[..CHUNK];
    let mut left = amount;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        writer.write_all(&chunk[..n]).await?;
        left -= n as u64;
    }
    writer.shutdown().await
}

/// Reads `reader` to EOF in [`CHUNK`]s and returns the byte count.
pub(crate) async fn absorb<R: AsyncRead + Unpin>(mut reader: R) -> io::Result<u64> {
    let mut chunk = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        match reader.read(&mut chunk).await? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

/// A connected loopback TCP pair `(connecting side, accepted side)` on 127.0.0.1.
pub(super) async fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (connected, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    Ok((connected?, accepted?.0))
}
