//! `FuturesIo`: a futures-io reader or writer as the engine sees it.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::engine::{LendingSource, Sink, Source};

/// A futures-io end (`&mut R`, as the front ends hold it) behind the
/// engine's traits; its half-close is `poll_close`.
#[derive(Debug)]
pub(crate) struct FuturesIo<T>(pub(crate) T);

impl<T: AsyncRead + Unpin> Source for FuturesIo<T> {
    fn poll_read_into(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(AsyncRead::poll_read(
            Pin::new(&mut self.get_mut().0),
            cx,
            dst
        ))?;
        // futures-io takes the reader's word for how much it read; a count
        // past the slice would be bytes that never arrived.
        if n > dst.len() {
            return Poll::Ready(Err(io::Error::other(format!(
                "reader reported reading {n} bytes into a buffer of {}",
                dst.len()
            ))));
        }
        Poll::Ready(Ok(n))
    }
}

impl<T: AsyncBufRead + Unpin> LendingSource for FuturesIo<T> {
    fn poll_lend(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        AsyncBufRead::poll_fill_buf(Pin::new(&mut self.get_mut().0), cx)
    }

    fn consume(self: Pin<&mut Self>, n: usize) {
        AsyncBufRead::consume(Pin::new(&mut self.get_mut().0), n);
    }
}

impl<T: AsyncWrite + Unpin> Sink for FuturesIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, src)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(Pin::new(&mut self.get_mut().0), cx)
    }
}
