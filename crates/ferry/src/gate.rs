//! Read gates: how many bytes the engine may read next.
//!
//! The engine asks its gate before every read. The plain front ends use
//! [`Ungated`], which compiles away; the [`Copier`] uses a gate that
//! enforces its byte limit and rate limits, and answers 0 (the copy's EOF)
//! once its stop signal is given. A gate that returns `Pending` looks to the
//! engine like a reader that stalls, so the writer is still flushed while a
//! rate limit holds the copy back.

use std::task::{Context, Poll};

use crate::copier::Copier;
use crate::rate::Throttle;
use crate::StopSignal;

/// Decides how much the next read may take.
pub(crate) trait ReadGate {
    /// How many of `want` (at least 1) bytes the next read may take.
    ///
    /// `Ready(0)` ends the copy as EOF would. `Pending` means not yet; the
    /// gate has arranged for the task to be woken.
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize>;

    /// Reports that the read allowed by the last `poll_allowance` took `n` bytes.
    fn consume(&mut self, n: usize);

    /// The signal that stops this copy, if any.
    fn stop_signal(&self) -> Option<&StopSignal> {
        None
    }

    /// Whether the copy was told to stop: `poll_allowance` then answers 0.
    ///
    /// For loops that wait on readiness before they ask for an allowance,
    /// so that a stop ends them even while the source has nothing to read.
    fn is_stopped(&self) -> bool {
        self.stop_signal().is_some_and(StopSignal::is_stopped)
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

/// A [`Copier`]'s gate: its byte limit, its rate limits and its stop signal.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Bytes this direction may still read.
    left: u64,
    throttle: Throttle,
    stop: Option<StopSignal>,
}

impl Limits {
    pub(crate) fn new(copier: &Copier) -> Self {
        Self {
            left: copier.limit.unwrap_or(u64::MAX),
            throttle: Throttle::new(copier.limiters.clone()),
            stop: copier.stop.clone(),
        }
    }
}

impl ReadGate for Limits {
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        // A stopped copy reads no more, like one that reached its limit.
        if self.is_stopped() {
            return Poll::Ready(0);
        }
        let want = usize::try_from(self.left).map_or(want, |left| want.min(left));
        if want == 0 || self.throttle.is_unlimited() {
            return Poll::Ready(want);
        }
        self.throttle.poll_take(cx, want)
    }

    fn consume(&mut self, n: usize) {
        self.left -= n as u64;
        if !self.throttle.is_unlimited() {
            self.throttle.settle(n);
        }
    }

    fn stop_signal(&self) -> Option<&StopSignal> {
        self.stop.as_ref()
    }
}
