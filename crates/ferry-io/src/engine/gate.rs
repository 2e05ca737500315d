//! Read gates: how many bytes the engine may read next.
//!
//! The engine asks its gate before every read. The plain front ends use
//! [`Ungated`], which compiles away; the `Copier` brings a gate that enforces
//! its byte limit and rate limits, and answers 0 (the copy's EOF) once its
//! stop signal is given. A gate that returns `Pending` looks to the engine
//! like a reader that stalls, so the writer is still flushed while a rate
//! limit holds the copy back.

use std::sync::Arc;
use std::task::{Context, Poll};

/// A stop that work running off the task (a blocking system call) can check
/// from another thread.
pub(crate) trait StopFlag: Send + Sync {
    /// Whether the copy was told to stop.
    fn is_set(&self) -> bool;
}

/// Decides how much the next read may take.
pub(crate) trait ReadGate {
    /// How many of `want` (at least 1) bytes the next read may take.
    ///
    /// `Ready(0)` ends the copy as EOF would. `Pending` means not yet; the
    /// gate has arranged for the task to be woken.
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize>;

    /// Reports that the read allowed by the last `poll_allowance` took `n` bytes.
    fn consume(&mut self, n: usize);

    /// Whether the copy was told to stop: `poll_allowance` then answers 0.
    ///
    /// For loops that wait on readiness before they ask for an allowance,
    /// so that a stop ends them even while the source has nothing to read.
    fn is_stopped(&self) -> bool {
        false
    }

    /// The stop as a flag another thread can read, for work that runs off
    /// the task (a blocking system call) and must not outlive a stop.
    fn stop_flag(&self) -> Option<Arc<dyn StopFlag>> {
        None
    }
}

/// No limits: every read may fill the free room.
#[derive(Debug)]
pub(crate) struct Ungated;

impl ReadGate for Ungated {
    #[inline]
    fn poll_allowance(&mut self, _: &mut Context<'_>, want: usize) -> Poll<usize> {
        Poll::Ready(want)
    }

    #[inline]
    fn consume(&mut self, _: usize) {}
}
