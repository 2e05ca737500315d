//! `duplex`: `tokio::io::duplex(64 KiB)` fed by a writer task, into a counting sink.

use std::io;
use std::time::Instant;

use super::peer::generate;
use super::receiver::receive;
use crate::{Implementation, Measurement};

/// The in-memory pipe's capacity.
const PIPE: usize = 64 * 1024;

/// Sends `amount` bytes through a duplex pipe and copies them out with `imp`.
pub(super) async fn run(imp: Implementation, amount: u64) -> io::Result<Measurement> {
    let (tx, rx) = tokio::io::duplex(PIPE);
    let started = Instant::now();
    let generator = tokio::spawn(generate(tx, amount));
    receive(imp, rx, generator, amount, started).await
}
