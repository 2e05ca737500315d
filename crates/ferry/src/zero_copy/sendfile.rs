//! `Sendfile`: file to socket or pipe with `sendfile(2)`.

use std::io;
use std::task::{ready, Context, Poll};

use tokio::task::coop::poll_proceed;

use super::fd::{ZeroCopySink, ZeroCopySource};
use super::step::{is_retry, Stop};
use super::table::{is_refusal, Route};
use crate::gate::ReadGate;
use crate::{DirectionCounts, Step};

/// Bytes asked of one `sendfile` call. A non-blocking socket takes what fits
/// in its send buffer and returns; the cap only bounds a call into a pipe or
/// a socket with a huge buffer, so the task yields between calls.
pub(crate) const SENDFILE_CHUNK: usize = 4 << 20;

#[derive(Debug, Default)]
pub(crate) struct Sendfile {
    sent: u64,
}

impl Sendfile {
    pub(crate) fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.sent,
            written: self.sent,
        }
    }

    /// Sends until the file's EOF or until `gate` allows no more.
    ///
    /// The socket's readiness comes from tokio's reactor; the file read is
    /// done by the kernel in the same call and is quick when the file is in
    /// the page cache (the case this path is for).
    pub(crate) fn poll_move<S, D, G>(
        &mut self,
        cx: &mut Context<'_>,
        source: &S,
        sink: &D,
        gate: &mut G,
    ) -> Poll<Result<(), Stop>>
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
        G: ReadGate,
    {
        loop {
            // The gate is asked only once the sink is writable: check for a
            // stop first. Nothing is held in between, so a stopped copy need
            // not wait for a sink that takes nothing.
            if gate.is_stopped() {
                return Poll::Ready(Ok(()));
            }
            if let Err(err) = ready!(sink.poll_write_ready(cx)) {
                return Poll::Ready(Err(Stop::Failed(Step::Write, err)));
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
                Err(err) if is_retry(&err) => gate.consume(0),
                Err(err) => {
                    gate.consume(0);
                    if self.sent == 0 && is_refusal(Route::Sendfile, &err) {
                        return Poll::Ready(Err(Stop::Refused(err)));
                    }
                    return Poll::Ready(Err(Stop::Failed(Step::Write, err)));
                }
            }
        }
    }
}
