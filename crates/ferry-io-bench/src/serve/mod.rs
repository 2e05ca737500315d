//! The serve scenarios: clients → a relay in a process of its own → a
//! backend, against the clients connecting to the backend directly.
//!
//! The clients and the backend run in this process ([`ServeLoad`],
//! [`Backend`]); the relay under test is ferry's `--serve`, socat, HAProxy
//! or nginx ([`Relay`]), each started once per scenario, listening on a
//! loopback port it picked, and killed and reaped at the end
//! ([`RelayProcess`]). socat, HAProxy and nginx are skipped, with the
//! reason, where they are not installed or do not start.

mod backend;
mod clients;
mod config_dir;
mod haproxy;
mod http;
mod listening;
mod load;
mod nginx;
mod process;
mod relay;
mod report;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub use backend::{Backend, Service};
pub use haproxy::haproxy_config;
pub use http::{http_response, HTTP_BODY, HTTP_CLIENTS, HTTP_REQUEST};
pub use listening::listening_ports;
pub use load::{ServeLoad, SHORT_MESSAGE, SHORT_PARALLEL};
pub use nginx::nginx_config;
pub use process::RelayProcess;
pub use relay::Relay;
pub use report::{RelaySummary, ServeReport, ServeRun, Skipped};

use crate::round_order;

/// How long one run may take before the scenario fails instead of hanging
/// (a relay that stopped relaying).
const RUN_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `load` with `amount` per run through each of `relays` that starts
/// here, for `rounds` rounds in [`round_order`], calling `progress` before
/// each run; `ferry` is the ferry binary to start as [`Relay::Ferry`].
///
/// # Errors
///
/// A run that failed or moved the wrong amount, named by load and relay;
/// ferry's relay not starting. (socat, HAProxy or nginx not starting is a
/// [`Skipped`] entry instead.)
pub fn run(
    load: ServeLoad,
    relays: &[Relay],
    amount: u64,
    rounds: usize,
    ferry: &Path,
    runtime: &tokio::runtime::Runtime,
    mut progress: impl FnMut(usize, Relay),
) -> io::Result<ServeReport> {
    let mut backend = runtime.block_on(Backend::start(load.service()))?;
    let mut running = Vec::new();
    let mut skipped = Vec::new();
    for &relay in relays {
        match relay.start(ferry, backend.addr()) {
            Ok(process) => running.push((relay, process)),
            Err(err) if relay.is_external() => skipped.push(Skipped {
                relay,
                reason: if err.kind() == io::ErrorKind::NotFound {
                    "not installed".into()
                } else {
                    err.to_string()
                },
            }),
            Err(err) => {
                return Err(io::Error::new(
                    err.kind(),
                    format!("{load}: cannot start {relay}: {err}"),
                ))
            }
        }
    }

    let order: Vec<usize> = (0..running.len()).collect();
    let mut runs = Vec::with_capacity(rounds * running.len());
    for round in 0..rounds {
        for (position, index) in round_order(&order, round).into_iter().enumerate() {
            let (relay, process) = &mut running[index];
            let relay = *relay;
            progress(round, relay);
            let addr = match process {
                Some(process) => {
                    process.check_running()?;
                    SocketAddr::from(([127, 0, 0, 1], process.port()))
                }
                None => backend.addr(),
            };
            let measured = runtime
                .block_on(async {
                    tokio::time::timeout(RUN_DEADLINE, load.run(addr, &mut backend, amount))
                        .await
                        .unwrap_or_else(|_| {
                            Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                format!("no result within {RUN_DEADLINE:?}"),
                            ))
                        })
                })
                .map_err(|err| {
                    io::Error::new(err.kind(), format!("{load} through {relay}: {err}"))
                })?;
            runs.push(ServeRun::new(round, position, relay, &measured));
        }
    }
    let ran = running.iter().map(|(relay, _)| *relay).collect();
    // Dropping the processes kills and reaps them.
    drop(running);
    Ok(ServeReport::new(load, amount, ran, runs, skipped))
}
