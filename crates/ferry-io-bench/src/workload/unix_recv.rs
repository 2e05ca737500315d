//! `unix-recv`: a Unix socket pair fed by a writer task, into a counting sink.

use std::io;
use std::time::Instant;

use tokio::net::UnixStream;

use super::peer::generate;
use super::receiver::{receive, receive_blocking};
use crate::{Implementation, Measurement};

/// Sends `amount` bytes over a Unix socket pair and copies them out with
/// `imp`; `std` reads from the same socket turned blocking.
pub(super) async fn run(imp: Implementation, amount: u64) -> io::Result<Measurement> {
    let (tx, rx) = UnixStream::pair()?;
    if imp.is_blocking() {
        let rx = rx.into_std()?;
        rx.set_nonblocking(false)?;
        let started = Instant::now();
        let generator = tokio::spawn(generate(tx, amount));
        receive_blocking(rx, generator, amount, started).await
    } else {
        let started = Instant::now();
        let generator = tokio::spawn(generate(tx, amount));
        receive(imp, rx, generator, amount, started).await
    }
}
