//! `SpliceWay`: one direction of a splice copy, source to pipe to sink.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use rustix::pipe::{splice, SpliceFlags};
use tokio::task::coop::poll_proceed;

use super::end::{ZeroCopySink, ZeroCopySource};
use super::pipe::SplicePipe;
use super::table::{judge, Route};
use super::would_block;
use crate::engine::{Fault, Mover, PollMove, ReadGate};
use crate::{DirectionCounts, Step};

/// One direction: its own pipe, and the bytes that went into the pipe
/// (`read`) and out of it (`written`), counted separately. The difference is
/// what the pipe holds; after a failure it is reported, never hidden.
#[derive(Debug)]
pub(crate) struct SpliceWay {
    pipe: SplicePipe,
    in_pipe: usize,
    read: u64,
    written: u64,
    eof: bool,
}

impl SpliceWay {
    pub(crate) fn new(pipe_size: usize) -> io::Result<Self> {
        Ok(Self {
            pipe: SplicePipe::new(pipe_size)?,
            in_pipe: 0,
            read: 0,
            written: 0,
            eof: false,
        })
    }
}

impl Mover for SpliceWay {
    fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.read,
            written: self.written,
        }
    }
}

impl<S, D> PollMove<S, D> for SpliceWay
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    /// Moves bytes until the source's EOF (or the gate's limit) with the
    /// pipe emptied.
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
        let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
        loop {
            if self.in_pipe > 0 {
                if let Err(err) = ready!(sink.poll_write_ready(cx)) {
                    return Poll::Ready(Err(Fault::Failed(Step::Write, err)));
                }
                let coop = ready!(poll_proceed(cx));
                let (from, to, len) = (self.pipe.read_end(), sink.as_fd(), self.in_pipe);
                let result = sink.try_write_io(&mut || {
                    splice(from, None, to, None, len, flags).map_err(io::Error::from)
                });
                match result {
                    Ok(0) => {
                        let err = io::Error::new(io::ErrorKind::WriteZero, "splice wrote 0 bytes");
                        return Poll::Ready(Err(Fault::Failed(Step::Write, err)));
                    }
                    Ok(n) => {
                        coop.made_progress();
                        self.in_pipe -= n;
                        self.written += n as u64;
                    }
                    Err(err) if would_block(&err) => {}
                    // The bytes still in the pipe show as read - written.
                    Err(err) => {
                        return Poll::Ready(Err(judge(Route::Splice, Step::Write, err, self.read)))
                    }
                }
                continue;
            }
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            // The gate is asked only once the source is readable: check for
            // a stop first, or an idle source would hold it up.
            if gate.is_stopped() {
                self.eof = true;
                continue;
            }
            if let Err(err) = ready!(source.poll_read_ready(cx)) {
                return Poll::Ready(Err(Fault::Failed(Step::Read, err)));
            }
            let coop = ready!(poll_proceed(cx));
            // A rate limit caps each splice to what it allows now.
            let want = ready!(gate.poll_allowance(cx, self.pipe.capacity()));
            if want == 0 {
                self.eof = true;
                continue;
            }
            let (from, to) = (source.as_fd(), self.pipe.write_end());
            let result = source.try_read_io(&mut || {
                splice(from, None, to, None, want, flags).map_err(io::Error::from)
            });
            match result {
                Ok(n) => {
                    gate.consume(n);
                    coop.made_progress();
                    self.eof = n == 0;
                    self.in_pipe = n;
                    self.read += n as u64;
                }
                Err(err) if would_block(&err) => gate.consume(0),
                Err(err) => {
                    gate.consume(0);
                    return Poll::Ready(Err(judge(Route::Splice, Step::Read, err, self.read)));
                }
            }
        }
    }
}
