//! Two-way copies over real loopback TCP (async-net, smol's): each
//! direction's half-close is passed on while the other keeps going, in both
//! orders, and the counts are exact.

use std::io;
use std::net::Shutdown;

use ferry_io::Copier;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};
use smol::Task;

use crate::support::{pattern, run_smol};

const REQUEST: usize = 3 << 20;
const REPLY: usize = 1 << 20;

/// A client connected through a ferry relay to a server.
struct Relayed<T> {
    client: TcpStream,
    server: TcpStream,
    relay: Task<T>,
}

async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connected = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    (connected, accepted)
}

/// `ferry_io::futures::copy_bidirectional` between two TCP connections.
async fn plain_relay() -> Relayed<io::Result<(u64, u64)>> {
    let (client, mut a) = connected_pair().await;
    let (mut b, server) = connected_pair().await;
    let relay =
        smol::spawn(async move { ferry_io::futures::copy_bidirectional(&mut a, &mut b).await });
    Relayed {
        client,
        server,
        relay,
    }
}

/// A `Copier`'s futures-io relay between two TCP connections, as exact counts.
async fn copier_relay() -> Relayed<io::Result<(u64, u64)>> {
    let (client, mut a) = connected_pair().await;
    let (mut b, server) = connected_pair().await;
    let relay = smol::spawn(async move {
        let transfer = Copier::new()
            .futures()
            .bidirectional(&mut a, &mut b)
            .await?;
        Ok((transfer.a_to_b.bytes, transfer.b_to_a.bytes))
    });
    Relayed {
        client,
        server,
        relay,
    }
}

/// The client sends its whole request and half-closes; the server reads to
/// EOF (which only the relay's half-close can give it) and only then answers.
async fn client_closes_first(relayed: Relayed<io::Result<(u64, u64)>>) {
    let Relayed {
        mut client,
        mut server,
        relay,
    } = relayed;
    let (request, reply) = (pattern(REQUEST, 1), pattern(REPLY, 2));
    let sending = {
        let request = request.clone();
        smol::spawn(async move {
            client.write_all(&request).await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            client
        })
    };
    let mut seen = Vec::new();
    server.read_to_end(&mut seen).await.unwrap();
    assert!(seen == request, "the server saw {} bytes", seen.len());
    server.write_all(&reply).await.unwrap();
    server.shutdown(Shutdown::Write).unwrap();
    let mut client = sending.await;
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).await.unwrap();
    assert!(answer == reply, "the client saw {} bytes", answer.len());
    assert_eq!(relay.await.unwrap(), (REQUEST as u64, REPLY as u64));
}

/// The server sends everything and half-closes before reading; the client
/// reads to EOF, then sends its part and half-closes.
async fn server_closes_first(relayed: Relayed<io::Result<(u64, u64)>>) {
    let Relayed {
        mut client,
        mut server,
        relay,
    } = relayed;
    let (request, reply) = (pattern(REQUEST, 3), pattern(REPLY, 4));
    let sending = {
        let reply = reply.clone();
        smol::spawn(async move {
            server.write_all(&reply).await.unwrap();
            server.shutdown(Shutdown::Write).unwrap();
            server
        })
    };
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).await.unwrap();
    assert!(answer == reply, "the client saw {} bytes", answer.len());
    client.write_all(&request).await.unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut server = sending.await;
    let mut seen = Vec::new();
    server.read_to_end(&mut seen).await.unwrap();
    assert!(seen == request, "the server saw {} bytes", seen.len());
    assert_eq!(relay.await.unwrap(), (REQUEST as u64, REPLY as u64));
}

#[test]
fn client_closes_first_then_server_answers() {
    run_smol(async { client_closes_first(plain_relay().await).await });
}

#[test]
fn server_closes_first_then_client_sends() {
    run_smol(async { server_closes_first(plain_relay().await).await });
}

#[test]
fn copier_passes_half_closes_on_in_both_orders() {
    run_smol(async {
        client_closes_first(copier_relay().await).await;
        server_closes_first(copier_relay().await).await;
    });
}
