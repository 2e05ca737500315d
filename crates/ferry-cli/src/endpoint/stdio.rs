//! The ends that are not files or sockets: stdin, stdout, both as one
//! stream for a relay, `zero:` and `null:`.
//!
//! Each is a kernel object with an fd (the zero-copy paths look at every
//! end, and move bytes in the kernel where the pair allows), read or written
//! through memory otherwise. Rust's runtime reopens a closed fd 0, 1 or 2
//! on `/dev/null`, read-write, before `main` runs, so `ferry FILE - >&-`
//! would copy into `/dev/null` and report success: a stream that is
//! `/dev/null` opened read-write is taken as closed (shells open
//! `</dev/null` read-only and `>/dev/null` write-only).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::pin::Pin;
use std::task::{Context, Poll};

use ferry::LandedWriter;
use rustix::fs::OFlags;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::memory::{memory_sink, memory_source};
use crate::messages::{self, Failure};

/// stdin, read through tokio.
#[derive(Debug)]
pub struct Stdin {
    fd: io::Stdin,
    reader: tokio::io::Stdin,
}

/// stdin, unless the shell closed it.
///
/// # Errors
///
/// A [`Failure::Input`] when stdin is closed.
pub fn stdin() -> Result<Stdin, Failure> {
    if stdin_closed() {
        return Err(messages::stdio_closed("read from", "stdin"));
    }
    Ok(Stdin {
        fd: io::stdin(),
        reader: tokio::io::stdin(),
    })
}

/// stdout, unless the shell closed it, written so that counts are exact.
///
/// # Errors
///
/// A [`Failure::Input`] when stdout is closed.
pub fn stdout() -> Result<LandedWriter, Failure> {
    let closed = || messages::stdio_closed("write to", "stdout");
    if stdout_closed() {
        return Err(closed());
    }
    LandedWriter::stdout().map_err(|_| closed())
}

/// stdin and stdout as one two-way stream, for a relay.
#[derive(Debug)]
pub struct Stdio {
    stdin: Stdin,
    stdout: LandedWriter,
}

/// stdin and stdout for a relay, unless the shell closed either.
///
/// # Errors
///
/// A [`Failure::Input`] when either is closed.
pub fn both() -> Result<Stdio, Failure> {
    Ok(Stdio {
        stdin: stdin()?,
        stdout: stdout()?,
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

/// Whether stdin was closed when ferry started.
fn stdin_closed() -> bool {
    closed(std::io::stdin().as_fd())
}

/// Whether stdout was closed when ferry started.
fn stdout_closed() -> bool {
    closed(std::io::stdout().as_fd())
}

fn closed(fd: BorrowedFd<'_>) -> bool {
    let Ok(flags) = rustix::fs::fcntl_getfl(fd) else {
        return true;
    };
    if flags & OFlags::RWMODE != OFlags::RDWR {
        return false;
    }
    let Ok(stream) = fd
        .try_clone_to_owned()
        .and_then(|fd| File::from(fd).metadata())
    else {
        return true;
    };
    let Ok(null) = std::fs::metadata("/dev/null") else {
        return false;
    };
    stream.file_type().is_char_device() && stream.rdev() == null.rdev()
}
