//! A copy between ends that never return `Pending` and never spend tokio's
//! budget still yields: one poll runs for about `TIME_PER_POLL` and in any
//! case does at most `MAX_OPS_PER_POLL` reads and writes and moves at most
//! `MAX_BYTES_PER_POLL` bytes (plus the one read or chunk that crosses the
//! line), so another task on the same thread runs at least that often. Each
//! test measures the most bytes the copy moved between two runs of the
//! other task, on a current-thread runtime: the byte and operation bounds
//! hold whatever the machine's speed (the time slice, usually reached
//! first, is not asserted: tests do not time things). Each poll that moved
//! bytes also keeps one unit of tokio's budget, as tokio's copy does, and
//! one that moved nothing gives it back.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};

mod support;
use support::{ScriptedReader, Step};

const TOTAL: u64 = 1 << 30;

/// Hands out `left` bytes, at most `chunk` per read, always ready, without
/// touching the budget or the bytes; counts what it handed out in `handed`.
struct Endless {
    left: u64,
    chunk: usize,
    handed: Arc<AtomicU64>,
}

impl Endless {
    fn new(left: u64, handed: &Arc<AtomicU64>) -> Self {
        Self {
            left,
            chunk: usize::MAX,
            handed: handed.clone(),
        }
    }
}

impl AsyncRead for Endless {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = (buf.remaining().min(self.chunk) as u64).min(self.left) as usize;
        // The engine lends initialized memory, so advancing is enough.
        buf.advance(n);
        self.left -= n as u64;
        self.handed.fetch_add(n as u64, Ordering::Relaxed);
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

/// What another task saw while a copy ran: how often it ran, and the most
/// bytes the copy's reader handed out between two of its runs.
#[derive(Debug)]
struct Seen {
    ticks: u64,
    most_between_ticks: u64,
}

/// Runs `copy` on a current-thread runtime beside a task that runs whenever
/// the copy lets it, and reports what that task saw.
fn seen_during(
    copy: impl FnOnce(Arc<AtomicU64>) -> Pin<Box<dyn std::future::Future<Output = u64>>>,
    expected: u64,
) -> Seen {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let handed = Arc::new(AtomicU64::new(0));
        let ticks = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let ticker = {
            let (handed, ticks, most) = (handed.clone(), ticks.clone(), most.clone());
            tokio::task::spawn_local(async move {
                let mut last = handed.load(Ordering::Relaxed);
                loop {
                    let now = handed.load(Ordering::Relaxed);
                    most.fetch_max(now - last, Ordering::Relaxed);
                    last = now;
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        // Let the ticker start, so what it counts afterwards happened during the copy.
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let copied = copy(handed.clone()).await;
        assert_eq!(copied, expected);
        // One more tick sees the copy's last poll.
        tokio::task::yield_now().await;
        ticker.abort();
        Seen {
            ticks: ticks.load(Ordering::Relaxed) - before,
            most_between_ticks: most.load(Ordering::Relaxed),
        }
    })
}

/// The bound a copy whose reads take at most `read` bytes must keep.
fn bound(read: u64) -> u64 {
    ferry_io::MAX_BYTES_PER_POLL + read
}

fn assert_cooperative(seen: Seen, read: u64) {
    assert!(
        seen.most_between_ticks <= bound(read),
        "the copy moved {} bytes without letting the other task run (bound {})",
        seen.most_between_ticks,
        bound(read)
    );
    assert!(
        seen.ticks >= TOTAL / bound(read),
        "the other task ran only {} times during the copy",
        seen.ticks
    );
}

#[test]
fn copy_is_cooperative() {
    let seen = seen_during(
        |handed| {
            Box::pin(async move {
                let (mut reader, mut writer) = (Endless::new(TOTAL, &handed), Sink::default());
                let n = ferry_io::copy(&mut reader, &mut writer).await.unwrap();
                assert_eq!(writer.seen, n);
                n
            })
        },
        TOTAL,
    );
    assert_cooperative(seen, ferry_io::DEFAULT_MAX_BUF_SIZE as u64);
}

#[test]
fn a_large_fixed_buffer_is_cooperative_too() {
    let seen = seen_during(
        |handed| {
            Box::pin(async move {
                let (mut reader, mut writer) = (Endless::new(TOTAL, &handed), Sink::default());
                let mut engine = ferry_io::CopyBuffer::with_capacity(8 << 20);
                std::future::poll_fn(|cx| {
                    engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer))
                })
                .await
                .unwrap()
            })
        },
        TOTAL,
    );
    assert_cooperative(seen, 8 << 20);
}

#[test]
fn copy_buf_is_cooperative() {
    let seen = seen_during(
        |handed| {
            Box::pin(async move {
                let reader = Endless::new(TOTAL, &handed);
                let (mut reader, mut writer) =
                    (BufReader::with_capacity(64 * 1024, reader), Sink::default());
                let n = ferry_io::copy_buf(&mut reader, &mut writer).await.unwrap();
                assert_eq!(writer.seen, n);
                n
            })
        },
        TOTAL,
    );
    assert_cooperative(seen, 64 * 1024);
}

#[test]
fn copy_bidirectional_is_cooperative() {
    let seen = seen_during(
        |handed| {
            Box::pin(async move {
                let mut a = tokio::io::join(Endless::new(TOTAL, &handed), Sink::default());
                let mut b = tokio::io::join(Endless::new(0, &handed), Sink::default());
                let (a_to_b, b_to_a) = ferry_io::copy_bidirectional(&mut a, &mut b).await.unwrap();
                assert_eq!(b_to_a, 0);
                a_to_b
            })
        },
        TOTAL,
    );
    assert_cooperative(seen, ferry_io::DEFAULT_MAX_BUF_SIZE as u64);
}

#[test]
fn tiny_reads_yield_by_operations() {
    // One byte per read: the bytes bound is never reached, the operations
    // bound is (a read and a write per byte).
    const SMALL: u64 = 4 << 20;
    let seen = seen_during(
        |handed| {
            Box::pin(async move {
                let mut reader = Endless::new(SMALL, &handed);
                reader.chunk = 1;
                ferry_io::copy(&mut reader, &mut Sink::default())
                    .await
                    .unwrap()
            })
        },
        SMALL,
    );
    let ops = u64::from(ferry_io::MAX_OPS_PER_POLL);
    assert!(
        seen.most_between_ticks <= ops / 2 + 1,
        "{} one-byte reads without letting the other task run",
        seen.most_between_ticks
    );
    assert!(seen.ticks >= SMALL / (ops / 2 + 1), "{seen:?}");
}

#[test]
fn copies_that_each_finish_in_one_poll_still_spend_tokios_budget() {
    // Each copy of a few bytes finishes in its first poll, so no bound on
    // work is ever reached; what makes a loop of them yield is the unit of
    // tokio's budget each poll that moved bytes keeps, as tokio's copy does.
    const COPIES: u64 = 10_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let (ticks_during, copied) = local.block_on(&rt, async {
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
        tokio::task::yield_now().await;
        let before = ticks.load(Ordering::Relaxed);
        let mut copied = 0;
        for _ in 0..COPIES {
            let mut writer = Sink::default();
            copied += ferry_io::copy(&mut &b"a few bytes"[..], &mut writer)
                .await
                .unwrap();
            assert_eq!(writer.seen, 11);
        }
        let during = ticks.load(Ordering::Relaxed) - before;
        ticker.abort();
        (during, copied)
    });
    assert_eq!(copied, 11 * COPIES);
    // tokio's budget is 128 units per task poll: the loop yields about
    // every 128 copies, and the other task runs each time.
    assert!(
        ticks_during >= COPIES / 128 / 2,
        "the other task ran {ticks_during} times during {COPIES} copies"
    );
}

#[test]
fn polls_that_move_nothing_give_tokios_budget_back() {
    // A copy polled again and again while its reader has nothing (as a
    // `select!` loop does) must not spend the task's budget: that would
    // make every other future in the task yield for nothing.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // Holds bytes, but every read is `Pending`.
        let mut reader = ScriptedReader::new(vec![7; 64], vec![Step::Pending]);
        let mut writer = Sink::default();
        let mut engine = ferry_io::CopyBuffer::new();
        std::future::poll_fn(|cx| {
            for _ in 0..1_000 {
                let polled = engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer));
                assert!(polled.is_pending());
            }
            assert!(tokio::task::coop::has_budget_remaining());
            Poll::Ready(())
        })
        .await;
        assert_eq!(engine.bytes_read(), 0);
    });
}

/// Counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn copy_outside_a_runtime_yields_and_wakes_itself() {
    // No runtime: the same bound holds, so any executor stays responsive,
    // and every `Pending` comes with a wake, so no executor waits forever.
    const SIZE: u64 = 512 << 20;
    let handed = Arc::new(AtomicU64::new(0));
    let mut reader = Endless::new(SIZE, &handed);
    let mut writer = Sink::default();
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut copy = ferry_io::copy(&mut reader, &mut writer);
    let mut pendings = 0;
    let mut last = 0;
    let done = loop {
        match Pin::new(&mut copy).poll(&mut cx) {
            Poll::Ready(result) => break result.unwrap(),
            Poll::Pending => {
                pendings += 1;
                assert_eq!(
                    wakes.0.load(Ordering::Relaxed),
                    pendings,
                    "a Pending without a wake"
                );
                let now = handed.load(Ordering::Relaxed);
                assert!(now - last <= bound(ferry_io::DEFAULT_MAX_BUF_SIZE as u64));
                last = now;
            }
        }
    };
    assert_eq!(done, SIZE);
    assert_eq!(writer.seen, SIZE);
    assert!(pendings as u64 >= SIZE / bound(ferry_io::DEFAULT_BUF_SIZE as u64));
}
