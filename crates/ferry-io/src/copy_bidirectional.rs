//! `copy_bidirectional`: the drop-in twins of tokio's two-way copy functions.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::engine::TwoWay;
use crate::CopyBuffer;

/// Future returned by [`copy_bidirectional`] and [`copy_bidirectional_with_sizes`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut a = tokio::io::join(&b"to b"[..], tokio::io::sink());
/// let mut b = tokio::io::join(&b""[..], tokio::io::sink());
/// let relay: ferry_io::CopyBidirectional<'_, _, _> = ferry_io::copy_bidirectional(&mut a, &mut b);
/// assert_eq!(relay.await?, (4, 0));
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBidirectional<'a, A: ?Sized, B: ?Sized> {
    a: &'a mut A,
    b: &'a mut B,
    engine: TwoWay,
}

/// Copies bytes both ways between `a` and `b` until both directions reach
/// EOF, and returns `(bytes from a to b, bytes from b to a)`.
///
/// This is a drop-in for [`tokio::io::copy_bidirectional`]. Each direction is
/// a [`CopyBuffer::new`] engine: its buffer is allocated on the first byte,
/// starts at 8 KiB and grows up to 1 MiB for bulk traffic over sockets. When one direction
/// reaches EOF and has flushed, the write half it was writing to is shut down
/// (a TCP half-close), and the other direction keeps running until it ends
/// too. A direction that is waiting never holds up the other.
///
/// # Errors
///
/// The first error from either direction, reading, writing, flushing or
/// shutting down, ends the whole copy with that error.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut client, mut a) = tokio::io::duplex(1024);
/// let (mut b, mut server) = tokio::io::duplex(1024);
///
/// let relay = tokio::spawn(async move { ferry_io::copy_bidirectional(&mut a, &mut b).await });
///
/// client.write_all(b"ping").await?;
/// client.shutdown().await?;
/// let mut request = Vec::new();
/// server.read_to_end(&mut request).await?;
/// server.write_all(b"pong!").await?;
/// server.shutdown().await?;
/// let mut reply = Vec::new();
/// client.read_to_end(&mut reply).await?;
///
/// assert_eq!((request.as_slice(), reply.as_slice()), (&b"ping"[..], &b"pong!"[..]));
/// assert_eq!(relay.await.unwrap()?, (4, 5));
/// # Ok(())
/// # }
/// ```
pub fn copy_bidirectional<'a, A, B>(a: &'a mut A, b: &'a mut B) -> CopyBidirectional<'a, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    CopyBidirectional {
        a,
        b,
        engine: TwoWay::new(CopyBuffer::new(), CopyBuffer::new()),
    }
}

/// [`copy_bidirectional`] with a fixed buffer size for each direction.
///
/// A drop-in for [`tokio::io::copy_bidirectional_with_sizes`]: the buffers
/// never grow, which bounds a relay's memory exactly. Larger buffers pay off
/// on fast links, where they save system calls.
///
/// # Panics
///
/// Panics if either size is zero (see [`CopyBuffer::with_capacity`]).
///
/// # Errors
///
/// As for [`copy_bidirectional`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let (mut client, mut a) = tokio::io::duplex(1 << 16);
/// let (mut b, mut server) = tokio::io::duplex(1 << 16);
/// let relay = tokio::spawn(async move {
///     ferry_io::copy_bidirectional_with_sizes(&mut a, &mut b, 256 * 1024, 16 * 1024).await
/// });
///
/// client.write_all(&[1; 10_000]).await?;
/// client.shutdown().await?;
/// server.shutdown().await?;
/// let mut seen = Vec::new();
/// server.read_to_end(&mut seen).await?;
/// assert_eq!(seen.len(), 10_000);
/// assert_eq!(relay.await.unwrap()?, (10_000, 0));
/// # Ok(())
/// # }
/// ```
pub fn copy_bidirectional_with_sizes<'a, A, B>(
    a: &'a mut A,
    b: &'a mut B,
    a_to_b_buffer_size: usize,
    b_to_a_buffer_size: usize,
) -> CopyBidirectional<'a, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    CopyBidirectional {
        a,
        b,
        engine: TwoWay::new(
            CopyBuffer::with_capacity(a_to_b_buffer_size),
            CopyBuffer::with_capacity(b_to_a_buffer_size),
        ),
    }
}

impl<A, B> Future for CopyBidirectional<'_, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    type Output = io::Result<(u64, u64)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.get_mut();
        me.engine
            .poll_copy(cx, Pin::new(&mut *me.a), Pin::new(&mut *me.b))
    }
}

impl<A: ?Sized, B: ?Sized> fmt::Debug for CopyBidirectional<'_, A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBidirectional")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
