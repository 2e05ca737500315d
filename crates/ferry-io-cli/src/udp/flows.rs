//! The UDP server (`udp-listen:` to `udp:` with `--serve`): one flow per
//! client address, each with an upstream socket of its own, so replies find
//! their way back to the client that asked.
//!
//! A flow starts with its client's first datagram and ends after
//! `--idle-timeout` (60 s when not given) with nothing either way; at most
//! `--max-connections` flows run at once, and datagrams from further clients
//! are dropped (UDP has no backlog to make them wait in). The access rules
//! (`--allow`, `--deny`, `--max-connections-per-source` as flows per client
//! address) are checked when a flow would start: a refused client's
//! datagrams are dropped, and it gets no flow. `--limit` applies to each
//! direction of each flow. A signal ends the server at once: there is
//! nothing in flight to wait for.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::{self, JoinError, JoinSet};

use super::end::{self, RECEIVE_SIZE};
use super::{bind, Activity, Relayed};
use crate::access::SourceSlot;
use crate::address::Address;
use crate::messages::{self, describe, Failure};
use crate::plan::Plan;
use crate::signals::Signals;
use crate::transfer::Way;
use crate::units::Bytes;

/// How long a flow lives without a datagram when `--idle-timeout` is not
/// given: long enough for a slow request and answer, short enough that a
/// server does not keep a socket for every client it ever saw.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(60);

/// A client's flow, as the receiving loop sees it.
struct Flow {
    upstream: Arc<UdpSocket>,
    activity: Arc<Activity>,
    /// Bytes sent upstream for this client, for `--limit`.
    sent: u64,
    /// Its place in its address's count, with `--max-connections-per-source`.
    _source: Option<SourceSlot>,
}

/// What the whole server moved.
#[derive(Debug, Default)]
struct Totals {
    forward: AtomicU64,
    backward: AtomicU64,
}

/// Runs the server until a signal; returns what it moved.
pub async fn serve(plan: &Plan, signals: &mut Signals) -> (Relayed, Result<(), Failure>) {
    let totals = Arc::new(Totals::default());
    let mut flows_seen = 0;
    let mut flows_failed = 0;
    let result = tokio::select! {
        result = receive(plan, &totals, &mut flows_seen, &mut flows_failed) => result,
        _ = signals.recv() => Ok(()),
    };
    let relayed = Relayed {
        forward: totals.forward.load(Ordering::Relaxed),
        backward: totals.backward.load(Ordering::Relaxed),
        flows: Some(flows_seen),
        failed_flows: flows_failed,
    };
    (relayed, result)
}

/// Receives on the listening socket and hands each datagram to its flow,
/// starting flows and ending them as they go idle.
async fn receive(
    plan: &Plan,
    totals: &Arc<Totals>,
    flows_seen: &mut u64,
    flows_failed: &mut u64,
) -> Result<(), Failure> {
    let Address::Udp { host, port } = &plan.dst else {
        return Err(Failure::input(
            format!("bad DST \"{}\" for --serve", plan.dst),
            "expected udp:",
        ));
    };
    // Resolve once: every flow connects to the same upstream address.
    let upstream = tokio::net::lookup_host((host.as_str(), *port))
        .await
        .ok()
        .and_then(|mut found| found.next())
        .ok_or_else(|| {
            Failure::input(
                format!("cannot connect to {}", plan.dst),
                format!("cannot resolve host {host:?}"),
            )
        })?;
    let listener = Arc::new(bind(&plan.src).await?);
    let idle = plan.copy.idle_timeout.unwrap_or(DEFAULT_IDLE);
    let limit = plan.copy.limit;
    let way = plan.copy.way;
    let sources = plan.access.sources();
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut running: JoinSet<io::Result<()>> = JoinSet::new();
    let mut owners: HashMap<task::Id, SocketAddr> = HashMap::new();
    let mut datagram = vec![0; RECEIVE_SIZE];
    loop {
        let (length, client) = tokio::select! {
            received = listener.recv_from(&mut datagram) => match received {
                Ok(received) => received,
                // An ICMP error for a reply sent to a client that left.
                Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(error) => {
                    return Err(Failure::Transfer(format!(
                        "receive on {} failed: {}",
                        plan.src,
                        describe(&error)
                    )))
                }
            },
            Some(ended) = running.join_next_with_id() => {
                if let Some((client, result)) = reap(ended, &mut owners, &mut flows) {
                    match result {
                        Ok(()) => tracing::info!(peer = %client, "close"),
                        Err(error) => {
                            *flows_failed += 1;
                            tracing::warn!(peer = %client, error = %error, "close");
                        }
                    }
                }
                continue;
            }
        };
        if !flows.contains_key(&client) {
            let source = match plan.access.admit(Some(client.ip()), sources.as_ref()) {
                Ok(source) => source,
                Err(refusal) => {
                    let refused = messages::refused(&client.to_string(), refusal);
                    tracing::debug!(peer = %client, reason = refused.message(), "datagram dropped");
                    continue;
                }
            };
            if flows.len() >= plan.max_connections {
                tracing::debug!(peer = %client, "too many flows: datagram dropped");
                continue;
            }
            let socket = match connect(upstream).await {
                Ok(socket) => Arc::new(socket),
                Err(error) => {
                    *flows_failed += 1;
                    tracing::warn!(peer = %client, error = %describe(&error), "close");
                    continue;
                }
            };
            *flows_seen += 1;
            tracing::info!(peer = %client, "open");
            let activity = Arc::new(Activity::new());
            let replies = Replies {
                listener: listener.clone(),
                upstream: socket.clone(),
                client,
                activity: activity.clone(),
                totals: totals.clone(),
                limit,
                relayed: way != Way::Forward,
            };
            let task = running.spawn(replies.run(idle));
            owners.insert(task.id(), client);
            flows.insert(
                client,
                Flow {
                    upstream: socket,
                    activity,
                    sent: 0,
                    _source: source,
                },
            );
        }
        let Some(flow) = flows.get_mut(&client) else {
            continue;
        };
        let length64 = length as u64;
        if way == Way::Backward || limit.is_some_and(|limit| flow.sent + length64 > limit) {
            continue;
        }
        match flow.upstream.send(&datagram[..length]).await {
            Ok(_) => {
                flow.sent += length64;
                totals.forward.fetch_add(length64, Ordering::Relaxed);
                flow.activity.touch();
            }
            // The upstream refused an earlier datagram (nothing listens
            // there yet): this one is lost too, as on any UDP path.
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(error) => {
                tracing::debug!(peer = %client, error = %describe(&error), "send upstream failed")
            }
        }
    }
}

/// Takes the flow whose task ended out of the table, so its client's next
/// datagram starts a fresh flow and its `--max-connections` slot is free,
/// whether the task returned or panicked. Returns the client and how the
/// flow ended, as words for the log.
fn reap<F>(
    ended: Result<(task::Id, io::Result<()>), JoinError>,
    owners: &mut HashMap<task::Id, SocketAddr>,
    flows: &mut HashMap<SocketAddr, F>,
) -> Option<(SocketAddr, Result<(), String>)> {
    let (id, result) = match ended {
        Ok((id, result)) => (id, result.map_err(|error| describe(&error))),
        Err(error) => (error.id(), Err(format!("the flow's task failed: {error}"))),
    };
    let client = owners.remove(&id)?;
    flows.remove(&client);
    Some((client, result))
}

/// A fresh socket connected to the upstream, one per flow.
async fn connect(upstream: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(end::unspecified(upstream)).await?;
    socket.connect(upstream).await?;
    Ok(socket)
}

/// A flow's way back: the upstream's replies, sent to the client from the
/// listening socket.
struct Replies {
    listener: Arc<UdpSocket>,
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    activity: Arc<Activity>,
    totals: Arc<Totals>,
    limit: Option<u64>,
    /// False with `-u`: replies are not read.
    relayed: bool,
}

impl Replies {
    /// Relays replies until the flow was idle for `idle`.
    async fn run(self, idle: Duration) -> io::Result<()> {
        let mut datagram = vec![0; RECEIVE_SIZE];
        let mut sent: u64 = 0;
        loop {
            let received = tokio::select! {
                received = self.upstream.recv(&mut datagram), if self.relayed => received,
                _ = self.activity.idle(Some(idle)) => return Ok(()),
            };
            let length = match received {
                Ok(length) => length,
                Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(error) => return Err(error),
            };
            let length64 = length as u64;
            if self.limit.is_some_and(|limit| sent + length64 > limit) {
                continue;
            }
            self.listener
                .send_to(&datagram[..length], self.client)
                .await
                .map_err(|error| {
                    io::Error::new(
                        error.kind(),
                        format!(
                            "send to the client failed after {}: {}",
                            Bytes(sent),
                            describe(&error)
                        ),
                    )
                })?;
            sent += length64;
            self.totals.backward.fetch_add(length64, Ordering::Relaxed);
            self.activity.touch();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flow_whose_task_panicked_leaves_the_table() {
        let client: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut flows = HashMap::from([(client, "flow")]);
        let mut owners = HashMap::new();
        let mut running: JoinSet<io::Result<()>> = JoinSet::new();
        let task = running.spawn(async { panic!("a flow's bug") });
        owners.insert(task.id(), client);
        let ended = running.join_next_with_id().await.unwrap();
        let (reaped, result) = reap(ended, &mut owners, &mut flows).unwrap();
        assert_eq!(reaped, client);
        assert!(result.unwrap_err().contains("panicked"));
        assert!(flows.is_empty() && owners.is_empty());
    }
}
