//! Endpoints: an [`Address`](crate::address::Address) opened as something
//! bytes can move from or to.
//!
//! Every endpoint is a kernel object the library's zero-copy paths may use
//! (a file, a socket, stdin, `/dev/zero`, a program's pipe); the library
//! decides, per pair, whether the kernel or memory carries the bytes; ends
//! whose bytes are not the fd's (TLS, `zero:`) report so and go through
//! memory. `open` opens an address, `destination` owns destination files and
//! the same-file check, `listener` binds and accepts, `stdio` wraps the
//! standard streams, `device` reads and writes memory devices (`/dev/zero`,
//! `/dev/null`) in place, `tcp` connects (from a bound address) to what `names` resolved, `tls` speaks
//! TLS, `exec` runs programs, `memory` marks the ends copied through memory,
//! `activation` holds the sockets systemd passed, `socket` sets the options
//! of relayed sockets.

mod activation;
mod destination;
mod device;
mod exec;
mod listener;
mod memory;
mod names;
mod open;
mod socket;
mod stdio;
mod tcp;
mod tls;

use std::time::Duration;

use ferry_io::zero_copy::{FdKind, ZeroCopySink, ZeroCopySource, ZeroCopyStream};

use crate::closing;

pub use activation::inherit;
pub use destination::{open_destination, refuse_same_file, DestinationFile};
pub use exec::{failed_program, stopped_reading, Exit, Program};
pub use listener::{Incoming, Listener, Shard, Sharing};
pub use open::{open, OpenOptions, Role};
pub use stdio::restore_flags;
pub use tls::certificate_refused;

/// An opened address.
pub enum Endpoint {
    /// Bytes come out of it only: a file, stdin, `zero:`. Carries the total
    /// size when it is known, for the progress bar.
    Source(Box<dyn ZeroCopySource>, Option<u64>),
    /// Bytes go into it only: a file, stdout, `null:`.
    Sink(Box<dyn ZeroCopySink>),
    /// Bytes go both ways: a socket, or stdin+stdout in a relay.
    Stream(Box<dyn ZeroCopyStream>),
    /// A program (`exec:`, `sh:`): both ways in a relay, one way otherwise;
    /// it exits when the transfer is over.
    Program(Box<Program>),
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
            Endpoint::Program(program) if program.is_read() => Some(&mut **program),
            Endpoint::Sink(_) | Endpoint::Program(_) => None,
        }
    }

    /// Where bytes can be written, if this end is written.
    pub fn sink(&mut self) -> Option<&mut dyn ZeroCopySink> {
        match self {
            Endpoint::Sink(sink) => Some(&mut **sink),
            Endpoint::Stream(stream) => Some(&mut **stream),
            Endpoint::Program(program) if program.is_written() => Some(&mut **program),
            Endpoint::Source(..) | Endpoint::Program(_) => None,
        }
    }

    /// Both ways, if this end carries bytes both ways.
    pub fn stream(&mut self) -> Option<&mut dyn ZeroCopyStream> {
        match self {
            Endpoint::Stream(stream) => Some(&mut **stream),
            Endpoint::Program(program) if program.is_read() && program.is_written() => {
                Some(&mut **program)
            }
            _ => None,
        }
    }

    /// Makes closing this end reset its connection, if it is a socket: a
    /// client whose relay could not start must not take the close for a
    /// clean end of what it asked for.
    pub fn abort(&self) {
        if let Endpoint::Stream(stream) = self {
            if stream.sink_kind() == FdKind::Socket {
                socket::abort(stream.as_fd());
            }
        }
    }

    /// Sets the options of a relayed TCP socket, under TLS too (see
    /// [`socket::tune`]); other ends are left alone.
    pub fn tune(&self, keepalive: Option<Duration>) {
        if let Endpoint::Stream(stream) = self {
            socket::tune(stream.as_fd(), keepalive);
        }
    }

    /// Readies the end to be closed once the transfer is over: a socket
    /// waits for its peer to close, reading and dropping what it still sends,
    /// for at most `drain_for`, so that closing it does not reset the
    /// connection (see [`closing`]).
    /// A socket under TLS is drained through TLS.
    pub async fn close(&mut self, drain_for: Duration) {
        if let Endpoint::Stream(stream) = self {
            if stream.sink_kind() == FdKind::Socket || is_socket(&**stream) {
                closing::drain(&mut **stream, drain_for).await;
            }
        }
    }

    /// Gives a program `within` to exit once its output ended (see
    /// [`Program::exit_within`]); nothing for other ends.
    pub fn exit_within(&mut self, within: Duration) {
        if let Endpoint::Program(program) = self {
            program.exit_within(within);
        }
    }

    /// Whether this end is a program that is written and not read: a
    /// one-way copy's destination.
    pub fn is_program_only_written(&self) -> bool {
        matches!(self, Endpoint::Program(program) if program.is_written() && !program.is_read())
    }

    /// Once the transfer is over: waits for a program to exit (see
    /// [`Program::wait`]) and returns how it ended; `None` for other ends.
    pub async fn finish(&mut self, drain_for: Duration) -> Option<std::io::Result<Exit>> {
        match self {
            Endpoint::Program(program) => Some(program.wait(drain_for).await),
            _ => None,
        }
    }

    /// Bytes handed to a program after it stopped reading: dropped, so not
    /// delivered (see [`Program::discarded`]); 0 for other ends.
    pub fn discarded(&self) -> u64 {
        match self {
            Endpoint::Program(program) => program.discarded(),
            _ => 0,
        }
    }

    /// After a failed transfer: stops a program and returns how it ended;
    /// `None` for other ends.
    pub async fn stop(&mut self) -> Option<std::io::Result<Exit>> {
        match self {
            Endpoint::Program(program) => Some(program.stop().await),
            _ => None,
        }
    }
}

/// Whether an end that is not itself a kernel route sits on a socket (TLS).
fn is_socket(end: &dyn ZeroCopyStream) -> bool {
    rustix::fs::fstat(end.as_fd())
        .is_ok_and(|stat| rustix::fs::FileType::from_raw_mode(stat.st_mode).is_socket())
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
            Endpoint::Program(program) => f.debug_tuple("Program").field(program).finish(),
        }
    }
}
