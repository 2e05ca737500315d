//! A `Copier`'s options on futures-io ends, run from smol with no tokio
//! runtime: its byte limit, rate limit, idle timeout, linger, progress and
//! stop signal, whose timers must then be async-io's, not tokio's.

use std::io;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use ferry_io::{Copier, Direction, Progress, RateLimiter, Step, StopSignal};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::unix::UnixStream;

use crate::support::{pattern, run_smol};

#[test]
fn limit_stops_reading_at_the_limit() {
    let mut reader: &[u8] = b"header|body";
    let mut header = Vec::new();
    let copied = run_smol(
        Copier::new()
            .limit(6)
            .futures()
            .copy(&mut reader, &mut header),
    );
    assert_eq!(copied.unwrap(), 6);
    assert_eq!((header.as_slice(), reader), (&b"header"[..], &b"|body"[..]));
}

#[test]
fn rate_limit_holds_a_copy_to_its_rate() {
    const RATE: u64 = 256 * 1024;
    const SIZE: usize = 128 * 1024;
    let data = pattern(SIZE, 5);
    let progress = Progress::new();
    let copier = Copier::new()
        .rate_limit(RateLimiter::new(RATE))
        .progress(progress.clone());
    let (mut reader, mut writer) = (&data[..], Vec::new());
    let started = Instant::now();
    let copied = run_smol(copier.futures().copy(&mut reader, &mut writer)).unwrap();
    let took = started.elapsed();
    assert_eq!(copied, SIZE as u64);
    assert!(writer == data);
    assert_eq!(progress.snapshot().a_to_b.written, SIZE as u64);
    // No faster than the rate allows past the bucket's first grant (1% of
    // a second's bytes): the limiter's timer really waited.
    let least = Duration::from_secs_f64((SIZE as f64 - RATE as f64 / 100.0) / RATE as f64);
    assert!(took >= least, "{SIZE} B at {RATE} B/s took {took:?}");
}

#[test]
fn idle_timeout_ends_a_silent_copy_with_its_counts() {
    let (mut talker, mut reader) = UnixStream::pair().unwrap();
    let copier = Copier::new().idle_timeout(Duration::from_millis(200));
    let mut received = Vec::new();
    let err = run_smol(async {
        talker.write_all(&[1; 100]).await.unwrap();
        // Then silence, with the stream still open.
        copier.futures().copy(&mut reader, &mut received).await
    })
    .unwrap_err();
    assert_eq!(err.step(), Step::IdleTimeout);
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(
        (err.counts().a_to_b.read, err.counts().a_to_b.written),
        (100, 100)
    );
    assert_eq!(received, [1; 100]);
    drop(talker);
}

#[test]
fn linger_ends_a_relay_whose_other_direction_goes_on() {
    let (mut client, mut a) = UnixStream::pair().unwrap();
    let (mut b, mut server) = UnixStream::pair().unwrap();
    let err = run_smol(async {
        // The client is done at once; the server never finishes.
        client.write_all(b"bye").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let copier = Copier::new().linger(Duration::from_millis(200));
        let relay = copier.futures().bidirectional(&mut a, &mut b).await;
        let mut seen = Vec::new();
        server.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, b"bye");
        relay
    })
    .unwrap_err();
    assert_eq!(err.step(), Step::LingerTimeout);
    assert_eq!(err.direction(), Some(Direction::BToA));
    assert_eq!(err.counts().a_to_b.written, 3);
    assert_eq!(err.counts().b_to_a.written, 0);
}

#[test]
fn stop_ends_a_waiting_copy_with_exact_counts() {
    let (mut talker, mut reader) = UnixStream::pair().unwrap();
    let (stop, progress) = (StopSignal::new(), Progress::new());
    let copier = Copier::new()
        .stop_on(stop.clone())
        .progress(progress.clone());
    let mut received = Vec::new();
    let copied = run_smol(async {
        talker.write_all(b"before the stop").await.unwrap();
        let stopping = smol::spawn(async move {
            // Once the copy has written those bytes, it waits for more.
            while progress.snapshot().a_to_b.written < 15 {
                smol::Timer::after(Duration::from_millis(5)).await;
            }
            stop.stop();
        });
        let copied = copier.futures().copy(&mut reader, &mut received).await;
        stopping.await;
        copied
    });
    assert_eq!(copied.unwrap(), 15);
    assert_eq!(received, b"before the stop");
    drop(talker);
}
