//! Read gates: how many bytes the engine may read next.
//!
//! The engine asks its gate before every read. The plain front ends use
//! [`Ungated`], which compiles away; the [`Copier`](crate::Copier) uses a gate
//! that enforces its byte limit and rate limits. A gate that returns
//! `Pending` looks to the engine like a reader that stalls, so the writer is
//! still flushed while a rate limit holds the copy back.

use std::task::{Context, Poll};

use crate::rate::{RateLimiter, Throttle};

/// Decides how much the next read may take.
pub(crate) trait ReadGate {
    /// How many of `want` (at least 1) bytes the next read may take.
    ///
    /// `Ready(0)` ends the copy as EOF would. `Pending` means not yet; the
    /// gate has arranged for the task to be woken.
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize>;

    /// Reports that the read allowed by the last `poll_allowance` took `n` bytes.
    fn consume(&mut self, n: usize);
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

/// A [`Copier`](crate::Copier)'s gate: its byte limit and its rate limits.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Bytes this direction may still read.
    left: u64,
    throttle: Throttle,
}

impl Limits {
    pub(crate) fn new(limit: Option<u64>, limiters: Vec<RateLimiter>) -> Self {
        Self {
            left: limit.unwrap_or(u64::MAX),
            throttle: Throttle::new(limiters),
        }
    }
}

impl ReadGate for Limits {
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
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
}
