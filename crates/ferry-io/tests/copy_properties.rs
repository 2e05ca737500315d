//! Property tests: every front end copies byte-exactly through scripted ends
//! with random chunk sizes, `Pending`, `Interrupted` and failures.

mod support;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use proptest::prelude::*;
use support::{run, runtime, script, ScriptedReader, ScriptedWriter};
use tokio::io::BufReader;

fn data() -> impl Strategy<Value = Vec<u8>> {
    (0usize..40_000, any::<u64>()).prop_map(|(len, seed)| support::pattern(len, seed))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2500,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// `copy` delivers every byte in order, reports the exact count and
    /// flushes after the last write.
    #[test]
    fn copy_is_byte_exact(data in data(), reads in script(), writes in script(), flushes in script()) {
        let rt = runtime();
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, flushes);
        let n = run(&rt, ferry_io::copy(&mut reader, &mut writer)).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(&writer.received, &data);
        prop_assert_eq!(writer.flushed, data.len());
        prop_assert!(writer.flushes >= 1);
    }

    /// The engine at any capacity is byte-exact and its counters agree.
    #[test]
    fn engine_at_any_capacity_is_byte_exact(
        data in data(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        flushes in script(),
    ) {
        let rt = runtime();
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, flushes);
        let mut engine = ferry_io::CopyBuffer::with_capacity(capacity);
        let n = run(&rt, poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)))).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(engine.bytes_read(), data.len() as u64);
        prop_assert_eq!(engine.bytes_written(), data.len() as u64);
        prop_assert_eq!(engine.buffered(), 0);
        prop_assert!(engine.is_read_done());
        prop_assert_eq!(&writer.received, &data);
        prop_assert_eq!(writer.flushed, data.len());
    }

    /// `copy_buf` through a `BufReader` of any capacity is byte-exact.
    #[test]
    fn copy_buf_is_byte_exact(
        data in data(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        flushes in script(),
    ) {
        let rt = runtime();
        let mut reader = BufReader::with_capacity(capacity, ScriptedReader::new(data.clone(), reads));
        let mut writer = ScriptedWriter::new(writes, flushes);
        let n = run(&rt, ferry_io::copy_buf(&mut reader, &mut writer)).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(&writer.received, &data);
        prop_assert_eq!(writer.flushed, data.len());
    }

    /// A reader failing part-way ends the copy with its error; everything
    /// written is a prefix of what was read, and the counts say so.
    #[test]
    fn reader_failure_keeps_exact_counts(
        data in data(),
        fail_at in any::<prop::sample::Index>(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
    ) {
        let fail_at = fail_at.index(data.len() + 1);
        let rt = runtime();
        let mut reader = ScriptedReader::new(data.clone(), reads).failing_at(fail_at);
        let mut writer = ScriptedWriter::new(writes, vec![]);
        let mut engine = ferry_io::CopyBuffer::with_capacity(capacity);
        let err = run(&rt, poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)))).unwrap_err();
        prop_assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        prop_assert_eq!(engine.bytes_read(), fail_at as u64);
        prop_assert_eq!(engine.bytes_written(), writer.received.len() as u64);
        prop_assert_eq!(engine.bytes_read() - engine.bytes_written(), engine.buffered() as u64);
        prop_assert_eq!(&writer.received[..], &data[..writer.received.len()]);
    }

    /// A writer failing part-way ends the copy with its error after taking
    /// exactly the bytes before the failure.
    #[test]
    fn writer_failure_keeps_exact_counts(
        data in data(),
        fail_at in any::<prop::sample::Index>(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
    ) {
        let fail_at = fail_at.index(data.len().max(1));
        let rt = runtime();
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, vec![]).failing_at(fail_at);
        let mut engine = ferry_io::CopyBuffer::with_capacity(capacity);
        let result = run(&rt, poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer))));
        if data.is_empty() {
            prop_assert_eq!(result.unwrap(), 0);
        } else {
            prop_assert_eq!(result.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
            prop_assert_eq!(&writer.received[..], &data[..fail_at]);
            prop_assert_eq!(engine.bytes_written(), fail_at as u64);
            prop_assert!(engine.bytes_read() >= fail_at as u64);
            prop_assert_eq!(reader.position() as u64, engine.bytes_read());
        }
    }

    /// A copy paused at any point (its future dropped while pending) and
    /// resumed with the same engine loses and repeats nothing.
    #[test]
    fn engine_resumes_after_being_dropped_mid_copy(
        data in data(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        pauses in prop::collection::vec(1usize..50, 0..8),
    ) {
        let rt = runtime();
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, vec![]);
        let mut engine = ferry_io::CopyBuffer::with_capacity(capacity);
        let n = run(&rt, async {
            for polls in pauses {
                // Poll the copy a few times, then drop that future.
                let mut left = polls;
                let finished = poll_fn(|cx| {
                    match engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)) {
                        std::task::Poll::Ready(done) => std::task::Poll::Ready(Some(done)),
                        std::task::Poll::Pending if left == 0 => std::task::Poll::Ready(None),
                        std::task::Poll::Pending => { left -= 1; std::task::Poll::Pending }
                    }
                }).await;
                if let Some(done) = finished {
                    return done;
                }
            }
            poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer))).await
        }).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(&writer.received, &data);
    }
}
