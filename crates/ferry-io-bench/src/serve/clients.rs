//! Clients making connections side by side, each one after another: the
//! shape of `serve-cps` and `serve-http`, and the shares they split work into.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::backend::Backend;
use crate::workload::expect_amount;
use crate::{Latency, Measurement};

/// `total` split into `parts` shares as equal as can be.
pub(super) fn shares(total: u64, parts: usize) -> Vec<u64> {
    let parts = parts.max(1) as u64;
    (0..parts)
        .map(|i| total / parts + u64::from(i < total % parts))
        .collect()
}

/// Makes `connections` connections to `addr` with `clients` clients side by
/// side, each making its share one after another with `connection(addr,
/// client, i)`, which checks what came back. Timed from the first connect
/// to the last close; each connection's time is a latency sample. The
/// backend must have received `each` bytes on every connection.
pub(super) async fn connect_side_by_side<F, Fut>(
    addr: SocketAddr,
    backend: &mut Backend,
    connections: u64,
    clients: usize,
    each: u64,
    connection: F,
) -> io::Result<Measurement>
where
    F: Fn(SocketAddr, usize, u64) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = io::Result<()>> + Send,
{
    let started = Instant::now();
    let mut running = JoinSet::new();
    for (client, count) in shares(connections, clients).into_iter().enumerate() {
        running.spawn(async move {
            let mut samples = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
            for i in 0..count {
                let began = Instant::now();
                connection(addr, client, i).await.map_err(|err| {
                    io::Error::new(
                        err.kind(),
                        format!("connection {i} of client {client}: {err}"),
                    )
                })?;
                samples.push(began.elapsed());
            }
            Ok::<Vec<Duration>, io::Error>(samples)
        });
    }
    let mut samples = Vec::new();
    while let Some(done) = running.join_next().await {
        samples.extend(done.map_err(io::Error::other)??);
    }
    let elapsed = started.elapsed();
    let received = backend.ended(samples.len()).await?;
    for bytes in received {
        expect_amount("bytes the backend received on a connection", each, bytes)?;
    }
    Ok(Measurement {
        amount: connections,
        elapsed,
        latency: Latency::from_samples(&mut samples),
    })
}
