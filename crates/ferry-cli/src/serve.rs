//! The relay server (`--serve`): accepting, bounding concurrency, per-connection
//! logs, and shutting down on SIGINT/SIGTERM.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry::{Bytes, Copier, RateLimiter};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::address::Address;

use crate::endpoint::{self, Endpoint, Listener, OpenOptions, Role};
use crate::messages::{describe, Failure};
use crate::transfer;

/// SIGINT and SIGTERM, as one stream of "please stop".
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Starts listening for SIGINT and SIGTERM (replacing their default of
    /// killing the process).
    ///
    /// # Errors
    ///
    /// When the signal handlers cannot be installed.
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

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

/// What the server needs to relay one connection.
#[derive(Debug)]
pub struct Server {
    /// The copier every connection starts from (server-wide limiter included).
    pub copier: Copier,
    /// A fresh limiter of this rate for each connection, if asked.
    pub rate_per_connection: Option<u64>,
    /// Where each connection is relayed to.
    pub dst: Address,
    /// How many relays may run at once.
    pub max_connections: usize,
    /// How long running relays may finish after the first signal (unbounded if `None`).
    pub grace: Option<Duration>,
    /// How each relay runs.
    pub transfer: transfer::Options,
    /// How long connecting to DST may take.
    pub connect_timeout: Option<Duration>,
}

/// Connections handled by a server, for the summary.
#[derive(Debug, Default)]
pub struct Tally {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections that ended in an error.
    pub failed: AtomicU64,
}

impl Server {
    /// Accepts and relays connections until a signal, then lets running
    /// relays finish for the grace period; a second signal stops at once.
    ///
    /// A permit is taken before each `accept`, so beyond `max_connections`
    /// new connections wait in the listen backlog instead of piling up as tasks.
    ///
    /// # Errors
    ///
    /// A [`Failure::Transfer`] when relays had to be cut off.
    pub async fn run(
        self,
        listener: Listener,
        signals: &mut Signals,
        tally: Arc<Tally>,
    ) -> Result<(), Failure> {
        let server = Arc::new(self);
        let permits = Arc::new(Semaphore::new(server.max_connections));
        let mut relays = JoinSet::new();
        let mut next_id: u64 = 0;
        tracing::info!(address = %listener.local_address(), "listening");
        loop {
            while relays.try_join_next().is_some() {}
            let permit = tokio::select! {
                _ = signals.recv() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                _ = signals.recv() => break,
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
                        if !server.relay(id, client, &peer).await {
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
        while relays.try_join_next().is_some() {}
        let running = relays.len();
        if running == 0 {
            return Ok(());
        }
        tracing::info!(running, "stopping: waiting for running relays");
        let grace = async {
            match server.grace {
                Some(grace) => tokio::time::sleep(grace).await,
                None => std::future::pending().await,
            }
        };
        let finished = tokio::select! {
            _ = async { while relays.join_next().await.is_some() {} } => true,
            _ = grace => false,
            _ = signals.recv() => false,
        };
        if finished {
            return Ok(());
        }
        let cut = relays.len();
        relays.shutdown().await;
        Err(Failure::Transfer(format!(
            "stopped with {cut} relays still running"
        )))
    }

    /// Relays one accepted connection to a fresh DST; true when it ended well.
    async fn relay(&self, id: u64, client: Endpoint, peer: &str) -> bool {
        let started = Instant::now();
        tracing::info!(id, peer, "open");
        let options = OpenOptions {
            role: Role::Destination,
            two_way: true,
            append: false,
            connect_timeout: self.connect_timeout,
        };
        let dst = match endpoint::open(&self.dst, options).await {
            Ok(dst) => dst,
            Err(Failure::Input(why) | Failure::Transfer(why)) => {
                tracing::warn!(id, peer, error = %why, "close");
                return false;
            }
        };
        let copier = match self.rate_per_connection {
            Some(rate) => self.copier.clone().rate_limit(RateLimiter::new(rate)),
            None => self.copier.clone(),
        };
        match transfer::run(&copier, self.transfer, client, dst).await {
            Ok(moved) => {
                tracing::info!(
                    id,
                    peer,
                    sent = %Bytes(moved.forward),
                    received = %Bytes(moved.backward),
                    seconds = started.elapsed().as_secs_f64(),
                    "close"
                );
                true
            }
            Err(broken) => {
                let (Failure::Input(why) | Failure::Transfer(why)) = broken.failure;
                tracing::warn!(id, peer, error = %why, "close");
                false
            }
        }
    }
}
