//! `BufferPolicy`: how big the engine's buffer is, and when it changes size.
//!
//! A bigger buffer pays only where it saves system calls: a socket, a pipe,
//! a file on tokio's blocking pool. Between in-memory ends there are no
//! calls to save, and a buffer past the CPU's first-level cache makes every
//! read and write slower. The adaptive policy tells the two apart by what
//! the ends do: an end backed by system calls sooner or later makes the
//! copy wait (`Pending`); a plain in-memory end never does, and is never
//! timed. So the buffer grows only after an end has made the copy wait,
//! only while reads keep filling it, and only while each bigger size costs
//! the copy no more per byte than the sizes before it (an in-memory channel
//! waits too; see `climb.rs`); it shrinks again when reads stay small.

use std::time::Instant;

use super::climb::{Change, Climb};

/// The size every buffer starts at: 8 KiB, the same as tokio's.
pub const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// The largest buffer ferry's default policy grows to: 1 MiB.
pub const DEFAULT_MAX_BUF_SIZE: usize = 1 << 20;

/// Reads in a row that use less than a quarter of the buffer before it is
/// halved: a stream that has gone from bulk to small messages.
const SHORT_READS_TO_SHRINK: u8 = 32;

/// How a [`CopyBuffer`](crate::CopyBuffer) sizes its buffer.
///
/// ```
/// use ferry_io::{BufferPolicy, CopyBuffer};
///
/// // A relay that must never hold more than 64 KiB per direction.
/// let bounded = CopyBuffer::with_policy(BufferPolicy::Adaptive { initial: 8 * 1024, max: 64 * 1024 });
/// let fixed = CopyBuffer::with_policy(BufferPolicy::Fixed(64 * 1024));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferPolicy {
    /// Always this many bytes.
    Fixed(usize),
    /// Start at `initial` bytes. Double, up to `max`, when a read fills the
    /// buffer and an end has made the copy wait at least once (a sign that
    /// it may be a socket, a pipe or a file, where a bigger buffer saves
    /// system calls); ends that never wait (in-memory readers and writers)
    /// keep `initial`, which stays in the CPU's fastest cache. Each doubling
    /// is a trial: the copy's reads then take turns at the old size and the
    /// new one, eight timed pairs of turns, and the new size stays unless
    /// the median pair finds it clearly dearer per byte (over 25%; twice in
    /// a row) than the old, or the sizes kept so far add up to over 50%
    /// past the cheapest; then the buffer steps back to the cheapest size
    /// and settles, and tries again after a while (after 1,024 reads that
    /// fill it, twice as many each time it settles again). A socket climbs
    /// from 8 KiB to 1 MiB in about 50 MiB of reads; an in-memory channel
    /// such as tokio's `duplex` settles where it copies cheapest. Only the
    /// copy's own reads are timed, and only against each other, so the
    /// verdicts hold on any machine and under any load. Halve, down to
    /// `initial`, after 32 reads in a row that each used less than a
    /// quarter of the buffer. Resizing keeps the bytes the buffer holds.
    Adaptive {
        /// The size of the first buffer.
        initial: usize,
        /// The largest size it grows to.
        max: usize,
    },
}

impl Default for BufferPolicy {
    /// Adaptive from [`DEFAULT_BUF_SIZE`] to [`DEFAULT_MAX_BUF_SIZE`].
    fn default() -> Self {
        BufferPolicy::Adaptive {
            initial: DEFAULT_BUF_SIZE,
            max: DEFAULT_MAX_BUF_SIZE,
        }
    }
}

impl BufferPolicy {
    pub(crate) fn initial(self) -> usize {
        match self {
            BufferPolicy::Fixed(size) => size,
            BufferPolicy::Adaptive { initial, .. } => initial,
        }
    }

    pub(crate) fn max(self) -> usize {
        match self {
            BufferPolicy::Fixed(size) => size,
            BufferPolicy::Adaptive { initial, max } => max.max(initial),
        }
    }
}

/// A buffer's policy, kept small (a copy holds one per direction), and
/// what it has learnt about the copy's ends.
#[derive(Clone, Debug)]
pub(crate) struct Sizer {
    /// The policy's sizes; more than 4 GiB is taken as 4 GiB.
    /// `initial == max` for a fixed size: it neither grows nor shrinks.
    initial: u32,
    max: u32,
    /// An end has made the copy wait: it may be backed by system calls.
    pub(crate) waited: bool,
    /// Reads in a row that used less than a quarter of the buffer.
    short_reads: u8,
    /// Whether each bigger size pays, judged by the copy's own reads.
    climb: Climb,
}

impl Sizer {
    pub(crate) fn new(policy: BufferPolicy) -> Self {
        let clamp = |size: usize| u32::try_from(size).unwrap_or(u32::MAX);
        Self {
            initial: clamp(policy.initial()),
            max: clamp(policy.max()),
            waited: false,
            short_reads: 0,
            climb: Climb::default(),
        }
    }

    pub(crate) fn initial(&self) -> usize {
        self.initial as usize
    }

    /// What the buffer does after a read that asked for `room` bytes and
    /// got `got` (at least 1) into a buffer filled up to `size`; `None`
    /// keeps it as it is. `waited`: whether an end has made this poll wait.
    ///
    /// Inlined into every read: until an end has made the copy wait (never,
    /// in a copy between in-memory ends) the buffer keeps its initial size,
    /// and the answer is one comparison.
    #[inline]
    pub(crate) fn after_read(
        &mut self,
        size: usize,
        room: usize,
        got: usize,
        waited: bool,
    ) -> Option<Change> {
        if !(self.waited || waited) {
            return None;
        }
        self.after_read_waited(size, room, got)
    }

    fn after_read_waited(&mut self, size: usize, room: usize, got: usize) -> Option<Change> {
        let (initial, max) = (self.initial(), self.max as usize);
        if got < size / 4 {
            self.short_reads = self.short_reads.saturating_add(1);
            if self.short_reads >= SHORT_READS_TO_SHRINK && size > initial {
                self.short_reads = 0;
                // The stream's messages got smaller, its ends are the same:
                // the climb keeps what it learnt, and the buffer grows back
                // to the sizes it proved without trying them again.
                self.climb.abandon();
                return Some(Change::Resize((size / 2).max(initial)));
            }
        } else {
            self.short_reads = 0;
        }
        let turn = self.climb.read(size, got, Instant::now);
        if turn.is_some() {
            return turn;
        }
        // A read that filled a good part of the buffer and had more behind it.
        let filled = got == room && room >= size / 2;
        let next = size.saturating_mul(2).min(max);
        let grow = filled && size < max && self.climb.wants_growth(size, next, Instant::now);
        grow.then_some(Change::Resize(next))
    }

    /// At the start of a poll: while the climb weighs two sizes, its turns
    /// are timed from here.
    #[inline]
    pub(crate) fn poll_started(&mut self) {
        self.climb.poll_started(Instant::now);
    }

    /// Whether the climb is weighing two sizes (the buffer is then bigger
    /// than the size being filled).
    #[inline]
    pub(crate) fn weighing(&self) -> bool {
        self.climb.weighing()
    }

    /// At the end of a poll: the climb's timing pauses, and a turn of its
    /// trial may end.
    #[inline]
    pub(crate) fn poll_ended(&mut self) -> Option<Change> {
        self.climb.poll_ended(Instant::now)
    }

    /// After the buffer was given back: it starts again at `initial`, and
    /// climbs again from there when the copy resumes (after an idle spell,
    /// the ends may carry something else).
    pub(crate) fn released(&mut self) {
        self.short_reads = 0;
        self.climb.forget();
    }
}
