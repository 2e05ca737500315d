//! `ScalingReport`: throughput, latency, memory and CPU through one relay
//! process at each number of concurrent connections.

use serde::Serialize;

use crate::stats::Spread;
use crate::Relay;

/// Every run of the scaling scenario and the medians per level.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingReport {
    /// What the connections went through (ferry's server).
    pub relay: Relay,
    /// Bytes per message, each way.
    pub message_len: usize,
    /// Per number of connections, in increasing order.
    pub levels: Vec<LevelSummary>,
    /// Every run in the order made.
    pub runs: Vec<LevelRun>,
    /// Levels that could not run here, and why.
    pub skipped: Vec<SkippedLevel>,
}

impl ScalingReport {
    /// Summarizes `runs` per level, in the order of `levels`.
    pub fn new(
        relay: Relay,
        message_len: usize,
        levels: &[usize],
        runs: Vec<LevelRun>,
        skipped: Vec<SkippedLevel>,
    ) -> ScalingReport {
        let levels = levels
            .iter()
            .filter_map(|&connections| LevelSummary::of(connections, &runs))
            .collect();
        ScalingReport {
            relay,
            message_len,
            levels,
            runs,
            skipped,
        }
    }
}

/// One run at one level: a fresh relay, `connections` connections each
/// making `round_trips / connections` round trips at once.
#[derive(Clone, Debug, Serialize)]
pub struct LevelRun {
    /// The round, from 0.
    pub round: usize,
    /// Concurrent connections.
    pub connections: usize,
    /// Round trips made in the timed part, all connections together.
    pub round_trips: u64,
    /// Payload bytes relayed in the timed part, both directions together.
    pub bytes: u64,
    /// The timed part, in seconds.
    pub seconds: f64,
    /// `bytes` per second.
    pub bytes_per_second: f64,
    /// The median round trip, in µs.
    pub latency_p50_us: f64,
    /// The 99th-percentile round trip, in µs.
    pub latency_p99_us: f64,
    /// The relay's resident memory with the connections open and busy,
    /// less its memory before the first connection, per connection, in bytes.
    pub rss_per_connection: Option<f64>,
    /// The relay's CPU time in the timed part per 10⁹ bytes relayed.
    pub cpu_seconds_per_gb: Option<f64>,
}

/// One level's medians over its runs.
#[derive(Clone, Debug, Serialize)]
pub struct LevelSummary {
    /// Concurrent connections.
    pub connections: usize,
    /// How many runs.
    pub runs: usize,
    /// Bytes per second, both directions together: median and min–max.
    pub bytes_per_second: Spread,
    /// Median over the runs of the median round trip, in µs.
    pub latency_p50_us: f64,
    /// Median over the runs of the p99 round trip, in µs.
    pub latency_p99_us: f64,
    /// Median resident memory per connection, in bytes.
    pub rss_per_connection: Option<f64>,
    /// Median CPU seconds per 10⁹ bytes.
    pub cpu_seconds_per_gb: Option<f64>,
}

impl LevelSummary {
    /// The summary of the runs at `connections`; `None` if there are none.
    pub fn of(connections: usize, runs: &[LevelRun]) -> Option<LevelSummary> {
        let mine: Vec<&LevelRun> = runs
            .iter()
            .filter(|r| r.connections == connections)
            .collect();
        let median = |pick: fn(&LevelRun) -> Option<f64>| {
            let values: Vec<f64> = mine.iter().filter_map(|r| pick(r)).collect();
            Spread::of(&values).map(|s| s.median)
        };
        Some(LevelSummary {
            connections,
            runs: mine.len(),
            bytes_per_second: Spread::of(
                &mine.iter().map(|r| r.bytes_per_second).collect::<Vec<_>>(),
            )?,
            latency_p50_us: median(|r| Some(r.latency_p50_us))?,
            latency_p99_us: median(|r| Some(r.latency_p99_us))?,
            rss_per_connection: median(|r| r.rss_per_connection),
            cpu_seconds_per_gb: median(|r| r.cpu_seconds_per_gb),
        })
    }
}

/// A level that did not run, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedLevel {
    /// Concurrent connections.
    pub connections: usize,
    /// Why, in a few words.
    pub reason: String,
}
