//! `OneWay`: one direction of a two-way copy: move until the source's end,
//! then shut down the sink's write half.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::budget::{Budget, Slice};
use super::{DirectionCounts, Fault, Mover, PollMove, ReadGate, Sink, Step};

/// A [`Mover`] followed by a half-close of its sink.
#[derive(Debug)]
pub(crate) struct OneWay<M> {
    mover: M,
    stage: Stage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Moving,
    /// The source ended and every byte is out; the sink's write half is next.
    ShuttingDown,
    Done,
}

impl<M: Mover> OneWay<M> {
    pub(crate) fn new(mover: M) -> Self {
        Self {
            mover,
            stage: Stage::Moving,
        }
    }

    /// Moves until the source's end, then shuts the sink's write half down
    /// (its peer sees EOF); returns the bytes written.
    pub(crate) fn poll_transfer<R, W, G>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
        gate: &mut G,
    ) -> Poll<Result<u64, Fault>>
    where
        R: ?Sized,
        W: Sink + ?Sized,
        M: PollMove<R, W>,
        G: ReadGate,
    {
        loop {
            match self.stage {
                Stage::Moving => {
                    ready!(self
                        .mover
                        .poll_move(cx, reader.as_mut(), writer.as_mut(), gate))?;
                    // Nothing is buffered any more: a finished direction holds no memory.
                    self.mover.release();
                    self.stage = Stage::ShuttingDown;
                }
                Stage::ShuttingDown => {
                    let mut slice = ready!(Slice::start(cx));
                    let mut budget = Budget::new(&mut slice);
                    ready!(budget.poll_close(cx, writer.as_mut(), true))
                        .map_err(|err| Fault::Failed(Step::Shutdown, err))?;
                    self.stage = Stage::Done;
                }
                Stage::Done => return Poll::Ready(Ok(self.mover.counts().written)),
            }
        }
    }

    pub(crate) fn counts(&self) -> DirectionCounts {
        self.mover.counts()
    }

    /// Frees the buffer of an idle direction.
    pub(crate) fn release(&mut self) {
        if self.stage == Stage::Moving {
            self.mover.release();
        }
    }
}
