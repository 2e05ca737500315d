//! A copy flushes a buffered writer whenever its reader stalls, so a peer that
//! answers only after seeing the bytes cannot deadlock it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};

const ROUNDS: u8 = 100;

/// The peer sends one byte, then waits to see it come back before sending the next.
async fn ping_pong_peer(
    mut to_copy: tokio::io::DuplexStream,
    mut from_copy: tokio::io::DuplexStream,
) {
    for round in 0..ROUNDS {
        to_copy.write_all(&[round]).await.unwrap();
        let mut echoed = [0u8; 1];
        from_copy.read_exact(&mut echoed).await.unwrap();
        assert_eq!(echoed[0], round);
    }
    to_copy.shutdown().await.unwrap();
}

#[tokio::test]
async fn copy_flushes_when_the_reader_waits_on_the_writer() {
    let (peer_out, mut reader) = tokio::io::duplex(1024);
    let (writer, peer_in) = tokio::io::duplex(1024);
    // The BufWriter holds every byte until flushed: only flush-on-stall frees them.
    let mut writer = BufWriter::new(writer);
    let peer = tokio::spawn(ping_pong_peer(peer_out, peer_in));
    let copied = tokio::time::timeout(
        Duration::from_secs(10),
        ferry_io::copy(&mut reader, &mut writer),
    )
    .await
    .expect("the copy deadlocked")
    .unwrap();
    assert_eq!(copied, u64::from(ROUNDS));
    peer.await.unwrap();
}

#[tokio::test]
async fn copy_buf_flushes_when_the_reader_waits_on_the_writer() {
    let (peer_out, reader) = tokio::io::duplex(1024);
    let (writer, peer_in) = tokio::io::duplex(1024);
    let mut reader = BufReader::new(reader);
    let mut writer = BufWriter::new(writer);
    let peer = tokio::spawn(ping_pong_peer(peer_out, peer_in));
    let copied = tokio::time::timeout(
        Duration::from_secs(10),
        ferry_io::copy_buf(&mut reader, &mut writer),
    )
    .await
    .expect("the copy deadlocked")
    .unwrap();
    assert_eq!(copied, u64::from(ROUNDS));
    peer.await.unwrap();
}
