//! A futures-io copy between ends that are always ready still yields: on a
//! single-threaded smol executor, another task runs at least once every
//! `MAX_BYTES_PER_POLL` bytes (plus the one read that crosses the line)
//! of a 1 GiB copy.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite, BufReader};
use smol::LocalExecutor;

const TOTAL: u64 = 1 << 30;

/// Hands out `left` bytes, as many per read as it is asked for, always
/// ready; counts what it handed out in `handed`. It leaves the bytes as it
/// finds them: the copy's content is not what is measured here.
struct Endless {
    left: u64,
    handed: Rc<Cell<u64>>,
}

impl AsyncRead for Endless {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = (buf.len() as u64).min(self.left) as usize;
        self.left -= n as u64;
        self.handed.set(self.handed.get() + n as u64);
        Poll::Ready(Ok(n))
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

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
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

/// Runs the copy `copy` makes on a single-threaded smol executor beside a
/// task that runs whenever the copy lets it, and reports what that task saw.
fn seen_during<F>(copy: impl FnOnce(Endless) -> F) -> Seen
where
    F: std::future::Future<Output = u64>,
{
    let executor = LocalExecutor::new();
    let handed = Rc::new(Cell::new(0));
    let ticks = Rc::new(Cell::new(0u64));
    let most = Rc::new(Cell::new(0u64));
    let ticker = {
        let (handed, ticks, most) = (handed.clone(), ticks.clone(), most.clone());
        executor.spawn(async move {
            let mut last = handed.get();
            loop {
                let now = handed.get();
                most.set(most.get().max(now - last));
                last = now;
                ticks.set(ticks.get() + 1);
                smol::future::yield_now().await;
            }
        })
    };
    let reader = Endless {
        left: TOTAL,
        handed: handed.clone(),
    };
    crate::support::run_smol(executor.run(async {
        // Let the ticker start, so what it counts afterwards happened during the copy.
        smol::future::yield_now().await;
        let before = ticks.get();
        let copied = executor.spawn(copy(reader)).await;
        assert_eq!(copied, TOTAL);
        // One more tick sees the copy's last poll.
        smol::future::yield_now().await;
        drop(ticker);
        Seen {
            ticks: ticks.get() - before,
            most_between_ticks: most.get(),
        }
    }))
}

/// What "the other task keeps running" means here, whatever the engine's
/// constants say: at least once every 64 MiB of the copy, plus the read
/// that crosses the line. (These ends move no memory, so a time slice lets
/// the byte bound decide.)
const MOST_BETWEEN_TICKS: u64 = 64 << 20;

fn assert_cooperative(seen: Seen, read: u64) {
    let bound = (ferry_io::MAX_BYTES_PER_POLL).min(MOST_BETWEEN_TICKS) + read;
    assert!(
        seen.most_between_ticks <= bound,
        "the copy moved {} bytes without letting the other task run (bound {bound})",
        seen.most_between_ticks
    );
    assert!(
        seen.ticks >= TOTAL / bound,
        "the other task ran only {} times during the copy",
        seen.ticks
    );
}

#[test]
fn copy_lets_other_tasks_run_on_a_single_threaded_executor() {
    let seen = seen_during(|mut reader| async move {
        let mut writer = Sink::default();
        let n = ferry_io::futures::copy(&mut reader, &mut writer)
            .await
            .unwrap();
        assert_eq!(writer.seen, n);
        n
    });
    assert_cooperative(seen, ferry_io::DEFAULT_MAX_BUF_SIZE as u64);
}

#[test]
fn copy_buf_lets_other_tasks_run_on_a_single_threaded_executor() {
    let seen = seen_during(|reader| async move {
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let mut writer = Sink::default();
        let n = ferry_io::futures::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap();
        assert_eq!(writer.seen, n);
        n
    });
    assert_cooperative(seen, 64 * 1024);
}
