//! The Copier's idle timeout and half-close linger, on tokio's paused clock
//! and on real loopback TCP.

mod support;

use std::io;
use std::time::Duration;

use ferry_io::{Copier, Direction, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn idle_timeout_ends_a_silent_copy_with_its_counts() {
    let (mut tx, mut rx) = tokio::io::duplex(1024);
    let copier = Copier::new().idle_timeout(Duration::from_secs(30));
    let started = Instant::now();
    let talker = tokio::spawn(async move {
        tx.write_all(&[1; 100]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await;
        tx.write_all(&[2; 100]).await.unwrap();
        // Then silence, with the stream still open.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(tx);
    });
    let mut received = Vec::new();
    let err = copier.copy(&mut rx, &mut received).await.unwrap_err();
    assert_eq!(err.step(), Step::IdleTimeout);
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(err.counts().a_to_b.read, 200);
    assert_eq!(err.counts().a_to_b.written, 200);
    assert_eq!(received.len(), 200);
    // 20 s of activity, then 30 s of silence.
    assert_eq!(started.elapsed().as_secs(), 50);
    assert_eq!(
        err.to_string(),
        "idle timeout after 200 B: no bytes moved for 30s"
    );
    talker.abort();
}

#[tokio::test(start_paused = true)]
async fn traffic_in_either_direction_keeps_a_relay_alive() {
    let (mut client, mut a) = tokio::io::duplex(1024);
    let (mut b, mut server) = tokio::io::duplex(1024);
    let started = Instant::now();
    let relay = tokio::spawn(async move {
        Copier::new()
            .idle_timeout(Duration::from_secs(15))
            .bidirectional(&mut a, &mut b)
            .await
    });
    // Only the server talks, every 10 s, for a minute.
    for _ in 0..6 {
        server.write_all(b"tick").await.unwrap();
        let mut tick = [0; 4];
        client.read_exact(&mut tick).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let err = relay.await.unwrap().unwrap_err();
    assert_eq!(err.step(), Step::IdleTimeout);
    assert_eq!(err.direction(), None);
    assert_eq!(err.counts().b_to_a.written, 24);
    // The last tick was at 50 s; the relay gave up 15 s later.
    assert_eq!(started.elapsed().as_secs(), 65);
}

#[tokio::test(start_paused = true)]
async fn linger_bounds_the_direction_left_open() {
    let (mut client, mut a) = tokio::io::duplex(1024);
    let (mut b, mut server) = tokio::io::duplex(1024);
    let relay = tokio::spawn(async move {
        Copier::new()
            .linger(Duration::from_secs(5))
            .bidirectional(&mut a, &mut b)
            .await
    });
    client.write_all(b"bye").await.unwrap();
    client.shutdown().await.unwrap();
    let closed_at = Instant::now();
    let mut request = Vec::new();
    server.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, b"bye");
    // The server never closes its side.
    let err = relay.await.unwrap().unwrap_err();
    assert_eq!(err.step(), Step::LingerTimeout);
    assert_eq!(err.direction(), Some(Direction::BToA));
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(err.counts().a_to_b.written, 3);
    assert_eq!(closed_at.elapsed().as_secs(), 5);
    drop(server);
}

#[tokio::test(start_paused = true)]
async fn a_direction_that_ends_within_the_linger_succeeds() {
    let (mut client, mut a) = tokio::io::duplex(1024);
    let (mut b, mut server) = tokio::io::duplex(1024);
    let relay = tokio::spawn(async move {
        Copier::new()
            .linger(Duration::from_secs(5))
            .bidirectional(&mut a, &mut b)
            .await
    });
    client.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    server.write_all(b"late but in time").await.unwrap();
    server.shutdown().await.unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.unwrap();
    let transfer = relay.await.unwrap().unwrap();
    assert_eq!(transfer.b_to_a.bytes, 16);
    assert_eq!(transfer.a_to_b.bytes, 0);
    assert!(transfer.b_to_a.duration >= Duration::from_secs(4));
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (connected, accepted) = tokio::join!(
        TcpStream::connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    (connected.unwrap(), accepted.unwrap().0)
}

#[tokio::test]
async fn idle_timeout_and_linger_on_real_tcp() {
    // Idle: the client says hello and then nothing, with both sides open.
    let (mut client, mut relay_a) = tcp_pair().await;
    let (mut relay_b, mut server) = tcp_pair().await;
    let started = std::time::Instant::now();
    let relay = tokio::spawn(async move {
        Copier::new()
            .idle_timeout(Duration::from_millis(300))
            .bidirectional(&mut relay_a, &mut relay_b)
            .await
    });
    client.write_all(b"hello").await.unwrap();
    let mut hello = [0; 5];
    server.read_exact(&mut hello).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.step(), Step::IdleTimeout);
    assert_eq!(err.counts().a_to_b.written, 5);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Linger: the client half-closes, the server never does.
    let (mut client, mut relay_a) = tcp_pair().await;
    let (mut relay_b, mut server) = tcp_pair().await;
    let relay = tokio::spawn(async move {
        Copier::new()
            .linger(Duration::from_millis(200))
            .bidirectional(&mut relay_a, &mut relay_b)
            .await
    });
    client.shutdown().await.unwrap();
    assert_eq!(
        server.read(&mut [0; 1]).await.unwrap(),
        0,
        "the half-close reached the server"
    );
    let err = tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.step(), Step::LingerTimeout);
    assert_eq!(err.direction(), Some(Direction::BToA));
}

/// `Duration::MAX` used to overflow `Instant + Duration` inside the watch
/// and panic the first time the copy waited; a deadline that far out is none.
#[tokio::test(start_paused = true)]
async fn durations_too_long_to_pass_never_expire() {
    let copier = Copier::new()
        .idle_timeout(Duration::MAX)
        .linger(Duration::MAX)
        .release_idle_buffers(Some(Duration::MAX))
        .on_progress(Duration::MAX, |_| {});

    // One way: the copy waits on a silent reader, then finishes.
    let (mut tx, mut rx) = tokio::io::duplex(1024);
    let talker = tokio::spawn(async move {
        tx.write_all(&[1; 100]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        tx.write_all(&[2; 50]).await.unwrap();
    });
    let mut received = Vec::new();
    assert_eq!(copier.copy(&mut rx, &mut received).await.unwrap(), 150);
    assert_eq!(received.len(), 150);
    talker.await.unwrap();

    // Both ways: one direction ends, the other lingers an hour, then ends.
    let (mut client, mut a) = tokio::io::duplex(1024);
    let (mut b, mut server) = tokio::io::duplex(1024);
    let relay = tokio::spawn(async move { copier.bidirectional(&mut a, &mut b).await });
    client.write_all(b"bye").await.unwrap();
    client.shutdown().await.unwrap();
    let mut request = Vec::new();
    server.read_to_end(&mut request).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    server.write_all(b"later").await.unwrap();
    server.shutdown().await.unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.unwrap();
    let transfer = relay.await.unwrap().unwrap();
    assert_eq!(
        (request.as_slice(), reply.as_slice()),
        (&b"bye"[..], &b"later"[..])
    );
    assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (3, 5));
}
