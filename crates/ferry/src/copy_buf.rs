//! `copy_buf`: the drop-in twin of `tokio::io::copy_buf`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncWrite};

use crate::buffer::Drain;
use crate::coop;

/// Future returned by [`copy_buf`].
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
        let CopyBuf {
            reader,
            writer,
            drain,
        } = self.get_mut();
        let mut writer = Pin::new(&mut **writer);
        loop {
            // `None` is EOF; otherwise how much of the chunk was written.
            let step = coop::poll_fill_buf(cx, Pin::new(&mut **reader), |cx, chunk| {
                (!chunk.is_empty()).then(|| drain.poll_write(cx, writer.as_mut(), chunk))
            });
            match step {
                Poll::Ready(Ok(Some(Poll::Ready(written)))) => {
                    Pin::new(&mut **reader).consume(written?)
                }
                // The writer stalled; the chunk stays in the reader's buffer.
                Poll::Ready(Ok(Some(Poll::Pending))) => return Poll::Pending,
                Poll::Ready(Ok(None)) => {
                    ready!(drain.poll_finish(cx, writer.as_mut()))?;
                    return Poll::Ready(Ok(drain.written));
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    // Flush when the reader stalls: its peer may be waiting
                    // for the bytes we already wrote.
                    ready!(drain.poll_flush_owed(cx, writer.as_mut()))?;
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<R: ?Sized, W: ?Sized> fmt::Debug for CopyBuf<'_, R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuf")
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}
