//! `Comparison`: ferry's default against tokio and the best fixed choice, and
//! the targets of issue 9.

use serde::Serialize;

use crate::report::ImplementationSummary;
use crate::Implementation;

/// The ratios ferry's default must reach, in the same run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Targets {
    /// Default ≥ this × the best of [`Implementation::CONTENDERS`].
    pub to_best: f64,
    /// Default ≥ this × tokio.
    pub to_tokio: f64,
}

impl Default for Targets {
    /// Issue 9's targets: ≥ 0.95× the best and ≥ 0.97× tokio.
    fn default() -> Self {
        Targets {
            to_best: 0.95,
            to_tokio: 0.97,
        }
    }
}

/// How ferry's default did in one workload.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The contender with the highest median.
    pub best: Implementation,
    /// The default's median over the best contender's.
    pub default_to_best: f64,
    /// The default's median over tokio's.
    pub default_to_tokio: f64,
    /// Whether both ratios reach their targets.
    pub meets_targets: bool,
}

impl Comparison {
    /// Compares [`Implementation::Ferry`] with the contenders among
    /// `summaries`; `None` unless the default, tokio and at least one
    /// contender were run.
    pub fn of(summaries: &[ImplementationSummary], targets: Targets) -> Option<Comparison> {
        let median = |imp: Implementation| {
            summaries
                .iter()
                .find(|s| s.implementation == imp)
                .map(|s| s.spread.median)
        };
        let default = median(Implementation::Ferry)?;
        let tokio = median(Implementation::Tokio)?;
        let (best, best_median) = Implementation::CONTENDERS
            .into_iter()
            .filter_map(|imp| Some((imp, median(imp)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        let default_to_best = default / best_median;
        let default_to_tokio = default / tokio;
        Some(Comparison {
            best,
            default_to_best,
            default_to_tokio,
            meets_targets: default_to_best >= targets.to_best
                && default_to_tokio >= targets.to_tokio,
        })
    }
}
