//! `copy`: the drop-in twin of `tokio::io::copy`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::CopyBuffer;

/// Future returned by [`copy`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut reader: &[u8] = b"abc";
/// let mut writer = Vec::new();
/// let copy: ferry_io::Copy<'_, _, _> = ferry_io::copy(&mut reader, &mut writer);
/// assert_eq!(copy.await?, 3);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Copy<'a, R: ?Sized, W: ?Sized> {
    reader: &'a mut R,
    writer: &'a mut W,
    engine: CopyBuffer,
}

/// Copies all of `reader` into `writer`, then flushes `writer`.
///
/// This is a drop-in for [`tokio::io::copy`] with the same signature and
/// result: the number of bytes copied. Its buffer starts at 8 KiB like
/// tokio's, is allocated on the first read, and grows to 1 MiB only where
/// that saves system calls (see [`CopyBuffer::new`]). It reads ahead while
/// the writer is busy, flushes the writer whenever the reader stalls, and
/// yields after a bounded amount of work, so a copy between two always-ready
/// ends cannot starve the other tasks on its thread. See [`CopyBuffer`] for
/// the exact loop.
///
/// Dropping the future before it completes drops the bytes it had read but
/// not yet written; drive a [`CopyBuffer`] yourself to keep them.
///
/// # Errors
///
/// The first error from `reader` or `writer` other than
/// [`io::ErrorKind::Interrupted`] (which is retried);
/// [`io::ErrorKind::WriteZero`] when `writer` accepts no bytes; and an error
/// of kind [`io::ErrorKind::Other`] when `writer` claims to have written more
/// bytes than it was given.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut reader: &[u8] = b"hello";
/// let mut writer: Vec<u8> = Vec::new();
///
/// let copied = ferry_io::copy(&mut reader, &mut writer).await?;
///
/// assert_eq!(copied, 5);
/// assert_eq!(writer, b"hello");
/// # Ok(())
/// # }
/// ```
pub fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Copy<'a, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    Copy {
        reader,
        writer,
        engine: CopyBuffer::new(),
    }
}

impl<R, W> Future for Copy<'_, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        me.engine
            .poll_copy(cx, Pin::new(&mut *me.reader), Pin::new(&mut *me.writer))
    }
}

impl<R: ?Sized, W: ?Sized> fmt::Debug for Copy<'_, R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Copy")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
