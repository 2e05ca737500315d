//! `Limits`: a `Copier`'s read gate: its byte limit, its rate limits and its
//! stop signal, checked before every read.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::rate::{RateLimiter, Throttle};
use super::stop::StopSignal;
use crate::engine::ReadGate;

/// What bounds the reads of each direction, as the builder set it.
#[derive(Clone, Debug, Default)]
pub(crate) struct LimitSettings {
    /// Bytes each direction may read in all.
    pub(super) limit: Option<u64>,
    /// Every limiter applies to every read.
    pub(super) limiters: Vec<RateLimiter>,
    pub(super) stop: Option<StopSignal>,
}

/// One direction's gate.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Bytes this direction may still read.
    left: u64,
    throttle: Throttle,
    stop: Option<StopSignal>,
}

impl Limits {
    /// Whether the copy waits on its rate limits rather than on its ends:
    /// such waiting is not idleness.
    pub(crate) fn is_throttled(&self) -> bool {
        self.throttle.is_waiting()
    }

    pub(crate) fn new(settings: &LimitSettings) -> Self {
        Self {
            left: settings.limit.unwrap_or(u64::MAX),
            throttle: Throttle::new(settings.limiters.clone()),
            stop: settings.stop.clone(),
        }
    }
}

impl ReadGate for Limits {
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        let want = usize::try_from(self.left).map_or(want, |left| want.min(left));
        if self.throttle.is_unlimited() {
            // A stopped copy reads no more, like one that reached its limit.
            return Poll::Ready(if self.is_stopped() { 0 } else { want });
        }
        if want == 0 || self.is_stopped() {
            // This direction reads no more: its place in line goes to the next.
            self.throttle.leave();
            return Poll::Ready(0);
        }
        self.throttle.poll_take(cx, want)
    }

    fn consume(&mut self, n: usize) {
        self.left -= n as u64;
        if !self.throttle.is_unlimited() {
            self.throttle.settle(n);
        }
    }

    fn is_stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(StopSignal::is_stopped)
    }

    fn stop_flag(&self) -> Option<Arc<AtomicBool>> {
        self.stop.as_ref().map(StopSignal::flag)
    }
}
