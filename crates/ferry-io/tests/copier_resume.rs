//! A CopyJob whose run future is dropped mid-copy resumes without losing or
//! repeating a byte.

mod support;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use ferry_io::Copier;
use proptest::prelude::*;
use support::{run, runtime, script, ScriptedReader, ScriptedWriter};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn cancel_and_resume_loses_nothing(
        (len, seed) in (0usize..40_000, any::<u64>()),
        reads in script(),
        writes in script(),
        pauses in prop::collection::vec(1usize..40, 0..10),
        limit in prop_oneof![Just(None), (0u64..50_000).prop_map(Some)],
    ) {
        let data = support::pattern(len, seed);
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, vec![]);
        let copier = match limit {
            Some(limit) => Copier::new().limit(limit),
            None => Copier::new(),
        };
        let mut job = copier.adaptive_buffer(1, 1 << 15).job();
        let rt = runtime();
        let n = run(&rt, async {
            for polls in pauses {
                // Poll a fresh run future `polls` times, then drop it.
                let mut fut = pin!(job.run(&mut reader, &mut writer));
                let mut left = polls;
                let finished = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
                    Poll::Ready(done) => Poll::Ready(Some(done)),
                    Poll::Pending if left == 0 => Poll::Ready(None),
                    Poll::Pending => { left -= 1; Poll::Pending }
                }).await;
                if let Some(done) = finished {
                    return done;
                }
            }
            job.run(&mut reader, &mut writer).await
        }).unwrap();
        let expected = limit.map_or(len, |limit| len.min(limit as usize));
        prop_assert_eq!(n, expected as u64);
        prop_assert_eq!(&writer.received[..], &data[..expected]);
        prop_assert_eq!(job.counts().a_to_b.written, expected as u64);
    }
}

#[tokio::test]
async fn a_job_paused_in_select_resumes_where_it_stopped() {
    use tokio::io::AsyncReadExt;
    let data = support::pattern(1 << 20, 9);
    let (mut tx, mut rx) = tokio::io::duplex(4096);
    let mut job = Copier::new().job();
    let mut reader = &data[..];
    // Nobody reads: the run stalls with bytes in its buffer, and the timer wins.
    tokio::select! {
        _ = job.run(&mut reader, &mut tx) => panic!("cannot finish while nobody reads"),
        _ = tokio::time::sleep(Duration::from_millis(20)) => {}
    }
    let counts = job.counts();
    assert!(
        counts.a_to_b.read > counts.a_to_b.written,
        "bytes were held in the buffer: {counts:?}"
    );
    let reading = tokio::spawn(async move {
        let mut all = Vec::new();
        rx.read_to_end(&mut all).await.unwrap();
        all
    });
    assert_eq!(
        job.run(&mut reader, &mut tx).await.unwrap(),
        data.len() as u64
    );
    drop(tx);
    assert!(reading.await.unwrap() == data);
}
