//! `copy_buf`: the futures-io twin of [`crate::copy_buf`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncWrite};

use super::end::FuturesIo;
use crate::engine::LentCopy;

/// Future returned by [`copy_buf`].
///
/// ```
/// # futures::executor::block_on(async {
/// let mut reader = futures::io::BufReader::new(&b"abc"[..]);
/// let mut writer = Vec::new();
/// let copy: ferry_io::futures::CopyBuf<'_, _, _> = ferry_io::futures::copy_buf(&mut reader, &mut writer);
/// assert_eq!(copy.await?, 3);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBuf<'a, R: ?Sized, W: ?Sized> {
    reader: FuturesIo<&'a mut R>,
    writer: FuturesIo<&'a mut W>,
    engine: LentCopy,
}

/// Copies all of a buffered `reader` into `writer` without a buffer of its
/// own, then flushes `writer`.
///
/// The signature and result of `futures::io::copy_buf`: it writes straight
/// out of `reader`'s buffer ([`AsyncBufRead::poll_fill_buf`]) and consumes
/// what the writer took. It drives the loop of [`crate::copy_buf`]: the
/// writer is flushed whenever the reader stalls and at the end,
/// `Interrupted` is retried, and a poll yields after a bounded amount of
/// work.
///
/// # Errors
///
/// As for [`copy`](super::copy): the first error from either end other than
/// `Interrupted`, `WriteZero` when the writer accepts no bytes, and an error
/// of kind `Other` when the writer reports more bytes than it was given.
///
/// # Examples
///
/// ```
/// use futures::io::BufReader;
///
/// # smol::block_on(async {
/// let mut reader = BufReader::with_capacity(64 * 1024, &b"hello"[..]);
/// let mut writer: Vec<u8> = Vec::new();
///
/// let copied = ferry_io::futures::copy_buf(&mut reader, &mut writer).await?;
///
/// assert_eq!(copied, 5);
/// assert_eq!(writer, b"hello");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> CopyBuf<'a, R, W>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    CopyBuf {
        reader: FuturesIo(reader),
        writer: FuturesIo(writer),
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
            .poll_copy(cx, Pin::new(&mut me.reader), Pin::new(&mut me.writer))
    }
}

impl<R: ?Sized, W: ?Sized> fmt::Debug for CopyBuf<'_, R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuf")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
