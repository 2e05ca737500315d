//! `copy_bidirectional`: the futures-io twins of [`crate::copy_bidirectional`]
//! and [`crate::copy_bidirectional_with_sizes`].

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::end::FuturesIo;
use crate::engine::TwoWay;
use crate::CopyBuffer;

/// Future returned by [`copy_bidirectional`] and [`copy_bidirectional_with_sizes`].
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::io::Cursor;
///
/// let mut a = Cursor::new(b"to b".to_vec());
/// let mut b = Cursor::new(Vec::new());
/// let relay: ferry_io::futures::CopyBidirectional<'_, _, _> =
///     ferry_io::futures::copy_bidirectional(&mut a, &mut b);
/// // `a`'s reader ends after 4 bytes, `b`'s (at the end of what it holds) at once.
/// assert_eq!(relay.await?, (4, 0));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CopyBidirectional<'a, A: ?Sized, B: ?Sized> {
    a: FuturesIo<&'a mut A>,
    b: FuturesIo<&'a mut B>,
    engine: TwoWay,
}

/// Copies bytes both ways between `a` and `b` until both directions reach
/// EOF, and returns `(bytes from a to b, bytes from b to a)`.
///
/// The futures-io twin of [`crate::copy_bidirectional`], which futures-io
/// itself lacks (racing two `futures::io::copy`s instead cuts the slower
/// direction off at the first EOF). Each direction is a
/// [`CopyBuffer::new`] engine. When one direction reaches EOF and has
/// flushed, the side it was writing to is closed with
/// [`AsyncWrite::poll_close`], which for a TCP stream (async-net's,
/// async-std's, `Async<TcpStream>`) shuts down its write half: the peer
/// reads EOF, and the other direction keeps running until it ends too. A
/// direction that is waiting never holds up the other.
///
/// # Errors
///
/// The first error from either direction, reading, writing, flushing or
/// closing, ends the whole copy with that error.
///
/// # Examples
///
/// ```
/// use smol::net::{TcpListener, TcpStream};
/// use smol::io::{AsyncReadExt, AsyncWriteExt};
///
/// # smol::block_on(async {
/// // A relay in front of an echo server: client <-> relay <-> server.
/// let server = TcpListener::bind("127.0.0.1:0").await?;
/// let server_addr = server.local_addr()?;
/// let echo = smol::spawn(async move {
///     let (stream, _) = server.accept().await?;
///     smol::io::copy(stream.clone(), &mut stream.clone()).await
/// });
/// let front = TcpListener::bind("127.0.0.1:0").await?;
/// let front_addr = front.local_addr()?;
/// let relay = smol::spawn(async move {
///     let (mut client, _) = front.accept().await?;
///     let mut upstream = TcpStream::connect(server_addr).await?;
///     ferry_io::futures::copy_bidirectional(&mut client, &mut upstream).await
/// });
///
/// let mut client = TcpStream::connect(front_addr).await?;
/// client.write_all(b"hello").await?;
/// client.shutdown(std::net::Shutdown::Write)?;
/// let mut echoed = Vec::new();
/// client.read_to_end(&mut echoed).await?;
///
/// assert_eq!(echoed, b"hello");
/// assert_eq!(relay.await?, (5, 5));
/// assert_eq!(echo.await?, 5);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub fn copy_bidirectional<'a, A, B>(a: &'a mut A, b: &'a mut B) -> CopyBidirectional<'a, A, B>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    CopyBidirectional {
        a: FuturesIo(a),
        b: FuturesIo(b),
        engine: TwoWay::new(CopyBuffer::new(), CopyBuffer::new()),
    }
}

/// [`copy_bidirectional`] with a fixed buffer size for each direction.
///
/// The buffers never grow, which bounds a relay's memory exactly.
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
/// use futures::io::Cursor;
///
/// # futures::executor::block_on(async {
/// let mut a = Cursor::new(vec![1u8; 10_000]);
/// let mut b = Cursor::new(Vec::new());
/// let moved = ferry_io::futures::copy_bidirectional_with_sizes(&mut a, &mut b, 4096, 512).await?;
/// assert_eq!(moved, (10_000, 0));
/// assert_eq!(b.into_inner(), vec![1u8; 10_000]);
/// # std::io::Result::Ok(())
/// # }).unwrap();
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
        a: FuturesIo(a),
        b: FuturesIo(b),
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
            .poll_copy(cx, Pin::new(&mut me.a), Pin::new(&mut me.b))
    }
}

impl<A: ?Sized, B: ?Sized> fmt::Debug for CopyBidirectional<'_, A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBidirectional")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
