//! Two-way copies over real loopback TCP: half-close in both orders, a stalled
//! direction never holds up the other, and errors from either side end the copy.

mod support;

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A client connected through a ferry relay to a server.
struct Relayed {
    client: TcpStream,
    server: TcpStream,
    relay: JoinHandle<io::Result<(u64, u64)>>,
}

async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connect = TcpStream::connect(listener.local_addr().unwrap());
    let (connected, accepted) = tokio::join!(connect, listener.accept());
    (connected.unwrap(), accepted.unwrap().0)
}

async fn relayed(a_to_b_size: usize, b_to_a_size: usize) -> Relayed {
    let (client, mut relay_a) = connected_pair().await;
    let (mut relay_b, server) = connected_pair().await;
    let relay = tokio::spawn(async move {
        ferry_io::copy_bidirectional_with_sizes(
            &mut relay_a,
            &mut relay_b,
            a_to_b_size,
            b_to_a_size,
        )
        .await
    });
    Relayed {
        client,
        server,
        relay,
    }
}

async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("timed out")
}

#[tokio::test]
async fn client_closes_first_then_server_answers() {
    let Relayed {
        mut client,
        mut server,
        relay,
    } = relayed(8192, 8192).await;
    let request = support::pattern(3 << 20, 1);
    let reply = support::pattern(1 << 20, 2);
    within(async {
        client.write_all(&request).await.unwrap();
        client.shutdown().await.unwrap();
        let mut seen = Vec::new();
        server.read_to_end(&mut seen).await.unwrap();
        assert!(
            seen == request,
            "server saw {} bytes, wrong content",
            seen.len()
        );
        server.write_all(&reply).await.unwrap();
        server.shutdown().await.unwrap();
        let mut answered = Vec::new();
        client.read_to_end(&mut answered).await.unwrap();
        assert!(answered == reply);
        let counts = relay.await.unwrap().unwrap();
        assert_eq!(counts, (request.len() as u64, reply.len() as u64));
    })
    .await;
}

#[tokio::test]
async fn server_closes_first_then_client_answers() {
    let Relayed {
        mut client,
        mut server,
        relay,
    } = relayed(4096, 65536).await;
    let greeting = support::pattern(2 << 20, 3);
    let answer = support::pattern(12345, 4);
    within(async {
        server.write_all(&greeting).await.unwrap();
        server.shutdown().await.unwrap();
        let mut seen = Vec::new();
        client.read_to_end(&mut seen).await.unwrap();
        assert!(seen == greeting);
        client.write_all(&answer).await.unwrap();
        client.shutdown().await.unwrap();
        let mut answered = Vec::new();
        server.read_to_end(&mut answered).await.unwrap();
        assert!(answered == answer);
        let counts = relay.await.unwrap().unwrap();
        assert_eq!(counts, (answer.len() as u64, greeting.len() as u64));
    })
    .await;
}

#[tokio::test]
async fn a_stalled_direction_does_not_block_the_other() {
    let Relayed {
        client,
        server,
        relay,
    } = relayed(8192, 8192).await;
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let upload = support::pattern(16 << 20, 5);
    let download = support::pattern(8 << 20, 6);
    within(async {
        // The server does not read until the whole download has arrived, so the
        // upload stalls with every buffer on its path full.
        let uploading = {
            let upload = upload.clone();
            tokio::spawn(async move {
                client_tx.write_all(&upload).await.unwrap();
                client_tx.shutdown().await.unwrap();
            })
        };
        let downloading = {
            let download = download.clone();
            tokio::spawn(async move {
                server_tx.write_all(&download).await.unwrap();
                server_tx.shutdown().await.unwrap();
            })
        };
        let mut downloaded = Vec::new();
        client_rx.read_to_end(&mut downloaded).await.unwrap();
        assert!(downloaded == download);
        let mut uploaded = Vec::new();
        server_rx.read_to_end(&mut uploaded).await.unwrap();
        assert!(uploaded == upload);
        uploading.await.unwrap();
        downloading.await.unwrap();
        let counts = relay.await.unwrap().unwrap();
        assert_eq!(counts, (upload.len() as u64, download.len() as u64));
    })
    .await;
}

#[tokio::test]
async fn a_reset_from_either_side_ends_the_copy_with_an_error() {
    for reset_client in [true, false] {
        let Relayed {
            client,
            server,
            relay,
        } = relayed(8192, 8192).await;
        let (doomed, mut survivor) = if reset_client {
            (client, server)
        } else {
            (server, client)
        };
        within(async {
            // Some traffic first, so the relay is mid-stream when the reset lands.
            survivor.write_all(b"hello").await.unwrap();
            // Linger zero makes close send RST instead of FIN.
            doomed.set_zero_linger().unwrap();
            drop(doomed);
            // Keep writing so the relay touches the dead connection.
            let err = loop {
                match relay.is_finished() {
                    true => break relay.await.unwrap().unwrap_err(),
                    false => {
                        let _ = survivor.write_all(&[0; 4096]).await;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            };
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "unexpected error: {err:?}"
            );
        })
        .await;
    }
}

#[tokio::test]
async fn an_error_on_one_side_ends_the_whole_copy_with_its_kind() {
    // A side whose reads fail while the other side is idle and open.
    let failing = tokio::io::join(
        support::ScriptedReader::new(vec![1, 2, 3], vec![]).failing_at(2),
        tokio::io::sink(),
    );
    let mut a = failing;
    let (mut b, _keep_open) = tokio::io::duplex(64);
    let err = within(ferry_io::copy_bidirectional(&mut a, &mut b))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);

    // A side whose writes fail: b's data cannot be delivered to a.
    let mut a = tokio::io::join(
        tokio::io::empty(),
        support::ScriptedWriter::new(vec![], vec![]).failing_at(0),
    );
    let (mut b, mut peer) = tokio::io::duplex(64);
    peer.write_all(b"doomed").await.unwrap();
    let err = within(ferry_io::copy_bidirectional(&mut a, &mut b))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}
