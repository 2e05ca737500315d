//! The copy spends tokio's cooperative budget per operation, so it yields even
//! when both ends are always ready and never spend budget themselves.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};

/// Hands out `left` bytes, always ready, without touching the budget or the bytes.
struct Endless {
    left: u64,
}

impl AsyncRead for Endless {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left) as usize;
        // The engine lends initialized memory, so advancing is enough.
        buf.advance(n);
        self.left -= n as u64;
        Poll::Ready(Ok(()))
    }
}

/// Accepts everything, always ready, counting what it saw.
#[derive(Default)]
struct Sink {
    seen: u64,
}

impl AsyncWrite for Sink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.seen += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

const TOTAL: u64 = 1 << 30;

/// How often a copy through buffers of `buffer` bytes must at least yield:
/// one read and one write per buffer, 128 operations per budget, and a
/// factor of two to spare.
fn min_yields(buffer: u64) -> u64 {
    TOTAL / buffer * 2 / 128 / 2
}

/// Runs `copy` on a current-thread runtime beside a task that counts how
/// often it gets to run, and returns that count.
fn ticks_during(
    copy: impl FnOnce(Endless, Sink) -> Pin<Box<dyn std::future::Future<Output = u64>>>,
) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let ticks = Arc::new(AtomicU64::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::task::spawn_local(async move {
                loop {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        // Let the ticker start, so what it counts afterwards happened during the copy.
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let copied = copy(Endless { left: TOTAL }, Sink::default()).await;
        assert_eq!(copied, TOTAL);
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        during
    })
}

#[test]
fn copy_is_cooperative() {
    let ticks = ticks_during(|mut reader, mut writer| {
        Box::pin(async move {
            let n = ferry::copy(&mut reader, &mut writer).await.unwrap();
            assert_eq!(writer.seen, n);
            n
        })
    });
    // The default buffer grows to 256 KiB within a few reads.
    assert!(
        ticks >= min_yields(ferry::DEFAULT_MAX_BUF_SIZE as u64),
        "the other task ran only {ticks} times during the copy"
    );
}

#[test]
fn copy_buf_is_cooperative() {
    let ticks = ticks_during(|reader, mut writer| {
        Box::pin(async move {
            let mut reader = BufReader::with_capacity(64 * 1024, reader);
            let n = ferry::copy_buf(&mut reader, &mut writer).await.unwrap();
            assert_eq!(writer.seen, n);
            n
        })
    });
    assert!(
        ticks >= min_yields(64 * 1024),
        "the other task ran only {ticks} times during the copy"
    );
}

#[test]
fn copy_bidirectional_is_cooperative() {
    let ticks = ticks_during(|reader, writer| {
        Box::pin(async move {
            let mut a = tokio::io::join(reader, Sink::default());
            let mut b = tokio::io::join(Endless { left: 0 }, writer);
            let (a_to_b, b_to_a) = ferry::copy_bidirectional(&mut a, &mut b).await.unwrap();
            assert_eq!(b_to_a, 0);
            a_to_b
        })
    });
    assert!(
        ticks >= min_yields(ferry::DEFAULT_MAX_BUF_SIZE as u64),
        "the other task ran only {ticks} times during the copy"
    );
}

#[test]
fn copy_works_outside_a_runtime() {
    // No runtime means no budget: the copy must simply run to the end.
    let mut reader = Endless { left: 10 << 20 };
    let mut writer = Sink::default();
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut copy = ferry::copy(&mut reader, &mut writer);
    match Pin::new(&mut copy).poll(&mut cx) {
        Poll::Ready(Ok(n)) => assert_eq!(n, 10 << 20),
        other => panic!("expected the copy to finish in one poll, got {other:?}"),
    }
}
