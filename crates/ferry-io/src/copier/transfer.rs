//! `Transfer`: what a finished two-way copy moved, per direction.

use std::time::Duration;

/// The result of a bidirectional copy: bytes and time per direction.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry_io::CopyError> {
/// let mut a = tokio::io::join(&b"to b"[..], tokio::io::sink());
/// let mut b = tokio::io::join(&b"to a!"[..], tokio::io::sink());
/// let transfer: ferry_io::Transfer = ferry_io::Copier::new().bidirectional(&mut a, &mut b).await?;
/// assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (4, 5));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// From `a` to `b`.
    pub a_to_b: DirectionTransfer,
    /// From `b` to `a`.
    pub b_to_a: DirectionTransfer,
}

/// What one direction of a bidirectional copy moved, and how long it ran.
///
/// ```
/// let done = ferry_io::DirectionTransfer { bytes: 10, duration: std::time::Duration::from_millis(5) };
/// assert_eq!(done.bytes, 10);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionTransfer {
    /// Bytes written to the destination.
    pub bytes: u64,
    /// From the start of the copy until this direction had shut down its destination.
    pub duration: Duration,
}
