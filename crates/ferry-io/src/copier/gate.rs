//! `Limits`: a `Copier`'s read gate: its byte limit, its rate limits and its
//! stop signal, checked before every read.

use std::sync::Arc;
use std::task::{Context, Poll};

use super::clock::Clock;
use super::rate::{RateLimiter, Throttle};
use super::stop::StopSignal;
use crate::engine::{ReadGate, StopFlag};

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
    /// Boxed, and only where there are limiters: most copies have none, and
    /// a server holds two gates per idle connection.
    throttle: Option<Box<Throttle>>,
    stop: Option<StopSignal>,
}

impl Limits {
    /// Whether the copy waits on its rate limits rather than on its ends:
    /// such waiting is not idleness.
    pub(crate) fn is_throttled(&self) -> bool {
        self.throttle
            .as_ref()
            .is_some_and(|throttle| throttle.is_waiting())
    }

    pub(crate) fn new(settings: &LimitSettings, clock: Clock) -> Self {
        Self {
            left: settings.limit.unwrap_or(u64::MAX),
            throttle: (!settings.limiters.is_empty())
                .then(|| Box::new(Throttle::new(settings.limiters.clone(), clock))),
            stop: settings.stop.clone(),
        }
    }
}

impl ReadGate for Limits {
    fn poll_allowance(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        let want = usize::try_from(self.left).map_or(want, |left| want.min(left));
        // A stopped copy reads no more, like one that reached its limit.
        let want = if self.is_stopped() { 0 } else { want };
        let Some(throttle) = &mut self.throttle else {
            return Poll::Ready(want);
        };
        if want == 0 {
            // This direction reads no more: its place in line goes to the next.
            throttle.leave();
            return Poll::Ready(0);
        }
        throttle.poll_take(cx, want)
    }

    fn consume(&mut self, n: usize) {
        self.left -= n as u64;
        if let Some(throttle) = &mut self.throttle {
            throttle.settle(n);
        }
    }

    fn is_stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(StopSignal::is_stopped)
    }

    fn stop_flag(&self) -> Option<Arc<dyn StopFlag>> {
        self.stop.as_ref().map(StopSignal::flag)
    }
}
