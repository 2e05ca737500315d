//! `tcp-relay`: client → relay → server over two loopback TCP connections.

use std::io;
use std::time::Instant;

use tokio::io::AsyncWriteExt;

use super::expect_amount;
use super::peer::{absorb, generate, tcp_pair};
use crate::{Implementation, Measurement};

/// The client sends `amount` bytes and half-closes; the server counts them
/// to EOF and closes; `imp` relays both ways and ends when both directions
/// have ended. Timed from the first byte sent until the relay returns.
pub(super) async fn run(imp: Implementation, amount: u64) -> io::Result<Measurement> {
    let (client, mut relay_a) = tcp_pair().await?;
    let (mut relay_b, mut server) = tcp_pair().await?;
    let (client_rx, client_tx) = client.into_split();

    let started = Instant::now();
    let relay = tokio::spawn(async move { imp.relay(&mut relay_a, &mut relay_b).await });
    let sender = tokio::spawn(generate(client_tx, amount));
    let received = absorb(&mut server).await;
    server.shutdown().await?;
    drop(server);
    let returned = absorb(client_rx).await?;
    sender.await.map_err(io::Error::other)??;
    let relayed = relay.await.map_err(io::Error::other)??;
    let elapsed = started.elapsed();

    expect_amount("bytes the server received", amount, received?)?;
    expect_amount("bytes the client received", 0, returned)?;
    expect_amount("bytes the relay moved client to server", amount, relayed.0)?;
    expect_amount("bytes the relay moved server to client", 0, relayed.1)?;
    Ok(Measurement {
        amount,
        elapsed,
        latency: None,
    })
}
