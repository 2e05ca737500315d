//! `mem-pattern`: a 1 MiB cyclic pattern into a sink that reads what it is given.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::expect_amount;
use super::owned::copy_owned;
use crate::ends::{sampled_sum, PatternReader, ReadingSink};
use crate::{Implementation, Measurement};

/// Copies `amount` bytes of `pattern` repeated into a [`ReadingSink`] and
/// checks the sampled sum as well as the count.
pub(super) async fn run(
    imp: Implementation,
    pattern: Arc<[u8]>,
    amount: u64,
) -> io::Result<Measurement> {
    let reader = PatternReader::new(pattern.clone(), amount);
    let started = Instant::now();
    let (n, _, sink) = copy_owned(imp, reader, ReadingSink::new()).await?;
    let elapsed = started.elapsed();
    expect_amount("bytes the copy reported", amount, n)?;
    expect_amount("bytes the sink received", amount, sink.count())?;
    expect_amount(
        "sampled sum of the bytes received",
        sampled_sum(&pattern, amount),
        sink.sum(),
    )?;
    Ok(Measurement {
        amount,
        elapsed,
        latency: None,
    })
}
