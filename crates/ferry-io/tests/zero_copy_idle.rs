//! A zero-copy relay that has nothing to move must not burn CPU: stale
//! readiness (a `WouldBlock` that did not clear tokio's cached readiness)
//! would make it spin. Alone in its own test binary, because it measures the
//! CPU time of the whole process.

#![cfg(target_os = "linux")]

mod zero_copy_support;

use std::time::{Duration, Instant};

use ferry_io::zero_copy::ZeroCopyMode;
use ferry_io::Copier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zero_copy_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_splice_relay_does_not_spin() {
    let (mut client, mut a) = tcp_pair().await;
    let (mut b, mut server) = tcp_pair().await;
    let relay = tokio::spawn(async move {
        let copier = Copier::new();
        copier
            .zero_copy(ZeroCopyMode::Always)
            .bidirectional(&mut a, &mut b)
            .await
    });
    // Move a few bytes first, so both pipes and readiness states are live.
    client.write_all(b"hello").await.unwrap();
    let mut got = [0; 5];
    server.read_exact(&mut got).await.unwrap();
    let cpu_before = cpu_time();
    let wall = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu = cpu_time() - cpu_before;
    let share = cpu.as_secs_f64() / wall.elapsed().as_secs_f64();
    assert!(
        share < 0.05,
        "idle relay used {:.1}% of a core",
        share * 100.0
    );
    drop((client, server));
    let _ = relay.await.unwrap();
}
