//! `ReadingSink`: a writer that reads what it is given, cheaply.

use std::hint::black_box;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use super::pattern::SAMPLE_STRIDE;

/// Accepts every write whole, always ready, and sums the bytes at stream
/// offsets that are multiples of [`SAMPLE_STRIDE`] (one per cache line), so
/// the written bytes are really loaded but the sink costs little.
///
/// The sum depends only on the stream, not on how it was cut into writes;
/// compare it with [`sampled_sum`](super::sampled_sum). It never spends
/// tokio's cooperative budget.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use ferry_io_bench::ends::ReadingSink;
///
/// let mut sink = ReadingSink::new();
/// sink.write_all(&[1; 100]).unwrap();
/// sink.write_all(&[2; 100]).unwrap();
/// assert_eq!((sink.count(), sink.sum()), (200, 1 + 1 + 2 + 2));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ReadingSink {
    count: u64,
    sum: u64,
}

impl ReadingSink {
    /// A sink that has read nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the bytes seen at offsets that are multiples of [`SAMPLE_STRIDE`].
    pub fn sum(&self) -> u64 {
        self.sum
    }

    fn take(&mut self, buf: &[u8]) -> usize {
        let first = (SAMPLE_STRIDE - (self.count % SAMPLE_STRIDE as u64) as usize) % SAMPLE_STRIDE;
        let seen: u64 = buf
            .iter()
            .skip(first)
            .step_by(SAMPLE_STRIDE)
            .map(|&b| u64::from(b))
            .sum();
        self.sum = self.sum.wrapping_add(black_box(seen));
        self.count += buf.len() as u64;
        buf.len()
    }
}

impl AsyncWrite for ReadingSink {
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

impl Write for ReadingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.take(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
