//! `copy_buf`: the drop-in twin of `tokio::io::copy_buf`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncWrite};

use crate::buffer::Drain;
use crate::coop;
use crate::error::Step;
use crate::gate::{ReadGate, Ungated};

/// Future returned by [`copy_buf`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut reader = tokio::io::BufReader::new(&b"abc"[..]);
/// let mut writer = Vec::new();
/// let copy: ferry::CopyBuf<'_, _, _> = ferry::copy_buf(&mut reader, &mut writer);
/// assert_eq!(copy.await?, 3);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    drain: Drain,
}

/// Copies all of a buffered `reader` into `writer` without a buffer of its
/// own, then flushes `writer`.
///
/// This is a drop-in for [`tokio::io::copy_buf`]: it writes straight out of
/// `reader`'s buffer ([`AsyncBufRead::poll_fill_buf`]) and consumes what the
/// writer took. It shares [`copy`](crate::copy)'s guarantees: the writer is
/// flushed whenever the reader stalls and at the end, `Interrupted` is
/// retried, and every fill and write spends tokio's cooperative budget.
///
/// # Errors
///
/// As for [`copy`](crate::copy): the first error from either end other than
/// `Interrupted`, `WriteZero` when the writer accepts no bytes, and an error
/// of kind `Other` when the writer reports more bytes than it was given.
///
/// # Examples
///
/// ```
/// use tokio::io::BufReader;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut reader = BufReader::with_capacity(64 * 1024, &b"hello"[..]);
/// let mut writer: Vec<u8> = Vec::new();
///
/// let copied = ferry::copy_buf(&mut reader, &mut writer).await?;
///
/// assert_eq!(copied, 5);
/// assert_eq!(writer, b"hello");
/// # Ok(())
/// # }
/// ```
pub fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> CopyBuf<'a, R, W>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    CopyBuf {
        reader,
        writer,
        drain: Drain::default(),
    }
}

impl<R, W> Future for CopyBuf<'_, R, W>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        poll_copy_buf_gated(
            cx,
            Pin::new(&mut *me.reader),
            Pin::new(&mut *me.writer),
            &mut me.drain,
            &mut Ungated,
        )
        .map_err(|(_, err)| err)
    }
}

/// The loop behind [`copy_buf`]: writes straight out of `reader`'s buffer, as
/// much of each chunk as `gate` allows, and says which step failed.
pub(crate) fn poll_copy_buf_gated<R, W, G>(
    cx: &mut Context<'_>,
    mut reader: Pin<&mut R>,
    mut writer: Pin<&mut W>,
    drain: &mut Drain,
    gate: &mut G,
) -> Poll<Result<u64, (Step, io::Error)>>
where
    R: AsyncBufRead + ?Sized,
    W: AsyncWrite + ?Sized,
    G: ReadGate,
{
    loop {
        // The gate is asked only once the reader has a chunk: check for a
        // stop first, or a reader with nothing to give would hold it up.
        if gate.is_stopped() {
            ready!(drain.poll_finish(cx, writer.as_mut())).map_err(|err| (Step::Flush, err))?;
            return Poll::Ready(Ok(drain.written));
        }
        let step = coop::poll_fill_buf(cx, reader.as_mut(), |cx, chunk| {
            if chunk.is_empty() {
                return Chunk::Eof;
            }
            let allowed = match gate.poll_allowance(cx, chunk.len()) {
                Poll::Ready(0) => return Chunk::Eof,
                Poll::Ready(allowed) => allowed,
                Poll::Pending => return Chunk::Gated,
            };
            let written = drain.poll_write(cx, writer.as_mut(), &chunk[..allowed]);
            gate.consume(match written {
                Poll::Ready(Ok(n)) => n,
                _ => 0,
            });
            Chunk::Written(written)
        });
        match step.map_err(|err| (Step::Read, err)) {
            Poll::Ready(Ok(Chunk::Written(Poll::Ready(written)))) => reader
                .as_mut()
                .consume(written.map_err(|err| (Step::Write, err))?),
            // The writer stalled; the chunk stays in the reader's buffer.
            Poll::Ready(Ok(Chunk::Written(Poll::Pending))) => return Poll::Pending,
            Poll::Ready(Ok(Chunk::Eof)) => {
                ready!(drain.poll_finish(cx, writer.as_mut())).map_err(|err| (Step::Flush, err))?;
                return Poll::Ready(Ok(drain.written));
            }
            Poll::Ready(Err(failed)) => return Poll::Ready(Err(failed)),
            // Flush when the reader (or its gate) stalls: the reader's peer
            // may be waiting for the bytes we already wrote.
            Poll::Ready(Ok(Chunk::Gated)) | Poll::Pending => {
                ready!(drain.poll_flush_owed(cx, writer.as_mut()))
                    .map_err(|err| (Step::Flush, err))?;
                return Poll::Pending;
            }
        }
    }
}

/// What became of one chunk of the reader's buffer.
enum Chunk {
    Eof,
    /// The gate holds the copy back for now.
    Gated,
    Written(Poll<io::Result<usize>>),
}

impl<R: ?Sized, W: ?Sized> fmt::Debug for CopyBuf<'_, R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuf")
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}
