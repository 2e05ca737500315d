//! The `Copier`'s two-way copy, whatever moves each direction's bytes: two
//! one-way movers, each with its gate, under one watch.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::time::Instant;

use super::clock::Clock;
use super::gate::Limits;
use super::job::Outcome;
use super::transfer::{DirectionTransfer, Transfer};
use super::watch::Watch;
use super::Copier;
use crate::engine::{Fault, Mover, OneWay, PollMove, Sink};
use crate::{CopyError, Counts, Direction, Step};

/// One direction of the relay and its limits.
#[derive(Debug)]
struct Side<M> {
    way: OneWay<M>,
    limits: Limits,
    /// When this direction finished, and with how many bytes.
    finished: Option<DirectionTransfer>,
}

impl<M: Mover> Side<M> {
    fn poll_side<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
        started: Instant,
    ) -> Poll<Result<(), Fault>>
    where
        R: ?Sized,
        W: Sink + ?Sized,
        M: PollMove<R, W>,
    {
        if self.finished.is_none() {
            let bytes = ready!(self.way.poll_transfer(cx, reader, writer, &mut self.limits))?;
            self.finished = Some(DirectionTransfer {
                bytes,
                duration: started.elapsed(),
            });
        }
        Poll::Ready(Ok(()))
    }
}

/// A two-way copy between `a` and `b`, each direction moved by an `M`.
#[derive(Debug)]
pub(crate) struct Relay<M> {
    a_to_b: Side<M>,
    b_to_a: Side<M>,
    watch: Watch,
    started: Option<Instant>,
}

impl<M: Mover> Relay<M> {
    /// A relay with `copier`'s settings whose timers run on `clock`.
    pub(crate) fn new(a_to_b: M, b_to_a: M, copier: &Copier, clock: Clock) -> Self {
        let side = |mover| Side {
            way: OneWay::new(mover),
            limits: Limits::new(&copier.limits, clock),
            finished: None,
        };
        Self {
            a_to_b: side(a_to_b),
            b_to_a: side(b_to_a),
            watch: Watch::new(&copier.watch, clock),
            started: None,
        }
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
        mut a: Pin<&mut A>,
        mut b: Pin<&mut B>,
    ) -> Poll<Outcome<Transfer>>
    where
        A: Sink + ?Sized,
        B: Sink + ?Sized,
        M: PollMove<A, B> + PollMove<B, A>,
    {
        let watch = &self.watch;
        let started = *self.started.get_or_insert_with(|| watch.now());
        // Poll both before looking at either, so a stalled direction never
        // holds up the other.
        let a_to_b = self.a_to_b.poll_side(cx, a.as_mut(), b.as_mut(), started);
        let b_to_a = self.b_to_a.poll_side(cx, b.as_mut(), a.as_mut(), started);
        let counts = self.counts();
        let faulted = match (a_to_b, b_to_a) {
            (Poll::Ready(Err(fault)), _) => Some((Direction::AToB, fault)),
            (_, Poll::Ready(Err(fault))) => Some((Direction::BToA, fault)),
            _ => None,
        };
        if let Some((direction, fault)) = faulted {
            let (step, err) = match fault {
                // Going another way is safe only while neither direction has
                // moved a byte: the other way could not tell what already went.
                Fault::Refused(err) if counts == Counts::default() => {
                    return Poll::Ready(Outcome::Refused(err));
                }
                Fault::Refused(err) => (Step::Read, err),
                Fault::Failed(step, err) => (step, err),
            };
            self.watch.finish(&counts);
            let err = CopyError::new(direction, step, err, counts, false);
            return Poll::Ready(Outcome::Failed(err));
        }
        let (a_to_b, b_to_a) = (&mut self.a_to_b.way, &mut self.b_to_a.way);
        let finished = (self.a_to_b.finished, self.b_to_a.finished);
        let throttled = self.a_to_b.limits.is_throttled() || self.b_to_a.limits.is_throttled();
        self.watch
            .poll_relay(cx, counts, finished, throttled, || {
                a_to_b.release();
                b_to_a.release();
            })
            .map(|ended| match ended {
                Ok(transfer) => Outcome::Done(transfer),
                Err(err) => Outcome::Failed(err),
            })
    }
}
