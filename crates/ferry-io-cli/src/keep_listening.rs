//! `--keep-listening` (like `nc -k`): accept on SRC one connection after
//! another and copy each, in order, to the same destination (a file, stdout
//! or `null:`), appending.
//!
//! A connection that fails on its side (reset, idle timeout, a failed TLS
//! handshake) is logged and counted, and the next one is accepted; a
//! destination that fails (a full disk, a closed stdout) ends the run.
//! SIGINT/SIGTERM stop accepting and let the connection in progress finish
//! (for at most `--shutdown-timeout`); a second signal cuts it off.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferry_io::{Copier, Progress};
use tokio::sync::watch;

use crate::address::Address;
use crate::endpoint::{self, DestinationFile, Listener, OpenOptions, Role};
use crate::messages::{self, describe, Failure};
use crate::plan::Plan;
use crate::report;
use crate::serve::Tally;
use crate::signals::{self, Finish, Signals};
use crate::transfer::{self, Way};
use crate::units::Bytes;

/// Where every connection's bytes go.
enum Destination {
    /// A file, written from its start (or appended to) and cut to what was
    /// written at the end.
    File(DestinationFile),
    /// stdout or `null:`, opened afresh for each connection.
    Other,
}

/// Accepts and copies connections until a signal; returns how it ended.
///
/// # Errors
///
/// A [`Failure::Input`] when the destination cannot be opened, a
/// [`Failure::Transfer`] when it failed or the copy in progress was cut off.
pub async fn run(
    plan: &Plan,
    copier: Copier,
    listener: Listener,
    signals: &mut Signals,
    tally: Arc<Tally>,
    progress: &Progress,
) -> Result<(), Failure> {
    let destination = match &plan.dst {
        Address::File(path) => {
            let (_, file) = endpoint::open_destination(&plan.dst, path, plan.copy.append).await?;
            Destination::File(file)
        }
        _ => {
            // Opened for each connection; once now, so that a closed stdout
            // is reported before anyone connects.
            endpoint::open(&plan.dst, sink_options(plan)).await?;
            Destination::Other
        }
    };
    let (stop_accepting, accepting) = watch::channel(true);
    let work = accept_and_copy(plan, &copier, &listener, &destination, accepting, &tally);
    let grace = plan.copy.shutdown_timeout;
    let ending = signals::until_cut(work, signals, Some(grace), || {
        stop_accepting.send_replace(false);
        report::finishing(&plan.output, grace);
    })
    .await;
    let written = progress.snapshot().a_to_b.written;
    let result = match ending {
        Finish::Done(result) | Finish::AfterSignal(result) => result,
        Finish::Cut => Err(messages::interrupted(written)),
    };
    if let Destination::File(file) = destination {
        // Everything that landed stays, even after a failure.
        let ended = file.finish(written, written > 0 || result.is_ok());
        return result.and(ended);
    }
    result
}

/// Accepts while `accepting` says so and copies each connection to the end.
async fn accept_and_copy(
    plan: &Plan,
    copier: &Copier,
    listener: &Listener,
    destination: &Destination,
    mut accepting: watch::Receiver<bool>,
    tally: &Tally,
) -> Result<(), Failure> {
    tracing::info!(address = %listener.local_address(), "listening");
    let mut id = 0;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = accepting.wait_for(|accepting| !accepting) => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let (incoming, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %describe(&error), "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        id += 1;
        tally.accepted.fetch_add(1, Ordering::Relaxed);
        tracing::info!(id, peer, "open");
        let failed = |error: &str| {
            tally.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(id, peer, error, "close");
        };
        let src = match incoming.establish(plan.copy.connect_timeout).await {
            Ok(src) => src,
            Err(error) => {
                failed(&describe(&error));
                continue;
            }
        };
        let dst = match destination {
            Destination::File(file) => file.sink()?,
            Destination::Other => endpoint::open(&plan.dst, sink_options(plan)).await?,
        };
        let copier = plan.copy.for_connection(copier);
        let copy = &plan.copy;
        let (mut src, mut dst) = (src, dst);
        let route = transfer::route(&copier, copy.zero_copy, Way::Both, &mut src, &mut dst);
        match transfer::run(
            &copier,
            copy.zero_copy,
            copy.closing(),
            Way::Both,
            route,
            src,
            dst,
        )
        .await
        {
            Ok(moved) => tracing::info!(id, peer, sent = %Bytes(moved.forward), "close"),
            Err(broken) if broken.dst_failed => return Err(broken.failure),
            Err(broken) => failed(broken.failure.message()),
        }
    }
}

/// How stdout or `null:` is opened: a destination of a one-way copy.
fn sink_options(plan: &Plan) -> OpenOptions<'_> {
    plan.copy.open_options(Role::Destination, false)
}
