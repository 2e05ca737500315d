//! `Call`: the kernel calls the zero-copy mover makes, and what each
//! supplies to it: the syscall, the readiness it waits for, and the most one
//! turn of the mover moves. Which calls serve a route, and what a call's
//! answers mean, is the table's.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::pipe::{splice, SpliceFlags};

/// Bytes asked of one `sendfile` call. A non-blocking socket takes what fits
/// in its send buffer and returns; the cap only bounds a call into a pipe or
/// a socket with a huge buffer, so the task yields between calls.
const SENDFILE_CHUNK: usize = 4 << 20;

/// Bytes asked of one `splice` straight across from a pipe into a pipe: a
/// pipe holds at most 1 MiB unless its owner raised `pipe-max-size`.
const SPLICE_ACROSS_CHUNK: usize = 1 << 20;

/// Bytes per trip to tokio's blocking pool. A `copy_file_range` call can
/// block on the disk, so the calls run there; 16 MiB keeps the per-trip
/// round trip (about 20 µs) under 1% of a page-cache copy.
const FILE_RANGE_TRIP: usize = 16 << 20;

/// One kind of kernel call. A route is one call that takes bytes from the
/// source, and for splice through a pipe a second that gives them on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// `copy_file_range(2)` from the source file into the sink file.
    CopyFileRange,
    /// `sendfile(2)` from the source file into the sink socket or pipe.
    Sendfile,
    /// `splice(2)` from the source pipe straight into the sink pipe.
    SpliceAcross,
    /// `splice(2)` from the source into the mover's own pipe.
    SpliceIn,
    /// `splice(2)` from the mover's own pipe out into the sink.
    SpliceOut,
}

/// What a call waits for before it runs, and so where it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The source readable; the call runs inside the source's `try_io`.
    Source,
    /// The sink writable; the call runs inside the sink's `try_io`.
    Sink,
    /// Both; the call runs inside both ends' `try_io`.
    Both,
    /// Nothing: files are always "ready" but a call on them may block on
    /// the disk, so it runs on tokio's blocking pool, off the task.
    OffTask,
}

/// How a call's turn ended, besides the bytes it moved.
#[derive(Debug)]
pub(crate) enum Turn {
    /// Go on: the call moved bytes, or an end was not ready (its readiness
    /// is cleared, and the next wait sleeps until it is).
    Again,
    /// The call answered 0 (the table says what that means).
    Zero,
    /// The call failed (the table says what that means).
    Failed(io::Error),
}

impl Turn {
    /// The bytes a call on the task moved, and how its turn ended.
    pub(crate) fn of(answer: io::Result<usize>) -> (usize, Turn) {
        match answer {
            Ok(0) => (0, Turn::Zero),
            Ok(n) => (n, Turn::Again),
            Err(err) if would_block(&err) => (0, Turn::Again),
            Err(err) => (0, Turn::Failed(err)),
        }
    }
}

/// Whether `err` only says "not now": readiness was cleared, try again later.
pub(crate) fn would_block(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl Call {
    /// What the call waits for.
    ///
    /// `SpliceIn` waits for the source alone: the mover's pipe is empty
    /// whenever it runs (see the mover), so an `EAGAIN` can only be the
    /// source's, and clearing the source's readiness for it is right.
    pub(crate) fn wait(self) -> Wait {
        match self {
            Call::CopyFileRange => Wait::OffTask,
            Call::Sendfile | Call::SpliceOut => Wait::Sink,
            Call::SpliceIn => Wait::Source,
            Call::SpliceAcross => Wait::Both,
        }
    }

    /// The most one turn of the mover moves, before the gate's allowance
    /// (a byte or rate limit) caps it further. A splice through the mover's
    /// pipe moves at most the `pipe` bytes the pipe holds.
    pub(crate) fn most(self, pipe: usize) -> usize {
        match self {
            Call::CopyFileRange => FILE_RANGE_TRIP,
            Call::Sendfile => SENDFILE_CHUNK,
            Call::SpliceAcross => SPLICE_ACROSS_CHUNK,
            Call::SpliceIn | Call::SpliceOut => pipe,
        }
    }

    /// Whether the bytes come from the source: the gate allows them, and
    /// they count as read.
    pub(crate) fn takes(self) -> bool {
        self != Call::SpliceOut
    }

    /// Whether the bytes land in the sink: they count as written.
    pub(crate) fn lands(self) -> bool {
        self != Call::SpliceIn
    }

    /// The syscall itself, moving up to `len` bytes from `from` to `to`.
    pub(crate) fn run(
        self,
        from: BorrowedFd<'_>,
        to: BorrowedFd<'_>,
        len: usize,
    ) -> rustix::io::Result<usize> {
        match self {
            Call::CopyFileRange => rustix::fs::copy_file_range(from, None, to, None, len),
            Call::Sendfile => rustix::fs::sendfile(to, from, None, len),
            Call::SpliceAcross | Call::SpliceIn | Call::SpliceOut => splice(
                from,
                None,
                to,
                None,
                len,
                SpliceFlags::MOVE | SpliceFlags::NONBLOCK,
            ),
        }
    }
}
