//! `Runner`: runs each workload for R rounds, every implementation once per
//! round, each in every place of the round in turn.

use std::io;

use crate::comparison::Targets;
use crate::flavor::Flavor;
use crate::machine::Machine;
use crate::record::Run;
use crate::report::{Report, WorkloadReport};
use crate::{Implementation, Sizes, Workload};

/// Where a run of the matrix is, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// The workload running.
    pub workload: Workload,
    /// Its index among the workloads, from 0.
    pub workload_index: usize,
    /// How many workloads.
    pub workloads: usize,
    /// The round, from 0.
    pub round: usize,
    /// Rounds per workload.
    pub rounds: usize,
    /// The implementation about to run.
    pub implementation: Implementation,
}

/// The order of `implementations` (or any contenders) in `round`: rotated
/// by one place every two rounds, and reversed in odd rounds, so that each
/// contender runs in every position in turn and no one always runs first
/// (on a cold cache), last (after the others warmed the machine up) or in
/// the middle. A run's speed can depend on its place in the round (loopback
/// TCP on a 2-core machine ran twice as fast in the middle places, whoever
/// ran there), and a contender held to one place would carry that in its
/// ratios.
///
/// ```
/// use ferry_io_bench::{round_order, Implementation::*};
///
/// assert_eq!(round_order(&[Tokio, Ferry, Std], 0), [Tokio, Ferry, Std]);
/// assert_eq!(round_order(&[Tokio, Ferry, Std], 1), [Std, Ferry, Tokio]);
/// assert_eq!(round_order(&[Tokio, Ferry, Std], 2), [Ferry, Std, Tokio]);
/// assert_eq!(round_order(&[Tokio, Ferry, Std], 3), [Tokio, Std, Ferry]);
/// ```
pub fn round_order<T: Clone>(implementations: &[T], round: usize) -> Vec<T> {
    let mut order = implementations.to_vec();
    if !order.is_empty() {
        let turn = (round / 2) % order.len();
        order.rotate_left(turn);
    }
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// What to run and how.
///
/// ```no_run
/// use ferry_io_bench::{Implementation, Runner, Sizes, Workload};
///
/// let mut runner = Runner::new(Workload::ALL.to_vec(), Implementation::MATRIX.to_vec());
/// runner.sizes = Sizes::quick();
/// runner.rounds = 3;
/// let report = runner.run(|step| eprintln!("{} {}", step.workload, step.implementation))?;
/// println!("{}", ferry_io_bench::table::markdown(&report));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Runner {
    /// The workloads, in the order to run them.
    pub workloads: Vec<Workload>,
    /// The implementations; each runs the workloads it applies to.
    pub implementations: Vec<Implementation>,
    /// Rounds per workload.
    pub rounds: usize,
    /// Amounts per run.
    pub sizes: Sizes,
    /// The runtime.
    pub flavor: Flavor,
    /// What ferry's default is judged against.
    pub targets: Targets,
}

impl Runner {
    /// Runs `workloads` × `implementations` for 5 rounds of the full sizes on
    /// a 2-worker multi-thread runtime, against issue 9's targets.
    pub fn new(workloads: Vec<Workload>, implementations: Vec<Implementation>) -> Runner {
        Runner {
            workloads,
            implementations,
            rounds: 5,
            sizes: Sizes::full(),
            flavor: Flavor::default(),
            targets: Targets::default(),
        }
    }

    /// Runs everything, calling `progress` before each run, and reports.
    ///
    /// Each workload is prepared once (its shared buffers allocated), then
    /// run for [`rounds`](Self::rounds) rounds in which every implementation
    /// that applies runs once, in [`round_order`].
    ///
    /// # Errors
    ///
    /// The first run that fails, named by workload and implementation: a
    /// wrong byte count fails the whole benchmark, because its figures would
    /// mean nothing.
    pub fn run(&self, mut progress: impl FnMut(&Step)) -> io::Result<Report> {
        let runtime = self.flavor.build()?;
        let mut workloads = Vec::with_capacity(self.workloads.len());
        for (workload_index, &workload) in self.workloads.iter().enumerate() {
            workloads.push(
                self.run_workload(&runtime, workload, |round, implementation| {
                    progress(&Step {
                        workload,
                        workload_index,
                        workloads: self.workloads.len(),
                        round,
                        rounds: self.rounds,
                        implementation,
                    })
                })?,
            );
        }
        Ok(Report {
            machine: Machine::detect(),
            runtime: self.flavor,
            rounds: self.rounds,
            targets: self.targets,
            workloads,
        })
    }

    /// Runs `workload` on `runtime` for every round with each implementation
    /// that applies, calling `progress(round, implementation)` before each run.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub(crate) fn run_workload(
        &self,
        runtime: &tokio::runtime::Runtime,
        workload: Workload,
        mut progress: impl FnMut(usize, Implementation),
    ) -> io::Result<WorkloadReport> {
        let applicable: Vec<Implementation> = self
            .implementations
            .iter()
            .copied()
            .filter(|&imp| workload.supports(imp))
            .collect();
        let mut prepared = workload.prepare(self.sizes.amount(workload))?;
        let mut runs = Vec::with_capacity(self.rounds * applicable.len());
        for round in 0..self.rounds {
            for (position, imp) in round_order(&applicable, round).into_iter().enumerate() {
                progress(round, imp);
                let measured = runtime.block_on(prepared.run(imp)).map_err(|err| {
                    io::Error::new(err.kind(), format!("{workload} with {imp}: {err}"))
                })?;
                runs.push(Run::new(round, position, imp, &measured));
            }
        }
        Ok(WorkloadReport::new(
            workload,
            prepared.amount(),
            applicable,
            runs,
            self.targets,
        ))
    }
}
