//! `LentCopy`: the copy loop for a reader that lends its own buffer
//! (`AsyncBufRead`): it writes straight out of that buffer and keeps none.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::budget::{Budget, Slice};
use super::output::Output;
use super::{
    DirectionCounts, Fault, LendingSource, Mover, PollMove, ReadGate, Sink, Step, Ungated,
};

/// What the loop over a lending reader keeps between polls: only the
/// writer's side, since every byte it counts has been written.
#[derive(Debug, Default)]
pub(crate) struct LentCopy {
    output: Output,
    /// The reader ended (or the gate did): only the final flush is left,
    /// and the reader is not asked again, whatever it would give now.
    done: bool,
}

impl LentCopy {
    /// Copies until the reader's end, with no limits; returns the bytes written.
    pub(crate) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: LendingSource + ?Sized,
        W: Sink + ?Sized,
    {
        ready!(self.poll_move(cx, reader, writer, &mut Ungated)).map_err(Fault::into_io_error)?;
        Poll::Ready(Ok(self.output.written))
    }
}

/// What became of one chunk of the reader's buffer.
enum Chunk {
    Eof,
    /// The gate holds the copy back for now.
    Gated,
    Written(Poll<io::Result<usize>>),
}

impl Mover for LentCopy {
    fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.output.written,
            written: self.output.written,
        }
    }
}

impl<R, W> PollMove<R, W> for LentCopy
where
    R: LendingSource + ?Sized,
    W: Sink + ?Sized,
{
    /// Writes straight out of `reader`'s buffer, as much of each chunk as
    /// `gate` allows, and consumes what the writer took.
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        let output = &mut self.output;
        let failed = |step| move |err| Fault::Failed(step, err);
        let mut slice = ready!(Slice::start(cx));
        let mut budget = Budget::new(&mut slice);
        loop {
            // The gate is asked only once the reader has a chunk: check for a
            // stop first, or a reader with nothing to give would hold it up.
            if self.done || gate.is_stopped() {
                self.done = true;
                ready!(output.poll_flush(cx, &mut budget, writer.as_mut(), true))
                    .map_err(failed(Step::Flush))?;
                return Poll::Ready(Ok(()));
            }
            let step = budget.poll_fill_buf(cx, reader.as_mut(), |cx, budget, chunk| {
                if chunk.is_empty() {
                    return Chunk::Eof;
                }
                let allowed = match gate.poll_allowance(cx, chunk.len()) {
                    Poll::Ready(0) => return Chunk::Eof,
                    Poll::Ready(allowed) => allowed,
                    Poll::Pending => return Chunk::Gated,
                };
                let written = output.poll_write(cx, budget, writer.as_mut(), &chunk[..allowed]);
                let taken = match written {
                    Poll::Ready(Ok(n)) => n,
                    _ => 0,
                };
                budget.moved(taken);
                gate.consume(taken);
                Chunk::Written(written)
            });
            match step.map_err(failed(Step::Read)) {
                Poll::Ready(Ok(Chunk::Written(Poll::Ready(written)))) => reader
                    .as_mut()
                    .consume(written.map_err(failed(Step::Write))?),
                // The writer stalled; the chunk stays in the reader's buffer.
                Poll::Ready(Ok(Chunk::Written(Poll::Pending))) => return Poll::Pending,
                Poll::Ready(Ok(Chunk::Eof)) => self.done = true,
                Poll::Ready(Err(fault)) => return Poll::Ready(Err(fault)),
                // Flush when the reader (or its gate) stalls: the reader's peer
                // may be waiting for the bytes we already wrote.
                Poll::Ready(Ok(Chunk::Gated)) | Poll::Pending => {
                    ready!(output.poll_flush(cx, &mut budget, writer.as_mut(), false))
                        .map_err(failed(Step::Flush))?;
                    return Poll::Pending;
                }
            }
        }
    }
}
