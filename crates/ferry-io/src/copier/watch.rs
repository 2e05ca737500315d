//! `Watch`: the clock over a running `Copier` copy.
//!
//! It reports progress, owns the one timer a copy needs for its idle
//! timeout, its linger and giving back idle buffers (on the copy's
//! [`Clock`]), and has a stop signal wake the copy. The timer is armed
//! lazily: activity only moves a deadline later, so the timer is re-armed
//! when it fires early rather than on every byte.
//!
//! A deadline too far out for the clock (`Duration::MAX`, say) is no deadline:
//! it could never pass, and adding it to an `Instant` would overflow.

use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use super::clock::{Clock, Timer};
use super::progress::Progress;
use super::stop::{StopListener, StopSignal};
use super::transfer::{DirectionTransfer, Transfer};
use crate::{CopyError, Counts, Direction, DirectionCounts, Step};

/// What the watch times and reports, as the builder set it.
#[derive(Clone, Default)]
pub(crate) struct WatchSettings {
    pub(super) idle_timeout: Option<Duration>,
    pub(super) linger: Option<Duration>,
    pub(super) release_after: Option<Duration>,
    pub(super) progress: Option<Progress>,
    pub(super) on_progress: Option<ProgressCallback>,
    pub(super) stop: Option<StopSignal>,
}

/// A callback for the counts, and how often it may be called.
#[derive(Clone)]
pub(crate) struct ProgressCallback {
    pub(super) every: Duration,
    pub(super) report: Arc<dyn Fn(Counts) + Send + Sync>,
}

impl std::fmt::Debug for WatchSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchSettings")
            .field("idle_timeout", &self.idle_timeout)
            .field("linger", &self.linger)
            .field("release_after", &self.release_after)
            .field("progress", &self.progress.is_some())
            .field(
                "on_progress",
                &self.on_progress.as_ref().map(|callback| callback.every),
            )
            .field("stop", &self.stop)
            .finish()
    }
}

/// The furthest ahead a deadline is armed: about 30 years, as far as tokio
/// itself arms a timer (`sleep(Duration::MAX)`). tokio's timer adds to the
/// deadline it is given, so one near the end of `Instant`'s range would
/// panic inside tokio even though ours did not overflow.
const FOREVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `after` past `from`, or `None` (never) when that is beyond [`FOREVER`].
fn deadline(from: Instant, after: Duration) -> Option<Instant> {
    if after > FOREVER {
        return None;
    }
    from.checked_add(after)
}

/// What the watch found when a deadline passed.
#[derive(Debug, PartialEq, Eq)]
enum Alarm {
    /// The copy has been idle long enough to give its buffers back.
    Release,
    /// The idle timeout or the linger ran out.
    Expired(Step),
}

#[derive(Debug)]
pub(crate) struct Watch {
    settings: Arc<WatchSettings>,
    clock: Clock,
    timer: Option<Timer>,
    armed: Option<Instant>,
    last_activity: Instant,
    last_total: u64,
    released: bool,
    linger_from: Option<Instant>,
    published: Counts,
    /// `None` once the callback's period is too long to ever come round again.
    next_callback: Option<Instant>,
    /// Whether activity needs a timestamp: only when something is timed.
    timed: bool,
    stop: Option<StopListener>,
    /// Whether a poll has already ended after the stop was given.
    stop_seen: bool,
}

impl Watch {
    pub(crate) fn new(settings: &Arc<WatchSettings>, clock: Clock) -> Self {
        let now = clock.now();
        Self {
            timed: settings.idle_timeout.is_some()
                || settings.release_after.is_some()
                || settings.on_progress.is_some(),
            settings: settings.clone(),
            clock,
            timer: None,
            armed: None,
            last_activity: now,
            last_total: 0,
            released: false,
            linger_from: None,
            published: Counts::default(),
            next_callback: Some(now),
            stop: settings.stop.clone().map(StopListener::new),
            stop_seen: false,
        }
    }

    /// The time now, on the copy's clock.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Records the counts after a poll of the copy.
    pub(crate) fn observe(&mut self, counts: &Counts) {
        let total =
            counts.a_to_b.read + counts.a_to_b.written + counts.b_to_a.read + counts.b_to_a.written;
        if total == self.last_total {
            return;
        }
        self.last_total = total;
        self.released = false;
        if let Some(progress) = &self.settings.progress {
            for direction in [Direction::AToB, Direction::BToA] {
                let now = counts.direction(direction);
                let before = self.published.direction_mut(direction);
                progress.add(
                    direction,
                    DirectionCounts {
                        read: now.read - before.read,
                        written: now.written - before.written,
                    },
                );
                *before = now;
            }
        }
        if self.timed {
            let now = self.clock.now();
            self.last_activity = now;
            if let Some(callback) = &self.settings.on_progress {
                if self.next_callback.is_some_and(|next| now >= next) {
                    self.next_callback = now.checked_add(callback.every);
                    (callback.report)(*counts);
                }
            }
        }
    }

    /// A copy held back by its rate limits moves bytes as fast as it may:
    /// that is not idleness, so the idle timeout starts over.
    fn throttled(&mut self, throttled: bool) {
        if throttled && self.settings.idle_timeout.is_some() {
            self.last_activity = self.clock.now();
        }
    }

    /// Reports the final counts to the progress callback.
    pub(crate) fn finish(&mut self, counts: &Counts) {
        self.observe(counts);
        if let Some(callback) = &self.settings.on_progress {
            (callback.report)(*counts);
        }
    }

    /// Has the stop signal wake the task, which is about to wait.
    ///
    /// The copy's gates looked at the signal earlier in this poll; a stop
    /// given since then would find no waker yet. So the waker is registered
    /// first and the signal checked after, and the first poll to end after
    /// a stop wakes the task once more so the gates see it. Only once: a
    /// stopped copy may go on waiting for its writer, and must not spin.
    fn listen(&mut self, cx: &mut Context<'_>) {
        if let Some(stop) = &mut self.stop {
            stop.register(cx.waker());
            if stop.is_stopped() && !self.stop_seen {
                self.stop_seen = true;
                cx.waker().wake_by_ref();
            }
        }
    }

    /// One direction has finished: the other may now run for the linger.
    fn start_linger(&mut self) {
        if self.settings.linger.is_some() && self.linger_from.is_none() {
            self.linger_from = Some(self.clock.now());
        }
    }

    /// The idle timeout or linger that expired, for the error message.
    fn limit(&self, step: Step) -> Duration {
        match step {
            Step::LingerTimeout => self.settings.linger.unwrap_or_default(),
            _ => self.settings.idle_timeout.unwrap_or_default(),
        }
    }

    fn deadlines(&self) -> [Option<(Instant, Alarm)>; 3] {
        [
            self.settings
                .idle_timeout
                .and_then(|timeout| deadline(self.last_activity, timeout))
                .map(|at| (at, Alarm::Expired(Step::IdleTimeout))),
            self.linger_from
                .zip(self.settings.linger)
                .and_then(|(from, linger)| deadline(from, linger))
                .map(|at| (at, Alarm::Expired(Step::LingerTimeout))),
            self.settings
                .release_after
                .filter(|_| !self.released)
                .and_then(|after| deadline(self.last_activity, after))
                .map(|at| (at, Alarm::Release)),
        ]
    }

    /// The rest of a one-way copy's poll once the copy is pending: records
    /// the counts (and whether the copy is `throttled`), gives the buffer
    /// back (`release`) after it has been idle,
    /// has a stop wake the task, and returns the error when the idle timeout
    /// runs out.
    pub(crate) fn poll_one_way(
        &mut self,
        cx: &mut Context<'_>,
        counts: Counts,
        throttled: bool,
        mut release: impl FnMut(),
    ) -> Poll<CopyError> {
        // Only the idle timeout can expire in a one-way copy.
        let step = ready!(self.poll_expired(cx, &counts, throttled, &mut release));
        Poll::Ready(CopyError::idle(self.limit(step), counts, true))
    }

    /// The rest of a relay's poll once neither direction failed: done when
    /// both have `finished`, the linger starts when one has, buffers go back
    /// (`release`) after idling, a stop wakes the task, and the idle timeout
    /// or linger ends it.
    pub(crate) fn poll_relay(
        &mut self,
        cx: &mut Context<'_>,
        counts: Counts,
        finished: (Option<DirectionTransfer>, Option<DirectionTransfer>),
        throttled: bool,
        mut release: impl FnMut(),
    ) -> Poll<Result<Transfer, CopyError>> {
        match finished {
            (Some(a_to_b), Some(b_to_a)) => {
                self.finish(&counts);
                return Poll::Ready(Ok(Transfer { a_to_b, b_to_a }));
            }
            (Some(_), None) | (None, Some(_)) => self.start_linger(),
            (None, None) => {}
        }
        let step = ready!(self.poll_expired(cx, &counts, throttled, &mut release));
        Poll::Ready(Err(match step {
            Step::LingerTimeout => {
                let still_running = match finished.0 {
                    Some(_) => Direction::BToA,
                    None => Direction::AToB,
                };
                CopyError::linger(still_running, self.limit(step), counts)
            }
            step => CopyError::idle(self.limit(step), counts, false),
        }))
    }

    /// Records a pending poll's `counts` (and whether it is `throttled`),
    /// has a stop wake the task, gives the buffers back (`release`) when
    /// they have idled, and returns the timeout that expired, if one did.
    fn poll_expired(
        &mut self,
        cx: &mut Context<'_>,
        counts: &Counts,
        throttled: bool,
        release: &mut impl FnMut(),
    ) -> Poll<Step> {
        self.observe(counts);
        self.throttled(throttled);
        self.listen(cx);
        loop {
            match ready!(self.poll_alarm(cx)) {
                Alarm::Release => release(),
                Alarm::Expired(step) => return Poll::Ready(step),
            }
        }
    }

    /// Waits for the next deadline; returns what passed.
    fn poll_alarm(&mut self, cx: &mut Context<'_>) -> Poll<Alarm> {
        loop {
            let Some(next) = self.deadlines().iter().flatten().map(|(at, _)| *at).min() else {
                return Poll::Pending;
            };
            if self.armed.is_none_or(|armed| next < armed) {
                match &mut self.timer {
                    Some(timer) => timer.reset(next),
                    None => self.timer = Some(self.clock.timer(next)),
                }
                self.armed = Some(next);
            }
            let Some(timer) = &mut self.timer else {
                return Poll::Pending;
            };
            if timer.poll_fired(cx).is_pending() {
                return Poll::Pending;
            }
            self.armed = None;
            let now = self.clock.now();
            let passed = self
                .deadlines()
                .into_iter()
                .flatten()
                .find(|(at, _)| *at <= now);
            if let Some((_, alarm)) = passed {
                if alarm == Alarm::Release {
                    self.released = true;
                }
                return Poll::Ready(alarm);
            }
            // Activity moved every deadline later since the timer was armed.
        }
    }
}
