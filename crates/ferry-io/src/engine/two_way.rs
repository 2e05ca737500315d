//! `TwoWay`: a plain two-way copy: two one-way copies over the same pair of
//! ends, polled together, each half-closing its sink at its source's end.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::{CopyBuffer, Fault, OneWay, Sink, Source, Ungated};

/// Both directions of a copy between `a` and `b`, with no limits.
#[derive(Debug)]
pub(crate) struct TwoWay {
    a_to_b: OneWay<CopyBuffer>,
    b_to_a: OneWay<CopyBuffer>,
}

impl TwoWay {
    pub(crate) fn new(a_to_b: CopyBuffer, b_to_a: CopyBuffer) -> Self {
        Self {
            a_to_b: OneWay::new(a_to_b),
            b_to_a: OneWay::new(b_to_a),
        }
    }

    /// Copies both ways until both directions have ended and shut their
    /// sinks down; returns `(bytes from a to b, bytes from b to a)`.
    pub(crate) fn poll_copy<A, B>(
        &mut self,
        cx: &mut Context<'_>,
        mut a: Pin<&mut A>,
        mut b: Pin<&mut B>,
    ) -> Poll<io::Result<(u64, u64)>>
    where
        A: Source + Sink + ?Sized,
        B: Source + Sink + ?Sized,
    {
        // Poll both before waiting on either, so a stalled direction never
        // holds up the other.
        let a_to_b = self
            .a_to_b
            .poll_transfer(cx, a.as_mut(), b.as_mut(), &mut Ungated)
            .map_err(Fault::into_io_error)?;
        let b_to_a = self
            .b_to_a
            .poll_transfer(cx, b, a, &mut Ungated)
            .map_err(Fault::into_io_error)?;
        let a_to_b = ready!(a_to_b);
        let b_to_a = ready!(b_to_a);
        Poll::Ready(Ok((a_to_b, b_to_a)))
    }
}
