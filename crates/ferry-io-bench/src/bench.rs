//! `Bench`: the run behind `ferry bench` — every scenario asked for, at one
//! preset, with its progress, into one [`BenchReport`].

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use crate::bench_report::{BenchReport, Figures, ScenarioReport};
use crate::fd_limit::raise_fd_limit;
use crate::machine::Machine;
use crate::progress::Place;
use crate::{scaling, serve};
use crate::{Flavor, Implementation, Preset, Relay, Runner, Scenario, Sizes};

/// What `ferry bench` runs, and how.
///
/// ```no_run
/// use ferry_io_bench::{Bench, Preset, Scenario, Workload};
///
/// let mut bench = Bench::new("/usr/local/bin/ferry".into(), Preset::Quick);
/// bench.scenarios = vec![Scenario::Copy(Workload::TcpRelay), Scenario::Scaling];
/// let report = bench.run(|place| eprintln!("{} {}", place.scenario, place.who))?;
/// print!("{}", ferry_io_bench::summary::text(&report));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Bench {
    /// The scenarios, in the order to run them.
    pub scenarios: Vec<Scenario>,
    /// How much each run moves.
    pub preset: Preset,
    /// Rounds per scenario.
    pub rounds: usize,
    /// The ferry binary the serve and scaling scenarios start.
    pub ferry: PathBuf,
    /// The relays the serve scenarios compare.
    pub relays: Vec<Relay>,
    /// What the scaling scenario's connections go through: ferry's server
    /// (tests of this crate, which have no ferry binary, use direct).
    pub scaling_through: Relay,
    /// The runtime the copies, clients and backends run on.
    pub flavor: Flavor,
}

impl Bench {
    /// Every scenario at `preset`, with its rounds, every relay and the
    /// default 2-worker runtime; `ferry` is the binary to start as a relay.
    pub fn new(ferry: PathBuf, preset: Preset) -> Bench {
        Bench {
            scenarios: Scenario::ALL.to_vec(),
            preset,
            rounds: preset.rounds(),
            ferry,
            relays: Relay::ALL.to_vec(),
            scaling_through: Relay::Ferry,
            flavor: Flavor::default(),
        }
    }

    /// Runs every scenario, calling `progress` before each run, and reports.
    ///
    /// # Errors
    ///
    /// The first run that failed, named by scenario and contender: a wrong
    /// byte count fails the whole benchmark, since its figures would mean
    /// nothing. (socat, HAProxy or nginx missing or failing to start is a note.)
    pub fn run(&self, mut progress: impl FnMut(&Place)) -> io::Result<BenchReport> {
        let started = Instant::now();
        // Before the run loads it.
        let machine = Machine::detect();
        let fd_limit = raise_fd_limit();
        let runtime = self.flavor.build()?;
        let mut copies = Runner::new(Vec::new(), Implementation::BENCH.to_vec());
        copies.rounds = self.rounds;
        copies.sizes = Sizes::preset(self.preset);
        copies.flavor = self.flavor;

        let mut scenarios = Vec::with_capacity(self.scenarios.len());
        for (index, &scenario) in self.scenarios.iter().enumerate() {
            let mut show = |round: usize, who: String| {
                progress(&Place {
                    scenario: scenario.name(),
                    index,
                    count: self.scenarios.len(),
                    round,
                    rounds: self.rounds,
                    who,
                })
            };
            let figures = match scenario {
                Scenario::Copy(workload) => {
                    let mut report = copies.run_workload(&runtime, workload, |round, imp| {
                        show(round, imp.name().into())
                    })?;
                    // Issue 9's targets judge the matrix, not this comparison.
                    report.comparison = None;
                    Figures::Copy(report)
                }
                Scenario::Serve(load) => Figures::Serve(serve::run(
                    load,
                    &self.relays,
                    load.amount(self.preset),
                    self.rounds,
                    &self.ferry,
                    &runtime,
                    |round, relay| show(round, relay.name().into()),
                )?),
                Scenario::Scaling => Figures::Scaling(scaling::run(
                    self.scaling_through,
                    self.preset,
                    self.rounds,
                    &self.ferry,
                    fd_limit,
                    &runtime,
                    |round, connections| show(round, format!("{connections} connections")),
                )?),
            };
            scenarios.push(ScenarioReport { scenario, figures });
        }
        Ok(BenchReport::new(
            machine,
            self.preset,
            self.rounds,
            self.flavor,
            started.elapsed(),
            scenarios,
        ))
    }
}
