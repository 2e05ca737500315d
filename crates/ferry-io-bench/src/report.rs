//! `Report`: every figure of a run of the matrix, summarized per workload and
//! implementation, and its JSON form.

use serde::Serialize;

use crate::comparison::{Comparison, Targets};
use crate::flavor::Flavor;
use crate::machine::Machine;
use crate::ratio::Ratio;
pub use crate::record::Run;
use crate::stats::Spread;
use crate::{Implementation, Unit, Workload};

/// The result of [`Runner::run`](crate::Runner::run).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// The runtime the copies ran on.
    pub runtime: Flavor,
    /// Rounds per workload.
    pub rounds: usize,
    /// The targets the comparisons were judged by.
    pub targets: Targets,
    /// One entry per workload, in the order run.
    pub workloads: Vec<WorkloadReport>,
}

impl Report {
    /// Every figure as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        // Only strings, numbers, booleans and maps: serializing cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Whether every workload with a comparison meets the targets.
    pub fn meets_targets(&self) -> bool {
        self.workloads
            .iter()
            .filter_map(|w| w.comparison)
            .all(|c| c.meets_targets)
    }
}

/// One workload: every run, the summary per implementation, and how ferry's
/// default compared.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadReport {
    /// Which workload.
    pub workload: Workload,
    /// What `amount` and the rates count.
    pub unit: Unit,
    /// Bytes (or round trips) per run.
    pub amount: u64,
    /// The implementations that ran it, in first-round order.
    pub implementations: Vec<Implementation>,
    /// Every run in the order made.
    pub runs: Vec<Run>,
    /// Per implementation, in the order of `implementations`.
    pub summaries: Vec<ImplementationSummary>,
    /// ferry's default against tokio and the best contender, when all ran.
    pub comparison: Option<Comparison>,
}

impl WorkloadReport {
    /// Summarizes `runs` of `workload`.
    pub fn new(
        workload: Workload,
        amount: u64,
        implementations: Vec<Implementation>,
        runs: Vec<Run>,
        targets: Targets,
    ) -> WorkloadReport {
        let summaries: Vec<ImplementationSummary> = implementations
            .iter()
            .filter_map(|&imp| ImplementationSummary::of(imp, &runs))
            .collect();
        let comparison = Comparison::of(&runs, targets);
        WorkloadReport {
            workload,
            unit: workload.unit(),
            amount,
            implementations,
            runs,
            summaries,
            comparison,
        }
    }

    /// The summary of `imp`, if it ran.
    pub fn summary(&self, imp: Implementation) -> Option<&ImplementationSummary> {
        self.summaries.iter().find(|s| s.implementation == imp)
    }
}

/// One implementation's figures across the rounds of a workload.
#[derive(Clone, Debug, Serialize)]
pub struct ImplementationSummary {
    /// What ran.
    pub implementation: Implementation,
    /// How many runs.
    pub runs: usize,
    /// Rates per second: median and min–max over the runs.
    pub spread: Spread,
    /// The median over the rounds of its rate over tokio's in the same
    /// round ([`Ratio::paired`]), when tokio ran.
    pub to_tokio: Option<f64>,
    /// The median over the runs of each run's median round trip, in µs.
    pub latency_median_us: Option<f64>,
    /// The median over the runs of each run's p99 round trip, in µs.
    pub latency_p99_us: Option<f64>,
}

impl ImplementationSummary {
    /// The summary of `imp`'s runs among `runs`; `None` if it has none.
    pub fn of(imp: Implementation, runs: &[Run]) -> Option<ImplementationSummary> {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.implementation == imp).collect();
        let rates: Vec<f64> = mine.iter().map(|r| r.per_second).collect();
        let median_of = |pick: fn(&Run) -> Option<f64>| {
            let values: Vec<f64> = mine.iter().filter_map(|r| pick(r)).collect();
            Spread::of(&values).map(|s| s.median)
        };
        Some(ImplementationSummary {
            implementation: imp,
            runs: mine.len(),
            spread: Spread::of(&rates)?,
            to_tokio: Ratio::paired(runs, imp, Implementation::Tokio).map(|r| r.median),
            latency_median_us: median_of(|r| r.latency_median_us),
            latency_p99_us: median_of(|r| r.latency_p99_us),
        })
    }
}
