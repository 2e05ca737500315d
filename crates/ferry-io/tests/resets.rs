//! A relay passes an abort on as an abort: with `propagate_resets`, a peer
//! that resets, a failed copy and a relay dropped mid-transfer reach the
//! other peer as a reset, after every byte that was read before it; and a
//! read error is reported only after what was read before it is written.

#![cfg(target_os = "linux")]

mod support;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use ferry_io::zero_copy::ZeroCopyMode;
use ferry_io::{Copier, CopyBuffer};
use support::{ScriptedReader, ScriptedWriter, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DEADLINE: Duration = Duration::from_secs(10);

/// A connected pair of loopback TCP streams.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (client, accepted) = tokio::join!(
        TcpStream::connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    (client.unwrap(), accepted.unwrap().0)
}

/// Reads until EOF or an error: the bytes, and how it ended.
async fn read_all(stream: &mut TcpStream) -> (Vec<u8>, io::Result<()>) {
    let mut got = Vec::new();
    let mut chunk = [0; 16 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(err) => return (got, Err(err)),
        }
    }
}

/// Closes `stream` with a reset.
fn reset(stream: TcpStream) {
    stream.set_zero_linger().unwrap();
    drop(stream);
}

/// client <-> (a) relay (b) <-> upstream; the upstream sends `data`, waits
/// until the client has it all, then resets. Returns how the client's
/// stream ended after the data.
async fn upstream_resets(propagate: bool) -> io::Result<()> {
    let (mut client, mut a) = tcp_pair().await;
    let (mut b, mut upstream) = tcp_pair().await;
    let copier = Copier::new().propagate_resets(propagate);
    let relay = tokio::spawn(async move {
        let relayed = copier
            .zero_copy(ZeroCopyMode::Auto)
            .bidirectional(&mut a, &mut b)
            .await;
        drop((a, b));
        relayed
    });
    let data = support::pattern(100 * 1024, 1);
    upstream.write_all(&data).await.unwrap();
    let mut got = vec![0; data.len()];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, data);
    reset(upstream);
    let err = relay.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    let (rest, ended) = tokio::time::timeout(DEADLINE, read_all(&mut client))
        .await
        .unwrap();
    assert!(rest.is_empty());
    ended
}

#[tokio::test]
async fn an_upstream_reset_reaches_the_client_as_a_reset() {
    let ended = upstream_resets(true).await;
    assert_eq!(
        ended.unwrap_err().kind(),
        io::ErrorKind::ConnectionReset,
        "the client must not see a clean end of stream"
    );
}

#[tokio::test]
async fn without_propagation_the_client_sees_a_clean_end() {
    // What propagation fixes: the truncated stream looks complete.
    assert!(upstream_resets(false).await.is_ok());
}

#[tokio::test]
async fn a_client_reset_reaches_the_upstream_as_a_reset() {
    let (mut client, mut a) = tcp_pair().await;
    let (mut b, mut upstream) = tcp_pair().await;
    let copier = Copier::new().propagate_resets(true);
    let relay = tokio::spawn(async move {
        let relayed = copier
            .zero_copy(ZeroCopyMode::Auto)
            .bidirectional(&mut a, &mut b)
            .await;
        drop((a, b));
        relayed
    });
    let data = support::pattern(64 * 1024, 2);
    client.write_all(&data).await.unwrap();
    let mut got = vec![0; data.len()];
    upstream.read_exact(&mut got).await.unwrap();
    assert_eq!(got, data);
    reset(client);
    assert!(relay.await.unwrap().is_err());
    let (rest, ended) = tokio::time::timeout(DEADLINE, read_all(&mut upstream))
        .await
        .unwrap();
    assert!(rest.is_empty());
    assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn a_relay_dropped_mid_transfer_resets_both_peers() {
    let (mut client, mut a) = tcp_pair().await;
    let (mut b, mut upstream) = tcp_pair().await;
    let copier = Copier::new().propagate_resets(true);
    let relay = tokio::spawn(async move {
        copier
            .zero_copy(ZeroCopyMode::Auto)
            .bidirectional(&mut a, &mut b)
            .await
    });
    client.write_all(b"half a request").await.unwrap();
    let mut got = [0; 14];
    upstream.read_exact(&mut got).await.unwrap();
    // The server cuts the relay off (shutdown, a second Ctrl-C).
    relay.abort();
    let _ = relay.await;
    for peer in [&mut client, &mut upstream] {
        let (rest, ended) = tokio::time::timeout(DEADLINE, read_all(peer))
            .await
            .unwrap();
        assert!(rest.is_empty());
        assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
    }
}

#[tokio::test]
async fn a_relay_that_ends_well_closes_in_order() {
    let (mut client, mut a) = tcp_pair().await;
    let (mut b, mut upstream) = tcp_pair().await;
    let copier = Copier::new().propagate_resets(true);
    let relay = tokio::spawn(async move {
        let relayed = copier
            .zero_copy(ZeroCopyMode::Auto)
            .bidirectional(&mut a, &mut b)
            .await;
        drop((a, b));
        relayed
    });
    client.write_all(b"ping").await.unwrap();
    client.shutdown().await.unwrap();
    let (request, ended) = read_all(&mut upstream).await;
    assert_eq!((request.as_slice(), ended.is_ok()), (&b"ping"[..], true));
    upstream.write_all(b"pong").await.unwrap();
    upstream.shutdown().await.unwrap();
    let (reply, ended) = read_all(&mut client).await;
    assert_eq!(reply, b"pong");
    assert!(ended.is_ok(), "{ended:?}");
    relay.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_read_error_comes_after_the_bytes_read_before_it() {
    // The reader fails after 10 bytes; the writer is not ready at first, so
    // the bytes are still in the buffer when the failure comes.
    let data = support::pattern(10, 3);
    let mut reader =
        ScriptedReader::new(data.clone(), vec![Step::Ready(10), Step::Ready(1)]).failing_at(10);
    let mut writer =
        ScriptedWriter::new(vec![Step::Pending, Step::Pending, Step::Ready(3)], vec![]);
    let mut engine = CopyBuffer::new();
    let err = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(writer.received, data);
    assert_eq!(writer.flushed, data.len());
    assert_eq!((engine.bytes_read(), engine.bytes_written()), (10, 10));
}
