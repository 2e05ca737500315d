//! The decision table: which syscall serves which pair of ends, which errors
//! send a copy back to the buffered engine, and which syscalls this process
//! has found missing.
//!
//! Everything the zero-copy paths decide is in this file, as in std's
//! `kernel_copy`: read it top to bottom to know what ferry does.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fd::FdKind;
use super::ZeroCopyMode;

/// The way a zero-copy copy moved its bytes.
///
/// # Examples
///
/// ```
/// use ferry::zero_copy::Route;
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
    /// assert!(ferry::zero_copy::Route::CopyFileRange.is_zero_copy());
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

/// The route for a pair of ends in `mode`, before any syscall has been tried.
///
/// | source | sink   | route             | why |
/// |--------|--------|-------------------|-----|
/// | file   | file   | `copy_file_range` | stays in the page cache (or reflinks); 0.95-1× std, which uses it too |
/// | file   | stream | `sendfile`        | one syscall per socket-buffer-full, no pipe needed |
/// | stream | stream | `splice`          | same wall time as a 256 KiB userspace relay on loopback, less CPU |
/// | stream | file   | `splice`          | the file write is a page-cache copy either way |
///
/// `Never` always answers [`Route::Buffered`]; so does a row whose syscall
/// this process found missing (see [`mark_missing`]).
pub(crate) fn route_for(source: FdKind, sink: FdKind, mode: ZeroCopyMode) -> Route {
    if mode == ZeroCopyMode::Never {
        return Route::Buffered;
    }
    let route = match (source, sink) {
        (FdKind::File, FdKind::File) => Route::CopyFileRange,
        (FdKind::File, FdKind::Stream) => Route::Sendfile,
        (FdKind::Stream, _) => Route::Splice,
    };
    if is_missing(route) {
        Route::Buffered
    } else {
        route
    }
}

/// Whether `err` from `route`'s syscall, with nothing moved yet, means "this
/// pair cannot go this way": the copy then falls back to the buffered engine
/// (or fails, in [`ZeroCopyMode::Always`]).
///
/// A refusal after bytes have moved is an error like any other: the
/// buffered engine could not tell which bytes the kernel already delivered.
pub(crate) fn is_refusal(route: Route, err: &io::Error) -> bool {
    let Some(errno) = err.raw_os_error() else {
        return false;
    };
    let refused = match errno {
        // The syscall does not exist here (old kernel, or a sandbox that hides it).
        libc_errno::ENOSYS => true,
        // seccomp filters (Docker's default profile, for one) answer EPERM for
        // syscalls they block; a plain permission problem would fail the
        // buffered path as well, so trying it costs nothing.
        libc_errno::EPERM => true,
        // The fd pair is of a kind the syscall does not take: a pipe or
        // character device given to copy_file_range, a file without
        // splice_read (some of /proc), a destination opened O_APPEND
        // (sendfile and splice), overlapping ranges.
        libc_errno::EINVAL => true,
        // copy_file_range between two filesystems (allowed only between
        // filesystems of the same type since Linux 5.19).
        libc_errno::EXDEV => true,
        // The filesystem or socket does not implement the operation.
        libc_errno::EOPNOTSUPP => true,
        // copy_file_range to a destination opened O_APPEND.
        libc_errno::EBADF => route == Route::CopyFileRange,
        _ => false,
    };
    if refused && matches!(errno, libc_errno::ENOSYS | libc_errno::EPERM) {
        mark_missing(route);
    }
    refused
}

/// `copy_file_range` returning 0 on its first call does not prove the source
/// empty: procfs, sysfs and overlayfs answer 0 for files that have bytes.
/// The buffered engine finds out for sure (and reads 0 again if it is empty).
pub(crate) fn first_zero_is_refusal(route: Route) -> bool {
    route == Route::CopyFileRange
}

/// The errno values the table names, so it reads without a libc dependency.
mod libc_errno {
    pub(super) const EPERM: i32 = rustix::io::Errno::PERM.raw_os_error();
    pub(super) const EBADF: i32 = rustix::io::Errno::BADF.raw_os_error();
    pub(super) const EXDEV: i32 = rustix::io::Errno::XDEV.raw_os_error();
    pub(super) const EINVAL: i32 = rustix::io::Errno::INVAL.raw_os_error();
    pub(super) const ENOSYS: i32 = rustix::io::Errno::NOSYS.raw_os_error();
    pub(super) const EOPNOTSUPP: i32 = rustix::io::Errno::OPNOTSUPP.raw_os_error();
}

// Probe once, remember: a syscall this process has seen answer ENOSYS or
// EPERM (seccomp) is not tried again; later copies go straight to the
// buffered engine. Per-fd refusals (EINVAL, EXDEV, ...) are not remembered,
// because the next pair of fds may well be served.
static COPY_FILE_RANGE_MISSING: AtomicBool = AtomicBool::new(false);
static SENDFILE_MISSING: AtomicBool = AtomicBool::new(false);
static SPLICE_MISSING: AtomicBool = AtomicBool::new(false);

fn flag(route: Route) -> Option<&'static AtomicBool> {
    match route {
        Route::CopyFileRange => Some(&COPY_FILE_RANGE_MISSING),
        Route::Sendfile => Some(&SENDFILE_MISSING),
        Route::Splice => Some(&SPLICE_MISSING),
        Route::Buffered => None,
    }
}

/// Remembers, for the whole process, that `route`'s syscall is unavailable.
pub(crate) fn mark_missing(route: Route) {
    if let Some(flag) = flag(route) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Whether this process has found `route`'s syscall unavailable.
pub(crate) fn is_missing(route: Route) -> bool {
    flag(route).is_some_and(|flag| flag.load(Ordering::Relaxed))
}

/// Whether `sink` refuses `route` before a syscall is tried: a destination
/// opened `O_APPEND` makes `copy_file_range` fail with `EBADF` and
/// `sendfile`/`splice` with `EINVAL`, and splice would only find out after
/// bytes were already in its pipe. Checked up front, it falls back cleanly.
pub(crate) fn sink_refuses(route: Route, sink: std::os::fd::BorrowedFd<'_>) -> bool {
    route.is_zero_copy()
        && rustix::fs::fcntl_getfl(sink)
            .is_ok_and(|flags| flags.contains(rustix::fs::OFlags::APPEND))
}
