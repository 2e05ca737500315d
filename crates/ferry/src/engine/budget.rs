//! Single I/O operations charged to tokio's cooperative budget.
//!
//! Every read, write, flush and shutdown the engine performs goes through
//! this module, so the budget is spent per operation rather than per poll.
//! That is what keeps a copy between two always-ready in-memory ends from
//! holding a runtime thread for the whole transfer. Outside a tokio runtime
//! the budget is unconstrained and these are plain calls.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::coop::poll_proceed;

/// Runs one budgeted operation, retrying `Interrupted`.
///
/// A ready result (data, EOF, an error, and `Interrupted` too) spends one unit
/// of budget; `Pending` gives it back. `Interrupted` is charged so that an end
/// that keeps returning it still lets the task yield instead of spinning.
fn budgeted<T>(
    cx: &mut Context<'_>,
    mut op: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    loop {
        let coop = ready!(poll_proceed(cx));
        let result = ready!(op(cx));
        coop.made_progress();
        match result {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return Poll::Ready(other),
        }
    }
}

/// Reads once into `dst` and returns how many bytes arrived (0 at EOF).
pub(crate) fn poll_read<R>(
    cx: &mut Context<'_>,
    mut reader: Pin<&mut R>,
    dst: &mut [u8],
) -> Poll<io::Result<usize>>
where
    R: AsyncRead + ?Sized,
{
    budgeted(cx, |cx| {
        let start = dst.as_ptr();
        let mut buf = ReadBuf::new(dst);
        ready!(reader.as_mut().poll_read(cx, &mut buf))?;
        // A reader can swap in a `ReadBuf` of its own; what it "filled" there
        // never reached our buffer, and counting it would invent bytes.
        if buf.filled().as_ptr() != start {
            return Poll::Ready(Err(io::Error::other(
                "reader replaced the buffer it was given to fill",
            )));
        }
        Poll::Ready(Ok(buf.filled().len()))
    })
}

/// Fills `reader`'s buffer once and hands the chunk (empty at EOF) to `use_chunk`.
///
/// The chunk is lent to a callback rather than returned so that the
/// `Interrupted` retry loop can re-borrow the reader.
pub(crate) fn poll_fill_buf<R, T>(
    cx: &mut Context<'_>,
    mut reader: Pin<&mut R>,
    use_chunk: impl FnOnce(&mut Context<'_>, &[u8]) -> T,
) -> Poll<io::Result<T>>
where
    R: AsyncBufRead + ?Sized,
{
    loop {
        let coop = ready!(poll_proceed(cx));
        let result = ready!(reader.as_mut().poll_fill_buf(cx));
        coop.made_progress();
        match result {
            Ok(chunk) => return Poll::Ready(Ok(use_chunk(cx, chunk))),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Poll::Ready(Err(err)),
        }
    }
}

/// Writes some of `src` and returns how many bytes the writer took (never 0).
///
/// `Ok(0)` becomes `WriteZero`, and a count larger than `src` (a broken
/// writer) becomes an error instead of a phantom byte count.
pub(crate) fn poll_write<W>(
    cx: &mut Context<'_>,
    mut writer: Pin<&mut W>,
    src: &[u8],
) -> Poll<io::Result<usize>>
where
    W: AsyncWrite + ?Sized,
{
    let written = ready!(budgeted(cx, |cx| writer.as_mut().poll_write(cx, src)))?;
    Poll::Ready(match written {
        0 => Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "write zero bytes into writer",
        )),
        n if n > src.len() => Err(io::Error::other(format!(
            "writer reported writing {n} bytes but was given only {}",
            src.len()
        ))),
        n => Ok(n),
    })
}

/// Flushes `writer`.
pub(crate) fn poll_flush<W>(cx: &mut Context<'_>, mut writer: Pin<&mut W>) -> Poll<io::Result<()>>
where
    W: AsyncWrite + ?Sized,
{
    budgeted(cx, |cx| writer.as_mut().poll_flush(cx))
}

/// Shuts down `writer`'s write half.
pub(crate) fn poll_shutdown<W>(
    cx: &mut Context<'_>,
    mut writer: Pin<&mut W>,
) -> Poll<io::Result<()>>
where
    W: AsyncWrite + ?Sized,
{
    budgeted(cx, |cx| writer.as_mut().poll_shutdown(cx))
}
