//! The `Copier`'s two-way copy: two engines, one watch, per-direction results.

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::bidirectional::OneWay;
use crate::copier::Copier;
use crate::gate::Limits;
use crate::watch::Watch;
use crate::{CopyBuffer, CopyError, Counts, Direction, Step};

/// The result of a bidirectional copy: bytes and time per direction.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry::CopyError> {
/// let mut a = tokio::io::join(&b"to b"[..], tokio::io::sink());
/// let mut b = tokio::io::join(&b"to a!"[..], tokio::io::sink());
/// let transfer: ferry::Transfer = ferry::Copier::new().bidirectional(&mut a, &mut b).await?;
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
/// let done = ferry::DirectionTransfer { bytes: 10, duration: std::time::Duration::from_millis(5) };
/// assert_eq!(done.bytes, 10);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionTransfer {
    /// Bytes written to the destination.
    pub bytes: u64,
    /// From the start of the copy until this direction had shut down its destination.
    pub duration: Duration,
}

/// One direction of the relay and its limits.
#[derive(Debug)]
struct Side {
    way: OneWay,
    limits: Limits,
    /// When this direction finished, and with how many bytes.
    finished: Option<DirectionTransfer>,
}

impl Side {
    fn new(copier: &Copier) -> Self {
        Self {
            way: OneWay::new(CopyBuffer::with_policy(copier.policy)),
            limits: Limits::new(copier),
            finished: None,
        }
    }

    fn poll_side<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
        started: Instant,
    ) -> Poll<Result<(), (Step, std::io::Error)>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        if self.finished.is_none() {
            let bytes = ready!(self.way.poll_transfer(cx, reader, writer, &mut self.limits))?;
            self.finished = Some(DirectionTransfer {
                bytes,
                duration: started.elapsed(),
            });
        }
        Poll::Ready(Ok(()))
    }
}

#[derive(Debug)]
pub(crate) struct Relay {
    a_to_b: Side,
    b_to_a: Side,
    watch: Watch,
    started: Option<Instant>,
}

impl Relay {
    pub(crate) fn new(copier: &Copier) -> Self {
        Self {
            a_to_b: Side::new(copier),
            b_to_a: Side::new(copier),
            watch: Watch::new(copier),
            started: None,
        }
    }

    fn counts(&self) -> Counts {
        Counts {
            a_to_b: self.a_to_b.way.counts(),
            b_to_a: self.b_to_a.way.counts(),
        }
    }

    pub(crate) fn poll_relay<A, B>(
        &mut self,
        cx: &mut Context<'_>,
        mut a: Pin<&mut A>,
        mut b: Pin<&mut B>,
    ) -> Poll<Result<Transfer, CopyError>>
    where
        A: AsyncRead + AsyncWrite + ?Sized,
        B: AsyncRead + AsyncWrite + ?Sized,
    {
        let started = *self.started.get_or_insert_with(Instant::now);
        // Poll both before looking at either, so a stalled direction never
        // holds up the other.
        let a_to_b = self.a_to_b.poll_side(cx, a.as_mut(), b.as_mut(), started);
        let b_to_a = self.b_to_a.poll_side(cx, b.as_mut(), a.as_mut(), started);
        let counts = self.counts();
        let failed = match (a_to_b, b_to_a) {
            (Poll::Ready(Err((step, err))), _) => Some((Direction::AToB, step, err)),
            (_, Poll::Ready(Err((step, err)))) => Some((Direction::BToA, step, err)),
            _ => None,
        };
        if let Some((direction, step, err)) = failed {
            self.watch.finish(&counts);
            return Poll::Ready(Err(CopyError::new(direction, step, err, counts, false)));
        }
        let (a_to_b, b_to_a) = (&mut self.a_to_b.way, &mut self.b_to_a.way);
        self.watch.poll_relay(
            cx,
            counts,
            (self.a_to_b.finished, self.b_to_a.finished),
            || {
                a_to_b.release();
                b_to_a.release();
            },
        )
    }
}
