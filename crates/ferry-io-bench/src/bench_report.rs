//! `BenchReport`: every figure of a `ferry bench` run, scenario by
//! scenario, with the notes on what was skipped, and its JSON form.

use std::time::Duration;

use serde::Serialize;

use crate::machine::Machine;
use crate::report::WorkloadReport;
use crate::{Flavor, Preset, ScalingReport, Scenario, ServeReport};

/// The result of [`Bench::run`](crate::Bench::run).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Where it ran.
    pub machine: Machine,
    /// The amounts per run.
    pub preset: Preset,
    /// Rounds per scenario.
    pub rounds: usize,
    /// The runtime the copies, clients and backends ran on.
    pub runtime: Flavor,
    /// How long the whole run took, in seconds.
    pub seconds: f64,
    /// One entry per scenario, in the order run.
    pub scenarios: Vec<ScenarioReport>,
    /// What was skipped and why, a sentence each.
    pub notes: Vec<String>,
}

/// One scenario's figures, named.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// Which scenario.
    pub scenario: Scenario,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The figures of one scenario, by kind (`"kind"` in JSON).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Figures {
    /// Implementations copying in this process, with ratios to tokio.
    Copy(WorkloadReport),
    /// Relay processes, with ratios to direct.
    Serve(ServeReport),
    /// Levels of concurrent connections through one relay.
    Scaling(ScalingReport),
}

impl BenchReport {
    /// The report of `scenarios`, with a note for every relay and level
    /// that was skipped.
    pub fn new(
        machine: Machine,
        preset: Preset,
        rounds: usize,
        runtime: Flavor,
        elapsed: Duration,
        scenarios: Vec<ScenarioReport>,
    ) -> BenchReport {
        let mut notes = Vec::new();
        let mut skipped_relays = Vec::new();
        for scenario in &scenarios {
            match &scenario.figures {
                // One note per relay: the first reason it gave.
                Figures::Serve(serve) => {
                    for skipped in &serve.skipped {
                        if !skipped_relays.contains(&skipped.relay) {
                            skipped_relays.push(skipped.relay);
                            notes.push(format!(
                                "{} skipped in the serve scenarios: {}.",
                                skipped.relay, skipped.reason
                            ));
                        }
                    }
                }
                Figures::Scaling(scaling) => {
                    for skipped in &scaling.skipped {
                        notes.push(format!(
                            "scaling at {} connections skipped: {}.",
                            skipped.connections, skipped.reason
                        ));
                    }
                }
                Figures::Copy(_) => {}
            }
        }
        BenchReport {
            machine,
            preset,
            rounds,
            runtime,
            seconds: elapsed.as_secs_f64(),
            scenarios,
            notes,
        }
    }

    /// Every figure as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        // Only strings, numbers, booleans, arrays and maps: cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}
