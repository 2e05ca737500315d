//! The relay server (`--serve`): accepting, letting in only the clients
//! the access rules allow, bounding concurrency, the PROXY protocol on both
//! sides, spreading connections over the upstreams, reporting each
//! connection (logs, records, access log, metrics), and stopping on
//! SIGINT/SIGTERM.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_io::zero_copy::Route;
use ferry_io::{Copier, Progress};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::access::{Access, Refusal, SourceSlot, Sources};
use crate::access_log::AccessLog;
use crate::endpoint::{self, Endpoint, Incoming, Listener, Role};
use crate::messages::{self, describe, Failure};
use crate::metrics::{self, Metrics};
use crate::plan::{CopyPlan, Plan, RelayPlan};
use crate::proxy;
use crate::report::{self, Closed, Connections, Ending, Opened};
use crate::signals::{self, Finish, Signals};
use crate::slots::{Slot, Slots};
use crate::transfer::{self, Broken, Cause, Moved, Way};
use crate::upstreams::Upstreams;

/// A connection in progress, and what is known of it so far. One dropped
/// before it ended was cut off by the shutdown: it is reported then, with
/// the bytes it had moved, and counted as failed.
struct Open {
    id: u64,
    server: Arc<Server>,
    tally: Arc<Tally>,
    /// The client's address (from its PROXY header, once read).
    peer: String,
    /// The client and the address it connected to, for `--send-proxy`.
    addresses: Option<proxy::Addresses>,
    upstream: Option<String>,
    opened: Opened,
    live: Arc<Live>,
    /// Its place in its address's count, with `--max-connections-per-source`.
    source: Option<SourceSlot>,
    ended: bool,
}

/// A relay's bytes so far, SRC to DST and back, kept by the library's
/// progress callback: what a relay cut off had moved.
#[derive(Debug, Default)]
struct Live {
    forward: AtomicU64,
    backward: AtomicU64,
}

impl Open {
    /// Reports the connection's end, once.
    fn close(&mut self, relayed: Result<&Moved, &Broken>, ending: Ending) {
        self.ended = true;
        // Given back first: whoever reads of the close may connect again.
        self.source = None;
        if relayed.is_err() {
            self.tally.failed.fetch_add(1, Ordering::Relaxed);
        }
        let closed = Closed::new(
            self.id,
            self.peer.clone(),
            self.upstream.clone(),
            self.opened,
            relayed,
            ending,
        );
        self.server.report(&closed);
    }

    /// A connection that ended before its relay started.
    fn refuse(&mut self, failure: Failure, ending: Ending) -> bool {
        self.close(Err(&Broken::before_start(failure)), ending);
        false
    }

    /// The client's address as ferry knows it: the socket's peer, or the
    /// source its PROXY header gave.
    fn client(&self) -> Option<std::net::IpAddr> {
        self.addresses.map(|(client, _)| client.ip())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if !self.ended {
            let moved = Moved {
                forward: self.live.forward.load(Ordering::Relaxed),
                backward: self.live.backward.load(Ordering::Relaxed),
                route: None,
                exit: None,
            };
            let cut = Broken {
                moved,
                failure: messages::cut_off(moved.forward + moved.backward),
                dst_failed: false,
                cause: Some(Cause::interrupted()),
            };
            self.close(Err(&cut), Ending::Shutdown);
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
    upstreams: Upstreams,
    copy: CopyPlan,
    relay: RelayPlan,
    copier: Copier,
    records: Connections,
    access_log: Option<AccessLog>,
    metrics: Option<Arc<Metrics>>,
    /// Who may connect.
    access: Access,
    /// The open connections of each client address, with
    /// `--max-connections-per-source`.
    sources: Option<Sources>,
    slots: Slots,
}

/// Accepts and relays connections until a signal, then lets running relays
/// finish for `--shutdown-timeout`; a second signal stops at once. Relays cut
/// off end with a reset (see [`ferry_io::Copier::propagate_resets`]).
///
/// A slot is taken before each `accept` (see [`Slots`]), so beyond
/// `--max-connections` (or `--max-handshakes`, for connections that begin
/// with a PROXY header or a TLS handshake) new connections wait in the
/// listen backlog instead of piling up as tasks.
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
    progress: &Progress,
) -> Result<(), Failure> {
    let relay = &plan.relay;
    let access_log = match &relay.access_log {
        Some(path) => Some(AccessLog::open(path.as_deref(), relay.access_log_format)?),
        None => None,
    };
    let upstreams = Upstreams::new(&plan.upstreams, relay.balance, relay.upstream_backoff);
    let metrics = match &relay.metrics {
        Some((host, port)) => {
            let endpoint = metrics::bind(host, *port).await?;
            let access_log_failures = access_log.as_ref().map(AccessLog::failures);
            let metrics = Metrics::new(&upstreams.names(), progress.clone(), access_log_failures);
            let metrics = Arc::new(metrics);
            tokio::spawn(metrics::serve(endpoint, metrics.clone()));
            Some(metrics)
        }
        None => None,
    };
    let handshaking = relay.accept_proxy.is_some() || matches!(listener, Listener::Tls(..));
    let server = Arc::new(Server {
        upstreams,
        copy: plan.copy.clone(),
        relay: relay.clone(),
        copier,
        records: Connections::new(plan),
        access_log,
        metrics,
        access: plan.access.clone(),
        sources: plan.access.sources(),
        slots: Slots::new(
            plan.max_connections,
            handshaking.then_some(plan.max_handshakes),
        ),
    });
    let mut relays = JoinSet::new();
    let (stop_accepting, accepting) = watch::channel(true);
    let work = serve(&server, listener, &mut relays, accepting, &tally);
    let output = &plan.output;
    let grace = plan.copy.shutdown_timeout;
    let ending = signals::until_cut(work, signals, Some(grace), || {
        stop_accepting.send_replace(false);
        report::finishing(output, grace);
    })
    .await;
    while relays.try_join_next().is_some() {}
    let cut = relays.len();
    // Relays cut off report themselves as they are dropped.
    relays.shutdown().await;
    // Writes out the access log's queue, then tells what it lost.
    let access_log = Arc::into_inner(server).and_then(|server| server.access_log);
    if let Some(log) = access_log {
        log.close();
    }
    if !matches!(ending, Finish::Cut) {
        return Ok(());
    }
    Err(messages::relays_cut(cut))
}

/// The server's work: accept while `accepting` says so, then wait for the
/// running relays.
async fn serve(
    server: &Arc<Server>,
    listener: Listener,
    relays: &mut JoinSet<()>,
    mut accepting: watch::Receiver<bool>,
    tally: &Arc<Tally>,
) {
    let mut next_id: u64 = 0;
    tracing::info!(address = %listener.local_address(), "listening");
    loop {
        while relays.try_join_next().is_some() {}
        let slot = tokio::select! {
            _ = stopped(&mut accepting) => break,
            slot = server.slots.before_accept() => match slot {
                Some(slot) => slot,
                None => break,
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
                if let Some(metrics) = &server.metrics {
                    metrics.accepted();
                }
                let addresses = client.addresses();
                let mut open = Open {
                    id: next_id,
                    server: server.clone(),
                    tally: tally.clone(),
                    peer,
                    addresses,
                    upstream: None,
                    opened: Opened::now(),
                    live: Arc::default(),
                    source: None,
                    ended: false,
                };
                // Refused before a byte is read, and without a task.
                if !server.admit_at_accept(&mut open, &client) {
                    continue;
                }
                let server = server.clone();
                relays.spawn(async move {
                    server.relay(&mut open, client, slot).await;
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
    // Relays that ended since the last accept are not running.
    while relays.try_join_next().is_some() {}
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
    /// Tells of a closed connection: logs and records, the access log,
    /// the metrics.
    fn report(&self, closed: &Closed) {
        // The metrics first: whoever reads the log line finds them counted.
        if let Some(metrics) = &self.metrics {
            metrics.closed(closed);
        }
        if let Some(log) = &self.access_log {
            log.write(closed, || self.records.record(closed));
        }
        self.records.close(closed);
    }

    /// The access rules at accept, before any byte is read: a peer that
    /// would send a PROXY header must be trusted; any other client must be
    /// let in by the rules (one that sends a header is checked once it
    /// has, by the address the header gives). False when it was refused.
    fn admit_at_accept(&self, open: &mut Open, client: &Incoming) -> bool {
        if self.relay.accept_proxy.is_none() {
            return self.admit(open, client);
        }
        if self.access.trusts(open.client()) {
            return true;
        }
        self.turn_away(open, client, Refusal::UntrustedProxy)
    }

    /// Lets the client of `open` in, counted against its address, or
    /// turns it away; false when it was turned away.
    fn admit(&self, open: &mut Open, client: &Incoming) -> bool {
        match self.access.admit(open.client(), self.sources.as_ref()) {
            Ok(source) => {
                open.source = source;
                true
            }
            Err(refusal) => self.turn_away(open, client, refusal),
        }
    }

    /// Closes a refused client with a reset and reports why; false.
    fn turn_away(&self, open: &mut Open, client: &Incoming, refusal: Refusal) -> bool {
        client.abort();
        open.refuse(messages::refused(&open.peer, refusal), refusal.into())
    }

    /// Relays one accepted connection to an upstream, once its PROXY header
    /// and TLS handshake are done in `slot` (of the handshake pool when it
    /// has them) and it has a relay slot; true when it ended well.
    async fn relay(&self, open: &mut Open, mut client: Incoming, slot: Slot) -> bool {
        let relay = &self.relay;
        if let Some(accept) = relay.accept_proxy {
            match client.receive_proxy(accept, relay.proxy_timeout).await {
                Ok(Some(addresses)) => {
                    open.peer = addresses.0.to_string();
                    open.addresses = Some(addresses);
                }
                Ok(None) => {}
                Err(why) => {
                    client.abort();
                    let failure = messages::proxy_header_refused(&open.peer, &why);
                    return open.refuse(failure, Ending::ProxyHeaderInvalid);
                }
            }
            if !self.admit(open, &client) {
                return false;
            }
        }
        self.records.open(open.id, &open.peer);
        client.tune(relay.keepalive);
        // A TLS client shakes hands before an upstream is opened for it.
        let client = match client.establish(self.copy.connect_timeout).await {
            Ok(client) => client,
            Err(error) => {
                let failure = messages::handshake_failed(&open.peer, &error);
                return open.refuse(failure, Ending::HandshakeFailed);
            }
        };
        // Held until the relay ends; None only when the server stops.
        let Some(_slot) = self.slots.relay(slot).await else {
            return false;
        };
        let (index, dst) = match self.connect(open).await {
            Ok(connected) => connected,
            Err(failure) => {
                // A client whose relay cannot start must not take the
                // close for a clean end of what it asked for.
                client.abort();
                return open.refuse(failure, Ending::ConnectFailed);
            }
        };
        let upstream = self.upstreams.get(index);
        open.upstream = Some(upstream.name.clone());
        dst.tune(relay.keepalive);
        let _active = self.upstreams.start(index);
        let copier = self.copier(open);
        let copy = &self.copy;
        let (mut client, mut dst) = (client, dst);
        let route = transfer::route(&copier, copy.zero_copy, copy.way, &mut client, &mut dst);
        self.records.relaying(open.id, &upstream.name, route);
        if let Some(metrics) = &self.metrics {
            metrics.relaying(&upstream.name, route);
        }
        open.tally.took(route);
        let relayed = transfer::run(
            &copier,
            copy.zero_copy,
            copy.drain_for(),
            copy.way,
            route,
            client,
            dst,
        )
        .await;
        open.close(relayed.as_ref(), Ending::of(relayed.as_ref()));
        relayed.is_ok()
    }

    /// The copier for `open`'s relay: this connection's rate limit, and
    /// its counts kept live for a report if it is cut off.
    fn copier(&self, open: &Open) -> Copier {
        let live = open.live.clone();
        let backward = self.copy.way == Way::Backward;
        self.copy
            .for_connection(&self.copier)
            .on_progress(Duration::ZERO, move |counts| {
                let (mut forward, mut back) = (counts.a_to_b.written, counts.b_to_a.written);
                if backward {
                    std::mem::swap(&mut forward, &mut back);
                }
                live.forward.store(forward, Ordering::Relaxed);
                live.backward.store(back, Ordering::Relaxed);
            })
    }

    /// Opens an upstream for `open`: each in the order the upstreams give,
    /// until one answers, and with `--send-proxy` sends it the header.
    /// Returns its index and its end.
    async fn connect(&self, open: &Open) -> Result<(usize, Endpoint), Failure> {
        let options = self.copy.open_options(Role::Destination, true);
        let mut failures = Vec::new();
        for index in self.upstreams.order() {
            let upstream = self.upstreams.get(index);
            let opened = match endpoint::open(&upstream.address, options).await {
                Ok(mut dst) => match self.relay.send_proxy {
                    Some(version) => {
                        let header = proxy::header(version, open.addresses);
                        send(&mut dst, &header)
                            .await
                            .map(|()| dst)
                            .map_err(|error| {
                                messages::proxy_header_unsent(&upstream.address, &error)
                            })
                    }
                    None => Ok(dst),
                },
                Err(failure) => Err(failure),
            };
            match opened {
                Ok(dst) => {
                    if self.upstreams.reached(index) {
                        tracing::info!(upstream = %upstream.name, "upstream up");
                    }
                    return Ok((index, dst));
                }
                Err(failure) => {
                    if let Some(metrics) = &self.metrics {
                        metrics.connect_failed(&upstream.name);
                    }
                    if self.upstreams.several() {
                        tracing::warn!(id = open.id, upstream = %upstream.name, error = failure.message(), "connect failed");
                        if self.upstreams.failed(index) {
                            let backoff = humantime::format_duration(self.upstreams.backoff());
                            tracing::warn!(upstream = %upstream.name, "upstream down: skipped for {backoff}");
                        }
                    }
                    failures.push(failure);
                }
            }
        }
        Err(match failures.len() {
            1 => failures.remove(0),
            _ => messages::no_upstream(&failures),
        })
    }
}

/// Writes `bytes` to `dst` before anything else.
async fn send(dst: &mut Endpoint, bytes: &[u8]) -> std::io::Result<()> {
    let Some(sink) = dst.sink() else {
        return Err(std::io::ErrorKind::Unsupported.into());
    };
    let mut writer = sink.writer()?;
    writer.write_all(bytes).await?;
    writer.flush().await
}
