//! The clients of the scaling scenario: many connections, each making
//! request/response round trips of one message size.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::workload::{absorb, expect_amount};

/// Connections opened at once: the rest wait, so no listen backlog overflows.
const OPENING: usize = 100;

/// Opens `connections` connections to `addr` and makes one round trip of
/// `len` bytes on each, so every relay has its upstream connection and
/// buffers before the timed part.
pub(super) async fn open(
    addr: SocketAddr,
    connections: usize,
    len: usize,
) -> io::Result<Vec<TcpStream>> {
    let mut sockets = Vec::with_capacity(connections);
    while sockets.len() < connections {
        let batch = OPENING.min(connections - sockets.len());
        let mut opening = JoinSet::new();
        for i in 0..batch {
            let id = sockets.len() + i;
            opening.spawn(async move {
                let mut socket = TcpStream::connect(addr).await?;
                socket.set_nodelay(true)?;
                round_trip(&mut socket, &message(id, len), &mut vec![0; len]).await?;
                Ok::<_, io::Error>(socket)
            });
        }
        while let Some(opened) = opening.join_next().await {
            sockets.push(opened.map_err(io::Error::other)??);
        }
    }
    Ok(sockets)
}

/// Every socket makes `each` round trips at once; returns the sockets, the
/// time until the last round trip ended, and every round trip's time.
pub(super) async fn exchange(
    sockets: Vec<TcpStream>,
    each: u64,
    len: usize,
) -> io::Result<(Vec<TcpStream>, Duration, Vec<Duration>)> {
    let connections = sockets.len();
    let started = Instant::now();
    let mut clients = JoinSet::new();
    for (id, mut socket) in sockets.into_iter().enumerate() {
        clients.spawn(async move {
            let mut samples = Vec::with_capacity(each as usize);
            let mut sent = message(id, len);
            let mut reply = vec![0u8; len];
            for i in 0..each {
                // Each round trip's message differs from the last.
                let stamp = i.to_le_bytes();
                let n = stamp.len().min(len);
                sent[..n].copy_from_slice(&stamp[..n]);
                let at = Instant::now();
                round_trip(&mut socket, &sent, &mut reply).await?;
                samples.push(at.elapsed());
            }
            Ok::<_, io::Error>((socket, samples))
        });
    }
    let mut sockets = Vec::with_capacity(connections);
    let mut samples = Vec::with_capacity(connections * each as usize);
    while let Some(done) = clients.join_next().await {
        let (socket, mine) = done.map_err(io::Error::other)??;
        sockets.push(socket);
        samples.extend(mine);
    }
    Ok((sockets, started.elapsed(), samples))
}

/// Half-closes every socket and reads each to EOF: nothing may be left.
pub(super) async fn close(sockets: Vec<TcpStream>) -> io::Result<()> {
    let mut closing = JoinSet::new();
    for mut socket in sockets {
        closing.spawn(async move {
            socket.shutdown().await?;
            absorb(socket).await
        });
    }
    while let Some(left) = closing.join_next().await {
        expect_amount(
            "bytes after the last echo",
            0,
            left.map_err(io::Error::other)??,
        )?;
    }
    Ok(())
}

/// Sends `message` and reads `reply.len()` bytes back; fails unless they
/// are the same.
async fn round_trip(socket: &mut TcpStream, message: &[u8], reply: &mut [u8]) -> io::Result<()> {
    socket.write_all(message).await?;
    socket.read_exact(reply).await?;
    if reply != message {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a round trip came back changed",
        ));
    }
    Ok(())
}

/// A message of `len` bytes that differs per connection.
fn message(id: usize, len: usize) -> Vec<u8> {
    let seed = (id as u64).wrapping_mul(0x9e37_79b9);
    (0..len)
        .map(|n| (seed.wrapping_add(n as u64 * 31) >> 3) as u8)
        .collect()
}
