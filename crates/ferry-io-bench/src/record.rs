//! `Run`: the record of one run of one implementation, as reports keep it
//! and saved runs read it back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ratio::Rated;
use crate::{Implementation, Measurement};

/// One run of one implementation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    /// The round, from 0.
    pub round: usize,
    /// Its place in the round's order, from 0.
    pub position: usize,
    /// What ran.
    pub implementation: Implementation,
    /// Bytes (or round trips) moved.
    pub amount: u64,
    /// The timed part, in seconds.
    pub seconds: f64,
    /// `amount` per second.
    pub per_second: f64,
    /// Median round trip in microseconds, for latency workloads.
    pub latency_median_us: Option<f64>,
    /// 99th-percentile round trip in microseconds, for latency workloads.
    pub latency_p99_us: Option<f64>,
}

impl Run {
    /// The record of `measurement`, made at `position` in `round`.
    pub fn new(
        round: usize,
        position: usize,
        implementation: Implementation,
        measurement: &Measurement,
    ) -> Run {
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        Run {
            round,
            position,
            implementation,
            amount: measurement.amount,
            seconds: measurement.elapsed.as_secs_f64(),
            per_second: measurement.per_second(),
            latency_median_us: measurement.latency.map(|l| micros(l.median)),
            latency_p99_us: measurement.latency.map(|l| micros(l.p99)),
        }
    }
}

impl Rated for Run {
    type Contender = Implementation;

    fn round(&self) -> usize {
        self.round
    }

    fn contender(&self) -> Implementation {
        self.implementation
    }

    fn per_second(&self) -> f64 {
        self.per_second
    }
}
