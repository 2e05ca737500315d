//! `Source`, `LendingSource` and `Sink`: the ends the engine copies
//! between, as the engine sees them, and tokio's I/O traits seen that way.
//!
//! The loop is written against these three traits rather than against one
//! family of async I/O traits, so that every family is driven by the same
//! loop. tokio's traits reach it through the blanket impls below, which
//! compile to the very calls the loop made before; futures-io's reach it
//! through a wrapper of the front end that offers them (`crate::futures`).
//! An adapter owes the loop what it cannot check on its own: a read reports
//! only bytes it put at the start of the slice it was lent.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// A reader that reads into a slice it is lent.
pub(crate) trait Source {
    /// Reads once into `dst`; returns how many bytes arrived at its start
    /// (0 at EOF), at most `dst.len()`.
    fn poll_read_into(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>>;
}

/// A reader that lends its own buffer.
pub(crate) trait LendingSource {
    /// The bytes buffered, after filling the buffer if it was empty (empty at EOF).
    fn poll_lend(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>>;

    /// Marks the first `n` bytes of the last chunk lent as used.
    fn consume(self: Pin<&mut Self>, n: usize);
}

/// A writer with a half-close.
pub(crate) trait Sink {
    /// Writes some of `src`; returns how many bytes it took.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>>;

    /// Flushes what it buffers.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Flushes and shuts its write half down: its peer sees EOF.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl<T: AsyncRead + ?Sized> Source for T {
    fn poll_read_into(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let start = dst.as_ptr();
        let mut buf = ReadBuf::new(dst);
        ready!(AsyncRead::poll_read(self, cx, &mut buf))?;
        // A reader can swap in a `ReadBuf` of its own; what it "filled"
        // there never reached our buffer, and counting it would invent bytes.
        if buf.filled().as_ptr() != start {
            return Poll::Ready(Err(io::Error::other(
                "reader replaced the buffer it was given to fill",
            )));
        }
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: AsyncBufRead + ?Sized> LendingSource for T {
    fn poll_lend(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        AsyncBufRead::poll_fill_buf(self, cx)
    }

    fn consume(self: Pin<&mut Self>, n: usize) {
        AsyncBufRead::consume(self, n);
    }
}

impl<T: AsyncWrite + ?Sized> Sink for T {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, src)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_shutdown(self, cx)
    }
}
