//! `copy`: the futures-io twin of [`crate::copy`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::end::FuturesIo;
use crate::CopyBuffer;

/// Future returned by [`copy`].
///
/// ```
/// # futures::executor::block_on(async {
/// let mut reader: &[u8] = b"abc";
/// let mut writer = Vec::new();
/// let copy: ferry_io::futures::Copy<'_, _, _> = ferry_io::futures::copy(&mut reader, &mut writer);
/// assert_eq!(copy.await?, 3);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Copy<'a, R: ?Sized, W: ?Sized> {
    reader: FuturesIo<&'a mut R>,
    writer: FuturesIo<&'a mut W>,
    engine: CopyBuffer,
}

/// Copies all of `reader` into `writer`, then flushes `writer`.
///
/// The signature and result of `futures::io::copy`: the number of bytes
/// copied. It drives the engine of [`crate::copy`], so it flushes `writer`
/// whenever `reader` stalls, not only at the end, reads ahead while
/// `writer` is busy, sizes its buffer by what the ends do (8 KiB, growing
/// to 1 MiB where that saves system calls), and yields after a bounded
/// amount of work, so a copy between two always-ready ends cannot starve
/// the other tasks of a single-threaded executor. See [`CopyBuffer`] for
/// the exact loop.
///
/// Dropping the future before it completes drops the bytes it had read but
/// not yet written.
///
/// # Errors
///
/// The first error from `reader` or `writer` other than
/// [`io::ErrorKind::Interrupted`] (which is retried);
/// [`io::ErrorKind::WriteZero`] when `writer` accepts no bytes; and an error
/// of kind [`io::ErrorKind::Other`] when `reader` or `writer` claims to have
/// moved more bytes than it was given.
///
/// # Examples
///
/// ```
/// # smol::block_on(async {
/// let mut reader: &[u8] = b"hello";
/// let mut writer: Vec<u8> = Vec::new();
///
/// let copied = ferry_io::futures::copy(&mut reader, &mut writer).await?;
///
/// assert_eq!(copied, 5);
/// assert_eq!(writer, b"hello");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Copy<'a, R, W>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    Copy {
        reader: FuturesIo(reader),
        writer: FuturesIo(writer),
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
            .poll_copy_ends(cx, Pin::new(&mut me.reader), Pin::new(&mut me.writer))
    }
}

impl<R: ?Sized, W: ?Sized> fmt::Debug for Copy<'_, R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Copy")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
