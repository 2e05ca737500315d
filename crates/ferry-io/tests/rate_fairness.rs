//! A rate limiter shared by several copies, or by both directions of one
//! relay, splits its rate evenly between those that want more than their
//! share; and waiting on a rate limit is not idleness.

use std::time::Duration;

use ferry_io::{Copier, Progress, RateLimiter};

/// Both ends send without end and read everything.
fn endless_duplex() -> tokio::io::Join<tokio::io::Repeat, tokio::io::Sink> {
    tokio::io::join(tokio::io::repeat(7), tokio::io::sink())
}

/// Whether `share` is within 10% of `fair`.
fn even(share: u64, fair: u64) -> bool {
    share.abs_diff(fair) * 10 <= fair
}

#[tokio::test(start_paused = true)]
async fn a_shared_limiter_splits_evenly_between_the_directions_of_a_relay() {
    const RATE: u64 = 2 << 20;
    let progress = Progress::new();
    let copier = Copier::new()
        .rate_limit(RateLimiter::new(RATE))
        .progress(progress.clone());
    let relay = tokio::spawn(async move {
        let (mut a, mut b) = (endless_duplex(), endless_duplex());
        copier.bidirectional(&mut a, &mut b).await
    });
    tokio::time::sleep(Duration::from_secs(10)).await;
    relay.abort();
    let counts = progress.snapshot();
    let (up, down) = (counts.a_to_b.written, counts.b_to_a.written);
    let fair = RATE * 10 / 2;
    assert!(
        even(up, fair) && even(down, fair),
        "a to b {up} B, b to a {down} B in 10 s at {RATE} B/s shared"
    );
}

#[tokio::test(start_paused = true)]
async fn connections_sharing_a_limiter_get_even_shares() {
    const RATE: u64 = 4 << 20;
    const CONNECTIONS: usize = 4;
    let limiter = RateLimiter::new(RATE);
    let mut copies = Vec::new();
    let mut progresses = Vec::new();
    for _ in 0..CONNECTIONS {
        let progress = Progress::new();
        let copier = Copier::new()
            .rate_limit(limiter.clone())
            .progress(progress.clone());
        progresses.push(progress);
        copies.push(tokio::spawn(async move {
            copier
                .copy(&mut tokio::io::repeat(1), &mut tokio::io::sink())
                .await
        }));
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    for copy in &copies {
        copy.abort();
    }
    let fair = RATE * 10 / CONNECTIONS as u64;
    let shares: Vec<u64> = progresses
        .iter()
        .map(|progress| progress.snapshot().a_to_b.written)
        .collect();
    assert!(
        shares.iter().all(|share| even(*share, fair)),
        "shares {shares:?} of {RATE} B/s for 10 s, fair {fair}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_echo_through_a_shared_limiter_keeps_moving_both_ways() {
    // The upstream echoes: if one direction starves, both stall.
    const RATE: u64 = 1 << 20;
    let progress = Progress::new();
    let copier = Copier::new()
        .rate_limit(RateLimiter::new(RATE))
        .progress(progress.clone());
    let (mut client, mut a) = tokio::io::duplex(64 * 1024);
    let (mut b, upstream) = tokio::io::duplex(64 * 1024);
    let relay = tokio::spawn(async move { copier.bidirectional(&mut a, &mut b).await });
    let echo = tokio::spawn(async move {
        let (mut from, mut to) = tokio::io::split(upstream);
        tokio::io::copy(&mut from, &mut to).await
    });
    let (mut client_in, mut client_out) = tokio::io::split(&mut client);
    let pump = async {
        let mut source = tokio::io::repeat(3);
        tokio::io::copy(&mut source, &mut client_out).await
    };
    let drain = async { tokio::io::copy(&mut client_in, &mut tokio::io::sink()).await };
    tokio::select! {
        _ = pump => {}
        _ = drain => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    relay.abort();
    echo.abort();
    let counts = progress.snapshot();
    let (up, down) = (counts.a_to_b.written, counts.b_to_a.written);
    let fair = RATE * 10 / 2;
    assert!(
        even(up, fair) && even(down, fair),
        "up {up} B, down {down} B in 10 s through an echo at {RATE} B/s shared"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_on_a_rate_limit_is_not_idleness() {
    // 5 bytes at 1 B/s take about 4 s; the idle timeout is 800 ms: bytes
    // move at the set rate, so the copy is not idle.
    let copier = Copier::new()
        .limit(5)
        .rate_limit(RateLimiter::new(1))
        .idle_timeout(Duration::from_millis(800));
    let copied = copier
        .copy(&mut tokio::io::repeat(0), &mut tokio::io::sink())
        .await
        .expect("a rate-limited copy is not idle");
    assert_eq!(copied, 5);
}
