//! The rates a progress display shows: the current rate over a short
//! window, which drops to 0 as soon as nothing moves, the average since the
//! start, and an ETA from the recent rate.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// How far back the ETA looks: long enough to ride out bursts, short enough
/// to follow a rate limit or a slower link.
const ETA_WINDOW: Duration = Duration::from_secs(10);

/// Byte counts sampled over time.
#[derive(Debug)]
pub struct Meter {
    started: Instant,
    window: Duration,
    /// Samples of the last [`ETA_WINDOW`] (and one older), oldest first.
    samples: VecDeque<(Instant, u64)>,
}

/// What a display shows at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// Bytes so far.
    pub bytes: u64,
    /// Time since the start.
    pub elapsed: Duration,
    /// Bytes per second over the last window (0 when nothing moved in it).
    pub current: u64,
    /// Bytes per second since the start.
    pub average: u64,
    /// Time left at the recent rate, when the size is known and bytes move.
    pub eta: Option<Duration>,
}

impl Meter {
    /// A meter started now whose current rate looks back `window`.
    pub fn new(window: Duration) -> Meter {
        let started = Instant::now();
        Meter {
            started,
            window,
            samples: VecDeque::from([(started, 0)]),
        }
    }

    /// Records `bytes` (the total so far) now, and reads the rates; `size`
    /// is the total expected, when known.
    pub fn sample(&mut self, bytes: u64, size: Option<u64>) -> Reading {
        self.sample_at(Instant::now(), bytes, size)
    }

    fn sample_at(&mut self, now: Instant, bytes: u64, size: Option<u64>) -> Reading {
        self.samples.push_back((now, bytes));
        // Keep one sample at or beyond the ETA window's start.
        while self.samples.len() > 2 && self.samples[1].0 + ETA_WINDOW <= now {
            self.samples.pop_front();
        }
        let elapsed = now - self.started;
        let current = self.rate_since(now, bytes, self.window);
        let recent = self.rate_since(now, bytes, ETA_WINDOW);
        let eta = match size {
            Some(size) if current > 0 && recent > 0 => Some(Duration::from_secs_f64(
                size.saturating_sub(bytes) as f64 / recent as f64,
            )),
            _ => None,
        };
        Reading {
            bytes,
            elapsed,
            current,
            average: per_second(bytes, elapsed),
            eta,
        }
    }

    /// Bytes per second between the newest sample at or before
    /// `now - window` (or the oldest kept) and `bytes` now.
    fn rate_since(&self, now: Instant, bytes: u64, window: Duration) -> u64 {
        let since = now.checked_sub(window).unwrap_or(self.started);
        let (then, then_bytes) = self
            .samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= since)
            .or(self.samples.front())
            .copied()
            .unwrap_or((self.started, 0));
        per_second(bytes.saturating_sub(then_bytes), now - then)
    }
}

/// `bytes` over `elapsed`, in bytes per second (0 for no time at all).
pub fn per_second(bytes: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        (bytes as f64 / seconds) as u64
    } else {
        0
    }
}

/// A duration as `H:MM:SS`, as ETAs are shown.
pub fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_rate_is_zero_once_a_window_passes_without_bytes() {
        let mut meter = Meter::new(Duration::from_secs(1));
        let start = meter.started;
        let at = |ms| start + Duration::from_millis(ms);
        for tick in 1..=20 {
            meter.sample_at(at(tick * 100), (tick * 100) << 10, Some(10 << 20));
        }
        let moving = meter.sample_at(at(2100), 2100 << 10, Some(10 << 20));
        assert_eq!(moving.current, 1000 << 10);
        assert!(moving.eta.is_some());
        // A stall: by one window later the current rate is exactly 0, and
        // an ETA is no longer claimed, while the average stays.
        for tick in 22..=31 {
            meter.sample_at(at(tick * 100), 2100 << 10, Some(10 << 20));
        }
        let stalled = meter.sample_at(at(3200), 2100 << 10, Some(10 << 20));
        assert_eq!(stalled.current, 0);
        assert_eq!(stalled.eta, None);
        assert_eq!(
            stalled.average,
            per_second(2100 << 10, Duration::from_millis(3200))
        );
    }

    #[test]
    fn the_eta_follows_the_recent_rate() {
        let mut meter = Meter::new(Duration::from_secs(1));
        let start = meter.started;
        let mut reading = None;
        for second in 1..=5 {
            reading = Some(meter.sample_at(
                start + Duration::from_secs(second),
                second * 1000,
                Some(10_000),
            ));
        }
        // 5,000 bytes left at 1,000 B/s.
        assert_eq!(reading.unwrap().eta, Some(Duration::from_secs(5)));
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
