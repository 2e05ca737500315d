//! The relay server (`--serve`): accepting, bounding concurrency,
//! per-connection logs, and stopping on SIGINT/SIGTERM.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry::zero_copy::Route;
use ferry::Copier;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::address::Address;
use crate::endpoint::{self, Incoming, Listener, OpenOptions, Role};
use crate::messages::{self, describe, Failure};
use crate::plan::{CopyPlan, Plan};
use crate::report::{self, Connections};
use crate::signals::{self, Finish, Signals};
use crate::transfer::{self, Broken};

/// A relay in progress; one dropped before it ended was cut off by the
/// shutdown, and is logged and counted as failed.
struct Open {
    id: u64,
    tally: Arc<Tally>,
    ended: bool,
}

impl Drop for Open {
    fn drop(&mut self) {
        if !self.ended {
            self.tally.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(id = self.id, error = "cut off by the shutdown", "close");
        }
    }
}

/// Connections handled by a server, for the summary.
#[derive(Debug, Default)]
pub struct Tally {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections that ended in an error.
    pub failed: AtomicU64,
    /// The routes connections took.
    routes: Mutex<Vec<Route>>,
}

impl Tally {
    /// The route every connection took, `mixed` when they differed, none
    /// before the first connection.
    pub fn path(&self) -> Option<String> {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match routes.as_slice() {
            [] => None,
            [route] => Some(route.to_string()),
            _ => Some("mixed".to_string()),
        }
    }

    fn took(&self, route: Route) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !routes.contains(&route) {
            routes.push(route);
        }
    }
}

/// What every relay of the server shares.
struct Server {
    dst: Address,
    copy: CopyPlan,
    copier: Copier,
    records: Connections,
}

/// Accepts and relays connections until a signal, then lets running relays
/// finish for `--shutdown-timeout`; a second signal stops at once. Relays cut
/// off end with a reset (see [`ferry::Copier::propagate_resets`]).
///
/// A permit is taken before each `accept`, so beyond `--max-connections`
/// new connections wait in the listen backlog instead of piling up as tasks.
///
/// # Errors
///
/// A [`Failure::Transfer`] when relays had to be cut off.
pub async fn run(
    plan: &Plan,
    copier: Copier,
    listener: Listener,
    signals: &mut Signals,
    tally: Arc<Tally>,
) -> Result<(), Failure> {
    let server = Arc::new(Server {
        dst: plan.dst.clone(),
        copy: plan.copy.clone(),
        copier,
        records: Connections::new(plan),
    });
    let mut relays = JoinSet::new();
    let (stop_accepting, accepting) = watch::channel(true);
    let work = serve(
        &server,
        listener,
        plan.max_connections,
        &mut relays,
        accepting,
        &tally,
    );
    let output = &plan.output;
    let grace = plan.copy.shutdown_timeout;
    let ending = signals::until_cut(work, signals, Some(grace), || {
        stop_accepting.send_replace(false);
        report::finishing(output, grace);
    })
    .await;
    if !matches!(ending, Finish::Cut) {
        return Ok(());
    }
    let cut = relays.len();
    relays.shutdown().await;
    Err(messages::relays_cut(cut))
}

/// The server's work: accept while `accepting` says so, then wait for the
/// running relays.
async fn serve(
    server: &Arc<Server>,
    listener: Listener,
    max_connections: usize,
    relays: &mut JoinSet<()>,
    mut accepting: watch::Receiver<bool>,
    tally: &Arc<Tally>,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut next_id: u64 = 0;
    tracing::info!(address = %listener.local_address(), "listening");
    loop {
        while relays.try_join_next().is_some() {}
        let permit = tokio::select! {
            _ = stopped(&mut accepting) => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = stopped(&mut accepting) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                next_id += 1;
                tally.accepted.fetch_add(1, Ordering::Relaxed);
                let (server, tally, id) = (server.clone(), tally.clone(), next_id);
                relays.spawn(async move {
                    let mut open = Open {
                        id,
                        tally,
                        ended: false,
                    };
                    if !server.relay(id, client, &peer, &open.tally).await {
                        open.tally.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    open.ended = true;
                    drop(permit);
                });
            }
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %describe(&error), "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // Stop accepting: close the socket so new connections are refused.
    drop(listener);
    let running = relays.len();
    if running > 0 {
        tracing::info!(running, "stopping: waiting for running relays");
    }
    while relays.join_next().await.is_some() {}
}

/// Waits until the server is told to stop accepting.
async fn stopped(accepting: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: stop as well.
    let _ = accepting.wait_for(|accepting| !accepting).await;
}

impl Server {
    /// Relays one accepted connection to a fresh DST; true when it ended well.
    async fn relay(&self, id: u64, client: Incoming, peer: &str, tally: &Tally) -> bool {
        let started = self.records.open(id, peer);
        // A TLS client shakes hands before DST is opened for it.
        let client = match client.establish(self.copy.connect_timeout).await {
            Ok(client) => client,
            Err(error) => {
                let failure = messages::handshake_failed(peer, &error);
                self.records
                    .close(id, peer, started, Err(&Broken::before_start(failure)));
                return false;
            }
        };
        let options = OpenOptions {
            role: Role::Destination,
            two_way: true,
            append: false,
            connect_timeout: self.copy.connect_timeout,
        };
        let dst = match endpoint::open(&self.dst, options).await {
            Ok(dst) => dst,
            Err(failure) => {
                // A client whose relay cannot start must not take the
                // close for a clean end of what it asked for.
                client.abort();
                let broken = Broken::before_start(failure);
                self.records.close(id, peer, started, Err(&broken));
                return false;
            }
        };
        let copier = self.copy.for_connection(&self.copier);
        let copy = &self.copy;
        let (mut client, mut dst) = (client, dst);
        let route = transfer::route(&copier, copy.zero_copy, copy.way, &mut client, &mut dst);
        self.records.relaying(id, route);
        tally.took(route);
        let relayed = transfer::run(
            &copier,
            copy.zero_copy,
            copy.drain_for(),
            copy.way,
            client,
            dst,
        )
        .await;
        self.records.close(id, peer, started, relayed.as_ref());
        relayed.is_ok()
    }
}
