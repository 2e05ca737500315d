//! `BufferPolicy`: how big the engine's buffer is, and when it changes size.
//!
//! A bigger buffer pays only where it saves system calls: a socket, a pipe,
//! a file on tokio's blocking pool. Between in-memory ends there are no
//! calls to save, and a buffer past the CPU's first-level cache makes every
//! read and write slower. The adaptive policy tells the two apart by what
//! the ends do: an end backed by system calls sooner or later makes the
//! copy wait (`Pending`); a plain in-memory end never does, and is never
//! timed. So the buffer grows only after an end has made the copy wait,
//! only while reads keep filling it, and only if the ends' operations cost
//! what system calls cost (an in-memory channel waits too; see `probe.rs`);
//! it shrinks again when reads stay small.

use std::time::Duration;

use super::probe::Probe;

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
    /// it is a socket, a pipe or a file, where a bigger buffer saves system
    /// calls); ends that never wait (in-memory readers and writers) keep
    /// `initial`, which stays in the CPU's fastest cache. Before the first
    /// doubling, 16 polls are timed: ends that wait but cost less than
    /// 3.5 memory copies per byte (an in-memory channel such as tokio's
    /// `duplex`) keep `initial` too. Halve, down to `initial`, after 32
    /// reads in a row that each used less than a quarter of the buffer.
    /// Resizing keeps the bytes the buffer holds.
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
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizer {
    /// The policy's sizes; more than 4 GiB is taken as 4 GiB.
    /// `initial == max` for a fixed size: it neither grows nor shrinks.
    initial: u32,
    max: u32,
    /// An end has made the copy wait: it may be backed by system calls.
    pub(crate) waited: bool,
    /// Reads in a row that used less than a quarter of the buffer.
    short_reads: u8,
    /// Whether the ends cost what system calls cost, once growth is asked for.
    probe: Probe,
}

impl Sizer {
    pub(crate) fn new(policy: BufferPolicy) -> Self {
        let clamp = |size: usize| u32::try_from(size).unwrap_or(u32::MAX);
        Self {
            initial: clamp(policy.initial()),
            max: clamp(policy.max()),
            waited: false,
            short_reads: 0,
            probe: Probe::default(),
        }
    }

    pub(crate) fn initial(&self) -> usize {
        self.initial as usize
    }

    /// The size the buffer should have after a read that asked for `room`
    /// bytes and got `got` (at least 1) into a buffer of `size`; `None`
    /// keeps it. `waited`: whether an end has made this poll wait.
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
    ) -> Option<usize> {
        if !(self.waited || waited) {
            return None;
        }
        self.after_read_waited(size, room, got)
    }

    fn after_read_waited(&mut self, size: usize, room: usize, got: usize) -> Option<usize> {
        let (initial, max) = (self.initial(), self.max as usize);
        if got < size / 4 {
            self.short_reads = self.short_reads.saturating_add(1);
            if self.short_reads >= SHORT_READS_TO_SHRINK && size > initial {
                self.short_reads = 0;
                return Some((size / 2).max(initial));
            }
            return None;
        }
        self.short_reads = 0;
        // A read that filled a good part of the buffer and had more behind it.
        let filled = got == room && room >= size / 2;
        (filled && size < max && self.probe.growth_pays()).then(|| size.saturating_mul(2).min(max))
    }

    /// Whether the copy's polls should be timed for the probe.
    #[inline]
    pub(crate) fn probing(&self) -> bool {
        self.probe.timing()
    }

    /// Counts a timed poll that took `took` and read `bytes`.
    pub(crate) fn probed(&mut self, took: Duration, bytes: u64) {
        self.probe.record(took, bytes);
    }

    /// After the buffer was given back: it starts again at `initial`.
    pub(crate) fn released(&mut self) {
        self.short_reads = 0;
    }
}
