//! `Sendfile`: file to socket or pipe with `sendfile(2)`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::task::coop::poll_proceed;

use super::end::{ZeroCopySink, ZeroCopySource};
use super::table::{judge, Route};
use super::would_block;
use crate::engine::{Fault, Mover, PollMove, ReadGate};
use crate::{DirectionCounts, Step};

/// Bytes asked of one `sendfile` call. A non-blocking socket takes what fits
/// in its send buffer and returns; the cap only bounds a call into a pipe or
/// a socket with a huge buffer, so the task yields between calls.
pub(crate) const SENDFILE_CHUNK: usize = 4 << 20;

#[derive(Debug, Default)]
pub(crate) struct Sendfile {
    sent: u64,
}

impl Mover for Sendfile {
    fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.sent,
            written: self.sent,
        }
    }
}

impl<S, D> PollMove<S, D> for Sendfile
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    /// Sends until the file's EOF or until `gate` allows no more.
    ///
    /// The socket's readiness comes from tokio's reactor; the file read is
    /// done by the kernel in the same call and is quick when the file is in
    /// the page cache (the case this path is for).
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        source: Pin<&mut S>,
        sink: Pin<&mut D>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        let (source, sink) = (&*source, &*sink);
        loop {
            // The gate is asked only once the sink is writable: check for a
            // stop first. Nothing is held in between, so a stopped copy need
            // not wait for a sink that takes nothing.
            if gate.is_stopped() {
                return Poll::Ready(Ok(()));
            }
            if let Err(err) = ready!(sink.poll_write_ready(cx)) {
                return Poll::Ready(Err(Fault::Failed(Step::Write, err)));
            }
            let coop = ready!(poll_proceed(cx));
            let want = ready!(gate.poll_allowance(cx, SENDFILE_CHUNK));
            if want == 0 {
                return Poll::Ready(Ok(()));
            }
            let (from, to) = (source.as_fd(), sink.as_fd());
            let result = sink.try_write_io(&mut || {
                rustix::fs::sendfile(to, from, None, want).map_err(io::Error::from)
            });
            match result {
                Ok(n) => {
                    gate.consume(n);
                    coop.made_progress();
                    if n == 0 {
                        return Poll::Ready(Ok(()));
                    }
                    self.sent += n as u64;
                }
                // Readiness is cleared: the next poll_write_ready waits.
                Err(err) if would_block(&err) => gate.consume(0),
                Err(err) => {
                    gate.consume(0);
                    return Poll::Ready(Err(judge(Route::Sendfile, Step::Write, err, self.sent)));
                }
            }
        }
    }
}
