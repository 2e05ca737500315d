//! `SpliceRelay`: a two-way copy between two streams, one splice pipe per
//! direction, with a `Copier`'s limits, progress, idle timeout and linger.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::AsyncWrite;
use tokio::time::Instant;

use super::fd::{ZeroCopySink, ZeroCopySource};
use super::one_way::Ending;
use super::splice::SpliceWay;
use super::step::Stop;
use crate::coop;
use crate::copier::Copier;
use crate::gate::Limits;
use crate::watch::Watch;
use crate::{CopyError, Counts, Direction, DirectionTransfer, Step, Transfer};

/// One direction of the relay.
#[derive(Debug)]
struct Side {
    way: SpliceWay,
    limits: Limits,
    /// EOF reached and the pipe drained; the sink's write half is next.
    drained: bool,
    finished: Option<DirectionTransfer>,
}

impl Side {
    fn new(copier: &Copier, pipe_size: usize) -> io::Result<Self> {
        Ok(Self {
            way: SpliceWay::new(pipe_size)?,
            limits: Limits::new(copier),
            drained: false,
            finished: None,
        })
    }

    fn poll_side<S, D>(
        &mut self,
        cx: &mut Context<'_>,
        source: &S,
        sink: &mut D,
        started: Instant,
    ) -> Poll<Result<(), Stop>>
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + AsyncWrite + Unpin + ?Sized,
    {
        if self.finished.is_some() {
            return Poll::Ready(Ok(()));
        }
        if !self.drained {
            ready!(self.way.poll_move(cx, source, &*sink, &mut self.limits))?;
            self.drained = true;
        }
        // Half-close: the peer sees EOF once every byte has gone out.
        if let Err(err) = ready!(coop::poll_shutdown(cx, Pin::new(sink))) {
            return Poll::Ready(Err(Stop::Failed(Step::Shutdown, err)));
        }
        self.finished = Some(DirectionTransfer {
            bytes: self.way.counts().written,
            duration: started.elapsed(),
        });
        Poll::Ready(Ok(()))
    }
}

#[derive(Debug)]
pub(crate) struct SpliceRelay {
    a_to_b: Side,
    b_to_a: Side,
    watch: Watch,
    started: Option<Instant>,
}

impl SpliceRelay {
    pub(crate) fn new(copier: &Copier, pipe_size: usize) -> io::Result<Self> {
        Ok(Self {
            a_to_b: Side::new(copier, pipe_size)?,
            b_to_a: Side::new(copier, pipe_size)?,
            watch: Watch::new(copier),
            started: None,
        })
    }

    fn counts(&self) -> Counts {
        Counts {
            a_to_b: self.a_to_b.way.counts(),
            b_to_a: self.b_to_a.way.counts(),
        }
    }

    pub(crate) fn poll_relay<A, B>(
        &mut self,
        cx: &mut Context<'_>,
        a: &mut A,
        b: &mut B,
    ) -> Poll<Ending<Transfer>>
    where
        A: ZeroCopySource + ZeroCopySink + AsyncWrite + Unpin + ?Sized,
        B: ZeroCopySource + ZeroCopySink + AsyncWrite + Unpin + ?Sized,
    {
        let started = *self.started.get_or_insert_with(Instant::now);
        // Poll both before looking at either, so a stalled direction never
        // holds up the other.
        let a_to_b = self.a_to_b.poll_side(cx, &*a, b, started);
        let b_to_a = self.b_to_a.poll_side(cx, &*b, a, started);
        let counts = self.counts();
        let stopped = match (a_to_b, b_to_a) {
            (Poll::Ready(Err(stop)), _) => Some((Direction::AToB, stop)),
            (_, Poll::Ready(Err(stop))) => Some((Direction::BToA, stop)),
            _ => None,
        };
        match stopped {
            // Falling back is only safe when neither direction moved a byte.
            Some((_, Stop::Refused(err))) if counts == Counts::default() => {
                return Poll::Ready(Ending::Refused(err));
            }
            Some((direction, stop)) => {
                // A refusal after bytes moved in either direction cannot fall
                // back without losing track of them: it is a read failure.
                let (step, err) = match stop {
                    Stop::Refused(err) => (Step::Read, err),
                    Stop::Failed(step, err) => (step, err),
                };
                self.watch.finish(&counts);
                let err = CopyError::new(direction, step, err, counts, false);
                return Poll::Ready(Ending::Failed(err));
            }
            None => {}
        }
        // There is no user-space buffer to give back.
        let finished = (self.a_to_b.finished, self.b_to_a.finished);
        self.watch
            .poll_relay(cx, counts, finished, || {})
            .map(|ended| match ended {
                Ok(transfer) => Ending::Done(transfer),
                Err(err) => Ending::Failed(err),
            })
    }
}
