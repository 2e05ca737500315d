//! `SplicePipe`: the kernel pipe a splice copy moves its bytes through.
//!
//! Each direction owns one pipe for its whole life and drops it with the
//! copy, so a pipe that still holds bytes is never handed to another copy.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::pipe::{fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, PipeFlags};

#[derive(Debug)]
pub(crate) struct SplicePipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

impl SplicePipe {
    /// A non-blocking pipe of about `want` bytes.
    ///
    /// The size is what `F_GETPIPE_SZ` reports after asking for `want` with
    /// `F_SETPIPE_SZ`: the per-user pipe budget may shrink (or refuse) the
    /// request, and the kernel rounds it up to a power-of-two of pages.
    pub(crate) fn new(want: usize) -> io::Result<Self> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        // A refusal (EPERM over the user's budget, EINVAL above the maximum)
        // leaves the pipe at its default size, which still works.
        let _ = fcntl_setpipe_size(&write, want.max(1));
        let capacity = fcntl_getpipe_size(&write)?;
        Ok(Self {
            read,
            write,
            capacity,
        })
    }

    /// Bytes the pipe holds when full.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn read_end(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    pub(crate) fn write_end(&self) -> BorrowedFd<'_> {
        self.write.as_fd()
    }
}
