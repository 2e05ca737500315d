//! The decision table: which syscall serves which pair of ends, what a
//! call's answers mean (which errors are the kernel refusing a pair, so the
//! copy goes on through memory; which end an error is blamed on; what a 0
//! means), and which syscalls this process has found missing.
//!
//! Everything the zero-copy paths decide is in this file, as in std's
//! `kernel_copy`: read it top to bottom to know what ferry does. The mover
//! only reports what a call returned; this file says what that means.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU8, Ordering};

use rustix::io::Errno;

use super::call::Call;
use super::end::FdKind;
use super::ZeroCopyMode;
use crate::engine::{Fault, Step};

/// The way a zero-copy copy moved its bytes.
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::Route;
///
/// assert_eq!(Route::Splice.to_string(), "splice");
/// assert!(Route::Sendfile.is_zero_copy());
/// assert!(!Route::Buffered.is_zero_copy());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `copy_file_range(2)`: file to file, inside the kernel.
    CopyFileRange,
    /// `sendfile(2)`: file to socket or pipe.
    Sendfile,
    /// `splice(2)` through a pipe: socket or pipe to socket, pipe or file.
    Splice,
    /// The buffered engine ([`CopyJob`](crate::CopyJob) or the `Copier`'s relay).
    Buffered,
}

impl Route {
    /// Whether the bytes stayed in the kernel.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ferry_io::zero_copy::Route::CopyFileRange.is_zero_copy());
    /// ```
    pub fn is_zero_copy(self) -> bool {
        self != Route::Buffered
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Route::CopyFileRange => "copy_file_range",
            Route::Sendfile => "sendfile",
            Route::Splice => "splice",
            Route::Buffered => "buffered",
        })
    }
}

/// The route for a one-way copy from `source` to `sink` in `mode`, before
/// any syscall has been tried.
///
/// | source         | sink           | route             | why |
/// |----------------|----------------|-------------------|-----|
/// | file           | file           | `copy_file_range` | stays in the page cache (or reflinks), as std does |
/// | file           | socket or pipe | `sendfile`        | one syscall per socket-buffer-full, no pipe needed |
/// | socket or pipe | pipe or file   | `splice`          | a pipe is half the way already; a file write is a page-cache copy either way; pipe to pipe splices directly, with no pipe between |
/// | pipe           | socket         | `splice`          | as above |
/// | socket         | socket         | memory first under `Auto`, `splice` under `Always` | see below |
/// | anything else  |                | memory            | the kernel routes do not take it |
///
/// Socket to socket starts in memory under `Auto`, and a relay moves each
/// direction to a pipe of its own once it streams ([`switches`]): a small
/// message costs a call less through memory, and a stream of bulk costs
/// less CPU per byte through a pipe (splice moves page references where
/// memory copies every byte twice), which on two cores shared with the
/// ends is throughput too. `Always` splices from the first byte.
///
/// `Never` always answers [`Route::Buffered`]; so does a row whose syscall
/// this process found missing (see [`judge`]).
pub(crate) fn route(source: FdKind, sink: FdKind, mode: ZeroCopyMode) -> Route {
    if mode == ZeroCopyMode::Never || !cfg!(target_os = "linux") {
        return Route::Buffered;
    }
    let route = match (source, sink) {
        (FdKind::File, FdKind::File) => Route::CopyFileRange,
        (FdKind::File, sink) if sink.is_stream() => Route::Sendfile,
        (FdKind::Socket, FdKind::Socket) if mode == ZeroCopyMode::Auto => Route::Buffered,
        (source, FdKind::File) if source.is_stream() => Route::Splice,
        (source, sink) if source.is_stream() && sink.is_stream() => Route::Splice,
        _ => Route::Buffered,
    };
    if route.is_zero_copy() && is_missing(route) {
        Route::Buffered
    } else {
        route
    }
}

/// The route for a relay between `a` and `b`: both directions must splice
/// (each through a pipe of its own), or neither does.
pub(crate) fn relay_route(a: FdKind, b: FdKind, mode: ZeroCopyMode) -> Route {
    match (route(a, b, mode), route(b, a, mode)) {
        (Route::Splice, Route::Splice) => Route::Splice,
        _ => Route::Buffered,
    }
}

/// Whether a relay between `a` and `b`, which [`relay_route`] sends through
/// memory, moves each direction to a pipe of its own once it streams (see
/// `switching.rs`): two sockets under `Auto`, where splice is available.
pub(crate) fn switches(a: FdKind, b: FdKind, mode: ZeroCopyMode) -> bool {
    cfg!(target_os = "linux")
        && mode == ZeroCopyMode::Auto
        && (a, b) == (FdKind::Socket, FdKind::Socket)
        && !is_missing(Route::Splice)
}

/// The call that takes bytes from the source on `route` between ends of
/// these kinds (`None` for memory). Splice takes them into the mover's own
/// pipe, except from a pipe into a pipe, which needs no pipe between them.
pub(crate) fn taking(route: Route, source: FdKind, sink: FdKind) -> Option<Call> {
    match route {
        Route::CopyFileRange => Some(Call::CopyFileRange),
        Route::Sendfile => Some(Call::Sendfile),
        Route::Splice if source == FdKind::Pipe && sink == FdKind::Pipe => Some(Call::SpliceAcross),
        Route::Splice => Some(Call::SpliceIn),
        Route::Buffered => None,
    }
}

/// The route whose syscall `call` makes.
fn route_of(call: Call) -> Route {
    match call {
        Call::CopyFileRange => Route::CopyFileRange,
        Call::Sendfile => Route::Sendfile,
        Call::SpliceAcross | Call::SpliceIn | Call::SpliceOut => Route::Splice,
    }
}

/// Whether `sink` refuses `route` before a syscall is tried: a destination
/// opened `O_APPEND` makes `copy_file_range` fail with `EBADF` and
/// `sendfile`/`splice` with `EINVAL`, and splice would only find out after
/// bytes were already in its pipe. Checked up front, it falls back cleanly.
pub(crate) fn sink_refuses(route: Route, sink: BorrowedFd<'_>) -> bool {
    route.is_zero_copy()
        && rustix::fs::fcntl_getfl(sink)
            .is_ok_and(|flags| flags.contains(rustix::fs::OFlags::APPEND))
}

/// What an error from `call` means, after `moved` bytes: the kernel
/// refusing the pair (the copy may go on through memory) or a failure like
/// any other, of the step [`blame`] names.
///
/// A refusal counts only before the first byte: after that the errno is a
/// real failure, except `EOVERFLOW`, which says this call's range would pass
/// the largest file offset: nothing of it moved, everything before it
/// landed, and memory can carry the rest.
pub(crate) fn judge(call: Call, err: io::Error, moved: u64) -> Fault {
    let (route, step) = (route_of(call), blame(call, &err));
    let Some(errno) = err.raw_os_error().map(Errno::from_raw_os_error) else {
        return Fault::Failed(step, err);
    };
    let refused = match errno {
        // The syscall does not exist here (old kernel, or a sandbox that hides it).
        Errno::NOSYS => true,
        // seccomp filters (Docker's default profile, for one) answer EPERM
        // for syscalls they block; so does copy_file_range into an
        // immutable file. A plain permission problem fails the buffered
        // path as well, so trying it costs nothing.
        Errno::PERM => true,
        // The fd pair is of a kind the syscall does not take: a pipe or
        // character device given to copy_file_range, a file without
        // splice_read (some of /proc), a destination opened O_APPEND
        // (sendfile and splice), overlapping ranges.
        Errno::INVAL => true,
        // copy_file_range between two filesystems (allowed only between
        // filesystems of the same type since Linux 5.19).
        Errno::XDEV => true,
        // The filesystem or socket does not implement the operation.
        Errno::OPNOTSUPP => true,
        // copy_file_range to a destination opened O_APPEND.
        Errno::BADF => route == Route::CopyFileRange,
        Errno::OVERFLOW if matches!(route, Route::CopyFileRange | Route::Sendfile) => {
            return Fault::Refused(err);
        }
        _ => false,
    };
    if !refused || moved > 0 {
        return Fault::Failed(step, err);
    }
    if matches!(errno, Errno::NOSYS | Errno::PERM) && filtered(route) {
        mark_missing(route);
    }
    Fault::Refused(err)
}

/// The step an error from `call` is reported as: the source's (`Read`) or
/// the sink's (`Write`).
///
/// A call into the sink is the sink's, even when the kernel read a file to
/// make it (`sendfile`, `copy_file_range`); a splice into the mover's pipe
/// is the source's. A splice straight across from pipe to pipe is the
/// source's unless its reader went away (`EPIPE`).
fn blame(call: Call, err: &io::Error) -> Step {
    match call {
        Call::SpliceIn => Step::Read,
        Call::CopyFileRange | Call::Sendfile | Call::SpliceOut => Step::Write,
        Call::SpliceAcross if err.raw_os_error() == Some(Errno::PIPE.raw_os_error()) => Step::Write,
        Call::SpliceAcross => Step::Read,
    }
}

/// Whether `err` from `call` may be the source's end rather than a failure:
/// a splice from pipe to pipe whose sink's reader left (`EPIPE`). The
/// kernel looks at the sink's readers before the source's writers, so when
/// the reader took every byte and left before the splice that would have
/// found the source's end, that splice fails with `EPIPE`; with the source
/// pipe at its end (writers gone, nothing in it), nothing was lost and the
/// copy is done. The mover asks the source.
pub(crate) fn may_be_the_end(call: Call, err: &io::Error) -> bool {
    call == Call::SpliceAcross && err.raw_os_error() == Some(Errno::PIPE.raw_os_error())
}

/// What `call` answering 0 means after `moved` bytes: the source's end
/// (`None`), or the fault that ends the copy.
///
/// - `SpliceOut` moves bytes the pipe holds: a sink that takes none of them
///   fails the write (`WriteZero`).
/// - `copy_file_range` returning 0 on its first call does not prove the
///   source empty: procfs, sysfs and overlayfs answer 0 for files that have
///   bytes. The buffered engine finds out for sure (and reads 0 again if it
///   is empty).
pub(crate) fn zero(call: Call, moved: u64) -> Option<Fault> {
    match call {
        Call::SpliceOut => Some(Fault::Failed(
            Step::Write,
            io::Error::new(io::ErrorKind::WriteZero, "splice wrote 0 bytes"),
        )),
        Call::CopyFileRange if moved == 0 => Some(Fault::Refused(io::Error::other(
            "copy_file_range returned 0 on its first call",
        ))),
        _ => None,
    }
}

// Probe once, remember: a syscall this process has found filtered or absent
// is not tried again; later copies go straight to the buffered engine.
// Refusals by one fd pair (EINVAL, EXDEV, an immutable file's EPERM) are
// not remembered, because the next pair may well be served.
const UNKNOWN: u8 = 0;
const PRESENT: u8 = 1;
const MISSING: u8 = 2;

static COPY_FILE_RANGE: AtomicU8 = AtomicU8::new(UNKNOWN);
static SENDFILE: AtomicU8 = AtomicU8::new(UNKNOWN);
static SPLICE: AtomicU8 = AtomicU8::new(UNKNOWN);

fn state(route: Route) -> Option<&'static AtomicU8> {
    match route {
        Route::CopyFileRange => Some(&COPY_FILE_RANGE),
        Route::Sendfile => Some(&SENDFILE),
        Route::Splice => Some(&SPLICE),
        Route::Buffered => None,
    }
}

fn mark_missing(route: Route) {
    if let Some(state) = state(route) {
        state.store(MISSING, Ordering::Relaxed);
    }
}

/// Whether this process has found `route`'s syscall unavailable.
fn is_missing(route: Route) -> bool {
    state(route).is_some_and(|state| state.load(Ordering::Relaxed) == MISSING)
}

/// Whether `route`'s syscall itself is unavailable, rather than one file
/// refusing it: asked once per process, with an empty non-blocking pipe
/// that every one of these syscalls rejects or finds empty when it runs.
///
/// std probes the same way, with an invalid fd; a pipe keeps the probe free
/// of `unsafe`. `ENOSYS` or `EPERM` for a pipe can only come from the
/// syscall's absence or a seccomp filter: nothing about the pipe forbids it.
fn filtered(route: Route) -> bool {
    let Some(state) = state(route) else {
        return false;
    };
    match state.load(Ordering::Relaxed) {
        PRESENT => return false,
        MISSING => return true,
        _ => {}
    }
    let Ok(answer) = probe(route) else {
        // No pipe to probe with (out of fds): decide nothing now.
        return false;
    };
    let missing = matches!(answer, Err(Errno::NOSYS | Errno::PERM));
    state.store(if missing { MISSING } else { PRESENT }, Ordering::Relaxed);
    missing
}

/// Runs `route`'s syscall once on an empty non-blocking pipe and returns its
/// answer (the outer error is failing to make the pipe).
fn probe(route: Route) -> io::Result<Result<usize, Errno>> {
    use rustix::pipe::{pipe_with, splice, PipeFlags, SpliceFlags};
    let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    let (_, other_write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    Ok(match route {
        Route::CopyFileRange => rustix::fs::copy_file_range(&read, None, &write, None, 1),
        Route::Sendfile => rustix::fs::sendfile(&other_write, &read, None, 1),
        Route::Splice => splice(&read, None, &other_write, None, 1, SpliceFlags::NONBLOCK),
        Route::Buffered => Ok(0),
    })
}
