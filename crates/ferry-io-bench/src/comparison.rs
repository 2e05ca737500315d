//! `Comparison`: ferry's default against tokio and the best fixed choice, and
//! the targets of issue 9.

use serde::{Deserialize, Serialize};

use crate::ratio::Ratio;
use crate::record::Run;
use crate::Implementation;

/// The ratios ferry's default must reach, in the same run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
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

/// How ferry's default did in one workload, judged round by round
/// ([`Ratio::paired`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The contender the default did worst against: the best, for the
    /// default.
    pub best: Implementation,
    /// The default over the best contender.
    pub default_to_best: Ratio,
    /// The default over tokio.
    pub default_to_tokio: Ratio,
    /// Whether both medians reach their targets.
    pub meets_targets: bool,
}

impl Comparison {
    /// Compares [`Implementation::Ferry`] with the contenders among `runs`;
    /// `None` unless the default, tokio and at least one contender ran in
    /// the same rounds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ferry_io_bench::report::Run;
    /// use ferry_io_bench::{Comparison, Implementation::{Ferry, Ferry8K, Tokio}, Measurement, Targets};
    ///
    /// let run = |round, imp, seconds| {
    ///     let measured = Measurement { amount: 1 << 30, elapsed: Duration::from_secs_f64(seconds), latency: None };
    ///     Run::new(round, 0, imp, &measured)
    /// };
    /// let runs = [run(0, Tokio, 1.0), run(0, Ferry8K, 0.9), run(0, Ferry, 0.95)];
    /// let c = Comparison::of(&runs, Targets::default()).unwrap();
    /// assert_eq!(c.best, Ferry8K);
    /// assert!((c.default_to_best.median - 0.9 / 0.95).abs() < 1e-9);
    /// assert!(!c.meets_targets);
    /// ```
    pub fn of(runs: &[Run], targets: Targets) -> Option<Comparison> {
        // tokio is one of the contenders: each ratio is taken once.
        let against: Vec<(Implementation, Ratio)> = Implementation::CONTENDERS
            .into_iter()
            .filter_map(|imp| Some((imp, Ratio::paired(runs, Implementation::Ferry, imp)?)))
            .collect();
        let (_, default_to_tokio) = *against
            .iter()
            .find(|(imp, _)| *imp == Implementation::Tokio)?;
        let (best, default_to_best) = *against
            .iter()
            .min_by(|a, b| a.1.median.total_cmp(&b.1.median))?;
        Some(Comparison {
            best,
            default_to_best,
            default_to_tokio,
            meets_targets: default_to_best.median >= targets.to_best
                && default_to_tokio.median >= targets.to_tokio,
        })
    }
}
