//! Turning the fuzzer's bytes into scripts.
//!
//! The format is our own rather than `arbitrary`'s so that a committed corpus
//! file means the same script in the fuzz crate (its own lock file) and in
//! the test suite (the workspace's), whatever versions either resolves.
//! Every byte string decodes to a valid case: past the end of the input
//! every read yields 0, and a list whose length byte is 0 is empty.
//! Failures are rare steps (about one in a hundred), so that random bytes
//! give copies that mostly run to their end; the fuzzer finds the rest.

use std::collections::VecDeque;
use std::fmt;
use std::io::ErrorKind;

/// Step tags (the byte that picks a step) below this one never end a copy:
/// failures, early EOFs, `Ok(0)` writes and over-reports all have tags from
/// here up. The replay test uses it to make random cases that run to the end.
pub const ENDING_TAGS: u8 = 250;

/// A cursor over the fuzzer's bytes.
#[derive(Debug)]
pub struct Input<'a> {
    bytes: &'a [u8],
}

/// The kinds a scripted failure takes. `Interrupted` is not among them (it is
/// a step of its own and must be retried), nor `WriteZero` (the engine makes
/// that one from an `Ok(0)` write, [`WriteOp::Zero`]).
const KINDS: [ErrorKind; 10] = [
    ErrorKind::BrokenPipe,
    ErrorKind::ConnectionReset,
    ErrorKind::ConnectionAborted,
    ErrorKind::NotConnected,
    ErrorKind::TimedOut,
    ErrorKind::UnexpectedEof,
    ErrorKind::WouldBlock,
    ErrorKind::PermissionDenied,
    ErrorKind::InvalidData,
    ErrorKind::Other,
];

impl<'a> Input<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Whether the next byte is odd.
    pub fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A count of at least 1, mostly small: up to 16, 1 KiB, 64 KiB or 1 MiB.
    pub fn count(&mut self) -> usize {
        1 + match self.byte() % 4 {
            0 => usize::from(self.byte() % 16),
            1 => usize::from(self.u16() % 1024),
            2 => usize::from(self.u16()),
            _ => (self.u32() % (1 << 20)) as usize,
        }
    }

    /// An optional count of at least 0, present one time in eight (and
    /// absent past the end of the input).
    pub fn maybe_offset(&mut self) -> Option<usize> {
        (self.byte() % 8 == 7).then(|| self.count() - 1)
    }

    /// An error kind for a scripted failure.
    pub fn kind(&mut self) -> ErrorKind {
        KINDS[usize::from(self.byte()) % KINDS.len()]
    }

    /// A data length: empty, a few bytes, a few KiB, or enough (up to 512 KiB)
    /// to grow the default buffer to its largest size.
    pub fn data_len(&mut self) -> usize {
        match self.byte() % 8 {
            0 => 0,
            1..=3 => usize::from(self.byte()),
            4 | 5 => usize::from(self.u16() % 16_384),
            6 => usize::from(self.u16()) * 4,
            _ => 256 * 1024 + usize::from(self.u16()) * 4,
        }
    }

    /// A list of up to 63 items, each decoded by `item`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> T) -> VecDeque<T> {
        let len = self.byte() % 64;
        (0..len).map(|_| item(self)).collect()
    }
}

/// One step of a scripted reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOp {
    /// Hand over at most this many bytes (at least 1; 0 only at the data's end).
    Data(usize),
    /// Wake the task, then return `Pending`.
    Pending,
    /// Return `ErrorKind::Interrupted`.
    Interrupted,
    /// Fail with this kind.
    Fail(ErrorKind),
    /// Return EOF now, before the data's end.
    Eof,
}

/// One step of a scripted writer's `poll_write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// Take at most this many bytes (at least 1).
    Accept(usize),
    /// Wake the task, then return `Pending`.
    Pending,
    /// Return `ErrorKind::Interrupted`.
    Interrupted,
    /// Fail with this kind.
    Fail(ErrorKind),
    /// Return `Ok(0)`: take nothing.
    Zero,
    /// Take nothing but claim all it was given plus this many bytes more.
    OverReport(usize),
}

/// One step of a scripted `poll_flush` or `poll_shutdown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOp {
    /// Succeed.
    Ready,
    /// Wake the task, then return `Pending`.
    Pending,
    /// Return `ErrorKind::Interrupted`.
    Interrupted,
    /// Fail with this kind.
    Fail(ErrorKind),
}

/// What a scripted reader hands over, and how.
///
/// Past the end of `ops` the reader is well behaved: it fills all the room
/// it is given until the data runs out, then returns EOF.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceScript {
    /// The bytes it has to give; each one depends on its offset, so a byte
    /// lost, repeated or reordered shows.
    pub data: Vec<u8>,
    /// One step per call, in order.
    pub ops: VecDeque<ReadOp>,
    /// Once this many bytes were handed over, every call fails with this kind.
    pub fail_at: Option<(usize, ErrorKind)>,
}

/// How a scripted writer takes bytes, flushes and shuts down.
///
/// Past the end of a list the writer is well behaved: it takes everything
/// and every flush and shutdown succeeds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkScript {
    /// One step per `poll_write`.
    pub writes: VecDeque<WriteOp>,
    /// One step per `poll_flush`.
    pub flushes: VecDeque<CallOp>,
    /// One step per `poll_shutdown`.
    pub shutdowns: VecDeque<CallOp>,
    /// Once this many bytes were taken, every write fails with this kind.
    pub fail_at: Option<(usize, ErrorKind)>,
}

impl SourceScript {
    /// A reader with nothing to give: EOF on the first read.
    pub fn empty() -> Self {
        Self {
            data: Vec::new(),
            ops: VecDeque::new(),
            fail_at: None,
        }
    }

    /// Decodes a reader's script.
    pub fn decode(input: &mut Input<'_>) -> Self {
        let len = input.data_len();
        let salt = input.byte();
        let ops = input.list(|input| match input.byte() {
            0..=199 => ReadOp::Data(input.count()),
            200..=239 => ReadOp::Pending,
            240..=249 => ReadOp::Interrupted,
            250..=252 => ReadOp::Fail(input.kind()),
            _ => ReadOp::Eof,
        });
        let fail_at = input.maybe_offset().map(|at| (at, input.kind()));
        Self {
            data: pattern(len, salt),
            ops,
            fail_at,
        }
    }
}

impl SinkScript {
    /// Decodes a writer's script.
    pub fn decode(input: &mut Input<'_>) -> Self {
        let writes = input.list(|input| match input.byte() {
            0..=199 => WriteOp::Accept(input.count()),
            200..=239 => WriteOp::Pending,
            240..=249 => WriteOp::Interrupted,
            250..=251 => WriteOp::Fail(input.kind()),
            252..=253 => WriteOp::Zero,
            _ => WriteOp::OverReport(1 + usize::from(input.byte())),
        });
        let flushes = input.list(call_op);
        let shutdowns = input.list(call_op);
        let fail_at = input.maybe_offset().map(|at| (at, input.kind()));
        Self {
            writes,
            flushes,
            shutdowns,
            fail_at,
        }
    }

    /// Steps the script still holds, for bounding the number of polls.
    pub fn len(&self) -> usize {
        self.writes.len() + self.flushes.len() + self.shutdowns.len()
    }
}

fn call_op(input: &mut Input<'_>) -> CallOp {
    match input.byte() {
        0..=199 => CallOp::Ready,
        200..=239 => CallOp::Pending,
        240..=251 => CallOp::Interrupted,
        _ => CallOp::Fail(input.kind()),
    }
}

impl fmt::Debug for SourceScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceScript")
            .field("data_len", &self.data.len())
            .field("ops", &self.ops)
            .field("fail_at", &self.fail_at)
            .finish()
    }
}

/// `len` bytes in which each byte depends on its offset and on `salt`.
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len as u64)
        .map(|i| {
            // splitmix64's finalizer: neighbouring offsets give unrelated bytes.
            let mut z = (i ^ u64::from(salt) << 56).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}
