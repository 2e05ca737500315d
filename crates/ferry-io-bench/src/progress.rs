//! `ProgressLine`: the line on stderr that says where a benchmark run is.

use std::io::{self, IsTerminal, Write};

use crate::runner::Step;

/// Where a run is: which scenario of how many, which round, and who is
/// about to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The scenario's name.
    pub scenario: String,
    /// Its index among the scenarios, from 0.
    pub index: usize,
    /// How many scenarios.
    pub count: usize,
    /// The round, from 0.
    pub round: usize,
    /// Rounds per scenario.
    pub rounds: usize,
    /// What runs next: an implementation, a relay, a number of connections.
    pub who: String,
}

impl From<&Step> for Place {
    fn from(step: &Step) -> Place {
        Place {
            scenario: step.workload.name().into(),
            index: step.workload_index,
            count: step.workloads,
            round: step.round,
            rounds: step.rounds,
            who: step.implementation.name().into(),
        }
    }
}

/// Shows each [`Place`] on stderr: rewritten in place on a terminal, one
/// line per round otherwise (so a log stays short).
#[derive(Debug)]
pub struct ProgressLine {
    terminal: bool,
    last: Option<(usize, usize)>,
}

impl ProgressLine {
    /// A progress line for this process's stderr.
    pub fn stderr() -> ProgressLine {
        ProgressLine {
            terminal: io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Shows `place`.
    pub fn show(&mut self, place: &Place) {
        let at = format!(
            "bench: [{}/{}] {} round {}/{}",
            place.index + 1,
            place.count,
            place.scenario,
            place.round + 1,
            place.rounds,
        );
        let mut err = io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K{at}: {}", place.who);
            let _ = err.flush();
        } else if self.last != Some((place.index, place.round)) {
            self.last = Some((place.index, place.round));
            let _ = writeln!(err, "{at}");
        }
    }

    /// Clears the line once the run is over.
    pub fn finish(&mut self) {
        if self.terminal {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
    }
}
