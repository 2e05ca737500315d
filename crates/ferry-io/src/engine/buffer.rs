//! `CopyBuffer`: the buffered copy loop, the state machine every front end drives.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use super::budget::{Budget, Slice};
use super::climb::Change;
use super::memory::MemoryBudget;
use super::output::Output;
use super::policy::Sizer;
use super::{
    BufferPolicy, DirectionCounts, Fault, Mover, PollMove, ReadGate, Sink, Source, Step, Ungated,
};
#[cfg(doc)]
use super::{DEFAULT_BUF_SIZE, DEFAULT_MAX_BUF_SIZE};

/// The copy engine: a heap buffer plus the state of one copy from a reader to a writer.
///
/// `CopyBuffer` is for people who write their own futures; [`copy`](crate::copy)
/// and [`copy_bidirectional`](crate::copy_bidirectional) are built on it. Each
/// call to [`poll_copy`](Self::poll_copy) moves as many bytes as the two ends
/// and the task's cooperative budget allow, and remembers everything it needs
/// to resume: dropping a pending `poll_copy` loses nothing, because the bytes
/// it has read but not yet written stay in the buffer.
///
/// The loop, in order:
///
/// 1. **fill**: while the buffer has room and the reader has not reached EOF,
///    read into the free room. A `Pending` read is ignored while there are
///    bytes to write.
/// 2. **write** the buffered bytes. A writer that returns `Ok(0)` fails the
///    copy with [`io::ErrorKind::WriteZero`]; one that claims more bytes than
///    it was given fails it with an error saying so.
/// 3. **read-ahead**: when the writer is `Pending`, read once more so the next
///    write is larger.
/// 4. **flush on stall**: when the reader is `Pending`, the buffer is empty
///    and bytes were written since the last flush, flush the writer before
///    returning `Pending`, because the reader's peer may be waiting for them.
/// 5. **finish**: at EOF with the buffer drained, flush and return the count.
///    A read error is reported the same way: the bytes read before it are
///    written and flushed first, as far as the writer takes them.
///
/// `Interrupted` from any operation is retried. One poll runs for about
/// [`TIME_PER_POLL`](crate::TIME_PER_POLL), and makes at most
/// [`MAX_OPS_PER_POLL`](crate::MAX_OPS_PER_POLL) reads and writes and moves
/// at most [`MAX_BYTES_PER_POLL`](crate::MAX_BYTES_PER_POLL) bytes, then
/// wakes its task and returns `Pending`, so the copy yields to the scheduler
/// even when both ends are always ready (and spends no more of tokio's
/// budget than tokio's own copy does).
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use ferry_io::CopyBuffer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut reader: &[u8] = b"hello";
/// let mut writer = Vec::new();
/// let mut engine = CopyBuffer::with_capacity(2);
/// let n = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer))).await?;
/// assert_eq!(n, 5);
/// assert_eq!(writer, b"hello");
/// # Ok(())
/// # }
/// ```
pub struct CopyBuffer {
    /// Allocated on the first read, so an engine that never sees data holds no memory.
    buf: Box<[u8]>,
    /// Where in the buffer the bytes read but not yet written are.
    held: Held,
    /// The buffer's size, allocated or not.
    size: usize,
    sizer: Sizer,
    read_done: bool,
    /// A read error that came while bytes were buffered: reported once
    /// they are written out.
    fault: Option<io::Error>,
    output: Output,
    /// Where growth past the initial size is taken from, if anywhere; what
    /// it has given is the allocated buffer's size past the initial one.
    memory: Option<MemoryBudget>,
}

impl CopyBuffer {
    /// Creates an engine with ferry's default policy (see
    /// [`BufferPolicy::Adaptive`]): a [`DEFAULT_BUF_SIZE`] (8 KiB) buffer
    /// that doubles, up to [`DEFAULT_MAX_BUF_SIZE`] (1 MiB), while reads keep
    /// filling it, once an end has made the copy wait, for as long as each
    /// bigger size costs the copy no more per byte than the smaller ones,
    /// and halves again when reads stay small.
    ///
    /// Bulk transfers over sockets, pipes and files grow within a few
    /// hundred polls, which saves system calls; copies between in-memory
    /// ends (slices, `Vec`s, decoders) stay at 8 KiB, where the buffer stays
    /// in the CPU's fastest cache, and channels such as tokio's `duplex`
    /// settle where they copy cheapest, at 8 or 16 KiB.
    /// Use [`with_capacity`](Self::with_capacity) for a fixed size.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut reader, mut writer) = (&[7u8; 100_000][..], Vec::new());
    /// let mut engine = ferry_io::CopyBuffer::new();
    /// poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer))).await?;
    /// assert_eq!(writer.len(), 100_000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::with_policy(BufferPolicy::default())
    }

    /// Creates an engine whose buffer holds `capacity` bytes.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is zero: a zero-length read would look like EOF
    /// and end the copy early.
    ///
    /// # Examples
    ///
    /// ```
    /// let engine = ferry_io::CopyBuffer::with_capacity(256 * 1024);
    /// assert_eq!(engine.capacity(), 256 * 1024);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_policy(BufferPolicy::Fixed(capacity))
    }

    /// Creates an engine that sizes its buffer by `policy`.
    ///
    /// # Panics
    ///
    /// Panics if the policy's initial size is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::{BufferPolicy, CopyBuffer};
    ///
    /// let engine = CopyBuffer::with_policy(BufferPolicy::Adaptive { initial: 8192, max: 1 << 20 });
    /// assert_eq!(engine.capacity(), 8192);
    /// ```
    pub fn with_policy(policy: BufferPolicy) -> Self {
        assert!(
            policy.initial() > 0,
            "CopyBuffer capacity must be greater than zero"
        );
        Self {
            buf: Box::default(),
            held: Held::default(),
            size: Sizer::new(policy).initial(),
            sizer: Sizer::new(policy),
            read_done: false,
            fault: None,
            output: Output::default(),
            memory: None,
        }
    }

    /// Takes the memory this buffer grows into from `budget`: past its
    /// initial size, it grows only as far as the budget allows.
    ///
    /// # Examples
    ///
    /// ```
    /// let budget = ferry_io::MemoryBudget::new(32 << 20);
    /// let engine = ferry_io::CopyBuffer::new().memory_budget(budget);
    /// ```
    pub fn memory_budget(mut self, budget: MemoryBudget) -> Self {
        self.memory = Some(budget);
        self
    }

    /// Charges the budget for moving from the allocated buffer to one of
    /// `size` (0: none), or says it may not grow so far.
    fn charge(&self, size: usize) -> bool {
        let Some(memory) = &self.memory else {
            return true;
        };
        let initial = self.sizer.initial();
        let (held, wanted) = (
            self.buf.len().saturating_sub(initial),
            size.saturating_sub(initial),
        );
        if wanted > held {
            return memory.take(wanted - held);
        }
        memory.give(held - wanted);
        true
    }

    /// Bytes of buffer memory held right now (0 before the first read and
    /// after [`release`](Self::release)).
    ///
    /// # Examples
    ///
    /// ```
    /// let engine = ferry_io::CopyBuffer::new();
    /// assert_eq!(engine.allocated(), 0);
    /// ```
    pub fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// Frees the buffer if it holds no unwritten bytes, and returns whether
    /// it did. The next read allocates a buffer of the policy's initial size.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut engine = ferry_io::CopyBuffer::new();
    /// assert!(engine.release());
    /// assert_eq!(engine.allocated(), 0);
    /// ```
    pub fn release(&mut self) -> bool {
        if !self.held.is_empty() {
            return false;
        }
        self.charge(0);
        self.buf = Box::default();
        self.held = Held::default();
        self.size = self.sizer.initial();
        self.sizer.released();
        true
    }

    /// The size of the buffer in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferry_io::CopyBuffer::with_capacity(10).capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.size
    }

    /// Bytes read from the reader so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A writer with room for two bytes: the copy fails on the third.
    /// let (mut reader, mut room) = (&b"hello"[..], [0u8; 2]);
    /// let mut writer = std::io::Cursor::new(&mut room[..]);
    /// let mut engine = ferry_io::CopyBuffer::new();
    /// let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)));
    /// assert_eq!(copy.await.unwrap_err().kind(), std::io::ErrorKind::WriteZero);
    /// assert_eq!(engine.bytes_read(), 5);
    /// # }
    /// ```
    pub fn bytes_read(&self) -> u64 {
        // Every byte read is written or still held: nothing else keeps it.
        self.output.written + self.buffered() as u64
    }

    /// Bytes the writer has accepted so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A writer with room for two bytes: the copy fails on the third.
    /// let (mut reader, mut room) = (&b"hello"[..], [0u8; 2]);
    /// let mut writer = std::io::Cursor::new(&mut room[..]);
    /// let mut engine = ferry_io::CopyBuffer::new();
    /// let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)));
    /// assert_eq!(copy.await.unwrap_err().kind(), std::io::ErrorKind::WriteZero);
    /// assert_eq!(engine.bytes_written(), 2);
    /// # }
    /// ```
    pub fn bytes_written(&self) -> u64 {
        self.output.written
    }

    /// Bytes read but not yet written: `bytes_read() - bytes_written()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A writer with room for two bytes: the copy fails on the third.
    /// let (mut reader, mut room) = (&b"hello"[..], [0u8; 2]);
    /// let mut writer = std::io::Cursor::new(&mut room[..]);
    /// let mut engine = ferry_io::CopyBuffer::new();
    /// let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)));
    /// assert_eq!(copy.await.unwrap_err().kind(), std::io::ErrorKind::WriteZero);
    /// // What the writer could not take is still there, for another writer.
    /// assert_eq!(engine.buffered(), 3);
    /// # }
    /// ```
    pub fn buffered(&self) -> usize {
        self.held.len()
    }

    /// Whether the reader has reported EOF.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A writer with room for two bytes: the copy fails on the third.
    /// let (mut reader, mut room) = (&b"hello"[..], [0u8; 2]);
    /// let mut writer = std::io::Cursor::new(&mut room[..]);
    /// let mut engine = ferry_io::CopyBuffer::new();
    /// let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)));
    /// assert_eq!(copy.await.unwrap_err().kind(), std::io::ErrorKind::WriteZero);
    /// // The reader's end was never reached: the engine stopped at the error.
    /// assert!(!engine.is_read_done());
    /// # }
    /// ```
    pub fn is_read_done(&self) -> bool {
        self.read_done
    }

    /// Copies from `reader` to `writer` until EOF, then flushes and returns
    /// the total number of bytes written by this engine.
    ///
    /// Returns `Poll::Pending` when either end is not ready, when the task's
    /// cooperative budget is spent, or when this poll has done its share of
    /// work; in every case the task will be woken.
    /// Once it has returned `Ready(Ok(n))`, polling again returns `n` again
    /// after another flush.
    ///
    /// # Errors
    ///
    /// The first error from the reader or the writer other than
    /// `Interrupted`, `WriteZero` when the writer accepts no bytes, and an
    /// error of kind `Other` when the writer reports more bytes than it was
    /// given or the reader fills a buffer other than the one it was lent.
    /// After an error, [`bytes_read`](Self::bytes_read) and
    /// [`bytes_written`](Self::bytes_written) still tell how far it got.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::task::{ready, Context, Poll};
    /// use std::time::{Duration, Instant};
    /// use tokio::io::{AsyncRead, AsyncWrite};
    ///
    /// /// A copy that also reports how long it took.
    /// struct TimedCopy<R, W> {
    ///     reader: R,
    ///     writer: W,
    ///     engine: ferry_io::CopyBuffer,
    ///     started: Instant,
    /// }
    ///
    /// impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Future for TimedCopy<R, W> {
    ///     type Output = std::io::Result<(u64, Duration)>;
    ///
    ///     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
    ///         let this = &mut *self;
    ///         let n = ready!(this.engine.poll_copy(
    ///             cx,
    ///             Pin::new(&mut this.reader),
    ///             Pin::new(&mut this.writer),
    ///         ))?;
    ///         Poll::Ready(Ok((n, this.started.elapsed())))
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let copy = TimedCopy {
    ///     reader: &b"twelve bytes"[..],
    ///     writer: Vec::new(),
    ///     engine: ferry_io::CopyBuffer::new(),
    ///     started: Instant::now(),
    /// };
    /// let (n, _took) = copy.await?;
    /// assert_eq!(n, 12);
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        self.poll_copy_ends(cx, reader, writer)
    }

    /// [`poll_copy`](Self::poll_copy) between any ends the engine drives,
    /// tokio's or futures-io's.
    pub(crate) fn poll_copy_ends<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
    {
        self.poll_copy_gated(cx, reader, writer, &mut Ungated)
            .map_err(|(_, err)| err)
    }

    /// The loop behind [`poll_copy`](Self::poll_copy): every read asks `gate`
    /// how much it may take, and an error says which step failed.
    pub(crate) fn poll_copy_gated<R, W, G>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
        gate: &mut G,
    ) -> Poll<Result<u64, (Step, io::Error)>>
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
        G: ReadGate,
    {
        let mut slice = ready!(Slice::start(cx));
        let mut budget = Budget::new(&mut slice);
        self.sizer.poll_started();
        // The held span goes into a local for the poll: the compiler keeps
        // a local in registers across the ends' calls, where it would store
        // and reload a field on every read and write.
        let mut held = self.held;
        let polled = self.poll_loop(cx, &mut budget, &mut held, reader, writer, gate);
        self.held = held;
        self.sizer.waited |= budget.waited();
        if let Some(change) = self.sizer.poll_ended() {
            self.held = self.change(held, change);
        } else if self.buf.len() > self.size && !self.sizer.weighing() {
            // A step back that came while the buffer held more than the
            // smaller size: it gives the memory back once it can.
            self.held = self.resize(held, self.size);
        }
        polled
    }

    /// The loop; `held` is where the bytes not yet written are.
    #[inline(always)]
    fn poll_loop<R, W, G>(
        &mut self,
        cx: &mut Context<'_>,
        budget: &mut Budget<'_>,
        held: &mut Held,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
        gate: &mut G,
    ) -> Poll<Result<u64, (Step, io::Error)>>
    where
        R: Source + ?Sized,
        W: Sink + ?Sized,
        G: ReadGate,
    {
        loop {
            if self.has_room(*held) {
                match self.poll_fill(cx, budget, held, reader.as_mut(), gate) {
                    Poll::Ready(filled) => filled.map_err(|err| (Step::Read, err))?,
                    Poll::Pending if held.is_empty() => {
                        // Flush when the reader stalls: its peer may be
                        // waiting for the bytes we already wrote.
                        ready!(self.output.poll_flush(cx, budget, writer.as_mut(), false))
                            .map_err(|err| (Step::Flush, err))?;
                        return Poll::Pending;
                    }
                    // Bytes are waiting; write them rather than wait for more.
                    Poll::Pending => {}
                }
            }

            while held.start < held.end {
                let chunk = &self.buf[held.start..held.end];
                match self.output.poll_write(cx, budget, writer.as_mut(), chunk) {
                    Poll::Ready(written) => {
                        held.start += written.map_err(|err| (Step::Write, err))?
                    }
                    Poll::Pending => {
                        // Read ahead while the writer stalls so its next write is larger.
                        if self.has_room(*held) {
                            ready!(self.poll_fill(cx, budget, held, reader.as_mut(), gate))
                                .map_err(|err| (Step::Read, err))?;
                        }
                        return Poll::Pending;
                    }
                }
            }
            *held = Held::default();

            if self.read_done {
                ready!(self.output.poll_flush(cx, budget, writer.as_mut(), true))
                    .map_err(|err| (Step::Flush, err))?;
                if let Some(err) = self.fault.take() {
                    return Poll::Ready(Err((Step::Read, err)));
                }
                return Poll::Ready(Ok(self.output.written));
            }
        }
    }

    #[inline]
    fn has_room(&self, held: Held) -> bool {
        !self.read_done && held.end < self.size
    }

    /// Reads once into the free room at the end of the buffer, as much as
    /// `gate` allows, and resizes the buffer as the policy says.
    #[inline(always)]
    fn poll_fill<R, G>(
        &mut self,
        cx: &mut Context<'_>,
        budget: &mut Budget<'_>,
        held: &mut Held,
        reader: Pin<&mut R>,
        gate: &mut G,
    ) -> Poll<io::Result<()>>
    where
        R: Source + ?Sized,
        G: ReadGate,
    {
        // The buffer has room (`end < size`), so an allocated one (at least
        // `size` long) has room: none means none is allocated yet. Measured by
        // the buffer's own length, the room lets the compiler drop the
        // checks below for an ungated copy.
        let room = self.buf.len() - held.end;
        if room == 0 {
            return self.poll_first_fill(cx, budget, held, reader, gate);
        }
        // The buffer is longer than `size` only while a trial weighs a
        // smaller size in it (or held bytes keep it after a step back):
        // reads then take no more than `size`.
        let room = room.min(self.size - held.end);
        let allowed = ready!(gate.poll_allowance(cx, room));
        if allowed == 0 {
            // The gate's byte limit is reached: that is this copy's EOF.
            self.read_done = true;
            return Poll::Ready(Ok(()));
        }
        let into = &mut self.buf[held.end..][..allowed];
        let n = match ready!(settle(gate, budget.poll_read(cx, reader, into))) {
            Ok(n) => n,
            // What was read before the failure still goes out, then the
            // failure is reported: a reset source loses no byte it sent.
            Err(err) if !held.is_empty() => {
                self.read_done = true;
                self.fault = Some(err);
                return Poll::Ready(Ok(()));
            }
            Err(err) => return Poll::Ready(Err(err)),
        };
        if n == 0 {
            self.read_done = true;
            return Poll::Ready(Ok(()));
        }
        held.end += n;
        if let Some(change) = self.sizer.after_read(self.size, room, n, budget.waited()) {
            *held = self.change(*held, change);
        }
        Poll::Ready(Ok(()))
    }

    /// Does what the policy says, and returns where the `held` bytes are now.
    #[cold]
    fn change(&mut self, held: Held, change: Change) -> Held {
        match change {
            Change::Resize(size) => self.resize(held, size),
            // A trial's turns fill the buffer it has grown to, or part of it.
            Change::Fill(size) if size <= self.buf.len() => {
                self.size = size;
                held
            }
            Change::Fill(_) => held,
        }
    }

    /// Moves to a buffer of `size` bytes, keeping the bytes `held` (at the
    /// front of the new one), and returns where they are now. A buffer too
    /// small for them is not taken, but no read fills past `size` (until
    /// they are written out, the bigger buffer stays).
    fn resize(&mut self, held: Held, size: usize) -> Held {
        let len = held.len();
        if len > size {
            self.size = self.size.min(size);
            return held;
        }
        if !self.charge(size) {
            return held;
        }
        let mut buf = vec![0; size].into_boxed_slice();
        buf[..len].copy_from_slice(&self.buf[held.start..held.end]);
        self.buf = buf;
        self.size = size;
        Held { start: 0, end: len }
    }

    /// Reads into a small stack buffer and allocates the real one only when
    /// bytes arrive, so a reader that is not ready (an idle connection)
    /// costs no buffer memory at all.
    ///
    /// Inlined, though it runs once per buffer, because it takes the
    /// budget: out of line, that pointer would keep the per-operation
    /// counters out of registers.
    #[inline(always)]
    fn poll_first_fill<R, G>(
        &mut self,
        cx: &mut Context<'_>,
        budget: &mut Budget<'_>,
        held: &mut Held,
        reader: Pin<&mut R>,
        gate: &mut G,
    ) -> Poll<io::Result<()>>
    where
        R: Source + ?Sized,
        G: ReadGate,
    {
        let allowed = ready!(gate.poll_allowance(cx, self.size));
        if allowed == 0 {
            self.read_done = true;
            return Poll::Ready(Ok(()));
        }
        // A page: the bytes it takes go out in the first write, and every
        // later read starts at the buffer's front. Were the stream shifted
        // against the buffer by less than a page, `memcpy` would meet loads
        // whose low 12 address bits match an earlier store's and stall:
        // 1 KiB cost a 512 MiB `&[u8]` → `Vec` copy 5–8% against tokio.
        const PROBE: usize = 4096;
        let mut probe = [0u8; PROBE];
        let probe_read = budget.poll_read(cx, reader, &mut probe[..allowed.min(PROBE)]);
        let n = ready!(settle(gate, probe_read))?;
        if n == 0 {
            self.read_done = true;
            return Poll::Ready(Ok(()));
        }
        // An unallocated buffer is empty.
        self.buf = vec![0; self.size].into_boxed_slice();
        self.buf[..n].copy_from_slice(&probe[..n]);
        *held = Held { start: 0, end: n };
        Poll::Ready(Ok(()))
    }
}

/// The span of the buffer that holds bytes read but not yet written:
/// `start <= end <= size`.
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    start: usize,
    end: usize,
}

impl Held {
    fn len(self) -> usize {
        self.end - self.start
    }

    fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Tells `gate` what a read it allowed took: nothing unless it returned bytes,
/// so a read that is pending or fails gives its allowance back.
fn settle<G: ReadGate>(gate: &mut G, read: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
    gate.consume(match read {
        Poll::Ready(Ok(n)) => n,
        _ => 0,
    });
    read
}

impl Drop for CopyBuffer {
    fn drop(&mut self) {
        self.charge(0);
    }
}

impl Default for CopyBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CopyBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyBuffer")
            .field("capacity", &self.size)
            .field("allocated", &self.buf.len())
            .field("buffered", &self.buffered())
            .field("read", &self.bytes_read())
            .field("written", &self.output.written)
            .field("read_done", &self.read_done)
            .field("need_flush", &self.output.need_flush)
            .finish()
    }
}

impl Mover for CopyBuffer {
    fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.bytes_read(),
            written: self.output.written,
        }
    }

    fn release(&mut self) {
        CopyBuffer::release(self);
    }
}

impl<R, W> PollMove<R, W> for CopyBuffer
where
    R: Source + ?Sized,
    W: Sink + ?Sized,
{
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        self.poll_copy_gated(cx, reader, writer, gate)
            .map_ok(drop)
            .map_err(|(step, err)| Fault::Failed(step, err))
    }
}
