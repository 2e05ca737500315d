//! `tcp-recv`: a loopback TCP connection fed by a writer task, into a counting sink.

use std::io;
use std::time::Instant;

use super::peer::{generate, tcp_pair};
use super::receiver::{receive, receive_blocking};
use crate::{Implementation, Measurement};

/// Sends `amount` bytes over loopback TCP and copies them out with `imp`;
/// `std` reads from the same socket turned blocking.
pub(super) async fn run(imp: Implementation, amount: u64) -> io::Result<Measurement> {
    let (tx, rx) = tcp_pair().await?;
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
