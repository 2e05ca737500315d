//! UDP (`udp:`, `udp-listen:`): datagrams relayed one by one, each kept whole.
//!
//! This is not an end of the byte-stream engine, on purpose. The engine
//! moves a stream: it reads ahead while the writer is busy and writes what
//! it gathered at once, and it reads into a buffer that starts at 8 KiB. On
//! a UDP socket the first merges datagrams and the second cuts them, so the
//! boundaries that give datagrams their meaning would be lost. A datagram
//! relay is one `recv` and one `send` per datagram, which is all this module
//! does: between two ends ([`end`]), or as a server with one upstream socket
//! per client address ([`flows`]).
//!
//! What applies from the stream options: `--limit` (per direction, never
//! cutting a datagram: the direction ends before the datagram that would
//! pass it), `--idle-timeout` (a quiet relay or flow ends, normally: UDP
//! has no other end), `--linger` (how long replies may come once stdin
//! ended: [`LINGER`] unless given), `-u`/`-U`, `--stats`, `--json` and
//! `--max-connections` (flows).
//! Rate limits and progress are refused: they count the engine's bytes.

pub mod end;
pub mod flows;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use self::end::{Inbound, Outbound, RECEIVE_SIZE};
use crate::address::Address;
use crate::messages::{describe, Failure};
use crate::plan::{Plan, Shape};
use crate::signals::Signals;
use crate::transfer::Way;
use crate::units::Bytes;

/// What a datagram relay moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relayed {
    /// Bytes of datagrams from SRC delivered to DST.
    pub forward: u64,
    /// Bytes of datagrams from DST delivered to SRC.
    pub backward: u64,
    /// With `--serve`: the flows (client addresses) relayed.
    pub flows: Option<u64>,
    /// With `--serve`: the flows that ended in an error.
    pub failed_flows: u64,
}

/// Relays datagrams as the plan says until the relay ends by itself, is
/// idle for `--idle-timeout`, or a signal comes; returns what moved and how
/// it ended.
pub async fn run(plan: &Plan, signals: &mut Signals) -> (Relayed, Result<(), Failure>) {
    if plan.shape == Shape::DatagramServer {
        return flows::serve(plan, signals).await;
    }
    let counts = Counts::default();
    let result = relay(plan, signals, &counts).await;
    (counts.relayed(), result)
}

/// Bytes delivered each way, readable after the relay was dropped.
#[derive(Debug, Default)]
struct Counts {
    forward: AtomicU64,
    backward: AtomicU64,
}

impl Counts {
    fn relayed(&self) -> Relayed {
        Relayed {
            forward: self.forward.load(Ordering::Relaxed),
            backward: self.backward.load(Ordering::Relaxed),
            ..Relayed::default()
        }
    }
}

/// When a datagram last moved, shared by both directions (and, in a
/// server, by a flow's two directions).
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last datagram.
    last: AtomicU64,
}

impl Activity {
    /// Activity starting now.
    pub fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// A datagram moved now.
    pub fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }

    /// Waits until nothing moved for `timeout` (forever without one).
    pub async fn idle(&self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else {
            return std::future::pending().await;
        };
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            // A deadline past what the clock holds never comes.
            let Some(deadline) = self.start.checked_add(last.saturating_add(timeout)) else {
                return std::future::pending().await;
            };
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

/// How long replies may come once one direction ended (stdin, or
/// `--limit`) unless `--linger` says: half a second, as socat waits.
pub const LINGER: Duration = Duration::from_millis(500);

/// A direction that failed: the step and the end, for the message.
struct Broken {
    what: &'static str,
    error: io::Error,
}

/// Relays between SRC and DST until both directions ended, the relay was
/// idle, lingered long enough after one direction ended, or a signal came.
async fn relay(plan: &Plan, signals: &mut Signals, counts: &Counts) -> Result<(), Failure> {
    let (src, dst) = (&plan.src, &plan.dst);
    // Open what does not wait first, so a typo is reported before anyone sends.
    let mut src_end = None;
    let mut dst_end = None;
    if !src.is_listening() {
        src_end = Some(open(src).await?);
    }
    if !dst.is_listening() {
        dst_end = Some(open(dst).await?);
    }
    // A listening end waits for its peer's first datagram, which goes on first.
    let (mut src_first, mut dst_first) = (None, None);
    for (address, end, first) in [
        (src, &mut src_end, &mut src_first),
        (dst, &mut dst_end, &mut dst_first),
    ] {
        if end.is_none() {
            let (accepted, datagram) = tokio::select! {
                accepted = accept(address) => accepted?,
                _ = signals.recv() => return Ok(()),
            };
            *end = Some(accepted);
            *first = Some(datagram);
        }
    }
    let (Some((src_in, src_out)), Some((dst_in, dst_out))) = (src_end, dst_end) else {
        return Err(Failure::input(
            "bad addresses",
            "at most one address may listen",
        ));
    };
    let activity = Activity::new();
    let limit = plan.copy.limit;
    let (forward_on, backward_on) = runs(plan.copy.way);
    let mut forward: Direction<'_> = if forward_on {
        Box::pin(pump(
            src_in,
            dst_out,
            src_first,
            limit,
            &counts.forward,
            &activity,
        ))
    } else {
        left_out()
    };
    let mut backward: Direction<'_> = if backward_on {
        Box::pin(pump(
            dst_in,
            src_out,
            dst_first,
            limit,
            &counts.backward,
            &activity,
        ))
    } else {
        left_out()
    };
    let (mut forward_done, mut backward_done) = (!forward_on, !backward_on);
    let mut one_ended: Option<Instant> = None;
    loop {
        if forward_done && backward_done {
            return Ok(());
        }
        let lingering = async {
            let linger = plan.copy.linger.unwrap_or(LINGER);
            match one_ended.and_then(|ended| ended.checked_add(linger)) {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            done = &mut forward, if !forward_done => {
                done.map_err(|broken| {
                    failed(broken, "SRC", "DST", counts.forward.load(Ordering::Relaxed))
                })?;
                forward_done = true;
                one_ended.get_or_insert_with(Instant::now);
            }
            done = &mut backward, if !backward_done => {
                done.map_err(|broken| {
                    failed(broken, "DST", "SRC", counts.backward.load(Ordering::Relaxed))
                })?;
                backward_done = true;
                one_ended.get_or_insert_with(Instant::now);
            }
            _ = activity.idle(plan.copy.idle_timeout) => {
                tracing::info!("no datagram for the idle timeout: the relay ends");
                return Ok(());
            }
            _ = lingering => return Ok(()),
            _ = signals.recv() => return Ok(()),
        }
    }
}

/// Opens an end that does not wait for a peer: `udp:` or `-`.
async fn open(address: &Address) -> Result<(Inbound, Outbound), Failure> {
    match address {
        Address::Udp { host, port } => {
            let socket = end::connect(host, *port).await.map_err(|error| {
                Failure::input(format!("cannot connect to {address}"), describe(&error))
            })?;
            let socket = std::sync::Arc::new(socket);
            Ok((Inbound::Socket(socket.clone()), Outbound::Socket(socket)))
        }
        _ => Ok((
            Inbound::Lines(BufReader::new(tokio::io::stdin())),
            Outbound::Stdout(tokio::io::stdout()),
        )),
    }
}

/// Binds `udp-listen:` and waits for the first datagram: its sender is the
/// peer from then on (the socket is connected to it, so the kernel drops
/// what others send). Returns the end and that first datagram.
async fn accept(address: &Address) -> Result<((Inbound, Outbound), Vec<u8>), Failure> {
    let socket = bind(address).await?;
    let mut first = vec![0; RECEIVE_SIZE];
    let fail =
        |error: io::Error| Failure::input(format!("cannot receive on {address}"), describe(&error));
    let (length, peer) = socket.recv_from(&mut first).await.map_err(fail)?;
    first.truncate(length);
    socket.connect(peer).await.map_err(fail)?;
    tracing::info!(peer = %peer, "open");
    let socket = std::sync::Arc::new(socket);
    Ok((
        (Inbound::Socket(socket.clone()), Outbound::Socket(socket)),
        first,
    ))
}

/// Binds a `udp-listen:` address and says where it listens.
///
/// # Errors
///
/// A [`Failure::Input`]: address in use, not on this machine, and so on.
pub async fn bind(address: &Address) -> Result<UdpSocket, Failure> {
    let Address::UdpListen { host, port } = address else {
        return Err(Failure::input(
            format!("cannot listen on {address}"),
            "expected udp-listen:",
        ));
    };
    let socket = UdpSocket::bind((host.as_str(), *port))
        .await
        .map_err(|error| Failure::input(format!("cannot listen on {address}"), describe(&error)))?;
    match socket.local_addr() {
        Ok(local) => tracing::info!(address = %format!("udp-listen:{local}"), "listening"),
        Err(_) => tracing::info!(address = %address, "listening"),
    }
    Ok(socket)
}

/// Moves datagrams from `inbound` to `outbound`, `first` (already received)
/// first, until `inbound` ends (stdin only) or the next datagram would take
/// the direction past `limit`, adding each delivered datagram's length to
/// `count`.
async fn pump(
    mut inbound: Inbound,
    mut outbound: Outbound,
    first: Option<Vec<u8>>,
    limit: Option<u64>,
    count: &AtomicU64,
    activity: &Activity,
) -> Result<(), Broken> {
    let mut received = first.is_some();
    let mut datagram = first.unwrap_or_default();
    let mut delivered: u64 = 0;
    loop {
        if !received {
            let more = inbound.recv(&mut datagram).await.map_err(|error| Broken {
                what: "receive",
                error,
            })?;
            if !more {
                return Ok(());
            }
        }
        received = false;
        let length = datagram.len() as u64;
        if limit.is_some_and(|limit| delivered + length > limit) {
            return Ok(());
        }
        outbound.send(&datagram).await.map_err(|error| Broken {
            what: "send",
            error,
        })?;
        delivered += length;
        count.fetch_add(length, Ordering::Relaxed);
        activity.touch();
    }
}

/// One direction of a relay.
type Direction<'a> = Pin<Box<dyn Future<Output = Result<(), Broken>> + 'a>>;

/// A direction `-u`/`-U` leaves out: it never ends on its own.
fn left_out<'a>() -> Direction<'a> {
    Box::pin(std::future::pending())
}

/// Formats a failed direction: `send to DST failed after 1.2 KiB: ...`.
fn failed(broken: Broken, from: &str, to: &str, moved: u64) -> Failure {
    let end = if broken.what == "receive" {
        format!("receive from {from}")
    } else {
        format!("send to {to}")
    };
    Failure::Transfer(format!(
        "{end} failed after {}: {}",
        Bytes(moved),
        describe(&broken.error)
    ))
}

/// The directions a relay runs, as `-u`/`-U` say.
fn runs(way: Way) -> (bool, bool) {
    match way {
        Way::Both => (true, true),
        Way::Forward => (true, false),
        Way::Backward => (false, true),
    }
}
