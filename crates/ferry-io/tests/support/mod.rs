//! Scripted readers and writers for the engine's tests, for tokio's I/O
//! traits and futures-io's alike.
//!
//! Each end follows a script of steps, repeated cyclically: hand over at most
//! N bytes, return `Pending` (after waking itself), or return `Interrupted`.
//! An end can also be told to fail at a byte offset.
#![allow(dead_code)]

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use proptest::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// One step of a scripted end.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Move at most this many bytes (at least 1).
    Ready(usize),
    /// Wake the task and return `Pending`.
    Pending,
    /// Return `ErrorKind::Interrupted`.
    Interrupted,
}

pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (1usize..20_000).prop_map(Step::Ready),
        2 => Just(Step::Pending),
        1 => Just(Step::Interrupted),
    ]
}

/// A script that makes progress: at least one step moves bytes.
pub fn script() -> impl Strategy<Value = Vec<Step>> {
    (prop::collection::vec(step(), 0..12), 1usize..20_000).prop_map(|(mut steps, n)| {
        if !steps.iter().any(|step| matches!(step, Step::Ready(_))) {
            steps.push(Step::Ready(n));
        }
        steps
    })
}

#[derive(Debug)]
struct Script {
    steps: Vec<Step>,
    next: usize,
}

impl Script {
    fn new(steps: Vec<Step>) -> Self {
        Self { steps, next: 0 }
    }

    fn next(&mut self) -> Step {
        if self.steps.is_empty() {
            return Step::Ready(usize::MAX);
        }
        let step = self.steps[self.next % self.steps.len()];
        self.next += 1;
        step
    }

    fn play(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match self.next() {
            Step::Ready(n) => Poll::Ready(Ok(n)),
            Step::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Step::Interrupted => Poll::Ready(Err(io::ErrorKind::Interrupted.into())),
        }
    }
}

pub fn injected() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "injected failure")
}

/// Reads `data` following a script; fails with `ConnectionReset` at `fail_at`.
#[derive(Debug)]
pub struct ScriptedReader {
    data: Vec<u8>,
    pos: usize,
    script: Script,
    fail_at: Option<usize>,
    costly: bool,
}

impl ScriptedReader {
    pub fn new(data: Vec<u8>, steps: Vec<Step>) -> Self {
        Self {
            data,
            pos: 0,
            script: Script::new(steps),
            fail_at: None,
            costly: false,
        }
    }

    /// Makes every read cost what a system call costs (5 µs of spinning),
    /// so that the adaptive policy's probe takes this reader for a socket
    /// and lets the buffer grow.
    pub fn costly(mut self) -> Self {
        self.costly = true;
        self
    }

    pub fn failing_at(mut self, offset: usize) -> Self {
        self.fail_at = Some(offset);
        self
    }

    pub fn position(&self) -> usize {
        self.pos
    }
}

impl ScriptedReader {
    /// One scripted read into `dst`, whichever trait asked for it.
    fn poll_read_into(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.costly {
            let started = std::time::Instant::now();
            while started.elapsed() < std::time::Duration::from_micros(5) {
                std::hint::spin_loop();
            }
        }
        let max = ready!(self.script.play(cx))?;
        let end = self.fail_at.unwrap_or(usize::MAX).min(self.data.len());
        if self.pos == end && self.fail_at.is_some_and(|at| at <= self.pos) {
            return Poll::Ready(Err(injected()));
        }
        let n = max.min(end - self.pos).min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncRead for ScriptedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self.poll_read_into(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl futures::io::AsyncRead for ScriptedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_into(cx, buf)
    }
}

/// Collects what it is given following a script; fails with `ConnectionReset`
/// at `fail_at`. Flushes follow their own script.
#[derive(Debug)]
pub struct ScriptedWriter {
    pub received: Vec<u8>,
    /// How much of `received` the last completed flush covered.
    pub flushed: usize,
    pub flushes: usize,
    pub shutdowns: usize,
    script: Script,
    flush_script: Script,
    fail_at: Option<usize>,
    fail_flush: bool,
    fail_shutdown: bool,
}

impl ScriptedWriter {
    pub fn new(steps: Vec<Step>, flush_steps: Vec<Step>) -> Self {
        Self {
            received: Vec::new(),
            flushed: 0,
            flushes: 0,
            shutdowns: 0,
            script: Script::new(steps),
            flush_script: Script::new(flush_steps),
            fail_at: None,
            fail_flush: false,
            fail_shutdown: false,
        }
    }

    /// Every flush fails with `ConnectionReset`.
    pub fn failing_flush(mut self) -> Self {
        self.fail_flush = true;
        self
    }

    /// Shutdown fails with `ConnectionReset` (after flushing).
    pub fn failing_shutdown(mut self) -> Self {
        self.fail_shutdown = true;
        self
    }

    pub fn failing_at(mut self, offset: usize) -> Self {
        self.fail_at = Some(offset);
        self
    }
}

impl ScriptedWriter {
    /// One scripted write of `buf`, whichever trait asked for it.
    fn poll_write_from(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let max = ready!(self.script.play(cx))?;
        let room = match self.fail_at {
            Some(at) if self.received.len() >= at => return Poll::Ready(Err(injected())),
            Some(at) => at - self.received.len(),
            None => usize::MAX,
        };
        let n = max.min(room).min(buf.len());
        self.received.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush_now(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.flush_script.play(cx))?;
        if self.fail_flush {
            return Poll::Ready(Err(injected()));
        }
        self.flushes += 1;
        self.flushed = self.received.len();
        Poll::Ready(Ok(()))
    }

    /// tokio's shutdown and futures-io's close: flush, then end the stream.
    fn poll_shutdown_now(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush_now(cx))?;
        if self.fail_shutdown {
            return Poll::Ready(Err(injected()));
        }
        self.shutdowns += 1;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ScriptedWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_from(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_now(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_shutdown_now(cx)
    }
}

impl futures::io::AsyncWrite for ScriptedWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_from(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush_now(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_shutdown_now(cx)
    }
}

/// A current-thread runtime for running many property cases.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `fut` on `rt`, failing the test if it takes longer than ten seconds.
pub fn run<F: std::future::Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(10), fut)
            .await
            .expect("the copy hung")
    })
}

/// Runs `fut` on smol's executor, with no tokio runtime anywhere, failing
/// the test if it takes longer than ten seconds.
pub fn run_smol<F: std::future::Future>(fut: F) -> F::Output {
    use smol::future::FutureExt as _;
    smol::block_on(
        async {
            assert!(
                tokio::runtime::Handle::try_current().is_err(),
                "a tokio runtime is running"
            );
            fut.await
        }
        .or(async {
            smol::Timer::after(std::time::Duration::from_secs(10)).await;
            panic!("the copy hung")
        }),
    )
}

/// `len` pseudo-random bytes from `seed` (xorshift), cheap enough for big inputs.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
