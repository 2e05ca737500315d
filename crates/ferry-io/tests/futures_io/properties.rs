//! Property tests: every futures-io front end copies byte-exactly through
//! the scripted ends the tokio tests use, with random chunk sizes,
//! `Pending`, `Interrupted` and failures at random offsets.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ferry_io::Copier;
use futures::io::{AsyncRead, AsyncWrite, BufReader};
use proptest::prelude::*;

use crate::support::{pattern, run_smol, script, ScriptedReader, ScriptedWriter};

fn data() -> impl Strategy<Value = Vec<u8>> {
    (0usize..40_000, any::<u64>()).prop_map(|(len, seed)| pattern(len, seed))
}

fn config() -> ProptestConfig {
    // The engine's own properties run 2,500 cases through tokio's traits;
    // these check what the futures-io front ends add around it.
    ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    }
}

/// One side of a two-way copy: a scripted reader and writer as one stream.
struct Joined {
    reader: ScriptedReader,
    writer: ScriptedWriter,
}

impl AsyncRead for Joined {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for Joined {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_close(cx)
    }
}

proptest! {
    #![proptest_config(config())]

    /// `copy` delivers every byte in order, reports the exact count and
    /// flushes after the last write.
    #[test]
    fn copy_is_byte_exact(data in data(), reads in script(), writes in script(), flushes in script()) {
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, flushes);
        let n = run_smol(ferry_io::futures::copy(&mut reader, &mut writer)).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(&writer.received, &data);
        prop_assert_eq!(writer.flushed, data.len());
        prop_assert!(writer.flushes >= 1);
    }

    /// `copy_buf` through futures' `BufReader` of any capacity is byte-exact.
    #[test]
    fn copy_buf_is_byte_exact(
        data in data(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        flushes in script(),
    ) {
        let mut reader = BufReader::with_capacity(capacity, ScriptedReader::new(data.clone(), reads));
        let mut writer = ScriptedWriter::new(writes, flushes);
        let n = run_smol(ferry_io::futures::copy_buf(&mut reader, &mut writer)).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(&writer.received, &data);
        prop_assert_eq!(writer.flushed, data.len());
    }

    /// Both directions of `copy_bidirectional_with_sizes` are byte-exact,
    /// and each sink is closed once, after its last byte.
    #[test]
    fn copy_bidirectional_is_byte_exact(
        a_data in data(),
        b_data in data(),
        sizes in (1usize..20_000, 1usize..20_000),
        scripts in (script(), script(), script(), script()),
    ) {
        let (a_reads, a_writes, b_reads, b_writes) = scripts;
        let mut a = Joined {
            reader: ScriptedReader::new(a_data.clone(), a_reads),
            writer: ScriptedWriter::new(a_writes, vec![]),
        };
        let mut b = Joined {
            reader: ScriptedReader::new(b_data.clone(), b_reads),
            writer: ScriptedWriter::new(b_writes, vec![]),
        };
        let moved = run_smol(ferry_io::futures::copy_bidirectional_with_sizes(&mut a, &mut b, sizes.0, sizes.1)).unwrap();
        prop_assert_eq!(moved, (a_data.len() as u64, b_data.len() as u64));
        prop_assert_eq!(&b.writer.received, &a_data);
        prop_assert_eq!(&a.writer.received, &b_data);
        prop_assert_eq!((a.writer.shutdowns, b.writer.shutdowns), (1, 1));
        prop_assert_eq!((a.writer.flushed, b.writer.flushed), (b_data.len(), a_data.len()));
    }

    /// A reader failing part-way ends a `Copier` copy with its error, after
    /// every byte read before the failure was written; the counts say so.
    #[test]
    fn reader_failure_keeps_exact_counts(
        data in data(),
        fail_at in any::<prop::sample::Index>(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
    ) {
        let fail_at = fail_at.index(data.len() + 1);
        let mut reader = ScriptedReader::new(data.clone(), reads).failing_at(fail_at);
        let mut writer = ScriptedWriter::new(writes, vec![]);
        let copier = Copier::new().buffer_size(capacity);
        let err = run_smol(copier.futures().copy(&mut reader, &mut writer)).unwrap_err();
        prop_assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        prop_assert_eq!(err.step(), ferry_io::Step::Read);
        let counts = err.counts().a_to_b;
        prop_assert_eq!(counts.read, fail_at as u64);
        prop_assert_eq!(counts.written, fail_at as u64);
        prop_assert_eq!(&writer.received[..], &data[..fail_at]);
    }

    /// A writer failing part-way ends a `Copier` copy with its error after
    /// taking exactly the bytes before the failure.
    #[test]
    fn writer_failure_keeps_exact_counts(
        data in data(),
        fail_at in any::<prop::sample::Index>(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
    ) {
        let fail_at = fail_at.index(data.len().max(1));
        let mut reader = ScriptedReader::new(data.clone(), reads);
        let mut writer = ScriptedWriter::new(writes, vec![]).failing_at(fail_at);
        let copier = Copier::new().buffer_size(capacity);
        let result = run_smol(copier.futures().copy(&mut reader, &mut writer));
        if data.is_empty() {
            prop_assert_eq!(result.unwrap(), 0);
        } else {
            let err = result.unwrap_err();
            prop_assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
            prop_assert_eq!(err.step(), ferry_io::Step::Write);
            let counts = err.counts().a_to_b;
            prop_assert_eq!(&writer.received[..], &data[..fail_at]);
            prop_assert_eq!(counts.written, fail_at as u64);
            prop_assert!(counts.read >= fail_at as u64);
            prop_assert_eq!(reader.position() as u64, counts.read);
        }
    }
}

/// A futures-io reader may claim any count; one past the slice it was lent
/// is an error, not bytes the copy invents (nor a panic).
#[test]
fn a_reader_claiming_more_than_its_buffer_is_an_error() {
    struct Boastful;
    impl AsyncRead for Boastful {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len() + 1))
        }
    }
    let mut writer = Vec::new();
    let err = run_smol(ferry_io::futures::copy(&mut Boastful, &mut writer)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert!(err.to_string().contains("reader reported reading"), "{err}");
    assert!(writer.is_empty());
}

/// The front ends' futures can be spawned on a multi-threaded executor
/// (`smol::spawn`, async-std's) and moved after they are made.
#[test]
fn front_end_futures_are_send_and_unpin() {
    fn send_unpin<T: Send + Unpin>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let (mut reader, mut writer): (&[u8], Vec<u8>) = (b"", Vec::new());
    send_unpin(&ferry_io::futures::copy(&mut reader, &mut writer));
    let mut buffered = BufReader::new(&b""[..]);
    send_unpin(&ferry_io::futures::copy_buf(&mut buffered, &mut writer));
    let (mut a, mut b) = (
        futures::io::Cursor::new(Vec::new()),
        futures::io::Cursor::new(Vec::new()),
    );
    send_unpin(&ferry_io::futures::copy_bidirectional(&mut a, &mut b));
    let copier = Copier::new();
    send(&copier.futures().copy(&mut reader, &mut writer));
    send(&copier.futures().copy_buf(&mut buffered, &mut writer));
    send(&copier.futures().bidirectional(&mut a, &mut b));
}
