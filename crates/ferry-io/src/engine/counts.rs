//! `DirectionCounts`: what one direction of a copy has read and written.

/// Bytes read and written in one direction.
///
/// ```
/// let counts = ferry_io::DirectionCounts { read: 10, written: 8 };
/// assert_eq!(counts.read - counts.written, 2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirectionCounts {
    /// Bytes read from the source.
    pub read: u64,
    /// Bytes the destination accepted.
    pub written: u64,
}
