//! `SwitchingMover`: one direction between two sockets, through memory while
//! it carries messages and through splice once it streams.
//!
//! Between two sockets the kernel route is not better for every stream. A
//! message (a request, an answer, a keystroke) moved through memory costs a
//! read and a write; through a pipe it costs two splices and a third that
//! finds the socket empty (a short splice cannot tell an empty socket from a
//! full pipe, where a short read can), plus the pipe itself. A stream of
//! bulk is the other way round: memory copies every byte into user space
//! and out again, splice moves page references. So each direction starts in
//! memory, with the buffer policy of its `Copier`, and moves to a pipe of
//! its own once its reads show it streams: [`STREAK`] reads in a row that
//! each filled what they asked for, of at least [`FULL_READ`] bytes (the
//! sign HAProxy's `splice-auto` goes by too). It switches once its buffer is
//! empty, so no byte is held in two places, and never back, unless the
//! kernel refuses the pair.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::call::Call;
use super::end::{ZeroCopySink, ZeroCopySource};
use super::mover::KernelMover;
use crate::engine::{Fault, Mover, PollMove, ReadGate, Sink, Source, StopFlag};
use crate::{CopyBuffer, DirectionCounts, DEFAULT_BUF_SIZE};

/// Filled reads in a row that make a direction a stream.
const STREAK: u8 = 2;

/// The least a read must take to count as filled: the default buffer's
/// size, so a direction that carries messages smaller than that never
/// switches.
const FULL_READ: usize = DEFAULT_BUF_SIZE;

/// The smallest pipe worth switching to: the kernel's default size. A user
/// whose pipe budget is spent (`/proc/sys/fs/pipe-user-pages-soft`) gets
/// pipes of two pages, less than the memory route's buffer grows to.
const LEAST_PIPE: usize = 64 << 10;

/// One direction of a socket relay that may move from memory to splice.
#[derive(Debug)]
pub(crate) struct SwitchingMover {
    memory: CopyBuffer,
    kernel: Option<KernelMover>,
    /// What kernel movers that the kernel stopped serving moved.
    kernel_done: DirectionCounts,
    streak: Streak,
    pipe_size: usize,
    /// Set once either direction of the relay has switched.
    spliced: Arc<AtomicBool>,
}

impl SwitchingMover {
    /// A direction that starts in `memory` and may switch to a pipe of about
    /// `pipe_size` bytes, setting `spliced` when it does.
    pub(crate) fn new(memory: CopyBuffer, pipe_size: usize, spliced: Arc<AtomicBool>) -> Self {
        Self {
            memory,
            kernel: None,
            kernel_done: DirectionCounts::default(),
            streak: Streak::default(),
            pipe_size,
            spliced,
        }
    }

    /// Moves the rest of the stream to a pipe, when one big enough can be
    /// had; otherwise memory carries it for good.
    fn switch(&mut self) {
        match KernelMover::new(Call::SpliceIn, self.pipe_size) {
            Ok(kernel) if kernel.pipe_capacity() >= LEAST_PIPE => {
                // The buffer holds nothing now: it goes back to the budget.
                self.memory.release();
                self.kernel = Some(kernel);
                self.spliced.store(true, Ordering::Relaxed);
            }
            // No pipe (out of fds or of pipe memory), or a small one.
            _ => self.streak = Streak::Never,
        }
    }
}

impl Mover for SwitchingMover {
    fn counts(&self) -> DirectionCounts {
        let kernel = self.kernel.as_ref().map(Mover::counts).unwrap_or_default();
        sum(sum(self.memory.counts(), self.kernel_done), kernel)
    }

    fn release(&mut self) {
        if self.kernel.is_none() {
            self.memory.release();
        }
    }

    fn halt(&self) {
        if let Some(kernel) = &self.kernel {
            kernel.halt();
        }
    }
}

impl<S, D> PollMove<S, D> for SwitchingMover
where
    S: ZeroCopySource + Source + ?Sized,
    D: ZeroCopySink + Sink + ?Sized,
{
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        mut source: Pin<&mut S>,
        mut sink: Pin<&mut D>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        loop {
            if let Some(kernel) = &mut self.kernel {
                let moved = ready!(kernel.poll_move(cx, source.as_mut(), sink.as_mut(), gate));
                if let Err(Fault::Refused(_)) = moved {
                    // Refused before the pipe took a byte: everything it moved
                    // has landed, and memory carries the rest.
                    self.kernel_done = sum(self.kernel_done, kernel.counts());
                    self.kernel = None;
                    self.streak = Streak::Never;
                    continue;
                }
                return Poll::Ready(moved);
            }
            let mut watching = Watching {
                gate: &mut *gate,
                streak: &mut self.streak,
            };
            let moved = self
                .memory
                .poll_move(cx, source.as_mut(), sink.as_mut(), &mut watching);
            // The watching gate holds reads back once the direction streams,
            // so the buffer empties: then the pipe takes over, in this poll
            // (nothing else would wake the task for it).
            if moved.is_ready() || !self.streak.is_stream() || self.memory.buffered() > 0 {
                return moved;
            }
            self.switch();
        }
    }
}

/// How a direction's reads have gone: filled reads in a row, and how much
/// the last read was allowed to take.
#[derive(Clone, Copy, Debug)]
enum Streak {
    Watching {
        filled: u8,
        asked: usize,
    },
    /// Streams: reads wait until the buffer is empty and the pipe takes over.
    Stream,
    /// Stays in memory.
    Never,
}

impl Default for Streak {
    fn default() -> Self {
        Streak::Watching {
            filled: 0,
            asked: 0,
        }
    }
}

impl Streak {
    fn is_stream(&self) -> bool {
        matches!(self, Streak::Stream)
    }

    /// Counts a read of `n` bytes (0 for one that found nothing, which
    /// neither makes nor breaks a streak).
    fn read(&mut self, n: usize) {
        if let Streak::Watching { filled, asked } = self {
            if n == 0 {
                return;
            }
            if n >= FULL_READ && n == *asked {
                *filled += 1;
                if *filled >= STREAK {
                    *self = Streak::Stream;
                }
            } else {
                *filled = 0;
            }
        }
    }
}

/// The copier's gate, watching the reads it allows for a streak.
struct Watching<'a, G> {
    gate: &'a mut G,
    streak: &'a mut Streak,
}

impl<G: ReadGate> ReadGate for Watching<'_, G> {
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        if self.streak.is_stream() {
            // No waker: the mover switches in this same poll (see above).
            return Poll::Pending;
        }
        let allowed = ready!(self.gate.poll_allowance(cx, want));
        if let Streak::Watching { asked, .. } = self.streak {
            *asked = allowed;
        }
        Poll::Ready(allowed)
    }

    fn consume(&mut self, n: usize) {
        self.gate.consume(n);
        self.streak.read(n);
    }

    fn is_stopped(&self) -> bool {
        self.gate.is_stopped()
    }

    fn stop_flag(&self) -> Option<Arc<dyn StopFlag>> {
        self.gate.stop_flag()
    }
}

/// Two movers' counts together.
fn sum(a: DirectionCounts, b: DirectionCounts) -> DirectionCounts {
    DirectionCounts {
        read: a.read + b.read,
        written: a.written + b.written,
    }
}
