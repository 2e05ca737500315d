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
    /// use ferry_bench::stats::Spread;
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
/// use ferry_bench::stats::nearest_rank;
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
