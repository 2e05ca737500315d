//! Endpoints: an [`Address`](crate::address::Address) opened as something
//! bytes can move from or to.
//!
//! Every endpoint is a kernel object the library's zero-copy paths may use
//! (a file, a socket, stdin, `/dev/zero`); the library decides, per pair,
//! whether the kernel or memory carries the bytes. `open` opens an address,
//! `destination` owns destination files and the same-file check, `listener`
//! binds and accepts, `stdio` wraps the standard streams, `device` reads and
//! writes memory devices (`/dev/zero`, `/dev/null`) in place.

mod destination;
mod device;
mod listener;
mod open;
mod stdio;

use std::time::Duration;

use ferry::zero_copy::{FdKind, ZeroCopySink, ZeroCopySource, ZeroCopyStream};

use crate::closing;

pub use destination::{open_destination, refuse_same_file, DestinationFile};
pub use listener::Listener;
pub use open::{open, OpenOptions, Role};
pub use stdio::restore_flags;

/// An opened address.
pub enum Endpoint {
    /// Bytes come out of it only: a file, stdin, `zero:`. Carries the total
    /// size when it is known, for the progress bar.
    Source(Box<dyn ZeroCopySource>, Option<u64>),
    /// Bytes go into it only: a file, stdout, `null:`.
    Sink(Box<dyn ZeroCopySink>),
    /// Bytes go both ways: a socket, or stdin+stdout in a relay.
    Stream(Box<dyn ZeroCopyStream>),
}

impl Endpoint {
    /// The number of bytes a source will yield, when known (a regular file).
    pub fn known_size(&self) -> Option<u64> {
        match self {
            Endpoint::Source(_, size) => *size,
            _ => None,
        }
    }

    /// Where bytes can be read, if this end is read.
    pub fn source(&mut self) -> Option<&mut dyn ZeroCopySource> {
        match self {
            Endpoint::Source(source, _) => Some(&mut **source),
            Endpoint::Stream(stream) => Some(&mut **stream),
            Endpoint::Sink(_) => None,
        }
    }

    /// Where bytes can be written, if this end is written.
    pub fn sink(&mut self) -> Option<&mut dyn ZeroCopySink> {
        match self {
            Endpoint::Sink(sink) => Some(&mut **sink),
            Endpoint::Stream(stream) => Some(&mut **stream),
            Endpoint::Source(..) => None,
        }
    }

    /// Readies the end to be closed once the transfer is over: a socket's
    /// unread bytes are read and dropped first, for at most `drain_for`, so
    /// that closing it does not reset the connection (see [`closing`]).
    pub async fn close(&mut self, drain_for: Duration) {
        if let Endpoint::Stream(stream) = self {
            if stream.sink_kind() == FdKind::Socket {
                closing::drain(&mut **stream, drain_for).await;
            }
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Source(source, size) => f
                .debug_tuple("Source")
                .field(&source.source_kind())
                .field(size)
                .finish(),
            Endpoint::Sink(sink) => f.debug_tuple("Sink").field(&sink.sink_kind()).finish(),
            Endpoint::Stream(stream) => f
                .debug_tuple("Stream")
                .field(&stream.source_kind())
                .finish(),
        }
    }
}
