//! The ends that are not files or sockets: stdin, stdout, both as one
//! stream for a relay, `zero:` and `null:`.
//!
//! stdin and stdout are taken for what they are. A pipe or a stream socket
//! becomes a non-blocking end on tokio's reactor, so that the kernel can
//! splice between two pipes as `pv` does; a regular file becomes a file
//! (`copy_file_range`, `sendfile`); anything else (a terminal) is read and
//! written through memory on tokio's blocking pool. `O_NONBLOCK` belongs to
//! the open file description, which the shell and the processes after ferry
//! share: it is never set on a terminal, and [`restore_flags`] puts back the
//! flags ferry found before it exits.
//!
//! A standard stream that is `/dev/null` is read and written as one, however
//! it was opened. Rust's runtime reopens a closed fd 0, 1 or 2 on
//! `/dev/null`, read-write, before `main` runs, which makes a stream the
//! shell closed (`>&-`) look exactly like the `/dev/null` that Python's
//! `subprocess.DEVNULL` and daemon(3) pass (also read-write): refusing the
//! one refused the other, so neither is.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use ferry_io::zero_copy::{ZeroCopySink, ZeroCopySource};
use ferry_io::LandedWriter;
use rustix::fs::{FileType, OFlags};
use rustix::net::{AddressFamily, SocketType};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

use super::memory::{memory_sink, memory_source};
use crate::messages::{self, Failure};

/// stdin, read through tokio's blocking pool (a terminal, a device).
#[derive(Debug)]
pub struct Stdin {
    fd: io::Stdin,
    reader: tokio::io::Stdin,
}

/// stdin, with the bytes it holds when that is known (a regular file: what
/// lies after its offset).
///
/// # Errors
///
/// A [`Failure::Input`] when stdin cannot be duplicated.
pub fn stdin() -> Result<(Box<dyn ZeroCopySource>, Option<u64>), Failure> {
    let fd = io::stdin();
    let cannot = |error: io::Error| messages::cannot_open_stdio("stdin", &error);
    Ok(match Stream::of(fd.as_fd()) {
        Stream::Pipe => {
            let owned = nonblocking(StdFd::In, fd.as_fd()).map_err(cannot)?;
            widen(&owned);
            let receiver = pipe::Receiver::from_owned_fd_unchecked(owned).map_err(cannot)?;
            (Box::new(receiver), None)
        }
        Stream::Socket(family) => {
            let socket = Socket::new(family, StdFd::In, fd.as_fd()).map_err(cannot)?;
            (socket.into_source(), None)
        }
        Stream::File => {
            let file = File::from(fd.as_fd().try_clone_to_owned().map_err(cannot)?);
            let left = left_in(&file);
            (Box::new(file), left)
        }
        Stream::Other => {
            let stdin = Stdin {
                fd,
                reader: tokio::io::stdin(),
            };
            (Box::new(stdin), None)
        }
    })
}

/// stdout, written so that counts are exact (what the kernel took).
///
/// # Errors
///
/// A [`Failure::Input`] when stdout cannot be duplicated.
pub fn stdout() -> Result<Box<dyn ZeroCopySink>, Failure> {
    let fd = io::stdout();
    let cannot = |error: io::Error| messages::cannot_open_stdio("stdout", &error);
    Ok(match Stream::of(fd.as_fd()) {
        Stream::Pipe => {
            let owned = nonblocking(StdFd::Out, fd.as_fd()).map_err(cannot)?;
            widen(&owned);
            Box::new(pipe::Sender::from_owned_fd_unchecked(owned).map_err(cannot)?)
        }
        Stream::Socket(family) => Socket::new(family, StdFd::Out, fd.as_fd())
            .map_err(cannot)?
            .into_sink(),
        // A file or a terminal: written on the blocking pool, counted as it lands.
        Stream::File | Stream::Other => Box::new(LandedWriter::stdout().map_err(cannot)?),
    })
}

/// What a standard stream is, as far as moving bytes goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    /// A pipe or FIFO.
    Pipe,
    /// A connected stream socket of this family.
    Socket(AddressFamily),
    /// A regular file.
    File,
    /// A terminal, a device, a datagram or listening socket...
    Other,
}

impl Stream {
    fn of(fd: BorrowedFd<'_>) -> Stream {
        let Ok(stat) = rustix::fs::fstat(fd) else {
            return Stream::Other;
        };
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Fifo => Stream::Pipe,
            FileType::RegularFile => Stream::File,
            FileType::Socket => {
                let stream = rustix::net::sockopt::socket_type(fd) == Ok(SocketType::STREAM);
                let listening = rustix::net::sockopt::socket_acceptconn(fd) != Ok(false);
                match rustix::net::getsockname(fd) {
                    Ok(local) if stream && !listening => Stream::Socket(local.address_family()),
                    _ => Stream::Other,
                }
            }
            _ => Stream::Other,
        }
    }
}

/// A connected stream socket on stdin or stdout, on tokio's reactor.
enum Socket {
    Unix(tokio::net::UnixStream),
    /// TCP, or any other family: only reads, writes and readiness are used.
    Tcp(tokio::net::TcpStream),
}

impl Socket {
    fn new(family: AddressFamily, which: StdFd, fd: BorrowedFd<'_>) -> io::Result<Socket> {
        let owned = nonblocking(which, fd)?;
        Ok(if family == AddressFamily::UNIX {
            let socket = std::os::unix::net::UnixStream::from(owned);
            Socket::Unix(tokio::net::UnixStream::from_std(socket)?)
        } else {
            let socket = std::net::TcpStream::from(owned);
            Socket::Tcp(tokio::net::TcpStream::from_std(socket)?)
        })
    }

    fn into_source(self) -> Box<dyn ZeroCopySource> {
        match self {
            Socket::Unix(socket) => Box::new(socket),
            Socket::Tcp(socket) => Box::new(socket),
        }
    }

    fn into_sink(self) -> Box<dyn ZeroCopySink> {
        match self {
            Socket::Unix(socket) => Box::new(socket),
            Socket::Tcp(socket) => Box::new(socket),
        }
    }
}

/// The bytes between a regular file's offset and its end.
fn left_in(file: &File) -> Option<u64> {
    let size = file.metadata().ok()?.len();
    let offset = rustix::fs::seek(file, rustix::fs::SeekFrom::Current(0)).ok()?;
    Some(size.saturating_sub(offset))
}

/// Grows a pipe of the shell's to the size of ferry's own splice pipes
/// (1 MiB; the kernel's default is 64 KiB), so that each call moves up to
/// 16 times more and the programs on either side wait less. The size stays
/// with the pipe, which is harmless; a refusal (over the user's pipe
/// budget) leaves it as it was.
fn widen(pipe: &OwnedFd) {
    if let Ok(size) = rustix::pipe::fcntl_getpipe_size(pipe) {
        if size < ferry_io::zero_copy::DEFAULT_PIPE_SIZE {
            let _ = rustix::pipe::fcntl_setpipe_size(pipe, ferry_io::zero_copy::DEFAULT_PIPE_SIZE);
        }
    }
}

/// fd 0 or fd 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StdFd {
    In,
    Out,
}

/// The flags of fd 0 and fd 1 as ferry found them, in the order it changed
/// them, to be put back at exit.
static FOUND: Mutex<Vec<(StdFd, OFlags)>> = Mutex::new(Vec::new());

/// A duplicate of `fd` (fd 0 or 1, a pipe or a socket) after setting
/// `O_NONBLOCK` on the open file description it shares with the shell;
/// the flags found are kept for [`restore_flags`].
fn nonblocking(which: StdFd, fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    if !flags.contains(OFlags::NONBLOCK) {
        let mut found = FOUND
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        found.push((which, flags));
        rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    }
    fd.try_clone_to_owned()
}

/// Puts back the flags of stdin and stdout that ferry changed (latest first,
/// so that two fds sharing one description end as they began): a shell or
/// a program reading the same pipe after ferry must not find it
/// non-blocking.
pub fn restore_flags() {
    let mut found = FOUND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (which, flags) in found.drain(..).rev() {
        let _ = match which {
            StdFd::In => rustix::fs::fcntl_setfl(io::stdin(), flags),
            StdFd::Out => rustix::fs::fcntl_setfl(io::stdout(), flags),
        };
    }
}

/// stdin and stdout as one two-way stream, for a relay.
#[derive(Debug)]
pub struct Stdio {
    stdin: Stdin,
    stdout: LandedWriter,
}

/// stdin and stdout for a relay.
///
/// # Errors
///
/// A [`Failure::Input`] when stdout cannot be duplicated.
pub fn both() -> Result<Stdio, Failure> {
    let stdout =
        LandedWriter::stdout().map_err(|error| messages::cannot_open_stdio("stdout", &error))?;
    Ok(Stdio {
        stdin: Stdin {
            fd: io::stdin(),
            reader: tokio::io::stdin(),
        },
        stdout,
    })
}

/// `zero:`: endless zeros, made in memory (`/dev/zero` only lends its fd).
#[derive(Debug)]
pub struct Zero(File);

impl Zero {
    /// Opens `/dev/zero`.
    ///
    /// # Errors
    ///
    /// When it cannot be opened.
    pub fn open() -> io::Result<Zero> {
        File::open("/dev/zero").map(Zero)
    }
}

/// `null:`: discards everything in memory (`/dev/null` only lends its fd).
#[derive(Debug)]
pub struct Null(File);

impl Null {
    /// Opens `/dev/null` for writing.
    ///
    /// # Errors
    ///
    /// When it cannot be opened.
    pub fn open() -> io::Result<Null> {
        File::options().write(true).open("/dev/null").map(Null)
    }
}

impl AsFd for Stdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsFd for Stdio {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stdin.as_fd()
    }
}

impl AsFd for Zero {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsFd for Null {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

memory_source!(Stdin, |this| &mut this.reader);
memory_source!(Stdio, |this| &mut this.stdin.reader);
memory_sink!(Stdio, |this| &mut this.stdout);
memory_source!(Zero, |_this| tokio::io::repeat(0));
memory_sink!(Null, |_this| tokio::io::sink());

impl AsyncRead for Stdio {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stdio {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdout).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_shutdown(cx)
    }
}
