//! `ZeroCopyJob`: a one-way zero-copy copy with a `Copier`'s limits,
//! progress and idle timeout.

use std::io;
use std::task::{Context, Poll};

use super::fd::{ZeroCopySink, ZeroCopySource};
use super::file_range::FileRange;
use super::sendfile::Sendfile;
use super::splice::SpliceWay;
use super::step::Stop;
use super::table::Route;
use crate::copier::Copier;
use crate::gate::Limits;
use crate::watch::Watch;
use crate::{CopyError, Counts, Direction};

/// How a zero-copy run ended.
#[derive(Debug)]
pub(crate) enum Ending<T> {
    Done(T),
    /// Refused before any byte moved: the caller falls back (or fails, in `Always`).
    Refused(io::Error),
    Failed(CopyError),
}

/// The syscall loop a one-way copy runs.
#[derive(Debug)]
enum Mover {
    FileRange(FileRange),
    Sendfile(Sendfile),
    Splice(SpliceWay),
}

#[derive(Debug)]
pub(crate) struct ZeroCopyJob {
    mover: Mover,
    limits: Limits,
    watch: Watch,
}

impl ZeroCopyJob {
    /// A job for `route`, which must be a zero-copy route.
    pub(crate) fn new(copier: &Copier, route: Route, pipe_size: usize) -> io::Result<Self> {
        let mover = match route {
            Route::CopyFileRange => Mover::FileRange(FileRange::default()),
            Route::Sendfile => Mover::Sendfile(Sendfile::default()),
            Route::Splice | Route::Buffered => Mover::Splice(SpliceWay::new(pipe_size)?),
        };
        Ok(Self {
            mover,
            limits: Limits::new(copier),
            watch: Watch::new(copier),
        })
    }

    fn counts(&self) -> Counts {
        let a_to_b = match &self.mover {
            Mover::FileRange(mover) => mover.counts(),
            Mover::Sendfile(mover) => mover.counts(),
            Mover::Splice(mover) => mover.counts(),
        };
        Counts {
            a_to_b,
            ..Counts::default()
        }
    }

    pub(crate) fn poll_run<S, D>(
        &mut self,
        cx: &mut Context<'_>,
        source: &S,
        sink: &D,
    ) -> Poll<Ending<u64>>
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let limits = &mut self.limits;
        let result = match &mut self.mover {
            Mover::FileRange(mover) => mover.poll_move(cx, source.as_fd(), sink.as_fd(), limits),
            Mover::Sendfile(mover) => mover.poll_move(cx, source, sink, limits),
            Mover::Splice(mover) => mover.poll_move(cx, source, sink, limits),
        };
        let counts = self.counts();
        match result {
            Poll::Ready(Ok(())) => {
                self.watch.finish(&counts);
                return Poll::Ready(Ending::Done(counts.a_to_b.written));
            }
            Poll::Ready(Err(Stop::Refused(err))) => return Poll::Ready(Ending::Refused(err)),
            Poll::Ready(Err(Stop::Failed(step, err))) => {
                self.watch.finish(&counts);
                let err = CopyError::new(Direction::AToB, step, err, counts, true);
                return Poll::Ready(Ending::Failed(err));
            }
            Poll::Pending => {}
        }
        // There is no user-space buffer to give back.
        self.watch
            .poll_one_way(cx, counts, || {})
            .map(Ending::Failed)
    }
}

impl Drop for ZeroCopyJob {
    fn drop(&mut self) {
        // A copy_file_range trip may have landed bytes since the last poll.
        // Halt it first and count after, so that only the one call running
        // now can land uncounted, and hand the rest to the progress.
        if let Mover::FileRange(mover) = &self.mover {
            mover.halt();
            let counts = self.counts();
            self.watch.observe(&counts);
        }
    }
}
