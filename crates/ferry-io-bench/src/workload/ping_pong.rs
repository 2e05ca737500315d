//! `ping-pong`: 100-byte messages round-tripping client → relay → echo server.

use std::io;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::expect_amount;
use super::peer::{absorb, tcp_pair};
use crate::{Implementation, Latency, Measurement};

/// The size of each message, both ways.
pub const MESSAGE_LEN: usize = 100;

/// Makes `round_trips` request/response exchanges through `imp` relaying
/// between two loopback TCP connections (all with `TCP_NODELAY`), timing each
/// one; then both ends close and the relay must report every byte.
pub(super) async fn run(imp: Implementation, round_trips: u64) -> io::Result<Measurement> {
    let (mut client, mut relay_a) = tcp_pair().await?;
    let (mut relay_b, mut server) = tcp_pair().await?;
    for socket in [&client, &relay_a, &relay_b, &server] {
        socket.set_nodelay(true)?;
    }
    let relay = tokio::spawn(async move { imp.relay(&mut relay_a, &mut relay_b).await });
    let echo = tokio::spawn(async move {
        let mut message = [0u8; MESSAGE_LEN];
        for _ in 0..round_trips {
            server.read_exact(&mut message).await?;
            server.write_all(&message).await?;
        }
        server.shutdown().await?;
        absorb(server).await
    });

    let mut samples = Vec::with_capacity(usize::try_from(round_trips).unwrap_or(0));
    let mut reply = [0u8; MESSAGE_LEN];
    let started = Instant::now();
    for round in 0..round_trips {
        let message = [round as u8; MESSAGE_LEN];
        let sent = Instant::now();
        client.write_all(&message).await?;
        client.read_exact(&mut reply).await?;
        samples.push(sent.elapsed());
        if reply != message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("round trip {round} came back changed"),
            ));
        }
    }
    let elapsed = started.elapsed();

    client.shutdown().await?;
    let left_for_client = absorb(&mut client).await?;
    let left_for_server = echo.await.map_err(io::Error::other)??;
    let relayed = relay.await.map_err(io::Error::other)??;
    let bytes = round_trips * MESSAGE_LEN as u64;
    expect_amount("bytes left for the client", 0, left_for_client)?;
    expect_amount("bytes left for the server", 0, left_for_server)?;
    expect_amount("bytes the relay moved client to server", bytes, relayed.0)?;
    expect_amount("bytes the relay moved server to client", bytes, relayed.1)?;
    Ok(Measurement {
        amount: round_trips,
        elapsed,
        latency: Latency::from_samples(&mut samples),
    })
}
