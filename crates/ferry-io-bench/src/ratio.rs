//! `Ratio`: one contender's rate over another's, paired round by round.

use std::fmt;

use serde::Serialize;

use crate::stats::{median_interval, Spread};

/// How to read a ratio in a report, in one sentence printed under its
/// headline: the median of the rounds' ratios ([`Ratio::paired`]) need not
/// equal the ratio of the medians printed beside it (rates of 50, 180 and
/// 120 in three rounds against 100, 200 and 400: the medians' ratio is 0.6,
/// the median of the ratios 0.5).
pub const READING: &str = "Each ratio is the median of the per-round ratios (a contender's rate over the baseline's in the same round), so it can differ from the ratio of the medians beside it.";

/// What pairing needs of a run: its round, who ran, and how fast.
pub trait Rated {
    /// Who ran: an implementation, a relay.
    type Contender: Copy + PartialEq;

    /// The round it ran in, from 0.
    fn round(&self) -> usize;

    /// Who ran.
    fn contender(&self) -> Self::Contender;

    /// Its rate: bytes, round trips or connections per second.
    fn per_second(&self) -> f64;
}

/// How fast one contender ran against another, taken round by round:
/// the median of the ratios of their rates in the same round, and an
/// interval that holds the true median with 95% confidence
/// ([`median_interval`]).
///
/// Pairing cancels what changes from one round to the next. On these shared
/// machines a whole round runs 10–20% faster or slower than the one before,
/// more than implementations differ within a round, and a ratio of two
/// medians taken over all rounds keeps that noise.
///
/// ```
/// use std::time::Duration;
/// use ferry_io_bench::report::Run;
/// use ferry_io_bench::ratio::Ratio;
/// use ferry_io_bench::{Implementation::{Ferry, Tokio}, Measurement};
///
/// // Round 1 ran at half the speed of round 0; ferry was 10% faster in both.
/// let run = |round, imp, seconds| {
///     let measured = Measurement { amount: 1 << 30, elapsed: Duration::from_secs_f64(seconds), latency: None };
///     Run::new(round, 0, imp, &measured)
/// };
/// let runs = [run(0, Tokio, 1.1), run(0, Ferry, 1.0), run(1, Tokio, 2.2), run(1, Ferry, 2.0)];
/// let ratio = Ratio::paired(&runs, Ferry, Tokio).unwrap();
/// assert!((ratio.median - 1.1).abs() < 1e-9);
/// assert_eq!(ratio.rounds, 2);
/// assert_eq!(ratio.to_string(), "1.10 [1.10–1.10]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ratio {
    /// The median over the rounds of one's rate over the other's.
    pub median: f64,
    /// The low end of the 95% interval of that median.
    pub low: f64,
    /// The high end of the 95% interval of that median.
    pub high: f64,
    /// How many rounds ran both.
    pub rounds: usize,
}

impl Ratio {
    /// `imp`'s rate over `base`'s in every round among `runs` that ran both;
    /// `None` if no round did.
    pub fn paired<R: Rated>(runs: &[R], imp: R::Contender, base: R::Contender) -> Option<Ratio> {
        let ratios: Vec<f64> = runs
            .iter()
            .filter(|run| run.contender() == imp)
            .filter_map(|run| {
                let other = runs
                    .iter()
                    .find(|r| r.contender() == base && r.round() == run.round())?;
                Some(run.per_second() / other.per_second())
            })
            .collect();
        let median = Spread::of(&ratios)?.median;
        let (low, high) = median_interval(&ratios)?;
        Some(Ratio {
            median,
            low,
            high,
            rounds: ratios.len(),
        })
    }
}

impl fmt::Display for Ratio {
    /// The median and the interval, to two places: `0.97 [0.93–1.01]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} [{:.2}–{:.2}]", self.median, self.low, self.high)
    }
}
