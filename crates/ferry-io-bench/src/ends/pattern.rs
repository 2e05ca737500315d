//! `PatternReader`: a source that copies from a 1 MiB in-memory cyclic pattern.

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// The pattern's length: 1 MiB, small enough to stay in L2 on most machines.
pub const PATTERN_LEN: usize = 1 << 20;

/// A [`ReadingSink`](super::ReadingSink) reads one byte in every `SAMPLE_STRIDE`.
pub const SAMPLE_STRIDE: usize = 64;

/// The bytes a [`PatternReader`] cycles through: [`PATTERN_LEN`] bytes that
/// are not one repeated value, so a copy that drops or reorders a chunk
/// changes [`sampled_sum`].
pub fn pattern() -> Arc<[u8]> {
    (0..PATTERN_LEN)
        .map(|i| (i ^ (i >> 7) ^ (i >> 13)) as u8)
        .collect()
}

/// The sum a [`ReadingSink`](super::ReadingSink) reports after reading the
/// first `len` bytes of `pattern` repeated: the bytes at stream offsets that
/// are multiples of [`SAMPLE_STRIDE`].
///
/// # Panics
///
/// Panics if the pattern's length is not a multiple of [`SAMPLE_STRIDE`].
pub fn sampled_sum(pattern: &[u8], len: u64) -> u64 {
    assert_eq!(pattern.len() % SAMPLE_STRIDE, 0, "pattern length");
    let sum = |bytes: &[u8]| -> u64 {
        bytes
            .iter()
            .step_by(SAMPLE_STRIDE)
            .map(|&b| u64::from(b))
            .sum()
    };
    let whole = len / pattern.len() as u64;
    let tail = (len % pattern.len() as u64) as usize;
    whole
        .wrapping_mul(sum(pattern))
        .wrapping_add(sum(&pattern[..tail]))
}

/// Hands out `limit` bytes of a cyclic pattern, always ready: every read is a
/// real `memcpy` from an L2-resident source into the buffer it is given,
/// filled whole unless the limit is reached.
///
/// It never spends tokio's cooperative budget.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use ferry_io_bench::ends::{pattern, sampled_sum, PatternReader, ReadingSink};
///
/// let source = pattern();
/// let mut reader = PatternReader::new(source.clone(), 3_000_000);
/// let mut writer = ReadingSink::new();
/// assert_eq!(tokio::io::copy(&mut reader, &mut writer).await?, 3_000_000);
/// assert_eq!(writer.sum(), sampled_sum(&source, 3_000_000));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PatternReader {
    pattern: Arc<[u8]>,
    pos: usize,
    left: u64,
}

impl PatternReader {
    /// A reader of `limit` bytes of `pattern`, repeated from its start.
    ///
    /// # Panics
    ///
    /// Panics if `pattern` is empty.
    pub fn new(pattern: Arc<[u8]>, limit: u64) -> Self {
        assert!(!pattern.is_empty(), "an empty pattern never ends");
        Self {
            pattern,
            pos: 0,
            left: limit,
        }
    }

    /// Bytes not yet handed out.
    pub fn remaining(&self) -> u64 {
        self.left
    }

    /// The next piece of the pattern, at most `room` bytes and never past the limit.
    fn next_chunk(&self, room: usize) -> &[u8] {
        let n = (self.pattern.len() - self.pos)
            .min(room)
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        &self.pattern[self.pos..self.pos + n]
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n) % self.pattern.len();
        self.left -= n as u64;
    }
}

impl AsyncRead for PatternReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let chunk = self.next_chunk(buf.remaining());
            if chunk.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let n = chunk.len();
            buf.put_slice(chunk);
            self.consume(n);
        }
    }
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        loop {
            let chunk = self.next_chunk(buf.len() - done);
            if chunk.is_empty() {
                return Ok(done);
            }
            let n = chunk.len();
            buf[done..done + n].copy_from_slice(chunk);
            done += n;
            self.consume(n);
        }
    }
}
