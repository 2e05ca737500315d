//! The budget-free ends hand out and take exactly what they say, however the
//! copy cuts the stream.

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use ferry_io_bench::ends::{
    pattern, sampled_sum, CountingSink, FillReader, PatternReader, ReadingSink,
};
use tokio::io::{AsyncRead, ReadBuf};

/// Reads once from `reader` into an uninitialized buffer of `len` bytes.
fn poll_once(reader: &mut (impl AsyncRead + Unpin), len: usize) -> usize {
    let mut storage = vec![std::mem::MaybeUninit::<u8>::uninit(); len];
    let mut buf = ReadBuf::uninit(&mut storage);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match Pin::new(reader).poll_read(&mut cx, &mut buf) {
        Poll::Ready(Ok(())) => buf.filled().len(),
        other => panic!("a memory reader is always ready: {other:?}"),
    }
}

#[test]
fn fill_reader_fills_uninitialized_buffers_and_stops_at_its_limit() {
    let mut reader = FillReader::new(10_000);
    assert_eq!(poll_once(&mut reader, 8192), 8192);
    assert_eq!(poll_once(&mut reader, 8192), 10_000 - 8192);
    assert_eq!(poll_once(&mut reader, 8192), 0);
}

#[test]
fn pattern_reader_fills_the_whole_buffer_across_the_wrap() {
    let source = pattern();
    let mut reader = PatternReader::new(source.clone(), 3 << 20);
    // 1.5 MiB spans the end of the 1 MiB pattern.
    assert_eq!(poll_once(&mut reader, 3 << 19), 3 << 19);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("read");
    assert_eq!(rest.len(), 3 << 19);
    let wrapped = (3 << 19) % source.len();
    assert_eq!(&rest[..source.len() - wrapped], &source[wrapped..]);
}

#[test]
fn reading_sink_sum_does_not_depend_on_how_writes_are_cut() {
    let source = pattern();
    let len = (5 << 20) + 13;
    let mut reader = PatternReader::new(source.clone(), len);
    let mut sink = ReadingSink::new();
    // Writes of an odd, changing size, so samples fall mid-write.
    let mut buf = vec![0u8; 70_001];
    let mut cut = 1;
    loop {
        let n = reader.read(&mut buf[..cut]).expect("read");
        if n == 0 {
            break;
        }
        sink.write_all(&buf[..n]).expect("write");
        cut = cut * 7 % 70_001 + 1;
    }
    assert_eq!(sink.count(), len);
    assert_eq!(sink.sum(), sampled_sum(&source, len));
}

#[test]
fn counting_sink_counts_std_and_tokio_copies_alike() {
    let mut sink = CountingSink::new();
    std::io::copy(&mut FillReader::new(100_003), &mut sink).expect("copy");
    assert_eq!(sink.count(), 100_003);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let copied = runtime
        .block_on(tokio::io::copy(&mut FillReader::new(7), &mut sink))
        .expect("copy");
    assert_eq!((copied, sink.count()), (7, 100_010));
}
