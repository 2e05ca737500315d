//! A relay between two sockets under `ZeroCopyMode::Auto`: messages go
//! through memory, and a direction that streams moves to splice, with
//! every byte in order and counted once, whichever way each byte went.

#![cfg(target_os = "linux")]

mod zero_copy_support;

use std::io;
use std::time::Duration;

use ferry_io::zero_copy::{Route, ZeroCopyMode};
use ferry_io::{Copier, RateLimiter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zero_copy_support::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// Relays between `a` and `b` with `copier` under `Auto`, in a task.
fn relay(copier: Copier, mut a: TcpStream, mut b: TcpStream) -> Relaying {
    tokio::spawn(async move {
        copier
            .zero_copy(ZeroCopyMode::Auto)
            .bidirectional(&mut a, &mut b)
            .await
    })
}

type Relaying = tokio::task::JoinHandle<Result<ferry_io::zero_copy::Relayed, ferry_io::CopyError>>;

/// Sends `up` pattern bytes from `client` and `down` from `server` through
/// `relaying`, both ways at once, checks both arrived byte-exact and
/// counted, and returns what the relay reported.
async fn exchange(
    relaying: Relaying,
    client: TcpStream,
    server: TcpStream,
    up: u64,
    down: u64,
) -> ferry_io::zero_copy::Relayed {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (relayed, sent_up, sent_down, got_up, got_down) = tokio::join!(
        relaying,
        send(client_write, up),
        send(server_write, down),
        receive(server_read),
        receive(client_read),
    );
    let relayed = relayed.unwrap().unwrap();
    sent_up.unwrap();
    sent_down.unwrap();
    assert_eq!(got_up.unwrap(), Received::expect(up), "{up} up");
    assert_eq!(got_down.unwrap(), Received::expect(down), "{down} down");
    assert_eq!(
        (relayed.transfer.a_to_b.bytes, relayed.transfer.b_to_a.bytes),
        (up, down)
    );
    relayed
}

/// Sends `len` pattern bytes from `offset` as `messages` writes of `each`
/// bytes, each answered before the next (so each is read on its own), then
/// the rest in one go; shuts the write half down.
async fn messages_then_stream(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    mut acks: tokio::sync::mpsc::Receiver<()>,
    messages: usize,
    each: usize,
    len: u64,
) -> std::io::Result<()> {
    let mut at = 0;
    for _ in 0..messages {
        writer.write_all(slice(at, each)).await?;
        at += each as u64;
        acks.recv().await.expect("the receiver stopped");
    }
    while at < len {
        let n = (len - at).min(256 * 1024) as usize;
        writer.write_all(slice(at, n)).await?;
        at += n as u64;
    }
    writer.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stay_in_memory() {
    let (mut client, a) = tcp_pair().await;
    let (b, mut server) = tcp_pair().await;
    let relaying = relay(Copier::new(), a, b);
    // 200 round trips of a 1 KiB request and a 3 KiB answer.
    let (mut up, mut down) = (0u64, 0u64);
    for _ in 0..200 {
        client.write_all(slice(up, 1024)).await.unwrap();
        let mut request = vec![0; 1024];
        server.read_exact(&mut request).await.unwrap();
        assert_eq!(request, slice(up, 1024));
        up += 1024;
        server.write_all(slice(down, 3072)).await.unwrap();
        let mut answer = vec![0; 3072];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, slice(down, 3072));
        down += 3072;
    }
    client.shutdown().await.unwrap();
    server.shutdown().await.unwrap();
    let relayed = tokio::time::timeout(DEADLINE, relaying)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(relayed.route, Route::Buffered);
    assert_eq!(
        (relayed.transfer.a_to_b.bytes, relayed.transfer.b_to_a.bytes),
        (up, down)
    );
    assert_eq!(client.read(&mut [0; 1]).await.unwrap(), 0);
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_both_ways_switch_to_splice_byte_exact() {
    for (up, down) in [
        (3 * PIPE + 17, 5 * PIPE + 3),
        (0, 2 * PIPE + 1),
        (65_537, 1),
    ] {
        let (client, a) = tcp_pair().await;
        let (b, server) = tcp_pair().await;
        let relayed = exchange(relay(Copier::new(), a, b), client, server, up, down).await;
        // 1 byte and 65,537 bytes may or may not stream; megabytes do.
        if up.max(down) > PIPE {
            assert_eq!(relayed.route, Route::Splice, "{up} up, {down} down");
        }
    }
}

/// A relay that ends with its pipes empty gives them to the next ones on
/// its thread: relays one after another on one thread, one of them cut off
/// mid-stream, each still get exactly their own bytes.
#[tokio::test(flavor = "current_thread")]
async fn relays_one_after_another_on_one_thread_get_only_their_own_bytes() {
    for round in 0..10u64 {
        let (client, a) = tcp_pair().await;
        let (b, server) = tcp_pair().await;
        let relaying = relay(Copier::new(), a, b);
        if round == 4 {
            // Cut off while both ways stream, whatever its pipes hold.
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            let streams = async {
                tokio::join!(
                    send(client_write, 1024 * PIPE),
                    send(server_write, 1024 * PIPE),
                    receive(server_read),
                    receive(client_read),
                )
            };
            let _ = tokio::time::timeout(Duration::from_millis(50), streams).await;
            relaying.abort();
            assert!(relaying.await.unwrap_err().is_cancelled());
            continue;
        }
        let (up, down) = (2 * PIPE + round * 4099, 3 * PIPE - round * 977);
        let relayed = tokio::time::timeout(DEADLINE, exchange(relaying, client, server, up, down))
            .await
            .expect("the relay hung");
        assert_eq!(relayed.route, Route::Splice, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_starts_with_messages_switches_mid_stream_in_order() {
    let (client, a) = tcp_pair().await;
    let (b, server) = tcp_pair().await;
    let relaying = relay(Copier::new(), a, b);
    let (_client_read, client_write) = client.into_split();
    let (mut server_read, _server_write) = server.into_split();
    let len = 4 * PIPE + 11;
    let (ack, acks) = tokio::sync::mpsc::channel(1);
    let sending = tokio::spawn(messages_then_stream(client_write, acks, 50, 700, len));
    // The first 50 messages arrive one by one, each before the next is sent.
    let mut hasher = Hasher::default();
    for at in 0..50u64 {
        let mut message = vec![0; 700];
        server_read.read_exact(&mut message).await.unwrap();
        assert_eq!(message, slice(at * 700, 700));
        hasher.update(&message);
        ack.send(()).await.unwrap();
    }
    let mut rest = vec![0; 256 * 1024];
    loop {
        let n = server_read.read(&mut rest).await.unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&rest[..n]);
    }
    assert_eq!(hasher.finish(), Received::expect(len));
    sending.await.unwrap().unwrap();
    drop((_client_read, _server_write));
    let relayed = tokio::time::timeout(DEADLINE, relaying)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(relayed.route, Route::Splice);
    assert_eq!(relayed.transfer.a_to_b.bytes, len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_limit_holds_across_the_switch() {
    let limit = 2 * PIPE + 5;
    let len = 3 * PIPE;
    let (client, a) = tcp_pair().await;
    let (b, server) = tcp_pair().await;
    let relaying = relay(Copier::new().limit(limit), a, b);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // The client never closes its write half. Its bytes past the limit
    // stay in the relay's socket unread, until the relay ends and closes
    // it: a write still under way then fails with the reset that close
    // sends, which is no failure of the relay's, as long as the limit's
    // bytes had gone before.
    let sending = tokio::spawn(async move {
        let mut writer = client_write;
        let mut at = 0;
        while at < len {
            let n = (len - at).min(256 * 1024) as usize;
            if let Err(error) = writer.write_all(slice(at, n)).await {
                assert!(
                    matches!(
                        error.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                    ),
                    "{error}"
                );
                assert!(at + n as u64 > limit, "refused at {at}, under the limit");
                return None;
            }
            at += n as u64;
        }
        Some(writer)
    });
    let (relayed, got_up, sent_down, got_down) = tokio::join!(
        relaying,
        receive(server_read),
        send(server_write, 0),
        receive(client_read),
    );
    let relayed = relayed.unwrap().unwrap();
    sent_down.unwrap();
    assert_eq!(got_up.unwrap(), Received::expect(limit));
    assert_eq!(got_down.unwrap(), Received::expect(0));
    assert_eq!(relayed.transfer.a_to_b.bytes, limit);
    assert_eq!(relayed.route, Route::Splice);
    drop(sending.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_paces_the_spliced_stream() {
    let len: u64 = 3 << 20;
    let rate = 12 << 20;
    let (client, a) = tcp_pair().await;
    let (b, server) = tcp_pair().await;
    let started = std::time::Instant::now();
    let relaying = relay(Copier::new().rate_limit(RateLimiter::new(rate)), a, b);
    exchange(relaying, client, server, len, 0).await;
    let elapsed = started.elapsed();
    // 3 MiB at 12 MiB/s is 250 ms, less the 100 ms burst the bucket allows.
    assert!(elapsed >= Duration::from_millis(140), "took {elapsed:?}");
    assert!(elapsed < DEADLINE, "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_keeps_a_stream_in_memory() {
    let len = 3 * PIPE;
    let (client, mut a) = tcp_pair().await;
    let (mut b, server) = tcp_pair().await;
    let relaying = tokio::spawn(async move {
        Copier::new()
            .zero_copy(ZeroCopyMode::Never)
            .bidirectional(&mut a, &mut b)
            .await
    });
    let relayed = exchange(relaying, client, server, len, 0).await;
    assert_eq!(relayed.route, Route::Buffered);
}
