//! `Output`: the writer's side of the engine: what the writer has accepted
//! and whether it owes a flush.
//!
//! Shared by [`CopyBuffer`](super::CopyBuffer) and
//! [`LentCopy`](super::LentCopy) so that both write, flush on stall and
//! finish the same way.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::budget::Budget;
use super::Sink;

#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) written: u64,
    pub(crate) need_flush: bool,
}

impl Output {
    /// Writes some of `chunk` and records it; returns how many bytes went out.
    #[inline]
    pub(crate) fn poll_write<W>(
        &mut self,
        cx: &mut Context<'_>,
        budget: &mut Budget<'_>,
        writer: Pin<&mut W>,
        chunk: &[u8],
    ) -> Poll<io::Result<usize>>
    where
        W: Sink + ?Sized,
    {
        let n = ready!(budget.poll_write(cx, writer, chunk))?;
        self.written += n as u64;
        self.need_flush = true;
        Poll::Ready(Ok(n))
    }

    /// Flushes: if anything was written since the last flush, or `always`
    /// (the last step of every copy).
    #[inline]
    pub(crate) fn poll_flush<W>(
        &mut self,
        cx: &mut Context<'_>,
        budget: &mut Budget<'_>,
        writer: Pin<&mut W>,
        always: bool,
    ) -> Poll<io::Result<()>>
    where
        W: Sink + ?Sized,
    {
        if self.need_flush || always {
            ready!(budget.poll_close(cx, writer, false))?;
            self.need_flush = false;
        }
        Poll::Ready(Ok(()))
    }
}
