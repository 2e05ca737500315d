//! `copy_buf`: the drop-in twin of `tokio::io::copy_buf`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncWrite};

use crate::engine::LentCopy;

/// Future returned by [`copy_buf`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut reader = tokio::io::BufReader::new(&b"abc"[..]);
/// let mut writer = Vec::new();
/// let copy: ferry_io::CopyBuf<'_, _, _> = ferry_io::copy_buf(&mut reader, &mut writer);
/// assert_eq!(copy.await?, 3);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    engine: LentCopy,
}

/// Copies all of a buffered `reader` into `writer` without a buffer of its
/// own, then flushes `writer`.
///
/// This is a drop-in for [`tokio::io::copy_buf`]: it writes straight out of
/// `reader`'s buffer ([`AsyncBufRead::poll_fill_buf`]) and consumes what the
/// writer took. It shares [`copy`](crate::copy)'s guarantees: the writer is
/// flushed whenever the reader stalls and at the end, `Interrupted` is
/// retried, and a poll yields after a bounded amount of work.
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
/// let copied = ferry_io::copy_buf(&mut reader, &mut writer).await?;
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
        engine: LentCopy::default(),
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
        me.engine
            .poll_copy(cx, Pin::new(&mut *me.reader), Pin::new(&mut *me.writer))
    }
}

impl<R: ?Sized, W: ?Sized> fmt::Debug for CopyBuf<'_, R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuf")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
