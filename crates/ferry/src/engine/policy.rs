//! `BufferPolicy`: how big the engine's buffer is, and when it changes size.

/// The size every buffer starts at: 8 KiB, the same as tokio's.
pub const DEFAULT_BUF_SIZE: usize = 8 * 1024;

/// The largest buffer ferry's default policy grows to: 256 KiB.
pub const DEFAULT_MAX_BUF_SIZE: usize = 256 * 1024;

/// How a [`CopyBuffer`](crate::CopyBuffer) sizes its buffer.
///
/// ```
/// use ferry::{BufferPolicy, CopyBuffer};
///
/// let fixed = CopyBuffer::with_policy(BufferPolicy::Fixed(64 * 1024));
/// assert_eq!(fixed.capacity(), 64 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferPolicy {
    /// Always this many bytes.
    Fixed(usize),
    /// Start at `initial` bytes and double, up to `max`, each time one read
    /// fills the whole buffer (the reader has more ready than fits).
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
