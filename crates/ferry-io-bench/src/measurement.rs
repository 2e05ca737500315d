//! `Measurement`: what one run of one workload with one implementation measured.

use std::time::Duration;

use crate::stats::nearest_rank;

/// One timed run: how much moved and how long it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Bytes moved, or round trips made for a latency workload.
    pub amount: u64,
    /// The timed part of the run (setup such as connecting is not in it).
    pub elapsed: Duration,
    /// Round-trip latency, for the workloads that measure it.
    pub latency: Option<Latency>,
}

impl Measurement {
    /// Bytes (or round trips) per second.
    pub fn per_second(&self) -> f64 {
        self.amount as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// The median and 99th percentile of a run's round-trip times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Half the round trips were at least this fast.
    pub median: Duration,
    /// 99 % of the round trips were at least this fast.
    pub p99: Duration,
}

impl Latency {
    /// The latency of these round-trip times (sorted in place), or `None` if
    /// there are none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ferry_io_bench::Latency;
    ///
    /// let mut samples: Vec<_> = (1..=100).map(Duration::from_micros).collect();
    /// let latency = Latency::from_samples(&mut samples).unwrap();
    /// assert_eq!(latency.median, Duration::from_micros(50));
    /// assert_eq!(latency.p99, Duration::from_micros(99));
    /// ```
    pub fn from_samples(samples: &mut [Duration]) -> Option<Latency> {
        samples.sort_unstable();
        Some(Latency {
            median: samples[nearest_rank(samples.len(), 50.0)?],
            p99: samples[nearest_rank(samples.len(), 99.0)?],
        })
    }
}
