//! `CountingSink`: a writer that takes everything and only counts it.

use std::hint::black_box;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// Accepts every write whole, always ready, and counts the bytes without
/// looking at them.
///
/// The bytes are handed to [`black_box`], so the compiler cannot prove them
/// unread and drop the work that produced them (with `std::io::copy` from a
/// [`FillReader`](super::FillReader) it otherwise removes the fill).
///
/// Unlike `tokio::io::sink`, it never spends tokio's cooperative budget.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use ferry_io_bench::ends::CountingSink;
///
/// let mut sink = CountingSink::new();
/// sink.write_all(b"twelve bytes").unwrap();
/// assert_eq!(sink.count(), 12);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CountingSink {
    count: u64,
}

impl CountingSink {
    /// A sink that has counted nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn take(&mut self, buf: &[u8]) -> usize {
        self.count += black_box(buf).len() as u64;
        buf.len()
    }
}

impl AsyncWrite for CountingSink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.take(buf)))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.take(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
