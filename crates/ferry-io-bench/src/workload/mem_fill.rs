//! `mem-fill`: a filling reader into a counting writer, cache-resident and budget-free.

use std::io;
use std::time::Instant;

use super::expect_amount;
use super::owned::copy_owned;
use crate::ends::{CountingSink, FillReader};
use crate::{Implementation, Measurement};

/// Copies `amount` bytes from a [`FillReader`] into a [`CountingSink`].
pub(super) async fn run(imp: Implementation, amount: u64) -> io::Result<Measurement> {
    let started = Instant::now();
    let (n, reader, sink) = copy_owned(imp, FillReader::new(amount), CountingSink::new()).await?;
    let elapsed = started.elapsed();
    expect_amount("bytes the copy reported", amount, n)?;
    expect_amount("bytes the reader kept", 0, reader.remaining())?;
    expect_amount("bytes the sink received", amount, sink.count())?;
    Ok(Measurement {
        amount,
        elapsed,
        latency: None,
    })
}
