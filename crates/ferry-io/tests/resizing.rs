//! The adaptive buffer grows and shrinks mid-copy, with bytes in it, and
//! loses, repeats and reorders nothing; ends that never wait keep it small,
//! and a socket grows it.

mod support;

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ferry_io::{BufferPolicy, CopyBuffer};
use proptest::prelude::*;
use support::{run, runtime, script, ScriptedReader, ScriptedWriter, Step};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever the policy's sizes and the ends' scripts, the adaptive engine
    /// is byte-exact, its counts agree, and it never holds more than `max`.
    #[test]
    fn adaptive_engine_is_byte_exact_while_resizing(
        len in 0usize..200_000,
        seed in any::<u64>(),
        initial in 1usize..4096,
        extra in 0usize..64 * 1024,
        reads in script(),
        writes in script(),
        flushes in script(),
    ) {
        let data = support::pattern(len, seed);
        let max = initial + extra;
        let rt = runtime();
        // Costly: reads that cost what system calls do, so the buffer grows.
        let mut reader = ScriptedReader::new(data.clone(), reads).costly();
        let mut writer = ScriptedWriter::new(writes, flushes);
        let mut engine = CopyBuffer::with_policy(BufferPolicy::Adaptive { initial, max });
        let mut largest = 0;
        let n = run(&rt, poll_fn(|cx| {
            let polled = engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer));
            largest = largest.max(engine.allocated());
            polled
        })).unwrap();
        prop_assert_eq!(n, data.len() as u64);
        prop_assert_eq!(engine.bytes_read(), data.len() as u64);
        prop_assert_eq!(engine.bytes_written(), data.len() as u64);
        prop_assert_eq!(&writer.received, &data);
        prop_assert_eq!(writer.flushed, data.len());
        prop_assert!(largest <= max.max(initial), "held {largest} with max {max}");
    }
}

/// Polls `engine` once between `reader` and `writer` with a waker that does nothing.
fn poll_once(
    engine: &mut CopyBuffer,
    reader: &mut ScriptedReader,
    writer: &mut ScriptedWriter,
) -> Poll<std::io::Result<u64>> {
    let mut cx = Context::from_waker(Waker::noop());
    engine.poll_copy(&mut cx, Pin::new(reader), Pin::new(writer))
}

#[test]
fn grows_and_shrinks_with_bytes_buffered() {
    let data = support::pattern(800_000, 7);
    // The reader waits once (a sign of a real end), costs what a system
    // call costs, gives about 600 KB in big reads, then the rest a few
    // bytes at a time.
    let big = 600_000;
    let mut steps = vec![Step::Pending];
    steps.extend(std::iter::repeat_n(
        Step::Ready(16 * 1024),
        big / (16 * 1024),
    ));
    steps.extend(std::iter::repeat_n(Step::Ready(8), 100_000));
    let mut reader = ScriptedReader::new(data.clone(), steps).costly();
    // The writer waits every other call and then takes at most 3 KiB, so
    // every poll ends with bytes read ahead into the buffer.
    let mut writer = ScriptedWriter::new(vec![Step::Pending, Step::Ready(3 * 1024)], vec![]);
    let policy = BufferPolicy::Adaptive {
        initial: 1024,
        max: 64 * 1024,
    };
    let mut engine = CopyBuffer::with_policy(policy);
    let (mut grew_holding, mut shrank_holding) = (false, false);
    let mut size = engine.capacity();
    let done = loop {
        let polled = poll_once(&mut engine, &mut reader, &mut writer);
        let now = engine.capacity();
        if engine.buffered() > 0 {
            grew_holding |= now > size;
            shrank_holding |= now < size;
        }
        size = now;
        if let Poll::Ready(done) = polled {
            break done.unwrap();
        }
    };
    assert_eq!(done, data.len() as u64);
    assert_eq!(writer.received, data);
    assert!(grew_holding, "the buffer never grew while holding bytes");
    assert!(
        shrank_holding,
        "the buffer never shrank while holding bytes"
    );
    assert_eq!(
        engine.capacity(),
        1024,
        "small reads bring it back to its initial size"
    );
}

#[test]
fn ends_that_never_wait_keep_the_initial_size() {
    // In memory: reads always fill the buffer, but nothing ever waits, so
    // growing would only push the buffer out of the CPU's fastest cache.
    let rt = runtime();
    let data = support::pattern(4 << 20, 9);
    let mut engine = CopyBuffer::new();
    let mut reader: &[u8] = &data;
    let mut writer = Vec::with_capacity(data.len());
    let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)));
    let n = rt.block_on(copy).unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(writer, data);
    assert_eq!(engine.capacity(), ferry_io::DEFAULT_BUF_SIZE);
}

/// Sends `mib` MiB into `tx` from another task and copies them out of `rx`
/// with a default engine, which it returns.
async fn engine_after<R, W>(mib: u64, mut rx: R, mut tx: W) -> CopyBuffer
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tokio::io::AsyncWriteExt;
    let sending = tokio::spawn(async move {
        let chunk = vec![5u8; 1 << 20];
        for _ in 0..mib {
            tx.write_all(&chunk).await.unwrap();
        }
    });
    let mut engine = CopyBuffer::new();
    let mut sink = tokio::io::sink();
    let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut rx), Pin::new(&mut sink)));
    assert_eq!(copy.await.unwrap(), mib << 20);
    sending.await.unwrap();
    engine
}

#[test]
fn an_in_memory_channel_grows_no_further_than_its_reads_fill() {
    // tokio's duplex makes the copy wait, as a socket does; whether a
    // bigger buffer pays there is the climb's to judge by the copy's own
    // costs (see the engine's climb tests), but it never grows past what
    // one read can fill: twice the channel's 64 KiB.
    let rt = runtime();
    let (tx, rx) = tokio::io::duplex(64 * 1024);
    let engine = rt.block_on(engine_after(32, rx, tx));
    assert!(engine.capacity() <= 128 * 1024, "{}", engine.capacity());
}

#[test]
fn a_socket_grows_the_buffer() {
    let rt = runtime();
    let engine = rt.block_on(async {
        let (tx, rx) = tokio::net::UnixStream::pair().unwrap();
        // Enough for the trials up to 128 KiB, each repeated (8 to 16 MiB
        // a trial from 64 KiB).
        engine_after(128, rx, tx).await
    });
    // As far as one read can fill it: a Unix socket holds about 200 KiB.
    assert!(engine.capacity() >= 128 * 1024, "{}", engine.capacity());
}

#[test]
fn a_fixed_buffer_never_resizes() {
    let rt = runtime();
    let data = support::pattern(1 << 20, 3);
    let mut reader =
        ScriptedReader::new(data.clone(), vec![Step::Pending, Step::Ready(usize::MAX)]);
    let mut writer = ScriptedWriter::new(vec![Step::Pending, Step::Ready(usize::MAX)], vec![]);
    let mut engine = CopyBuffer::with_capacity(4096);
    let copy = run(
        &rt,
        poll_fn(|cx| {
            let polled = engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer));
            assert_eq!(engine.capacity(), 4096);
            polled
        }),
    );
    assert_eq!(copy.unwrap(), data.len() as u64);
    assert_eq!(writer.received, data);
}

/// A reader of `len` bytes whose reads spin, before byte `switch` for
/// `before(bytes)` and after it for `after(bytes)`, and whose first read
/// makes the copy wait, as a real end does.
struct Spinning {
    len: usize,
    switch: usize,
    before: fn(usize) -> std::time::Duration,
    after: fn(usize) -> std::time::Duration,
    pos: usize,
    waited: bool,
}

impl tokio::io::AsyncRead for Spinning {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.waited {
            self.waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = buf.remaining().min(self.len - self.pos);
        buf.put_slice(&vec![7u8; n]);
        let cost = if self.pos < self.switch {
            self.before
        } else {
            self.after
        };
        self.pos += n;
        let until = std::time::Instant::now() + cost(n);
        while std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        Poll::Ready(Ok(()))
    }
}

#[test]
fn a_settled_buffer_grows_again_when_its_ends_change() {
    use std::time::Duration;
    let rt = runtime();
    let switch = 24 << 20;
    let mut reader = Spinning {
        len: switch + (64 << 20),
        switch,
        // First, reads whose cost per byte doubles with each doubling of
        // the read (an in-memory end that falls out of the cache)...
        before: |n| Duration::from_nanos((n as u64 / 1024).pow(2) * 50),
        // ...then reads that cost 20 µs whatever they move (system calls).
        after: |_| Duration::from_micros(20),
        pos: 0,
        waited: false,
    };
    let mut engine = CopyBuffer::new();
    let mut sink = tokio::io::sink();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let copy = poll_fn(|cx| {
        let polled = engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut sink));
        let sizes = if reader.pos < switch {
            &mut before
        } else {
            &mut after
        };
        sizes.push(engine.allocated());
        polled
    });
    assert_eq!(run(&rt, copy).unwrap(), (switch + (64 << 20)) as u64);
    // While bigger was dearer: 16 KiB tried, given up, tried again later,
    // and never more.
    let back = before.windows(2).any(|pair| pair == [16 << 10, 8 << 10]);
    assert!(back, "it never stepped back: {before:?}");
    assert!(before.iter().all(|&size| size <= 16 << 10), "{before:?}");
    // Once it tried again, it grew.
    assert!(after.iter().any(|&size| size >= 64 << 10), "{after:?}");
}
