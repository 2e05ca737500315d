//! `ServeLoad`: what the clients do through a relay — parallel flows of
//! bulk bytes, short connections, HTTP-shaped ones, or round trips on one
//! connection — and the clients that do it (those of `serve-http` in
//! [`http`](super::http)).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use serde::{Serialize, Serializer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::backend::{Backend, Service};
use super::clients::{connect_side_by_side, shares};
use super::http;
use crate::workload::{absorb, expect_amount, generate};
use crate::{Latency, Measurement, Preset, Unit};

/// The bytes each short connection sends, and gets back.
pub const SHORT_MESSAGE: usize = 1024;

/// How many short connections are made at once.
pub const SHORT_PARALLEL: usize = 4;

/// The bytes of each ping-pong message, and of its echo.
pub const PING_MESSAGE: usize = 100;

/// The load of one serve scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServeLoad {
    /// This many connections at once, each sending its share of the bytes
    /// and half-closing; the backend counts them.
    Flows(usize),
    /// Connections made [`SHORT_PARALLEL`] at a time, each sending
    /// [`SHORT_MESSAGE`] bytes, reading them back echoed, and closing;
    /// each timed from connect to close.
    ShortConnections,
    /// Connections made [`HTTP_CLIENTS`](super::HTTP_CLIENTS) at a time as `wrk -H 'Connection:
    /// close'` makes them: each sends a 94-byte HTTP/1.1 request
    /// ([`HTTP_REQUEST`](super::HTTP_REQUEST)) and reads a response with a
    /// 1 KiB body to the end, the backend closing first.
    Http,
    /// One connection sending 100 bytes and waiting for their
    /// echo before the next: round-trip latency through the relay.
    PingPong,
}

impl ServeLoad {
    /// Every load, in table order: 1, 4 and 16 flows, short connections,
    /// HTTP-shaped ones, then ping-pong.
    pub const ALL: [ServeLoad; 6] = [
        ServeLoad::Flows(1),
        ServeLoad::Flows(4),
        ServeLoad::Flows(16),
        ServeLoad::ShortConnections,
        ServeLoad::Http,
        ServeLoad::PingPong,
    ];

    /// The scenario's name: `serve-1`, `serve-4`, `serve-16`, `serve-cps`,
    /// `serve-http`, `serve-ping-pong`.
    pub fn name(self) -> String {
        match self {
            ServeLoad::Flows(flows) => format!("serve-{flows}"),
            ServeLoad::ShortConnections => "serve-cps".into(),
            ServeLoad::Http => "serve-http".into(),
            ServeLoad::PingPong => "serve-ping-pong".into(),
        }
    }

    /// What a run's amount counts.
    pub fn unit(self) -> Unit {
        match self {
            ServeLoad::Flows(_) => Unit::Bytes,
            ServeLoad::ShortConnections | ServeLoad::Http => Unit::Connections,
            ServeLoad::PingPong => Unit::RoundTrips,
        }
    }

    /// Bytes per run for flows, connections per run for short and HTTP
    /// connections, round trips for ping-pong.
    pub fn amount(self, preset: Preset) -> u64 {
        match (self, preset) {
            (ServeLoad::Flows(_), Preset::Tiny) => 600 * 1024 + 7,
            (ServeLoad::Flows(_), Preset::Quick) => 32 << 20,
            (ServeLoad::Flows(_), Preset::Full) => 1 << 30,
            (ServeLoad::ShortConnections, Preset::Tiny) => 20,
            (ServeLoad::ShortConnections, Preset::Quick) => 250,
            (ServeLoad::ShortConnections, Preset::Full) => 5_000,
            (ServeLoad::Http, Preset::Tiny) => 32,
            (ServeLoad::Http, Preset::Quick) => 500,
            (ServeLoad::Http, Preset::Full) => 5_000,
            (ServeLoad::PingPong, Preset::Tiny) => 100,
            (ServeLoad::PingPong, Preset::Quick) => 2_000,
            (ServeLoad::PingPong, Preset::Full) => 50_000,
        }
    }

    /// The backend this load needs behind the relay.
    pub(super) fn service(self) -> Service {
        match self {
            ServeLoad::Flows(_) => Service::Sink,
            ServeLoad::ShortConnections => Service::Echo(SHORT_MESSAGE),
            ServeLoad::Http => Service::Http,
            ServeLoad::PingPong => Service::Echo(PING_MESSAGE),
        }
    }

    /// Runs the load once against `addr`, with `backend` behind it, and
    /// checks what the backend received.
    pub(super) async fn run(
        self,
        addr: SocketAddr,
        backend: &mut Backend,
        amount: u64,
    ) -> io::Result<Measurement> {
        match self {
            ServeLoad::Flows(flows) => run_flows(addr, backend, flows, amount).await,
            ServeLoad::ShortConnections => run_short(addr, backend, amount).await,
            ServeLoad::Http => http::run(addr, backend, amount).await,
            ServeLoad::PingPong => run_ping_pong(addr, backend, amount).await,
        }
    }
}

impl fmt::Display for ServeLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for ServeLoad {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

/// Connects `flows` times (untimed), then sends each share at once and
/// waits until every connection was closed from the far side, which the
/// backend does once it has read everything. Timed from the first byte.
async fn run_flows(
    addr: SocketAddr,
    backend: &mut Backend,
    flows: usize,
    bytes: u64,
) -> io::Result<Measurement> {
    let mut sockets = Vec::with_capacity(flows);
    for _ in 0..flows {
        sockets.push(TcpStream::connect(addr).await?);
    }
    let mut expected = shares(bytes, flows);
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for (socket, &share) in sockets.into_iter().zip(&expected) {
        senders.spawn(async move {
            let (rx, tx) = socket.into_split();
            generate(tx, share).await?;
            absorb(rx).await
        });
    }
    let mut returned = 0;
    while let Some(sent) = senders.join_next().await {
        returned += sent.map_err(io::Error::other)??;
    }
    let elapsed = started.elapsed();
    let mut received = backend.ended(flows).await?;
    expect_amount("bytes sent back to the clients", 0, returned)?;
    received.sort_unstable();
    expected.sort_unstable();
    if received != expected {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the backend received {received:?} bytes per connection, expected {expected:?}"
            ),
        ));
    }
    Ok(Measurement {
        amount: bytes,
        elapsed,
        latency: None,
    })
}

/// Makes `connections` short connections, [`SHORT_PARALLEL`] at a time;
/// each checks its echo and is timed from connect to close.
async fn run_short(
    addr: SocketAddr,
    backend: &mut Backend,
    connections: u64,
) -> io::Result<Measurement> {
    let each = SHORT_MESSAGE as u64;
    connect_side_by_side(
        addr,
        backend,
        connections,
        SHORT_PARALLEL,
        each,
        short_connection,
    )
    .await
}

/// Connects (untimed), then makes `round_trips` round trips of
/// [`PING_MESSAGE`] bytes, each timed, and checks every echo.
async fn run_ping_pong(
    addr: SocketAddr,
    backend: &mut Backend,
    round_trips: u64,
) -> io::Result<Measurement> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    let mut samples = Vec::with_capacity(round_trips as usize);
    let mut message = [0u8; PING_MESSAGE];
    let mut reply = [0u8; PING_MESSAGE];
    let started = Instant::now();
    for i in 0..round_trips {
        message[..8].copy_from_slice(&i.to_le_bytes());
        let sent = Instant::now();
        socket.write_all(&message).await?;
        socket.read_exact(&mut reply).await?;
        samples.push(sent.elapsed());
        if reply != message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("round trip {i} got a different echo"),
            ));
        }
    }
    let elapsed = started.elapsed();
    socket.shutdown().await?;
    let received = backend.ended(1).await?;
    expect_amount(
        "bytes the backend received",
        round_trips * PING_MESSAGE as u64,
        received[0],
    )?;
    Ok(Measurement {
        amount: round_trips,
        elapsed,
        latency: Latency::from_samples(&mut samples),
    })
}

/// One short connection: send a message stamped with `client` and `i`,
/// read it back, close.
async fn short_connection(addr: SocketAddr, client: usize, i: u64) -> io::Result<()> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    let mut message = [0u8; SHORT_MESSAGE];
    for (n, byte) in message.iter_mut().enumerate() {
        *byte = (n as u64 ^ i ^ (client as u64 * 0x9e)) as u8;
    }
    message[..8].copy_from_slice(&i.to_le_bytes());
    socket.write_all(&message).await?;
    let mut reply = [0u8; SHORT_MESSAGE];
    socket.read_exact(&mut reply).await?;
    if reply != message {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "got a different echo",
        ));
    }
    Ok(())
}
