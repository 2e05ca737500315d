//! `ZeroCopySource` and `ZeroCopySink`: the ends a zero-copy copy can use,
//! and their implementations for tokio's sockets, pipes and files.
//!
//! An end says what kind of fd it is, how to wait for readiness, how to run
//! a syscall so that `WouldBlock` clears tokio's cached readiness, and which
//! `AsyncRead` / `AsyncWrite` the buffered engine uses when the kernel
//! refuses. Both traits can be used as trait objects, so a program can hold
//! ends of different types (`Box<dyn ZeroCopySource>`) and still make one
//! call for any pair.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::unix::pipe;
use tokio::net::{TcpStream, UnixStream};

use crate::LandedWriter;

/// A future that readies an end for the kernel's calls (see
/// [`ZeroCopySource::prepare_read`]).
pub type Prepare<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;

/// What kind of fd an end is, which decides the route (see [`Route`](super::Route)).
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::{FdKind, ZeroCopySource};
///
/// let file = std::fs::File::open("/proc/self/stat").unwrap();
/// assert_eq!(file.source_kind(), FdKind::File);
/// let terminal_or_null = std::fs::File::open("/dev/null").unwrap();
/// assert_eq!(terminal_or_null.source_kind(), FdKind::Other);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FdKind {
    /// A regular file: always "ready", may block on the disk, has an offset.
    File,
    /// A socket registered with tokio's reactor, in non-blocking mode.
    Socket,
    /// A pipe registered with tokio's reactor, in non-blocking mode.
    Pipe,
    /// Anything the kernel routes do not serve (a terminal, a device, a FIFO
    /// opened as a blocking file): always the buffered engine.
    Other,
}

/// Makes closing `fd` reset its connection, if it is a socket; other fds
/// are left as they are.
pub(crate) fn reset_on_close(kind: FdKind, fd: BorrowedFd<'_>) {
    if kind == FdKind::Socket {
        // Only an fd that is not a socket can refuse, and the kind says it
        // is one: there is no failure to report.
        let _ = rustix::net::sockopt::set_socket_linger(fd, Some(std::time::Duration::ZERO));
    }
}

impl FdKind {
    /// A socket or a pipe: readiness comes from tokio's reactor.
    pub(crate) fn is_stream(self) -> bool {
        matches!(self, FdKind::Socket | FdKind::Pipe)
    }

    /// A file opened in blocking mode: a regular file, or anything else.
    fn of_file(fd: BorrowedFd<'_>) -> FdKind {
        match rustix::fs::fstat(fd) {
            Ok(stat) if rustix::fs::FileType::from_raw_mode(stat.st_mode).is_file() => FdKind::File,
            _ => FdKind::Other,
        }
    }
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
/// use ferry_io::zero_copy::{FdKind, ZeroCopySource};
/// use tokio::io::AsyncRead;
///
/// /// A file that only the zero-copy paths may read.
/// struct Archive(tokio::fs::File);
///
/// impl AsFd for Archive {
///     fn as_fd(&self) -> BorrowedFd<'_> { self.0.as_fd() }
/// }
///
/// impl ZeroCopySource for Archive {
///     fn source_kind(&self) -> FdKind { FdKind::File }
///     fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> { Poll::Ready(Ok(())) }
///     fn try_read_io(&self, op: &mut dyn FnMut() -> std::io::Result<usize>) -> std::io::Result<usize> { op() }
///     fn reader(&mut self) -> std::io::Result<Box<dyn AsyncRead + Unpin + Send + '_>> {
///         Ok(Box::new(&mut self.0))
///     }
/// }
/// ```
pub trait ZeroCopySource: AsFd + Send + Unpin {
    /// The kind of fd this is.
    fn source_kind(&self) -> FdKind;

    /// Waits until the fd may be readable (always ready for a file).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Runs `op`, a syscall on this fd; a `WouldBlock` from it must clear the
    /// cached read readiness (tokio's `try_io`), or the copy would spin.
    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>;

    /// Makes the fd's offset match what a reader of this end expects
    /// (a `tokio::fs::File` may hold read-ahead). Nothing by default.
    fn prepare_read(&mut self) -> Prepare<'_> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The `AsyncRead` for the buffered engine, when the kernel route is
    /// refused or the pair has none.
    fn reader(&mut self) -> io::Result<Box<dyn AsyncRead + Unpin + Send + '_>>;
}

/// An end that zero-copy paths can write to.
///
/// Implemented for [`TcpStream`], [`UnixStream`], [`pipe::Sender`],
/// [`tokio::fs::File`], [`std::fs::File`] and [`LandedWriter`].
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::{FdKind, ZeroCopySink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (tx, _rx) = tokio::net::unix::pipe::pipe()?;
/// assert_eq!(tx.sink_kind(), FdKind::Pipe);
/// # Ok(())
/// # }
/// ```
pub trait ZeroCopySink: AsFd + Send + Unpin {
    /// The kind of fd this is.
    fn sink_kind(&self) -> FdKind;

    /// Waits until the fd may be writable (always ready for a file).
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Runs `op`, a syscall on this fd; a `WouldBlock` from it must clear the
    /// cached write readiness.
    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize>;

    /// Writes out whatever this end buffers in user space, so the fd's
    /// offset is where the next byte belongs. Nothing by default.
    fn prepare_write(&mut self) -> Prepare<'_> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The `AsyncWrite` for the buffered engine, when the kernel route is
    /// refused or the pair has none.
    fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>>;
}

/// A two-way end (a socket, or a pipe pair) for a relay: both kinds of end,
/// and the `AsyncRead`/`AsyncWrite` a buffered relay uses. Implemented for
/// everything that is all of those; `Box<dyn ZeroCopyStream>` holds any.
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::ZeroCopyStream;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (a, b) = tokio::net::UnixStream::pair()?;
/// let ends: [Box<dyn ZeroCopyStream>; 2] = [Box::new(a), Box::new(b)];
/// # drop(ends);
/// # Ok(())
/// # }
/// ```
pub trait ZeroCopyStream: ZeroCopySource + ZeroCopySink + AsyncRead + AsyncWrite {}

impl<T: ZeroCopySource + ZeroCopySink + AsyncRead + AsyncWrite + ?Sized> ZeroCopyStream for T {}

macro_rules! socket_ends {
    ($($ty:ty),*) => {$(
        impl ZeroCopySource for $ty {
            fn source_kind(&self) -> FdKind {
                FdKind::Socket
            }

            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$ty>::poll_read_ready(self, cx)
            }

            fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                self.try_io(Interest::READABLE, op)
            }

            fn reader(&mut self) -> io::Result<Box<dyn AsyncRead + Unpin + Send + '_>> {
                Ok(Box::new(self))
            }
        }

        impl ZeroCopySink for $ty {
            fn sink_kind(&self) -> FdKind {
                FdKind::Socket
            }

            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$ty>::poll_write_ready(self, cx)
            }

            fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
                self.try_io(Interest::WRITABLE, op)
            }

            fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>> {
                Ok(Box::new(self))
            }
        }
    )*};
}

socket_ends!(TcpStream, UnixStream);

impl ZeroCopySource for pipe::Receiver {
    fn source_kind(&self) -> FdKind {
        FdKind::Pipe
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pipe::Receiver::poll_read_ready(self, cx)
    }

    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        self.try_io(op)
    }

    fn reader(&mut self) -> io::Result<Box<dyn AsyncRead + Unpin + Send + '_>> {
        Ok(Box::new(self))
    }
}

impl ZeroCopySink for pipe::Sender {
    fn sink_kind(&self) -> FdKind {
        FdKind::Pipe
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        pipe::Sender::poll_write_ready(self, cx)
    }

    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        self.try_io(op)
    }

    fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>> {
        Ok(Box::new(self))
    }
}

/// Files are always ready, and a syscall on them never returns `WouldBlock`.
macro_rules! file_readiness {
    (read) => {
        fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
            op()
        }
    };
    (write) => {
        fn poll_write_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
            op()
        }
    };
}

impl ZeroCopySource for tokio::fs::File {
    fn source_kind(&self) -> FdKind {
        FdKind::of_file(self.as_fd())
    }

    file_readiness!(read);

    fn prepare_read(&mut self) -> Prepare<'_> {
        // Waits for a pending operation and discards read-ahead, moving the
        // fd's offset back to the first byte not yet returned. Only a
        // regular file has an offset: a FIFO or a device answers ESPIPE.
        let seekable = self.source_kind() == FdKind::File;
        Box::pin(async move {
            if seekable {
                self.seek(io::SeekFrom::Current(0)).await?;
            }
            Ok(())
        })
    }

    fn reader(&mut self) -> io::Result<Box<dyn AsyncRead + Unpin + Send + '_>> {
        Ok(Box::new(self))
    }
}

impl ZeroCopySink for tokio::fs::File {
    fn sink_kind(&self) -> FdKind {
        FdKind::of_file(self.as_fd())
    }

    file_readiness!(write);

    fn prepare_write(&mut self) -> Prepare<'_> {
        // tokio's File writes in the background; wait for that write to land.
        let seekable = self.sink_kind() == FdKind::File;
        Box::pin(async move {
            self.flush().await?;
            if seekable {
                self.seek(io::SeekFrom::Current(0)).await?;
            }
            Ok(())
        })
    }

    fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>> {
        Ok(Box::new(self))
    }
}

impl ZeroCopySource for std::fs::File {
    fn source_kind(&self) -> FdKind {
        FdKind::of_file(self.as_fd())
    }

    file_readiness!(read);

    /// A `tokio::fs::File` on a duplicate of the fd: it shares the offset.
    fn reader(&mut self) -> io::Result<Box<dyn AsyncRead + Unpin + Send + '_>> {
        Ok(Box::new(tokio::fs::File::from_std(self.try_clone()?)))
    }
}

impl ZeroCopySink for std::fs::File {
    fn sink_kind(&self) -> FdKind {
        FdKind::of_file(self.as_fd())
    }

    file_readiness!(write);

    /// A [`LandedWriter`] on a duplicate of the fd: it shares the offset, and
    /// counts only bytes the kernel took.
    fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>> {
        Ok(Box::new(LandedWriter::new(self.try_clone()?)))
    }
}

impl ZeroCopySink for LandedWriter {
    fn sink_kind(&self) -> FdKind {
        FdKind::of_file(self.as_fd())
    }

    file_readiness!(write);

    fn prepare_write(&mut self) -> Prepare<'_> {
        // A buffered write still in flight must land before the kernel
        // writes at the shared offset.
        Box::pin(std::future::poll_fn(|cx| self.poll_settle(cx)))
    }

    fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>> {
        Ok(Box::new(self))
    }
}
