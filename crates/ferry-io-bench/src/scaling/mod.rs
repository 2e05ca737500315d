//! The scaling scenario: 1, 10, 100 and 1,000 concurrent connections
//! through one relay process, each making request/response round trips —
//! total throughput, round-trip latency, the relay's memory per connection
//! and its CPU time per byte.

mod exchange;
mod report;
mod usage;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub use report::{LevelRun, LevelSummary, ScalingReport, SkippedLevel};
pub use usage::Usage;

use crate::serve::{Backend, Relay, Service};
use crate::{Latency, Preset};

/// The numbers of concurrent connections measured.
pub const LEVELS: [usize; 4] = [1, 10, 100, 1000];

/// Bytes per message, each way.
pub const MESSAGE_LEN: usize = 16 * 1024;

/// File descriptors this process needs besides two per connection (the
/// client's socket and the backend's).
const SPARE_FDS: u64 = 100;

/// How long one level may take before the scenario fails instead of hanging.
const LEVEL_DEADLINE: Duration = Duration::from_secs(300);

/// Round trips per level and run, all connections together (each makes
/// at least one).
pub fn round_trips(preset: Preset) -> u64 {
    match preset {
        Preset::Tiny => 200,
        Preset::Quick => 1_500,
        Preset::Full => 20_000,
    }
}

/// Measures every level of [`LEVELS`] for `rounds` rounds, each run
/// through a fresh `relay` (started from `ferry` for [`Relay::Ferry`]) in
/// front of an echo backend, calling `progress` before each run. Levels
/// that need more file descriptors than `fd_limit` allows are skipped.
///
/// # Errors
///
/// The relay not starting; a run that failed, hung or got the wrong bytes back.
pub fn run(
    relay: Relay,
    preset: Preset,
    rounds: usize,
    ferry: &Path,
    fd_limit: u64,
    runtime: &tokio::runtime::Runtime,
    mut progress: impl FnMut(usize, usize),
) -> io::Result<ScalingReport> {
    let mut backend = runtime.block_on(Backend::start(Service::Echo(MESSAGE_LEN)))?;
    let (levels, skipped): (Vec<usize>, Vec<usize>) = LEVELS
        .into_iter()
        .partition(|&n| 2 * n as u64 + SPARE_FDS <= fd_limit);
    let skipped = skipped
        .into_iter()
        .map(|connections| SkippedLevel {
            connections,
            reason: format!(
                "needs {} open files, the limit is {fd_limit}",
                2 * connections as u64 + SPARE_FDS
            ),
        })
        .collect();
    let total = round_trips(preset);
    let mut runs = Vec::new();
    for round in 0..rounds {
        for &connections in &levels {
            progress(round, connections);
            let each = (total / connections as u64).max(1);
            let run =
                measure(relay, ferry, &mut backend, connections, each, runtime).map_err(|err| {
                    io::Error::new(
                        err.kind(),
                        format!("scaling, {connections} connections through {relay}: {err}"),
                    )
                })?;
            runs.push(LevelRun { round, ..run });
        }
    }
    Ok(ScalingReport::new(
        relay,
        MESSAGE_LEN,
        &levels,
        runs,
        skipped,
    ))
}

/// One run at one level (its `round` is 0).
fn measure(
    relay: Relay,
    ferry: &Path,
    backend: &mut Backend,
    connections: usize,
    each: u64,
    runtime: &tokio::runtime::Runtime,
) -> io::Result<LevelRun> {
    let process = relay.start(ferry, backend.addr())?;
    let (addr, pid) = match &process {
        Some(process) => (
            SocketAddr::from(([127, 0, 0, 1], process.port())),
            Some(process.pid()),
        ),
        None => (backend.addr(), None),
    };
    let usage = || pid.map(Usage::of).transpose();
    let idle = usage()?;
    let exchanged = runtime.block_on(async {
        let run = async {
            let sockets = exchange::open(addr, connections, MESSAGE_LEN).await?;
            let before = usage()?;
            let (sockets, elapsed, samples) =
                exchange::exchange(sockets, each, MESSAGE_LEN).await?;
            let after = usage()?;
            exchange::close(sockets).await?;
            let received = backend.ended(connections).await?;
            let expected = (each + 1) * MESSAGE_LEN as u64;
            if let Some(&wrong) = received.iter().find(|&&bytes| bytes != expected) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the backend received {wrong} bytes on a connection, expected {expected}"
                    ),
                ));
            }
            Ok((elapsed, samples, before, after))
        };
        tokio::time::timeout(LEVEL_DEADLINE, run)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no result within {LEVEL_DEADLINE:?}"),
                ))
            })
    });
    let (elapsed, mut samples, before, after) = exchanged?;
    // Stopped (killed and reaped) only now, so its usage was read while it ran.
    drop(process);

    let round_trips = connections as u64 * each;
    let bytes = 2 * round_trips * MESSAGE_LEN as u64;
    let latency = Latency::from_samples(&mut samples)
        .ok_or_else(|| io::Error::other("no round trip was timed"))?;
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let rss_per_connection = idle
        .zip(after)
        .map(|(idle, after)| after.rss.saturating_sub(idle.rss) as f64 / connections as f64);
    let cpu_seconds_per_gb = before.zip(after).map(|(before, after)| {
        after.cpu.saturating_sub(before.cpu).as_secs_f64() / (bytes as f64 / 1e9)
    });
    Ok(LevelRun {
        round: 0,
        connections,
        round_trips,
        bytes,
        seconds: elapsed.as_secs_f64(),
        bytes_per_second: bytes as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        latency_p50_us: micros(latency.median),
        latency_p99_us: micros(latency.p99),
        rss_per_connection,
        cpu_seconds_per_gb,
    })
}
