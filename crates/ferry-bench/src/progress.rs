//! `ProgressLine`: the line on stderr that says where a run of the matrix is.

use std::io::{self, IsTerminal, Write};

use crate::runner::Step;

/// Shows each [`Step`] on stderr: rewritten in place on a terminal, one line
/// per round otherwise (so a log stays short).
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

    /// Shows `step`.
    pub fn show(&mut self, step: &Step) {
        let place = format!(
            "bench: [{}/{}] {} round {}/{}",
            step.workload_index + 1,
            step.workloads,
            step.workload,
            step.round + 1,
            step.rounds,
        );
        let mut err = io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K{place}: {}", step.implementation);
            let _ = err.flush();
        } else if self.last != Some((step.workload_index, step.round)) {
            self.last = Some((step.workload_index, step.round));
            let _ = writeln!(err, "{place}");
        }
    }

    /// Clears the line once the run is over.
    pub fn finish(&mut self) {
        if self.terminal {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
    }
}
