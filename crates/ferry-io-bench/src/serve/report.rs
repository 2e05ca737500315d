//! `ServeReport`: every figure of one serve scenario, per relay, with the
//! ratios to direct and the relays that were skipped.

use serde::Serialize;

use super::{Relay, ServeLoad};
use crate::ratio::{Rated, Ratio};
use crate::stats::Spread;
use crate::{Measurement, Unit};

/// One serve scenario's runs, summaries and skipped relays.
#[derive(Clone, Debug, Serialize)]
pub struct ServeReport {
    /// Which load.
    pub load: ServeLoad,
    /// What `amount` and the rates count.
    pub unit: Unit,
    /// Bytes (flows) or connections (short connections) per run.
    pub amount: u64,
    /// The relays that ran, in first-round order.
    pub relays: Vec<Relay>,
    /// Every run in the order made.
    pub runs: Vec<ServeRun>,
    /// Per relay, in the order of `relays`.
    pub summaries: Vec<RelaySummary>,
    /// The relays that could not run here, and why.
    pub skipped: Vec<Skipped>,
}

impl ServeReport {
    /// Summarizes `runs`.
    pub fn new(
        load: ServeLoad,
        amount: u64,
        relays: Vec<Relay>,
        runs: Vec<ServeRun>,
        skipped: Vec<Skipped>,
    ) -> ServeReport {
        let summaries: Vec<RelaySummary> = relays
            .iter()
            .filter_map(|&relay| RelaySummary::of(relay, &runs))
            .collect();
        ServeReport {
            load,
            unit: load.unit(),
            amount,
            relays,
            runs,
            summaries,
            skipped,
        }
    }

    /// The summary of `relay`, if it ran.
    pub fn summary(&self, relay: Relay) -> Option<&RelaySummary> {
        self.summaries.iter().find(|s| s.relay == relay)
    }
}

/// One run through one relay.
#[derive(Clone, Debug, Serialize)]
pub struct ServeRun {
    /// The round, from 0.
    pub round: usize,
    /// Its place in the round's order, from 0.
    pub position: usize,
    /// What the clients went through.
    pub relay: Relay,
    /// Bytes or connections.
    pub amount: u64,
    /// The timed part, in seconds.
    pub seconds: f64,
    /// `amount` per second.
    pub per_second: f64,
    /// Median round trip in microseconds, for ping-pong.
    pub latency_median_us: Option<f64>,
    /// 99th-percentile round trip in microseconds, for ping-pong.
    pub latency_p99_us: Option<f64>,
}

impl ServeRun {
    /// The record of `measurement`, made at `position` in `round`.
    pub fn new(round: usize, position: usize, relay: Relay, measurement: &Measurement) -> ServeRun {
        ServeRun {
            round,
            position,
            relay,
            amount: measurement.amount,
            seconds: measurement.elapsed.as_secs_f64(),
            per_second: measurement.per_second(),
            latency_median_us: measurement.latency.map(|l| l.median.as_secs_f64() * 1e6),
            latency_p99_us: measurement.latency.map(|l| l.p99.as_secs_f64() * 1e6),
        }
    }
}

impl Rated for ServeRun {
    type Contender = Relay;

    fn round(&self) -> usize {
        self.round
    }

    fn contender(&self) -> Relay {
        self.relay
    }

    fn per_second(&self) -> f64 {
        self.per_second
    }
}

/// One relay's figures across the rounds.
#[derive(Clone, Debug, Serialize)]
pub struct RelaySummary {
    /// Which relay.
    pub relay: Relay,
    /// How many runs.
    pub runs: usize,
    /// Rates per second: median and min–max.
    pub spread: Spread,
    /// The median over the rounds of its rate over direct's in the same
    /// round ([`Ratio::paired`]), when direct ran.
    pub to_direct: Option<f64>,
    /// The median of the runs' median round trips in microseconds, for ping-pong.
    pub latency_median_us: Option<f64>,
    /// The median of the runs' 99th-percentile round trips, for ping-pong.
    pub latency_p99_us: Option<f64>,
}

impl RelaySummary {
    /// The summary of `relay`'s runs among `runs`; `None` if it has none.
    pub fn of(relay: Relay, runs: &[ServeRun]) -> Option<RelaySummary> {
        let rates: Vec<f64> = runs
            .iter()
            .filter(|r| r.relay == relay)
            .map(|r| r.per_second)
            .collect();
        let median_of = |figure: fn(&ServeRun) -> Option<f64>| {
            let figures: Vec<f64> = runs
                .iter()
                .filter(|r| r.relay == relay)
                .filter_map(figure)
                .collect();
            Spread::of(&figures).map(|spread| spread.median)
        };
        Some(RelaySummary {
            relay,
            runs: rates.len(),
            spread: Spread::of(&rates)?,
            to_direct: Ratio::paired(runs, relay, Relay::Direct).map(|r| r.median),
            latency_median_us: median_of(|r| r.latency_median_us),
            latency_p99_us: median_of(|r| r.latency_p99_us),
        })
    }
}

/// A relay that did not run, and why (not installed, or it failed to start).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Which relay.
    pub relay: Relay,
    /// Why, in a few words.
    pub reason: String,
}
