//! `Step`: which part of a copy an error came from.

/// The step of a copy that failed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut reader: &[u8] = b"abc";
/// let err = ferry_io::Copier::new().copy(&mut reader, &mut std::io::Cursor::new(&mut [0u8; 0][..])).await.unwrap_err();
/// assert_eq!(err.step(), ferry_io::Step::Write);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Reading from the source.
    Read,
    /// Writing to the destination.
    Write,
    /// Flushing the destination.
    Flush,
    /// Shutting down the destination's write half after EOF.
    Shutdown,
    /// No byte moved, in either direction, for the idle timeout.
    IdleTimeout,
    /// One direction outlived the linger allowed after the other finished.
    LingerTimeout,
}
