//! `Budget`: how much work one poll of a copy may do before it yields, and
//! every read, write, flush and shutdown the engine makes, counted against it.
//!
//! A copy between two always-ready ends (a `&[u8]`, a `Vec`, an in-memory
//! decoder) never returns `Pending` on its own: without a bound it would
//! hold its thread for the whole transfer, starving every other task there
//! (tokio's own copy does, on a current-thread runtime). Charging tokio's
//! budget one unit per operation bounds it, but makes a cache-resident copy
//! yield every 64 read/write pairs, which costs it a quarter of its speed.
//!
//! So the bound is work done, not operations charged. Work is counted in
//! bytes: each byte read is one, and each operation is [`OP_WORK`] more,
//! whatever it moved. One poll runs for about [`TIME_PER_POLL`] (the clock
//! is read once every [`CLOCK_EVERY`] of work, that is every MiB read or
//! every 1,024 operations, never on each operation), and in any case does
//! at most [`MAX_BYTES_PER_POLL`] of work, so it makes at most
//! [`MAX_OPS_PER_POLL`] reads and writes and reads at most
//! [`MAX_BYTES_PER_POLL`] bytes; then it wakes its task and returns
//! `Pending`, losing nothing (the buffered bytes stay). A yield is not free
//! (on a multi-thread runtime another worker may be woken to take the task),
//! so a time slice, rather than a count, keeps its cost under 2% of even a
//! cache-resident copy while no other task waits more than about a
//! millisecond. Each poll also takes one unit of tokio's budget, as tokio's
//! copy does, so a task whose budget other work has spent still yields.
//! Outside tokio the same bound holds, which keeps a single-threaded
//! executor of any kind responsive.
//!
//! One count rather than one per bound keeps the check on every operation
//! to a subtraction and a comparison on a single register: with four
//! counters, the loop kept them on the stack across the ends' calls.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use tokio::task::coop::{poll_proceed, RestoreOnPending};

use super::{LendingSource, Sink, Source};

/// How long one poll of a copy runs before it yields: about 1 ms.
pub const TIME_PER_POLL: Duration = Duration::from_millis(1);

/// Work between two looks at the clock: 1 MiB read, or 1,024 operations.
/// A look costs about as much as a small memcpy, so it is kept to about
/// one per hundred 8 KiB read/write pairs; a MiB copied through main
/// memory takes about 0.2 ms, a fifth of a poll.
const CLOCK_EVERY: u64 = 1 << 20;

/// The work every operation counts for besides the bytes it reads, so that
/// [`MAX_BYTES_PER_POLL`] of work is also at most [`MAX_OPS_PER_POLL`]
/// operations: 1 KiB.
const OP_WORK: u64 = MAX_BYTES_PER_POLL / MAX_OPS_PER_POLL as u64;

/// The most reads, writes and flushes one poll of a copy makes, however
/// fast they are: 65,536.
pub const MAX_OPS_PER_POLL: u32 = 1 << 16;

/// The most bytes one poll of a copy reads (and as many it writes), however
/// fast they move: 64 MiB.
pub const MAX_BYTES_PER_POLL: u64 = 64 << 20;

/// The work done in one poll.
#[derive(Debug)]
pub(crate) struct Budget<'a> {
    /// Work this poll may still do before the next operation takes the
    /// slow path (the clock, the bounds); below 1, it asks. A read may
    /// take it below 0.
    left: i64,
    /// Whether an end returned `Pending` in this poll (not this budget).
    waited: bool,
    slice: &'a mut Slice,
}

/// What only the out-of-line path touches: the clock, the work granted so
/// far and tokio's unit.
///
/// It lives in the frame of whoever starts the poll, apart from the
/// [`Budget`] that points to it, because the compiler keeps a local in
/// registers only if no pointer to it leaves the inlined code: the
/// out-of-line path takes a pointer to this, and the count every
/// operation updates stays in a register.
#[derive(Debug)]
pub(crate) struct Slice {
    /// When the clock was first read in this poll (after [`CLOCK_EVERY`]
    /// of work: a poll that does less never reads it).
    started: Option<Instant>,
    /// The work granted in this poll so far: what was done is this less
    /// what the budget has left.
    granted: u64,
    /// This poll has done its share and woken its task.
    spent: bool,
    /// The unit of tokio's budget this poll took: kept if the poll moved
    /// anything (marked on drop, not on every operation), given back if not.
    coop: RestoreOnPending,
}

impl Slice {
    /// Starts a poll; `Pending` (with the task woken by tokio) when the
    /// task's tokio budget is already spent.
    pub(crate) fn start(cx: &mut Context<'_>) -> Poll<Slice> {
        let coop = ready!(poll_proceed(cx));
        Poll::Ready(Slice {
            started: None,
            granted: CLOCK_EVERY,
            spent: false,
            coop,
        })
    }
}

impl<'a> Budget<'a> {
    /// Counts the work of the poll `slice` started.
    pub(crate) fn new(slice: &'a mut Slice) -> Self {
        Budget {
            left: slice.granted as i64,
            waited: false,
            slice,
        }
    }

    /// Whether an end made this poll wait: a sign that it is backed by
    /// system calls (a socket, a pipe, a file on the blocking pool) rather
    /// than memory.
    pub(crate) fn waited(&self) -> bool {
        self.waited
    }

    /// Notes an end's `Pending`, and passes it on.
    #[inline]
    fn wait<T>(&mut self, polled: Poll<T>) -> Poll<T> {
        if polled.is_pending() {
            self.waited = true;
        }
        polled
    }

    /// Whether this poll may make another operation; once it has done its
    /// share, wakes the task and answers `Pending`, so the copy yields.
    ///
    /// Inlined into every read and write: the common answer is one
    /// comparison, and the clock and the yield are out of line.
    #[inline(always)]
    fn poll_op(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.left > 0 {
            return Poll::Ready(());
        }
        match self.slice.grant(cx, self.left) {
            Some(left) => {
                self.left = left;
                Poll::Ready(())
            }
            None => Poll::Pending,
        }
    }

    /// Counts `work` done.
    #[inline(always)]
    fn spend(&mut self, work: u64) {
        // At most a buffer's length: it fits.
        self.left -= work as i64;
    }

    /// Runs one operation, retrying `Interrupted` (each try counts, so an
    /// end that always returns it cannot hold the thread).
    #[inline(always)]
    fn run<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        loop {
            ready!(self.poll_op(cx));
            let result = ready!(self.wait(op(cx)));
            self.spend(OP_WORK);
            match result {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    /// Reads once into `dst` and returns how many bytes arrived (0 at EOF).
    #[inline]
    pub(crate) fn poll_read<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>>
    where
        R: Source + ?Sized,
    {
        let n = ready!(self.run(cx, |cx| reader.as_mut().poll_read_into(cx, dst)))?;
        self.spend(n as u64);
        Poll::Ready(Ok(n))
    }

    /// Fills `reader`'s buffer once and hands the chunk (empty at EOF) to `use_chunk`.
    ///
    /// The chunk is lent to a callback rather than returned so that the
    /// `Interrupted` retry loop can re-borrow the reader. The bytes count
    /// against this poll when the callback says how many it used.
    pub(crate) fn poll_fill_buf<R, T>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        use_chunk: impl FnOnce(&mut Context<'_>, &mut Budget<'_>, &[u8]) -> T,
    ) -> Poll<io::Result<T>>
    where
        R: LendingSource + ?Sized,
    {
        loop {
            ready!(self.poll_op(cx));
            let result = ready!(self.wait(reader.as_mut().poll_lend(cx)));
            self.spend(OP_WORK);
            match result {
                Ok(chunk) => return Poll::Ready(Ok(use_chunk(cx, self, chunk))),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Writes some of `src` and returns how many bytes the writer took (never 0).
    ///
    /// `Ok(0)` becomes `WriteZero`, and a count larger than `src` (a broken
    /// writer) becomes an error instead of a phantom byte count.
    #[inline]
    pub(crate) fn poll_write<W>(
        &mut self,
        cx: &mut Context<'_>,
        mut writer: Pin<&mut W>,
        src: &[u8],
    ) -> Poll<io::Result<usize>>
    where
        W: Sink + ?Sized,
    {
        let written = ready!(self.run(cx, |cx| writer.as_mut().poll_write(cx, src)))?;
        Poll::Ready(match written {
            0 => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write zero bytes into writer",
            )),
            n if n > src.len() => Err(io::Error::other(format!(
                "writer reported writing {n} bytes but was given only {}",
                src.len()
            ))),
            n => Ok(n),
        })
    }

    /// Counts bytes that moved without a read of ours (a lending reader's).
    #[inline]
    pub(crate) fn moved(&mut self, n: usize) {
        self.spend(n as u64);
    }

    /// Flushes `writer`, or with `shutdown` shuts its write half down.
    pub(crate) fn poll_close<W>(
        &mut self,
        cx: &mut Context<'_>,
        mut writer: Pin<&mut W>,
        shutdown: bool,
    ) -> Poll<io::Result<()>>
    where
        W: Sink + ?Sized,
    {
        self.run(cx, |cx| match shutdown {
            false => writer.as_mut().poll_flush(cx),
            true => writer.as_mut().poll_shutdown(cx),
        })
    }
}

impl Slice {
    /// When the clock is due or a bound is reached, with the budget's work
    /// `left` (0 or less): the work the poll may do before it looks again,
    /// or `None` (with the task woken, once) when this poll has done its
    /// share. A spent poll may be asked again (a read-ahead after a
    /// yielded write).
    #[cold]
    fn grant(&mut self, cx: &mut Context<'_>, left: i64) -> Option<i64> {
        if self.spent {
            return None;
        }
        let done = self.granted.saturating_add_signed(-left);
        if done < MAX_BYTES_PER_POLL && !self.out_of_time() {
            let left = CLOCK_EVERY.min(MAX_BYTES_PER_POLL - done);
            self.granted = done + left;
            return Some(left as i64);
        }
        self.spent = true;
        self.coop.made_progress();
        cx.waker().wake_by_ref();
        None
    }

    /// Whether this poll has run for [`TIME_PER_POLL`]; asked only once
    /// every [`CLOCK_EVERY`] of work.
    fn out_of_time(&mut self) -> bool {
        let now = Instant::now();
        match self.started {
            Some(started) => now.duration_since(started) >= TIME_PER_POLL,
            None => {
                self.started = Some(now);
                false
            }
        }
    }
}

impl Drop for Budget<'_> {
    /// An operation that finished is progress: the poll keeps its unit of
    /// tokio's budget, as tokio's copy does.
    fn drop(&mut self) {
        if self.left < self.slice.granted as i64 {
            self.slice.coop.made_progress();
        }
    }
}
