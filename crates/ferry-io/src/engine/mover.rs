//! `Mover`: one direction's way of moving bytes, whatever carries them.
//!
//! The buffered engine ([`CopyBuffer`](super::CopyBuffer)), the loop over a
//! lending reader ([`LentCopy`](super::LentCopy)) and the kernel's zero-copy
//! calls all move bytes from a source to a sink until the source's end. The
//! one-way job, the relay and [`OneWay`](super::OneWay) are written once
//! against this trait, so a half-close or a timeout is handled in one place
//! whichever way the bytes travel.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{DirectionCounts, ReadGate, Step};

/// Why a mover stopped before its source's end.
#[derive(Debug)]
pub(crate) enum Fault {
    /// This mover cannot serve these ends; everything it moved (its counts)
    /// has landed and nothing is held in between, so the copy may go on
    /// another way.
    Refused(io::Error),
    /// `Step` failed; the mover's counts say how far it got.
    Failed(Step, io::Error),
}

impl Fault {
    /// The I/O error, for front ends that report no step.
    pub(crate) fn into_io_error(self) -> io::Error {
        match self {
            Fault::Refused(err) | Fault::Failed(_, err) => err,
        }
    }
}

/// What every mover keeps, whatever its ends.
pub(crate) trait Mover {
    /// Bytes taken from the source and given to the sink so far.
    fn counts(&self) -> DirectionCounts;

    /// Gives back memory it holds while idle; nothing by default.
    fn release(&mut self) {}

    /// Ends work running off the task (a blocking call) as soon as it can,
    /// because the copy is being dropped; nothing by default.
    fn halt(&self) {}
}

/// Moving bytes from an `R` to a `W`.
pub(crate) trait PollMove<R: ?Sized, W: ?Sized>: Mover {
    /// Moves bytes until the source's end (or the gate's), with everything
    /// taken from the source written and flushed.
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>>;
}
