//! Running a call on the task: wait for the ends it needs with tokio's
//! reactor, then make it inside their `try_io`, so that a `WouldBlock`
//! clears the readiness of the end that is blocked, and only that one's.

use std::io;
use std::os::fd::BorrowedFd;
use std::task::{ready, Context, Poll};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use super::call::{would_block, Wait};
use super::end::{ZeroCopySink, ZeroCopySource};
use crate::engine::Fault;
use crate::Step;

/// Waits until the ends `wait` names may be ready.
pub(crate) fn poll_ready<S, D>(
    wait: Wait,
    cx: &mut Context<'_>,
    source: &S,
    sink: &D,
) -> Poll<Result<(), Fault>>
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    if matches!(wait, Wait::Source | Wait::Both) {
        if let Err(err) = ready!(source.poll_read_ready(cx)) {
            return Poll::Ready(Err(Fault::Failed(Step::Read, err)));
        }
    }
    if matches!(wait, Wait::Sink | Wait::Both) {
        if let Err(err) = ready!(sink.poll_write_ready(cx)) {
            return Poll::Ready(Err(Fault::Failed(Step::Write, err)));
        }
    }
    Poll::Ready(Ok(()))
}

/// Makes `call`, a syscall from `from` to `to`, inside the `try_io` of the
/// ends `wait` names.
///
/// With both ends streams, `EAGAIN` may mean an empty source or a full sink.
/// Clearing the readiness of an end that is in fact ready would leave it
/// waiting for an edge that may never come (a writer that already closed),
/// so a zero-timeout `poll` tells which end is blocked, and only that one's
/// readiness is cleared.
pub(crate) fn try_call<S, D>(
    wait: Wait,
    source: &S,
    sink: &D,
    (from, to): (BorrowedFd<'_>, BorrowedFd<'_>),
    call: &mut dyn FnMut() -> rustix::io::Result<usize>,
) -> io::Result<usize>
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    match wait {
        Wait::Source => source.try_read_io(&mut || call().map_err(io::Error::from)),
        Wait::Sink => sink.try_write_io(&mut || call().map_err(io::Error::from)),
        Wait::Both => {
            // Each end clears its readiness only for a WouldBlock, which it
            // gets only when poll says it is blocked (Interrupted means "try
            // again" and clears nothing).
            let mut source_blocked = false;
            source.try_read_io(&mut || {
                let moved = sink.try_write_io(&mut || match call() {
                    Err(Errno::AGAIN) => {
                        let (readable, writable) = readiness(from, to);
                        source_blocked = !readable;
                        Err(not_now(!writable))
                    }
                    moved => moved.map_err(io::Error::from),
                });
                match moved {
                    Err(err) if would_block(&err) => Err(not_now(source_blocked)),
                    moved => moved,
                }
            })
        }
        // Nothing to wait for, no readiness to clear (the mover makes such
        // calls off the task, where they may block).
        Wait::OffTask => call().map_err(io::Error::from),
    }
}

/// `WouldBlock` (the end's readiness is cleared) when `blocked`, else
/// `Interrupted` (tried again at once).
fn not_now(blocked: bool) -> io::Error {
    if blocked {
        io::ErrorKind::WouldBlock.into()
    } else {
        io::ErrorKind::Interrupted.into()
    }
}

/// Whether the pipe `from` is at its end (its writers gone and nothing
/// left in it), asked without waiting.
pub(crate) fn at_end(from: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(&from, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).is_ok()
        && fds[0].revents().contains(PollFlags::HUP)
        && !fds[0].revents().contains(PollFlags::IN)
}

/// Whether `from` has bytes (or its writer closed) and `to` has room (or
/// its reader closed), asked without waiting. When the kernel cannot
/// answer, both count as ready: the call is simply tried again.
fn readiness(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> (bool, bool) {
    let mut fds = [
        PollFd::new(&from, PollFlags::IN),
        PollFd::new(&to, PollFlags::OUT),
    ];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if poll(&mut fds, Some(&now)).is_err() {
        return (true, true);
    }
    let done = PollFlags::HUP | PollFlags::ERR;
    (
        fds[0].revents().intersects(PollFlags::IN | done),
        fds[1].revents().intersects(PollFlags::OUT | done),
    )
}
