//! `file-file`: a file in the page cache into a new file beside it.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::expect_amount;
use super::owned::blocking;
use super::source_file::{hash_file, SourceFile};
use crate::{Implementation, Measurement};

/// Copies `source` into a fresh file in its directory with `imp`: through
/// `tokio::fs::File`s on the runtime, or `std::fs::File`s on a blocking
/// thread for `std`. Timed from the first byte until the copy returned
/// (the bytes are in the page cache; nothing waits for the disk). Checks
/// the destination's length, and with `check_content` its hash (untimed).
pub(super) async fn run(
    imp: Implementation,
    source: Arc<SourceFile>,
    check_content: bool,
) -> io::Result<Measurement> {
    let destination = source.destination();
    // Removing the last run's copy is not part of this one.
    match std::fs::remove_file(&destination) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let (n, elapsed) = if imp.is_blocking() {
        let mut from = std::fs::File::open(source.path())?;
        let mut to = std::fs::File::create(&destination)?;
        let started = Instant::now();
        let n = blocking(move || io::copy(&mut from, &mut to)).await?;
        (n, started.elapsed())
    } else {
        let mut from = tokio::fs::File::open(source.path()).await?;
        let mut to = tokio::fs::File::create(&destination).await?;
        let started = Instant::now();
        let n = imp.copy_fds(&mut from, &mut to).await?;
        (n, started.elapsed())
    };
    let amount = source.len();
    expect_amount("bytes the copy reported", amount, n)?;
    let written = tokio::fs::metadata(&destination).await?.len();
    expect_amount("bytes in the destination", amount, written)?;
    if check_content {
        let (len, hash) = blocking(move || hash_file(&destination)).await?;
        expect_amount("bytes hashed in the destination", amount, len)?;
        expect_amount("hash of the destination", source.hash(), hash)?;
    }
    Ok(Measurement {
        amount,
        elapsed,
        latency: None,
    })
}
