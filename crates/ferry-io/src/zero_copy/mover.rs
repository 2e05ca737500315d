//! `KernelMover`: the one loop every zero-copy route runs.
//!
//! Each turn: check for a stop, wait for the ends the call needs, take a
//! unit of the task's cooperative budget, ask the gate how much the call may
//! take, make the call, and count what it moved. A route supplies only its
//! [`Call`]s (the syscall, the readiness it waits for, the most it moves);
//! the table says what a call's answers mean.

use std::io;
use std::os::fd::BorrowedFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::task::coop::poll_proceed;

use super::call::{Call, Turn, Wait};
use super::end::{ZeroCopySink, ZeroCopySource};
use super::off_task::OffTask;
use super::on_task::{at_end, poll_ready, try_call};
use super::pipe::SplicePipe;
use super::table;
use crate::engine::{Fault, Mover, PollMove, ReadGate};
use crate::{DirectionCounts, Step};

/// One direction of a zero-copy copy.
///
/// `read` counts bytes taken from the source and `written` bytes given to
/// the sink. They differ only by what the mover's pipe holds; after a
/// failure the difference is reported, never hidden.
#[derive(Debug)]
pub(crate) struct KernelMover {
    /// The call that takes bytes from the source.
    take: Call,
    /// Where a call whose bytes do not land (`SpliceIn`) puts them, for
    /// `SpliceOut` to give to the sink.
    pipe: Option<SplicePipe>,
    /// The trips of a call that runs off the task, once there is one.
    off_task: Option<OffTask>,
    read: u64,
    written: u64,
    /// The source's end (or the gate's) was reached.
    eof: bool,
}

impl KernelMover {
    /// A mover whose bytes `take` takes from the source; a splice through a
    /// pipe asks for one of about `pipe_size` bytes.
    ///
    /// # Errors
    ///
    /// Making the pipe failed (out of fds, or of pipe memory).
    pub(crate) fn new(take: Call, pipe_size: usize) -> io::Result<Self> {
        let pipe = if take.lands() {
            None
        } else {
            Some(SplicePipe::new(pipe_size)?)
        };
        Ok(Self {
            take,
            pipe,
            off_task: None,
            read: 0,
            written: 0,
            eof: false,
        })
    }

    /// Bytes its pipe holds when full (0 for a call that needs no pipe).
    pub(crate) fn pipe_capacity(&self) -> usize {
        self.pipe.as_ref().map_or(0, SplicePipe::capacity)
    }

    /// Counts what `call` moved (telling the gate of bytes taken from the
    /// source) and, with the table, what the end of its turn means.
    fn settle<G: ReadGate>(
        &mut self,
        call: Call,
        moved: usize,
        turn: Turn,
        gate: &mut G,
    ) -> Result<(), Fault> {
        if call.takes() {
            gate.consume(moved);
            self.read += moved as u64;
        }
        if call.lands() {
            self.written += moved as u64;
        }
        match turn {
            Turn::Again => Ok(()),
            Turn::Zero => match table::zero(call, self.read) {
                Some(fault) => Err(fault),
                None => {
                    self.eof = true;
                    Ok(())
                }
            },
            Turn::Failed(err) => Err(table::judge(call, err, self.read)),
        }
    }
}

impl Drop for KernelMover {
    /// Gives an emptied pipe back for another copy on this thread (see
    /// [`SplicePipe::give_back`]); a trip off the task may still use one,
    /// which then just closes.
    fn drop(&mut self) {
        if let Some(pipe) = self.pipe.take() {
            pipe.give_back(self.read == self.written && self.off_task.is_none());
        }
    }
}

impl Mover for KernelMover {
    /// Bytes moved, including those a trip still in flight has landed: the
    /// counts lag the sink by at most the one call running right now.
    fn counts(&self) -> DirectionCounts {
        let in_flight = self.off_task.as_ref().map_or(0, OffTask::in_flight);
        DirectionCounts {
            read: self.read + in_flight,
            written: self.written + in_flight,
        }
    }

    /// Tells a trip in flight to make no call after its current one.
    fn halt(&self) {
        if let Some(off_task) = &self.off_task {
            off_task.halt();
        }
    }
}

impl<S, D> PollMove<S, D> for KernelMover
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    /// Moves bytes until the source's end (or the gate's) with the pipe
    /// emptied.
    ///
    /// The pipe is filled only when empty and then drained fully. Filling a
    /// pipe that has bytes could fail with `EAGAIN` because the *pipe* is
    /// full, and `try_io` would then clear the *socket's* readiness while
    /// the socket still has data: the copy would hang. With an empty pipe,
    /// `EAGAIN` can only come from the socket.
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        source: Pin<&mut S>,
        sink: Pin<&mut D>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        let (source, sink) = (&*source, &*sink);
        loop {
            // A trip in flight has its allowance already: it ends first.
            if let Some(off_task) = &mut self.off_task {
                if let Some((moved, turn)) = ready!(off_task.poll_trip(cx)) {
                    self.settle(self.take, moved, turn, gate)?;
                    continue;
                }
            }
            let held = self.read - self.written;
            let call = if held > 0 {
                Call::SpliceOut
            } else if self.eof {
                return Poll::Ready(Ok(()));
            } else if gate.is_stopped() {
                // The gate is asked only once the ends are ready: check for
                // a stop first, or an idle end would hold it up.
                self.eof = true;
                continue;
            } else {
                self.take
            };
            ready!(poll_ready(call.wait(), cx, source, sink))?;
            let coop = ready!(poll_proceed(cx));
            let len = if call.takes() {
                // A rate limit caps each call to what it allows now.
                let most = call.most(self.pipe.as_ref().map_or(0, SplicePipe::capacity));
                match ready!(gate.poll_allowance(cx, most)) {
                    0 => {
                        self.eof = true;
                        continue;
                    }
                    want => want,
                }
            } else {
                // What the pipe holds is at most its capacity: this fits.
                held as usize
            };
            let fds = fds(call, self.pipe.as_ref(), source.as_fd(), sink.as_fd());
            if call.wait() == Wait::OffTask {
                let started = self.off_task.get_or_insert_with(OffTask::default).start(
                    call,
                    fds,
                    gate.stop_flag(),
                    len,
                );
                if let Err(err) = started {
                    gate.consume(0);
                    return Poll::Ready(Err(Fault::Failed(Step::Read, err)));
                }
                coop.made_progress();
                continue;
            }
            let answer = try_call(call.wait(), source, sink, fds, &mut || {
                call.run(fds.0, fds.1, len)
            });
            let (moved, turn) = match Turn::of(answer) {
                (0, Turn::Failed(err)) if table::may_be_the_end(call, &err) && at_end(fds.0) => {
                    (0, Turn::Zero)
                }
                answer => answer,
            };
            if moved > 0 {
                coop.made_progress();
            }
            self.settle(call, moved, turn, gate)?;
        }
    }
}

/// The fds `call` runs between: the source and the sink, with the mover's
/// pipe in place of the end a call through it does not touch.
fn fds<'a>(
    call: Call,
    pipe: Option<&'a SplicePipe>,
    source: BorrowedFd<'a>,
    sink: BorrowedFd<'a>,
) -> (BorrowedFd<'a>, BorrowedFd<'a>) {
    match pipe {
        Some(pipe) if !call.takes() => (pipe.read_end(), sink),
        Some(pipe) if !call.lands() => (source, pipe.write_end()),
        _ => (source, sink),
    }
}
