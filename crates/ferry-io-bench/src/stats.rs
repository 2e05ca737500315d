//! Order statistics: the median, min–max and percentiles the reports quote.

use serde::Serialize;

/// The median and range of a set of figures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// The middle figure; the mean of the two middle ones for an even count.
    pub median: f64,
    /// The smallest figure.
    pub min: f64,
    /// The largest figure.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, or `None` if there are none (NaNs sort last).
    ///
    /// ```
    /// use ferry_io_bench::stats::Spread;
    ///
    /// let spread = Spread::of(&[3.0, 1.0, 4.0, 2.0]).unwrap();
    /// assert_eq!((spread.median, spread.min, spread.max), (2.5, 1.0, 4.0));
    /// ```
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 0 {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        };
        Some(Spread { median, min, max })
    }
}

/// The index of the `p`-th percentile (0 < `p` ≤ 100) in a sorted slice of
/// `len` items, by the nearest-rank method; `None` for an empty slice.
///
/// ```
/// use ferry_io_bench::stats::nearest_rank;
///
/// assert_eq!(nearest_rank(100, 99.0), Some(98));
/// assert_eq!(nearest_rank(100, 50.0), Some(49));
/// assert_eq!(nearest_rank(1, 99.0), Some(0));
/// ```
pub fn nearest_rank(len: usize, p: f64) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let rank = (p / 100.0 * len as f64).ceil() as usize;
    Some(rank.clamp(1, len) - 1)
}

/// A distribution-free interval that holds the true median of what
/// `values` were drawn from with at least 95% confidence: the k-th smallest
/// and k-th largest value, with k from the binomial distribution. Below six
/// values it is min–max, which holds less (94% for five, 75% for three).
/// `None` for no values.
///
/// Fifteen rounds give the 4th to the 12th of the sorted values.
///
/// ```
/// use ferry_io_bench::stats::median_interval;
///
/// let values: Vec<f64> = (1..=15).map(f64::from).collect();
/// assert_eq!(median_interval(&values), Some((4.0, 12.0)));
/// let values: Vec<f64> = (1..=25).map(f64::from).collect();
/// assert_eq!(median_interval(&values), Some((8.0, 18.0)));
/// assert_eq!(median_interval(&[2.0, 1.0, 3.0]), Some((1.0, 3.0)));
/// ```
pub fn median_interval(values: &[f64]) -> Option<(f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // The largest k for which fewer than k of n fair coin flips come up
    // heads with probability at most 2.5%. Terms in logs: 0.5^n underflows.
    let mut k = 1;
    let mut ln_term = -(n as f64) * std::f64::consts::LN_2; // P(0 heads)
    let mut below = ln_term.exp();
    for i in 1..n / 2 {
        ln_term += ((n - i + 1) as f64 / i as f64).ln();
        below += ln_term.exp();
        if below > 0.025 {
            break;
        }
        k = i + 1;
    }
    Some((sorted[k - 1], sorted[n - k]))
}
