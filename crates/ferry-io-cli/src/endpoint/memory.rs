//! The ends that the kernel routes pass by: they report [`FdKind::Other`],
//! so the library copies them through memory with their own `AsyncRead` /
//! `AsyncWrite`, and never asks them for readiness or raw calls.
//!
//! `memory_source!` and `memory_sink!` implement the zero-copy traits for
//! such an end, given the expression that borrows its reader or writer.

/// Implements [`ZeroCopySource`](ferry_io::zero_copy::ZeroCopySource) for an
/// end read through memory: `memory_source!(Type, |this| reader_of_this)`.
macro_rules! memory_source {
    ($ty:ty, |$this:ident| $reader:expr) => {
        impl ferry_io::zero_copy::ZeroCopySource for $ty {
            fn source_kind(&self) -> ferry_io::zero_copy::FdKind {
                ferry_io::zero_copy::FdKind::Other
            }

            fn poll_read_ready(
                &self,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn try_read_io(
                &self,
                op: &mut dyn FnMut() -> std::io::Result<usize>,
            ) -> std::io::Result<usize> {
                op()
            }

            fn reader(
                &mut self,
            ) -> std::io::Result<Box<dyn tokio::io::AsyncRead + Unpin + Send + '_>> {
                let $this = self;
                Ok(Box::new($reader))
            }
        }
    };
}

/// Implements [`ZeroCopySink`](ferry_io::zero_copy::ZeroCopySink) for an end
/// written through memory: `memory_sink!(Type, |this| writer_of_this)`.
macro_rules! memory_sink {
    ($ty:ty, |$this:ident| $writer:expr) => {
        impl ferry_io::zero_copy::ZeroCopySink for $ty {
            fn sink_kind(&self) -> ferry_io::zero_copy::FdKind {
                ferry_io::zero_copy::FdKind::Other
            }

            fn poll_write_ready(
                &self,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn try_write_io(
                &self,
                op: &mut dyn FnMut() -> std::io::Result<usize>,
            ) -> std::io::Result<usize> {
                op()
            }

            fn writer(
                &mut self,
            ) -> std::io::Result<Box<dyn tokio::io::AsyncWrite + Unpin + Send + '_>> {
                let $this = self;
                Ok(Box::new($writer))
            }
        }
    };
}

pub(crate) use memory_sink;
pub(crate) use memory_source;

#[cfg(doc)]
use ferry_io::zero_copy::FdKind;
