//! The relay server (`--serve`): accepting, letting in only the clients
//! the access rules allow, bounding concurrency, the PROXY protocol on both
//! sides, spreading connections over the upstreams, reporting each
//! connection (logs, records, access log, metrics), and stopping on
//! SIGINT/SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_io::zero_copy::Route;
use ferry_io::{Copier, Progress};
use tokio::io::AsyncWriteExt;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::access::{Access, Refusal, SourceSlot, Sources};
use crate::access_log::AccessLog;
use crate::endpoint::{self, Endpoint, Incoming, Listener, Role, Shard};
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
    /// The same, for the access rules (a TCP client's).
    client: Option<SocketAddr>,
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
        self.client.map(|client| client.ip())
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
    /// The last connection id given out, by any thread.
    last_id: AtomicU64,
    /// Relays running now, on every thread.
    running: AtomicUsize,
    /// Threads whose listener is still open.
    listening: AtomicUsize,
}

/// A relay's place in [`Server::running`], given back when its task ends
/// or is cut off.
struct Running(Arc<Server>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts and relays connections until a signal, then lets running relays
/// finish for `--shutdown-timeout`; a second signal stops at once. Relays cut
/// off end with a reset (see [`ferry_io::Copier::propagate_resets`]).
///
/// Each of the plan's threads ([`Plan::threads`]) accepts on a listener of
/// its own (see [`Listener::shards`]) and relays what it accepted on its
/// own runtime.
/// A slot is taken right after each `accept` (see [`Slots`]), so beyond
/// `--max-connections` (or `--max-handshakes`, for connections that begin
/// with a PROXY header or a TLS handshake) each thread holds one connection
/// waiting for a slot and the rest wait in the listen backlog, instead of
/// piling up as tasks.
///
/// # Errors
///
/// A [`Failure::Transfer`] when relays had to be cut off; a
/// [`Failure::Input`] when the threads could not be started.
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
        last_id: AtomicU64::new(0),
        running: AtomicUsize::new(0),
        listening: AtomicUsize::new(0),
    });
    let address = listener.local_address();
    let cannot =
        |error: std::io::Error| Failure::input(format!("cannot serve {address}"), describe(&error));
    let mut shards = listener
        .shards(plan.threads, plan.max_connections)
        .map_err(cannot)?;
    server.listening.store(shards.len(), Ordering::Relaxed);
    tracing::info!(address = %address, "listening");
    let (stop_accepting, accepting) = watch::channel(true);
    let (cut_off, cutting) = watch::channel(false);
    // One shard is served here, on the runtime already running: a thread
    // of its own would cost a runtime's descriptors for nothing.
    let here = if shards.len() == 1 {
        shards.pop()
    } else {
        None
    };
    let mut finishing = Vec::with_capacity(shards.len());
    for (index, listener) in shards.into_iter().enumerate() {
        let work = shard(
            server.clone(),
            listener,
            accepting.clone(),
            cutting.clone(),
            tally.clone(),
        );
        finishing.push(on_thread(index, work).map_err(cannot)?);
    }
    // The relays each shard cut off (0 for one that ended on its own).
    let here = here.map(|listener| shard(server.clone(), listener, accepting, cutting, tally));
    let work = async {
        let mut cut = match here {
            Some(work) => work.await,
            None => 0,
        };
        for finish in finishing {
            cut += finish.await.unwrap_or(0);
        }
        cut
    };
    let mut work = Box::pin(work);
    let output = &plan.output;
    let grace = plan.copy.shutdown_timeout;
    let ending = signals::until_cut(work.as_mut(), signals, Some(grace), || {
        stop_accepting.send_replace(false);
        report::finishing(output, grace);
    })
    .await;
    // Relays cut off report themselves as they are dropped.
    let cut = match ending {
        Finish::Cut => {
            cut_off.send_replace(true);
            work.as_mut().await
        }
        Finish::Done(_) | Finish::AfterSignal(_) => 0,
    };
    // The shard served here holds the server too.
    drop(work);
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

/// Runs `work` on a thread of its own, on a runtime of its own; the
/// receiver gets what it returned.
fn on_thread(
    index: usize,
    work: impl Future<Output = usize> + Send + 'static,
) -> std::io::Result<oneshot::Receiver<usize>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (finished, finish) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("ferry-relay-{index}"))
        .spawn(move || {
            let cut = runtime.block_on(work);
            // Do not wait for name lookups still running on its pool.
            runtime.shutdown_background();
            let _ = finished.send(cut);
        })?;
    Ok(finish)
}

/// One shard of the server: accepts on `listener` while
/// `accepting` says so and relays what it accepted, until every relay has
/// ended or `cutting` says to cut them off; returns how many were cut off.
async fn shard(
    server: Arc<Server>,
    listener: Shard,
    accepting: watch::Receiver<bool>,
    mut cutting: watch::Receiver<bool>,
    tally: Arc<Tally>,
) -> usize {
    let listener = match listener.listen() {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(error = %describe(&error), "a thread cannot accept");
            server.stopped_listening();
            return 0;
        }
    };
    let mut relays = JoinSet::new();
    let cut = tokio::select! {
        () = serve(&server, listener, &mut relays, accepting, &tally) => false,
        _ = cutting.wait_for(|cut| *cut) => true,
    };
    if !cut {
        return 0;
    }
    while relays.try_join_next().is_some() {}
    let running = relays.len();
    relays.shutdown().await;
    running
}

/// A thread's work: accept while `accepting` says so, then wait for its
/// running relays.
async fn serve(
    server: &Arc<Server>,
    listener: Listener,
    relays: &mut JoinSet<()>,
    mut accepting: watch::Receiver<bool>,
    tally: &Arc<Tally>,
) {
    loop {
        while relays.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = stopped(&mut accepting) => break,
            accepted = listener.accept() => accepted,
        };
        let (client, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %describe(&error), "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tally.accepted.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &server.metrics {
            metrics.accepted();
        }
        // The address it connected to costs a system call: only the
        // header --send-proxy sends has it.
        let addresses = match server.relay.send_proxy {
            Some(_) => client.addresses(),
            None => None,
        };
        let mut open = Open {
            id: server.last_id.fetch_add(1, Ordering::Relaxed) + 1,
            server: server.clone(),
            tally: tally.clone(),
            peer,
            client: client.client(),
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
        // A connection still waiting for its slot when the server stops is
        // reset, as the listen backlog's are, and reported cut off.
        let slot = tokio::select! {
            _ = stopped(&mut accepting) => None,
            slot = server.slots.after_accept() => slot,
        };
        let Some(slot) = slot else {
            client.abort();
            break;
        };
        server.running.fetch_add(1, Ordering::Relaxed);
        let running = Running(server.clone());
        relays.spawn(async move {
            let _running = running;
            let server = open.server.clone();
            server.relay(&mut open, client, slot).await;
        });
    }
    // Stop accepting: close the socket so new connections are refused.
    drop(listener);
    server.stopped_listening();
    while relays.join_next().await.is_some() {}
}

/// Waits until the server is told to stop accepting.
async fn stopped(accepting: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: stop as well.
    let _ = accepting.wait_for(|accepting| !accepting).await;
}

impl Server {
    /// Tells that a thread closed its listener; once the last has, new
    /// connections are refused, and the relays still running are told.
    fn stopped_listening(&self) {
        if self.listening.fetch_sub(1, Ordering::AcqRel) > 1 {
            return;
        }
        let running = self.running.load(Ordering::Relaxed);
        if running > 0 {
            tracing::info!(running, "stopping: waiting for running relays");
        }
    }

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
                    open.client = Some(addresses.0);
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
        let active = self.upstreams.start(index);
        let copier = self.copier(open);
        let copy = &self.copy;
        let (mut client, mut dst) = (client, dst);
        let route = transfer::route(&copier, copy.zero_copy, copy.way, &mut client, &mut dst);
        self.records.relaying(open.id, &upstream.name, route);
        if let Some(metrics) = &self.metrics {
            metrics.relaying(&upstream.name, route);
        }
        let relayed = transfer::run(
            &copier,
            copy.zero_copy,
            copy.closing(),
            copy.way,
            route,
            client,
            dst,
        )
        .await;
        // Uncounted before the close is logged: a client that saw the close
        // line (or its own EOF and then that line) finds the upstream free.
        drop(active);
        // The route it ended on: a socket pair that streamed moved to splice.
        let moved = relayed.as_ref().unwrap_or_else(|broken| &broken.moved);
        open.tally.took(moved.route.unwrap_or(route));
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
