//! Pooling: several saved runs of the matrix (`bench-matrix --json`) read
//! back and judged as one, their rounds one after another.
//!
//! On a shared machine one run's ratios swing by a few percent (a round
//! runs 10–20% faster or slower than the next, and the other tenants come
//! and go between runs). Each ratio is still taken within a round, where
//! the implementations saw the same machine; pooling only gives the median
//! more rounds to stand on.

use serde::Deserialize;

use crate::comparison::Targets;
use crate::flavor::Flavor;
use crate::machine::Machine;
use crate::report::{Report, Run, WorkloadReport};
use crate::{Implementation, Workload};

/// A run of the matrix as `bench-matrix --json` saved it: what pooling
/// needs, the runs themselves; medians and ratios are taken again.
#[derive(Clone, Debug, Deserialize)]
pub struct Saved {
    /// Where it ran.
    pub machine: Machine,
    /// The runtime the copies ran on.
    pub runtime: Flavor,
    /// Rounds per workload.
    pub rounds: usize,
    /// The targets it was judged by.
    pub targets: Targets,
    /// Every workload's runs.
    pub workloads: Vec<SavedWorkload>,
}

/// One workload of a [`Saved`] run.
#[derive(Clone, Debug, Deserialize)]
pub struct SavedWorkload {
    /// Which workload.
    pub workload: Workload,
    /// Bytes (or round trips) per run.
    pub amount: u64,
    /// The implementations that ran it.
    pub implementations: Vec<Implementation>,
    /// Every run in the order made.
    pub runs: Vec<Run>,
}

impl Saved {
    /// Reads a run saved as JSON.
    ///
    /// ```
    /// use ferry_io_bench::{pool::Saved, Implementation, Runner, Sizes, Workload};
    ///
    /// let mut runner = Runner::new(vec![Workload::MemFill], Implementation::MATRIX.to_vec());
    /// runner.sizes = Sizes::tiny();
    /// let report = runner.run(|_| {})?;
    /// let saved = Saved::from_json(&report.to_json().to_string()).unwrap();
    /// assert_eq!(saved.workloads[0].runs.len(), report.workloads[0].runs.len());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Saved, String> {
        serde_json::from_str(json).map_err(|err| format!("not a saved bench-matrix run: {err}"))
    }
}

/// Pools `saved` runs into one report: every workload's rounds one after
/// another, the medians and ratios taken again over all of them. The runs
/// must be alike (same machine, runtime, targets, workloads, amounts and
/// implementations); the first difference is the error.
///
/// ```
/// use ferry_io_bench::pool::{pool, Saved};
/// use ferry_io_bench::{Implementation, Runner, Sizes, Workload};
///
/// let mut runner = Runner::new(vec![Workload::MemFill], Implementation::MATRIX.to_vec());
/// runner.sizes = Sizes::tiny();
/// runner.rounds = 2;
/// let saved = |report: &ferry_io_bench::Report| Saved::from_json(&report.to_json().to_string()).unwrap();
/// let (first, second) = (runner.run(|_| {})?, runner.run(|_| {})?);
/// let pooled = pool(&[saved(&first), saved(&second)]).unwrap();
/// assert_eq!(pooled.rounds, 4);
/// let rounds: Vec<usize> = pooled.workloads[0].runs.iter().map(|r| r.round).collect();
/// assert_eq!(rounds.iter().max(), Some(&3));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pool(saved: &[Saved]) -> Result<Report, String> {
    let (first, rest) = saved.split_first().ok_or("no runs to pool")?;
    for (index, other) in rest.iter().enumerate() {
        let differs = |what: &str| {
            format!(
                "run {} differs from run 1 in {what}: pool runs made alike",
                index + 2
            )
        };
        if (&other.machine.cpu_model, other.machine.cores)
            != (&first.machine.cpu_model, first.machine.cores)
        {
            return Err(differs("its machine"));
        }
        if other.runtime != first.runtime {
            return Err(differs("its runtime"));
        }
        if other.targets != first.targets {
            return Err(differs("its targets"));
        }
        let shape = |s: &Saved| -> Vec<(Workload, u64, Vec<Implementation>)> {
            s.workloads
                .iter()
                .map(|w| (w.workload, w.amount, w.implementations.clone()))
                .collect()
        };
        if shape(other) != shape(first) {
            return Err(differs("its workloads, their sizes or implementations"));
        }
    }

    let workloads = first
        .workloads
        .iter()
        .enumerate()
        .map(|(index, w)| {
            let mut offset = 0;
            let mut runs = Vec::new();
            for s in saved {
                runs.extend(s.workloads[index].runs.iter().map(|run| Run {
                    round: run.round + offset,
                    ..run.clone()
                }));
                offset += s.rounds;
            }
            WorkloadReport::new(
                w.workload,
                w.amount,
                w.implementations.clone(),
                runs,
                first.targets,
            )
        })
        .collect();
    let dates: Vec<&str> = saved.iter().map(|s| s.machine.date.as_str()).collect();
    Ok(Report {
        machine: Machine {
            date: dates.join(", "),
            ..first.machine.clone()
        },
        runtime: first.runtime,
        rounds: saved.iter().map(|s| s.rounds).sum(),
        targets: first.targets,
        workloads,
    })
}
