//! Scripted ends: readers and writers that do what their script says and
//! write down everything the engine did to them.
//!
//! An end is one side of a duplex (a socket, say): a [`Source`] it reads from
//! and a [`Sink`] it writes to. A one-way copy reads from end A's source and
//! writes to end B's sink; a relay uses all four halves. The halves live
//! behind `Rc<RefCell<_>>` so the checker can look at them between polls
//! while the future under test holds the ends.

use std::cell::{Cell, RefCell};
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use ferry_io::Step;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use super::input::{CallOp, ReadOp, SinkScript, SourceScript, WriteOp};

/// Which end of a two-way copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `a` in `copy_bidirectional(a, b)`; the reader of a one-way copy.
    A,
    /// `b`; the writer of a one-way copy.
    B,
}

/// A failure a scripted end returned. The copy must end with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fired {
    /// The end that failed.
    pub side: Side,
    /// What the engine was doing.
    pub step: Step,
    /// The error's kind.
    pub kind: ErrorKind,
}

/// What the ends of one case share.
#[derive(Debug, Default)]
pub struct World {
    /// The number of the poll in progress.
    pub epoch: Cell<u64>,
    /// Grows whenever an end consumes a step of its script or moves a byte:
    /// a poll that returns `Pending` without moving it would spin forever.
    pub progress: Cell<u64>,
    /// Failures the ends returned, in order.
    pub fired: RefCell<Vec<Fired>>,
    /// Rules the engine broke (an empty write, a read after EOF, ...).
    pub breaches: RefCell<Vec<String>>,
}

impl World {
    fn advance(&self, by: usize) {
        self.progress.set(self.progress.get() + by as u64);
    }

    fn breach(&self, what: String) {
        self.breaches.borrow_mut().push(what);
    }

    fn fire<T>(&self, side: Side, step: Step, kind: ErrorKind) -> Poll<io::Result<T>> {
        self.fired.borrow_mut().push(Fired { side, step, kind });
        Poll::Ready(Err(io::Error::new(
            kind,
            format!("scripted {step:?} failure"),
        )))
    }
}

/// The reading half of an end and what it handed over.
#[derive(Debug)]
pub struct Source {
    side: Side,
    world: Rc<World>,
    /// What it will do; `script.data` is all it has to give.
    pub script: SourceScript,
    /// Bytes handed over (for a buffered reader: consumed), always a prefix of `script.data`.
    pub delivered: usize,
    /// A buffered reader's end of the chunk it last showed (`>= delivered`).
    pub offered: usize,
    /// Whether it returned EOF.
    pub eof: bool,
    /// The poll of its last call, and whether that call returned `Pending`.
    pub last_call: Option<(u64, bool)>,
}

impl Source {
    /// Runs one step of the script for a read of at most `room` bytes
    /// starting at offset `from`, and returns how many bytes it gives.
    fn step(&mut self, cx: &mut Context<'_>, room: usize, from: usize) -> Poll<io::Result<usize>> {
        if self.eof {
            self.world.breach(format!(
                "{:?} was read again after it returned EOF",
                self.side
            ));
            return Poll::Ready(Ok(0));
        }
        if room == 0 {
            self.world
                .breach(format!("{:?} was given no room to read into", self.side));
            return Poll::Ready(Ok(0));
        }
        let result = self.run(cx, room, from);
        self.last_call = Some((self.world.epoch.get(), result.is_pending()));
        result
    }

    fn run(&mut self, cx: &mut Context<'_>, room: usize, from: usize) -> Poll<io::Result<usize>> {
        if let Some((at, kind)) = self.script.fail_at {
            if from >= at {
                return self.world.fire(self.side, Step::Read, kind);
            }
        }
        let op = match self.script.ops.pop_front() {
            Some(op) => {
                self.world.advance(1);
                op
            }
            None => ReadOp::Data(usize::MAX),
        };
        match op {
            ReadOp::Data(n) => {
                let until = self.script.fail_at.map_or(usize::MAX, |(at, _)| at);
                let n = n
                    .max(1)
                    .min(room)
                    .min(self.script.data.len() - from)
                    .min(until - from);
                if n == 0 {
                    self.eof = true;
                    self.world.advance(1);
                }
                self.world.advance(n);
                Poll::Ready(Ok(n))
            }
            ReadOp::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            ReadOp::Interrupted => Poll::Ready(Err(ErrorKind::Interrupted.into())),
            ReadOp::Fail(kind) => self.world.fire(self.side, Step::Read, kind),
            ReadOp::Eof => {
                self.eof = true;
                Poll::Ready(Ok(0))
            }
        }
    }

    /// Whether it has returned every byte it had and then EOF.
    pub fn gave_everything(&self) -> bool {
        self.eof && self.delivered == self.script.data.len()
    }
}

/// The writing half of an end and what it took.
#[derive(Debug)]
pub struct Sink {
    side: Side,
    world: Rc<World>,
    /// What it will do.
    pub script: SinkScript,
    /// The bytes it took, in order.
    pub accepted: Vec<u8>,
    /// `accepted.len()` at the last successful flush.
    pub flushed: usize,
    /// `accepted.len()` when its write half was shut down.
    pub shut_down: Option<usize>,
    /// The poll of its last flush, and whether that flush returned `Pending`.
    pub last_flush: Option<(u64, bool)>,
}

impl Sink {
    fn write(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        if src.is_empty() {
            self.world
                .breach(format!("{:?} was given an empty write", self.side));
        }
        if self.shut_down.is_some() {
            self.world
                .breach(format!("{:?} was written to after its shutdown", self.side));
        }
        if let Some((at, kind)) = self.script.fail_at {
            if self.accepted.len() >= at {
                return self.world.fire(self.side, Step::Write, kind);
            }
        }
        let op = match self.script.writes.pop_front() {
            Some(op) => {
                self.world.advance(1);
                op
            }
            None => WriteOp::Accept(usize::MAX),
        };
        match op {
            WriteOp::Accept(n) => {
                let until = self.script.fail_at.map_or(usize::MAX, |(at, _)| at);
                let n = n.max(1).min(src.len()).min(until - self.accepted.len());
                self.accepted.extend_from_slice(&src[..n]);
                self.world.advance(n);
                Poll::Ready(Ok(n))
            }
            WriteOp::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            WriteOp::Interrupted => Poll::Ready(Err(ErrorKind::Interrupted.into())),
            WriteOp::Fail(kind) => self.world.fire(self.side, Step::Write, kind),
            WriteOp::Zero => {
                self.world.fired.borrow_mut().push(Fired {
                    side: self.side,
                    step: Step::Write,
                    kind: ErrorKind::WriteZero,
                });
                Poll::Ready(Ok(0))
            }
            WriteOp::OverReport(extra) => {
                self.world.fired.borrow_mut().push(Fired {
                    side: self.side,
                    step: Step::Write,
                    kind: ErrorKind::Other,
                });
                Poll::Ready(Ok(src.len() + extra))
            }
        }
    }

    fn flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shut_down.is_some() {
            self.world
                .breach(format!("{:?} was flushed after its shutdown", self.side));
        }
        let result = self.call(cx, Step::Flush);
        if let Poll::Ready(Ok(())) = result {
            self.flushed = self.accepted.len();
        }
        self.last_flush = Some((self.world.epoch.get(), result.is_pending()));
        result
    }

    fn shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shut_down.is_some() {
            // Shutting down twice is allowed, and does nothing.
            return Poll::Ready(Ok(()));
        }
        let result = self.call(cx, Step::Shutdown);
        if let Poll::Ready(Ok(())) = result {
            if self.flushed != self.accepted.len() {
                self.world.breach(format!(
                    "{:?} was shut down with {} bytes written since its last flush",
                    self.side,
                    self.accepted.len() - self.flushed
                ));
            }
            self.shut_down = Some(self.accepted.len());
        }
        result
    }

    fn call(&mut self, cx: &mut Context<'_>, step: Step) -> Poll<io::Result<()>> {
        let ops = match step {
            Step::Shutdown => &mut self.script.shutdowns,
            _ => &mut self.script.flushes,
        };
        let op = ops.pop_front().unwrap_or(CallOp::Ready);
        self.world.advance(1);
        match op {
            CallOp::Ready => Poll::Ready(Ok(())),
            CallOp::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            CallOp::Interrupted => Poll::Ready(Err(ErrorKind::Interrupted.into())),
            CallOp::Fail(kind) => self.world.fire(self.side, step, kind),
        }
    }
}

/// One end of a copy: reads from its [`Source`], writes to its [`Sink`].
///
/// As an [`AsyncBufRead`] it shows each chunk its script hands over until
/// the chunk is consumed, like a `BufReader` over the scripted reader.
#[derive(Debug)]
pub struct End {
    /// The reading half.
    pub source: Rc<RefCell<Source>>,
    /// The writing half.
    pub sink: Rc<RefCell<Sink>>,
    /// A copy of `source.script.data`, to lend out of `poll_fill_buf`.
    data: Rc<[u8]>,
}

impl End {
    /// An end of `side` that follows these scripts.
    pub fn new(world: &Rc<World>, side: Side, source: SourceScript, sink: SinkScript) -> Self {
        let data: Rc<[u8]> = source.data.as_slice().into();
        Self {
            source: Rc::new(RefCell::new(Source {
                side,
                world: world.clone(),
                script: source,
                delivered: 0,
                offered: 0,
                eof: false,
                last_call: None,
            })),
            sink: Rc::new(RefCell::new(Sink {
                side,
                world: world.clone(),
                script: sink,
                accepted: Vec::new(),
                flushed: 0,
                shut_down: None,
                last_flush: None,
            })),
            data,
        }
    }
}

impl AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut source = self.source.borrow_mut();
        let from = source.delivered;
        let n = std::task::ready!(source.step(cx, buf.remaining(), from))?;
        buf.put_slice(&self.data[from..from + n]);
        source.delivered += n;
        source.offered = source.delivered;
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for End {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.get_mut();
        let mut source = me.source.borrow_mut();
        let (from, offered) = (source.delivered, source.offered);
        if offered > from {
            return Poll::Ready(Ok(&me.data[from..offered]));
        }
        let n = std::task::ready!(source.step(cx, usize::MAX, from))?;
        source.offered = from + n;
        Poll::Ready(Ok(&me.data[from..from + n]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let mut source = self.source.borrow_mut();
        let shown = source.offered - source.delivered;
        if amt > shown {
            source.world.breach(format!(
                "{:?} was told to consume {amt} bytes of a {shown}-byte chunk",
                source.side
            ));
        }
        source.delivered += amt.min(shown);
        source.world.advance(amt);
    }
}

impl AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.sink.borrow_mut().write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sink.borrow_mut().flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.sink.borrow_mut().shutdown(cx)
    }
}
