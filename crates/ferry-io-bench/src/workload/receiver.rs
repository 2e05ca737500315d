//! The receiving half shared by the stream workloads: copy to a counting
//! sink while a writer task feeds the other end, then check the count.

use std::io::{self, Read};
use std::time::Instant;

use tokio::io::AsyncRead;
use tokio::task::JoinHandle;

use super::expect_amount;
use super::owned::blocking;
use crate::ends::CountingSink;
use crate::{Implementation, Measurement};

/// Copies `reader` into a [`CountingSink`] with an asynchronous `imp`, waits
/// for `generator`, and checks that exactly `amount` bytes arrived.
pub(super) async fn receive<R: AsyncRead + Unpin>(
    imp: Implementation,
    mut reader: R,
    generator: JoinHandle<io::Result<()>>,
    amount: u64,
    started: Instant,
) -> io::Result<Measurement> {
    let mut sink = CountingSink::new();
    let copied = imp.copy(&mut reader, &mut sink).await;
    // Closing our end unblocks a writer stuck on a full pipe if the copy failed.
    drop(reader);
    finish(generator, copied.map(|n| (n, sink)), amount, started).await
}

/// As [`receive`], with `std::io::copy` on a blocking thread.
pub(super) async fn receive_blocking<R: Read + Send + 'static>(
    mut reader: R,
    generator: JoinHandle<io::Result<()>>,
    amount: u64,
    started: Instant,
) -> io::Result<Measurement> {
    let copied = blocking(move || {
        let mut sink = CountingSink::new();
        let n = io::copy(&mut reader, &mut sink)?;
        Ok((n, sink))
    })
    .await;
    finish(generator, copied, amount, started).await
}

async fn finish(
    generator: JoinHandle<io::Result<()>>,
    copied: io::Result<(u64, CountingSink)>,
    amount: u64,
    started: Instant,
) -> io::Result<Measurement> {
    // Wait for the writer even when the copy failed, so its error (the
    // likelier cause) is the one reported.
    generator.await.map_err(io::Error::other)??;
    let (n, sink) = copied?;
    let elapsed = started.elapsed();
    expect_amount("bytes the copy reported", amount, n)?;
    expect_amount("bytes the sink received", amount, sink.count())?;
    Ok(Measurement {
        amount,
        elapsed,
        latency: None,
    })
}
