//! `PipeToPipe`: one `splice` straight from a pipe into a pipe, as `pv`
//! does, without the pipe that [`SpliceWay`](super::splice::SpliceWay)
//! puts between its ends.
//!
//! With both ends pipes, `EAGAIN` may mean an empty source or a full sink.
//! Clearing the readiness of an end that is in fact ready would leave it
//! waiting for an edge that may never come (a writer that already closed),
//! so a zero-timeout `poll` inside each end's `try_io` tells which end is
//! blocked, and only that one's readiness is cleared.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::pipe::{splice, SpliceFlags};
use tokio::task::coop::poll_proceed;

use super::end::{ZeroCopySink, ZeroCopySource};
use super::table::{judge, Route};
use super::would_block;
use crate::engine::{Fault, Mover, PollMove, ReadGate};
use crate::{DirectionCounts, Step};

/// The most one splice is asked to move: a pipe holds at most 1 MiB unless
/// its owner raised `pipe-max-size`.
const MAX_SPLICE: usize = 1 << 20;

/// A direct splice copy; nothing is ever held between the ends, so bytes
/// read are bytes written.
#[derive(Debug, Default)]
pub(crate) struct PipeToPipe {
    moved: u64,
    eof: bool,
}

impl Mover for PipeToPipe {
    fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.moved,
            written: self.moved,
        }
    }
}

impl<S, D> PollMove<S, D> for PipeToPipe
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        source: Pin<&mut S>,
        sink: Pin<&mut D>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        let (source, sink) = (&*source, &*sink);
        let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
        loop {
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            if gate.is_stopped() {
                self.eof = true;
                continue;
            }
            if let Err(err) = ready!(source.poll_read_ready(cx)) {
                return Poll::Ready(Err(Fault::Failed(Step::Read, err)));
            }
            if let Err(err) = ready!(sink.poll_write_ready(cx)) {
                return Poll::Ready(Err(Fault::Failed(Step::Write, err)));
            }
            let coop = ready!(poll_proceed(cx));
            let want = ready!(gate.poll_allowance(cx, MAX_SPLICE));
            if want == 0 {
                self.eof = true;
                continue;
            }
            let (from, to) = (source.as_fd(), sink.as_fd());
            // Inside both ends' try_io: each clears its readiness only for
            // a WouldBlock, which it gets only when poll says it is blocked
            // (Interrupted means "try again" and clears nothing).
            let mut source_blocked = false;
            let result = source.try_read_io(&mut || {
                let moved =
                    sink.try_write_io(&mut || match splice(from, None, to, None, want, flags) {
                        Ok(n) => Ok(n),
                        Err(Errno::AGAIN) => {
                            let (readable, writable) = readiness(from, to);
                            source_blocked = !readable;
                            Err(not_now(!writable))
                        }
                        Err(errno) => Err(errno.into()),
                    });
                match moved {
                    Err(err) if would_block(&err) => Err(not_now(source_blocked)),
                    moved => moved,
                }
            });
            match result {
                Ok(n) => {
                    gate.consume(n);
                    coop.made_progress();
                    self.eof = n == 0;
                    self.moved += n as u64;
                }
                Err(err) if would_block(&err) => gate.consume(0),
                Err(err) => {
                    gate.consume(0);
                    let reader_gone = err.raw_os_error() == Some(Errno::PIPE.raw_os_error());
                    // The kernel looks at the sink's readers before the
                    // source's writers: a reader that left after the last
                    // byte fails the splice that would have found the EOF.
                    // With nothing left to move, that is the end.
                    if reader_gone && at_eof(from) {
                        self.eof = true;
                        continue;
                    }
                    // A reader that went away is the write failing.
                    let step = if reader_gone { Step::Write } else { Step::Read };
                    return Poll::Ready(Err(judge(Route::Splice, step, err, self.moved)));
                }
            }
        }
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

/// Whether the pipe `from` is at its end: its writers closed and nothing
/// left in it, asked without waiting.
fn at_eof(from: std::os::fd::BorrowedFd<'_>) -> bool {
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
/// answer, both count as ready: the splice is simply tried again.
fn readiness(from: std::os::fd::BorrowedFd<'_>, to: std::os::fd::BorrowedFd<'_>) -> (bool, bool) {
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
