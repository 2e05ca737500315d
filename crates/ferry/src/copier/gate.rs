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

    fn is_stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(StopSignal::is_stopped)
    }

    fn stop_flag(&self) -> Option<Arc<AtomicBool>> {
        self.stop.as_ref().map(StopSignal::flag)
    }
}
