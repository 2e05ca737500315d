//! Every pair of ends the zero-copy table serves, at every interesting
//! size, checked by exact count, content hash and the route taken.

#![cfg(target_os = "linux")]

mod zero_copy_support;

use ferry_io::zero_copy::{Route, ZeroCopyMode};
use ferry_io::Copier;
use tokio::net::unix::pipe;
use tokio::net::UnixStream;
use zero_copy_support::*;

fn auto() -> Copier {
    Copier::new()
}

async fn file_to_file(dir: &TempDir, len: u64) {
    let (from, to) = (
        dir.path(&format!("from-{len}")),
        dir.path(&format!("to-{len}")),
    );
    write_file(&from, len);
    let mut source = tokio::fs::File::open(&from).await.unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let copied = auto()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    assert_eq!(copied.bytes, len);
    // An empty source makes copy_file_range answer 0 at once, which cannot
    // be told from procfs: the buffered engine confirms it.
    let route = if len == 0 {
        Route::Buffered
    } else {
        Route::CopyFileRange
    };
    assert_eq!(copied.route, route, "{len} bytes");
    assert_eq!(hash_file(&to), Received::expect(len), "{len} bytes");
    std::fs::remove_file(from).unwrap();
    std::fs::remove_file(to).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_to_file_uses_copy_file_range() {
    let dir = TempDir::new("file-file");
    for len in SIZES.into_iter().chain([BIG]) {
        file_to_file(&dir, len).await;
    }
}

async fn file_to_stream<D, R>(dir: &TempDir, len: u64, mut sink: D, peer: R)
where
    D: ferry_io::zero_copy::ZeroCopySink + Send + 'static,
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let path = dir.path(&format!("from-{len}"));
    write_file(&path, len);
    let mut source = std::fs::File::open(&path).unwrap();
    let receiving = tokio::spawn(receive(peer));
    let copied = auto()
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    drop(sink);
    assert_eq!((copied.bytes, copied.route), (len, Route::Sendfile));
    assert_eq!(
        receiving.await.unwrap().unwrap(),
        Received::expect(len),
        "{len} bytes"
    );
    std::fs::remove_file(path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_to_tcp_uses_sendfile() {
    let dir = TempDir::new("file-tcp");
    for len in SIZES.into_iter().chain([BIG]) {
        let (sink, peer) = tcp_pair().await;
        file_to_stream(&dir, len, sink, peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_to_unix_uses_sendfile() {
    let dir = TempDir::new("file-unix");
    for len in SIZES.into_iter().chain([BIG]) {
        let (sink, peer) = UnixStream::pair().unwrap();
        file_to_stream(&dir, len, sink, peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_to_pipe_uses_sendfile() {
    let dir = TempDir::new("file-pipe");
    for len in SIZES.into_iter().chain([BIG]) {
        let (sink, peer) = pipe::pipe().unwrap();
        file_to_stream(&dir, len, sink, peer).await;
    }
}

/// Splices from `source` (fed by `feeder` with `len` bytes) into `sink`
/// (read by `peer`).
async fn stream_to_stream<S, D, F, R>(len: u64, mut source: S, feeder: F, mut sink: D, peer: R)
where
    S: ferry_io::zero_copy::ZeroCopySource + Send + 'static,
    D: ferry_io::zero_copy::ZeroCopySink + Send + 'static,
    F: tokio::io::AsyncWrite + Unpin + Send + 'static,
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let feeding = tokio::spawn(send(feeder, len));
    let receiving = tokio::spawn(receive(peer));
    let copied = auto()
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    drop(sink);
    assert_eq!((copied.bytes, copied.route), (len, Route::Splice));
    assert_eq!(
        receiving.await.unwrap().unwrap(),
        Received::expect(len),
        "{len} bytes"
    );
    feeding.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_to_tcp_uses_splice() {
    for len in SIZES.into_iter().chain([BIG]) {
        let (feeder, source) = UnixStream::pair().unwrap();
        let (sink, peer) = tcp_pair().await;
        stream_to_stream(len, source, feeder, sink, peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_to_tcp_uses_splice() {
    for len in SIZES.into_iter().chain([BIG]) {
        let (feeder, source) = pipe::pipe().unwrap();
        let (sink, peer) = tcp_pair().await;
        stream_to_stream(len, source, feeder, sink, peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_to_tcp_uses_splice() {
    for len in SIZES.into_iter().chain([BIG]) {
        let (feeder, source) = tcp_pair().await;
        let (sink, peer) = tcp_pair().await;
        stream_to_stream(len, source, feeder, sink, peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_to_file_uses_splice() {
    let dir = TempDir::new("tcp-file");
    for len in SIZES.into_iter().chain([BIG]) {
        let path = dir.path(&format!("to-{len}"));
        let (feeder, mut source) = tcp_pair().await;
        let mut sink = tokio::fs::File::create(&path).await.unwrap();
        let feeding = tokio::spawn(send(feeder, len));
        let copied = auto()
            .zero_copy(ZeroCopyMode::Always)
            .copy(&mut source, &mut sink)
            .await
            .unwrap();
        assert_eq!((copied.bytes, copied.route), (len, Route::Splice));
        feeding.await.unwrap().unwrap();
        drop(sink);
        assert_eq!(hash_file(&path), Received::expect(len), "{len} bytes");
        std::fs::remove_file(path).unwrap();
    }
}

/// The relay both ways at once: `a_to_b` bytes from the client, `b_to_a`
/// from the server, each checked where it lands.
async fn relay(a_to_b: u64, b_to_a: u64) {
    let (client, mut a) = tcp_pair().await;
    let (mut b, server) = tcp_pair().await;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = tokio::spawn(send(client_write, a_to_b));
    let down = tokio::spawn(send(server_write, b_to_a));
    let at_server = tokio::spawn(receive(server_read));
    let at_client = tokio::spawn(receive(client_read));
    let relayed = auto()
        .zero_copy(ZeroCopyMode::Always)
        .bidirectional(&mut a, &mut b)
        .await
        .unwrap();
    assert_eq!(relayed.route, Route::Splice);
    assert_eq!(
        (relayed.transfer.a_to_b.bytes, relayed.transfer.b_to_a.bytes),
        (a_to_b, b_to_a)
    );
    assert_eq!(at_server.await.unwrap().unwrap(), Received::expect(a_to_b));
    assert_eq!(at_client.await.unwrap().unwrap(), Received::expect(b_to_a));
    up.await.unwrap().unwrap();
    down.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_relay_splices_both_directions() {
    for len in SIZES {
        relay(
            len,
            SIZES[(SIZES.iter().position(|s| *s == len).unwrap() + 2) % SIZES.len()],
        )
        .await;
    }
    relay(BIG, 3 * PIPE + 17).await;
    relay(1, BIG).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_to_pipe_splices_straight_across() {
    for len in SIZES.into_iter().chain([BIG]) {
        let (feeder, source) = pipe::pipe().unwrap();
        let (sink, peer) = pipe::pipe().unwrap();
        stream_to_stream(len, source, feeder, sink, peer).await;
    }
}

/// A full sink while the source still holds bytes its writer has finished
/// with: the source's readiness must survive (no new edge will come), or
/// the copy hangs once the sink drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_to_pipe_survives_a_slow_reader_after_the_writer_closed() {
    use tokio::io::AsyncReadExt;
    let len = 3 * PIPE + 17;
    let (feeder, mut source) = pipe::pipe().unwrap();
    let (mut sink, mut peer) = pipe::pipe().unwrap();
    let feeding = tokio::spawn(send(feeder, len));
    let slow = tokio::spawn(async move {
        let mut chunk = vec![0; 32 << 10];
        let mut got = 0u64;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            match peer.read(&mut chunk).await? {
                0 => return std::io::Result::Ok(got),
                n => got += n as u64,
            }
        }
    });
    let copied = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        auto()
            .zero_copy(ZeroCopyMode::Auto)
            .copy(&mut source, &mut sink),
    )
    .await
    .expect("the copy hung")
    .unwrap();
    drop(sink);
    assert_eq!((copied.bytes, copied.route), (len, Route::Splice));
    feeding.await.unwrap().unwrap();
    assert_eq!(slow.await.unwrap().unwrap(), len);
}

/// The reader of the sink took every byte and left before the splice that
/// would have found the source's EOF: that splice meets EPIPE first (the
/// kernel looks at the sink's readers before the source's writers), which
/// is no failure with nothing left to write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_to_pipe_ends_well_when_the_reader_left_after_the_last_byte() {
    use std::io::ErrorKind;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = std::time::Duration::from_secs(20);

    // Nothing at all to move, and nobody to take it.
    let (feeder, mut source) = pipe::pipe().unwrap();
    drop(feeder);
    let (mut sink, peer) = pipe::pipe().unwrap();
    drop(peer);
    let copied = auto()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    assert_eq!((copied.bytes, copied.route), (0, Route::Splice));

    // Every byte taken; the reader leaves, then the writer.
    let len = 3 * PIPE + 17;
    let (mut feeder, mut source) = pipe::pipe().unwrap();
    let (mut sink, mut peer) = pipe::pipe().unwrap();
    let copying = tokio::spawn(async move {
        auto()
            .zero_copy(ZeroCopyMode::Auto)
            .copy(&mut source, &mut sink)
            .await
    });
    let data = vec![7; len as usize];
    let mut got = vec![0; len as usize];
    let (fed, read) = tokio::join!(feeder.write_all(&data), peer.read_exact(&mut got));
    fed.unwrap();
    read.unwrap();
    drop(peer);
    // Let the copy wait on the source again before its writer closes.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    drop(feeder);
    let copied = tokio::time::timeout(timeout, copying)
        .await
        .expect("the copy hung")
        .unwrap()
        .unwrap();
    assert_eq!((copied.bytes, copied.route), (len, Route::Splice));

    // Bytes the reader never took are a failure, as they always were.
    let (mut feeder, mut source) = pipe::pipe().unwrap();
    feeder.write_all(b"unread").await.unwrap();
    drop(feeder);
    let (mut sink, peer) = pipe::pipe().unwrap();
    drop(peer);
    let err = auto()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    assert_eq!(err.counts().a_to_b.written, 0);
}
