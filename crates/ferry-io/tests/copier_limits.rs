//! The Copier's byte limit never reads past the limit, and its rate limits
//! hold a copy to the rate, alone or shared, and follow changes at once.

mod support;

use std::time::Duration;

use ferry_io::{Copier, RateLimiter};
use proptest::prelude::*;
use support::{run, runtime, script, ScriptedReader, ScriptedWriter};
use tokio::io::{AsyncReadExt, BufReader};
use tokio::time::Instant;

fn data() -> impl Strategy<Value = Vec<u8>> {
    (0usize..30_000, any::<u64>()).prop_map(|(len, seed)| support::pattern(len, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// `copy` with a limit writes exactly the first `limit` bytes and leaves
    /// the reader positioned right after them.
    #[test]
    fn byte_limit_never_reads_past_the_limit(
        data in data(),
        limit in 0u64..35_000,
        buffer in prop_oneof![Just(None), (1usize..10_000).prop_map(Some)],
        reads in script(),
        writes in script(),
    ) {
        let rt = runtime();
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, vec![]);
        let copier = match buffer {
            Some(size) => Copier::new().buffer_size(size),
            None => Copier::new().adaptive_buffer(1, 1 << 16),
        }
        .limit(limit);
        let n = run(&rt, copier.copy(&mut reader, &mut writer)).unwrap();
        let expected = data.len().min(limit as usize);
        prop_assert_eq!(n, expected as u64);
        prop_assert_eq!(reader.position(), expected);
        prop_assert_eq!(&writer.received[..], &data[..expected]);
    }

    /// `copy_buf` with a limit consumes exactly `limit` bytes of the
    /// buffered reader; the rest is still there to read.
    #[test]
    fn byte_limit_on_copy_buf_leaves_the_rest_readable(
        data in data(),
        limit in 0u64..35_000,
        capacity in 1usize..10_000,
        reads in script(),
        writes in script(),
    ) {
        let rt = runtime();
        let mut reader = BufReader::with_capacity(capacity, ScriptedReader::new(data.clone(), reads));
        let mut writer = ScriptedWriter::new(writes, vec![]);
        let n = run(&rt, Copier::new().limit(limit).copy_buf(&mut reader, &mut writer)).unwrap();
        let expected = data.len().min(limit as usize);
        prop_assert_eq!(n, expected as u64);
        prop_assert_eq!(&writer.received[..], &data[..expected]);
        let mut rest = Vec::new();
        run(&rt, reader.read_to_end(&mut rest)).unwrap();
        prop_assert_eq!(&rest[..], &data[expected..]);
    }
}

/// Copies `total` bytes under `limiter` on tokio's paused clock and returns
/// the virtual time it took.
async fn paused_copy_time(total: u64, copier: Copier) -> Duration {
    let started = Instant::now();
    let mut reader = tokio::io::repeat(1).take(total);
    let copied = copier
        .copy(&mut reader, &mut tokio::io::sink())
        .await
        .unwrap();
    assert_eq!(copied, total);
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn rate_limit_is_accurate_from_64_kib_to_1_gib_per_second() {
    for rate in [64 << 10, 1 << 20, 10 << 20, 100 << 20, 1 << 30] {
        let total = 2 * rate;
        let took = paused_copy_time(total, Copier::new().rate_limit(RateLimiter::new(rate))).await;
        let error = (took.as_secs_f64() - 2.0).abs() / 2.0;
        assert!(error < 0.05, "{rate} B/s: 2 s of bytes took {took:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn reads_that_wait_give_their_allowance_back() {
    // A reader that is pending before every chunk must still get the full rate.
    let rate = 256 << 10;
    let data = vec![5u8; 2 * rate];
    let steps = vec![support::Step::Pending, support::Step::Ready(4096)];
    let mut reader = ScriptedReader::new(data.clone(), steps);
    let mut writer = ScriptedWriter::new(vec![], vec![]);
    let started = Instant::now();
    let copier = Copier::new().rate_limit(RateLimiter::new(rate as u64));
    assert_eq!(
        copier.copy(&mut reader, &mut writer).await.unwrap(),
        data.len() as u64
    );
    let took = started.elapsed().as_secs_f64();
    assert!((took - 2.0).abs() < 0.1, "2 s of bytes took {took} s");
    assert!(writer.received == data);
}

#[tokio::test(start_paused = true)]
async fn a_shared_limiter_holds_many_copies_to_one_budget() {
    let limiter = RateLimiter::new(1 << 20);
    let copier = Copier::new().rate_limit(limiter);
    let started = Instant::now();
    let copies: Vec<_> = (0..4)
        .map(|_| tokio::spawn(paused_copy_time(512 << 10, copier.clone())))
        .collect();
    for copy in copies {
        copy.await.unwrap();
    }
    // 4 × 512 KiB at 1 MiB/s together: two seconds.
    let took = started.elapsed().as_secs_f64();
    assert!((took - 2.0).abs() < 0.1, "took {took} s");
}

#[tokio::test(start_paused = true)]
async fn two_limiters_both_apply() {
    let copier = Copier::new()
        .rate_limit(RateLimiter::new(4 << 20))
        .rate_limit(RateLimiter::new(1 << 20));
    let took = paused_copy_time(2 << 20, copier).await.as_secs_f64();
    assert!((took - 2.0).abs() < 0.1, "took {took} s");
}

#[tokio::test(start_paused = true)]
async fn changing_a_shared_rate_takes_effect_at_once() {
    let limiter = RateLimiter::new(1 << 20);
    let copying = tokio::spawn(paused_copy_time(
        3 << 20,
        Copier::new().rate_limit(limiter.clone()),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // 1 MiB done; the other 2 MiB at 4 MiB/s take half a second.
    limiter.set_rate(4 << 20);
    let took = copying.await.unwrap().as_secs_f64();
    assert!((took - 1.5).abs() < 0.05, "took {took} s");

    limiter.set_rate(256 << 10);
    let took = paused_copy_time(512 << 10, Copier::new().rate_limit(limiter))
        .await
        .as_secs_f64();
    assert!(
        (took - 2.0).abs() < 0.1,
        "after lowering the rate took {took} s"
    );
}

#[tokio::test]
async fn rate_limit_holds_in_real_time() {
    // The one test on the wall clock: generous bounds for a shared machine.
    let started = std::time::Instant::now();
    let mut reader = tokio::io::repeat(1).take(1 << 20);
    let copier = Copier::new().rate_limit(RateLimiter::new(1 << 20));
    copier
        .copy(&mut reader, &mut tokio::io::sink())
        .await
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(
        (0.85..3.0).contains(&took),
        "1 MiB at 1 MiB/s took {took} s"
    );
}

#[tokio::test]
async fn bidirectional_limit_applies_to_each_direction() {
    use tokio::io::AsyncWriteExt;
    let (mut client, mut a) = tokio::io::duplex(1 << 16);
    let (mut b, mut server) = tokio::io::duplex(1 << 16);
    let relay = tokio::spawn(async move {
        Copier::new()
            .limit(1000)
            .bidirectional(&mut a, &mut b)
            .await
    });
    client.write_all(&[1; 5000]).await.unwrap();
    server.write_all(&[2; 3000]).await.unwrap();
    let mut up = vec![0; 1000];
    server.read_exact(&mut up).await.unwrap();
    let mut down = vec![0; 1000];
    client.read_exact(&mut down).await.unwrap();
    let transfer = relay.await.unwrap().unwrap();
    assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (1000, 1000));
    // Both write halves were shut down after the limit.
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
    assert_eq!(client.read(&mut [0; 1]).await.unwrap(), 0);
}
