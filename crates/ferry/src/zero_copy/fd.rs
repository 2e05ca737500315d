//! `ZeroCopySource` and `ZeroCopySink`: the ends a zero-copy path can use,
//! and their implementations for tokio's sockets, pipes and files.
//!
//! An end says what kind of fd it is (a regular file, or a stream that tokio's
//! reactor watches), how to wait for readiness, how to run a syscall so that
//! `WouldBlock` clears tokio's cached readiness, and which `AsyncRead` /
//! `AsyncWrite` the buffered engine uses when the kernel refuses.

use std::future::Future;
use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::unix::pipe;
use tokio::net::{TcpStream, UnixStream};

/// What kind of fd an end is, which decides the route (see [`Route`](super::Route)).
///
/// # Examples
///
/// ```
/// use ferry::zero_copy::{FdKind, ZeroCopySource};
///
/// let file = std::fs::File::open("/etc/hostname").or_else(|_| std::fs::File::open("/dev/null")).unwrap();
/// assert_eq!(file.source_kind(), FdKind::File);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FdKind {
    /// A regular file: always "ready", may block on the disk, has an offset.
    File,
    /// A socket or pipe registered with tokio's reactor, in non-blocking mode.
    Stream,
}

/// An end that zero-copy paths can read from.
///
/// Implemented for [`TcpStream`], [`UnixStream`], [`pipe::Receiver`],
/// [`tokio::fs::File`] and [`std::fs::File`]. Implement it for your own fd
/// type to use it with [`ZeroCopier`](super::ZeroCopier).
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll};
/// use std::os::fd::{AsFd, BorrowedFd};
/// use ferry::zero_copy::{FdKind, ZeroCopySource};
///
/// /// A file that only the zero-copy paths may read.
/// struct Archive(tokio::fs::File);
///
/// impl AsFd for Archive {
///     fn as_fd(&self) -> BorrowedFd<'_> { self.0.as_fd() }
/// }
///
/// impl ZeroCopySource for Archive {
///     type Reader<'a> = &'a mut tokio::fs::File;
///     fn source_kind(&self) -> FdKind { FdKind::File }
///     fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> { Poll::Ready(Ok(())) }
///     fn try_read_io(&self, op: &mut dyn FnMut() -> std::io::Result<usize>) -> std::io::Result<usize> { op() }
///     fn reader(&mut self) -> std::io::Result<Self::Reader<'_>> { Ok(&mut self.0) }
/// }
/// ```
pub trait ZeroCopySource: AsFd {
    /// What the buffered engine reads from when the kernel path is refused.
    type Reader<'a>: AsyncRead + Unpin + 'a
    where
        Self: 'a;

    /// The kind of fd this is.
    fn source_kind(&self) -> FdKind;

    /// Waits until the fd may be readable (always ready for a file).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Runs `op`, a syscall on this fd; a `WouldBlock` from it must clear the
    /// cached read readiness (tokio's `try_io`), or the copy would spin.
    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>;

    /// Makes the fd's offset match what a reader of this end expects
    /// (a `tokio::fs::File` may hold read-ahead). Nothing by default.
    fn prepare_read(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        async { Ok(()) }
    }

    /// The `AsyncRead` for the buffered fallback.
    fn reader(&mut self) -> io::Result<Self::Reader<'_>>;
}

/// An end that zero-copy paths can write to.
///
/// Implemented for [`TcpStream`], [`UnixStream`], [`pipe::Sender`],
/// [`tokio::fs::File`] and [`std::fs::File`].
///
/// # Examples
///
/// ```
/// use ferry::zero_copy::{FdKind, ZeroCopySink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (tx, _rx) = tokio::net::unix::pipe::pipe()?;
/// assert_eq!(tx.sink_kind(), FdKind::Stream);
/// # Ok(())
/// # }
/// ```
pub trait ZeroCopySink: AsFd {
    /// What the buffered engine writes to when the kernel path is refused.
    type Writer<'a>: AsyncWrite + Unpin + 'a
    where
        Self: 'a;

    /// The kind of fd this is.
    fn sink_kind(&self) -> FdKind;

    /// Waits until the fd may be writable (always ready for a file).
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Runs `op`, a syscall on this fd; a `WouldBlock` from it must clear the
    /// cached write readiness.
    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>;

    /// Writes out whatever this end buffers in user space, so the fd's
    /// offset is where the next byte belongs. Nothing by default.
    fn prepare_write(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        async { Ok(()) }
    }

    /// The `AsyncWrite` for the buffered fallback.
    fn writer(&mut self) -> io::Result<Self::Writer<'_>>;
}

macro_rules! socket_ends {
    ($($ty:ty),*) => {$(
        impl ZeroCopySource for $ty {
            type Reader<'a> = &'a mut $ty;

            fn source_kind(&self) -> FdKind {
                FdKind::Stream
            }

            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$ty>::poll_read_ready(self, cx)
            }

            fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                self.try_io(Interest::READABLE, op)
            }

            fn reader(&mut self) -> io::Result<Self::Reader<'_>> {
                Ok(self)
            }
        }

        impl ZeroCopySink for $ty {
            type Writer<'a> = &'a mut $ty;

            fn sink_kind(&self) -> FdKind {
                FdKind::Stream
            }

            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$ty>::poll_write_ready(self, cx)
            }

            fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                self.try_io(Interest::WRITABLE, op)
            }

            fn writer(&mut self) -> io::Result<Self::Writer<'_>> {
                Ok(self)
            }
        }
    )*};
}

socket_ends!(TcpStream, UnixStream);

impl ZeroCopySource for pipe::Receiver {
    type Reader<'a> = &'a mut pipe::Receiver;

    fn source_kind(&self) -> FdKind {
        FdKind::Stream
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pipe::Receiver::poll_read_ready(self, cx)
    }

    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        self.try_io(op)
    }

    fn reader(&mut self) -> io::Result<Self::Reader<'_>> {
        Ok(self)
    }
}

impl ZeroCopySink for pipe::Sender {
    type Writer<'a> = &'a mut pipe::Sender;

    fn sink_kind(&self) -> FdKind {
        FdKind::Stream
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pipe::Sender::poll_write_ready(self, cx)
    }

    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        self.try_io(op)
    }

    fn writer(&mut self) -> io::Result<Self::Writer<'_>> {
        Ok(self)
    }
}

impl ZeroCopySource for tokio::fs::File {
    type Reader<'a> = &'a mut tokio::fs::File;

    fn source_kind(&self) -> FdKind {
        FdKind::File
    }

    fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        op()
    }

    async fn prepare_read(&mut self) -> io::Result<()> {
        // Waits for a pending operation and discards read-ahead, moving the
        // fd's offset back to the first byte not yet returned.
        self.seek(io::SeekFrom::Current(0)).await.map(drop)
    }

    fn reader(&mut self) -> io::Result<Self::Reader<'_>> {
        Ok(self)
    }
}

impl ZeroCopySink for tokio::fs::File {
    type Writer<'a> = &'a mut tokio::fs::File;

    fn sink_kind(&self) -> FdKind {
        FdKind::File
    }

    fn poll_write_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        op()
    }

    async fn prepare_write(&mut self) -> io::Result<()> {
        // tokio's File writes in the background; wait for that write to land.
        self.flush().await?;
        self.seek(io::SeekFrom::Current(0)).await.map(drop)
    }

    fn writer(&mut self) -> io::Result<Self::Writer<'_>> {
        Ok(self)
    }
}

impl ZeroCopySource for std::fs::File {
    /// A `tokio::fs::File` on a duplicate of the fd: it shares the offset.
    type Reader<'a> = tokio::fs::File;

    fn source_kind(&self) -> FdKind {
        FdKind::File
    }

    fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        op()
    }

    fn reader(&mut self) -> io::Result<Self::Reader<'_>> {
        Ok(tokio::fs::File::from_std(self.try_clone()?))
    }
}

impl ZeroCopySink for std::fs::File {
    /// A `tokio::fs::File` on a duplicate of the fd: it shares the offset.
    type Writer<'a> = tokio::fs::File;

    fn sink_kind(&self) -> FdKind {
        FdKind::File
    }

    fn poll_write_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        op()
    }

    fn writer(&mut self) -> io::Result<Self::Writer<'_>> {
        Ok(tokio::fs::File::from_std(self.try_clone()?))
    }
}
