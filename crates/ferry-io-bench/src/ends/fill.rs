//! `FillReader`: a cache-resident source that fills whatever buffer it is given.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// The byte every [`FillReader`] writes.
const FILL: u8 = 0xa5;

/// Hands out `limit` bytes, always ready, by writing one byte value over the
/// buffer it is given (a `memset`, like `tokio::io::repeat`).
///
/// Unlike `tokio::io::repeat`, it never spends tokio's cooperative budget, so
/// it does not make the copy yield: what is measured is the copy loop and a
/// buffer that stays in cache (or not).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use ferry_io_bench::ends::{CountingSink, FillReader};
///
/// let mut reader = FillReader::new(100_000);
/// let mut writer = CountingSink::new();
/// assert_eq!(tokio::io::copy(&mut reader, &mut writer).await?, 100_000);
/// assert_eq!(writer.count(), 100_000);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FillReader {
    left: u64,
}

impl FillReader {
    /// A reader that reaches EOF after `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self { left: limit }
    }

    /// Bytes not yet handed out.
    pub fn remaining(&self) -> u64 {
        self.left
    }

    /// Fills as much of `dst` as the limit allows and returns how many bytes.
    fn fill(&mut self, dst: &mut [u8]) -> usize {
        let n = (dst.len() as u64).min(self.left) as usize;
        dst[..n].fill(FILL);
        self.left -= n as u64;
        n
    }
}

impl AsyncRead for FillReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let want = (buf.remaining() as u64).min(self.left) as usize;
        // Only zeroes memory the caller lent uninitialized: tokio's and
        // ferry's engines lend initialized buffers, so this is free there.
        let dst = buf.initialize_unfilled_to(want);
        let n = self.fill(dst);
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl Read for FillReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}
