//! `Implementation`: the copies under test, and how each one moves bytes.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::str::FromStr;

use ferry_io::zero_copy::{ZeroCopyMode, ZeroCopySink, ZeroCopySource, ZeroCopyStream};
use serde::{Deserialize, Serialize, Serializer};
use tokio::io::{AsyncRead, AsyncWrite};

/// One way of copying bytes: tokio's, ferry's default, ferry's engine at a
/// fixed buffer size, a `Copier`, ferry's zero-copy routes, or
/// `std::io::copy` on a blocking thread.
///
/// New implementations are new variants: give each a name, say in
/// [`Workload::supports`](crate::Workload::supports) which workloads can
/// run it, and teach those workloads how to drive it. (Relays in processes of their own, such
/// as socat, are [`Relay`](crate::Relay)s.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Implementation {
    /// `tokio::io::copy` / `tokio::io::copy_bidirectional` (8 KiB buffers).
    Tokio,
    /// ferry's engine pinned at 8 KiB: `CopyBuffer::with_capacity` /
    /// `copy_bidirectional_with_sizes`.
    Ferry8K,
    /// ferry's engine pinned at 64 KiB.
    Ferry64K,
    /// ferry's engine pinned at 256 KiB.
    Ferry256K,
    /// ferry's engine pinned at 1 MiB.
    Ferry1M,
    /// ferry's default: `ferry_io::copy` / `ferry_io::copy_bidirectional`.
    Ferry,
    /// A default `ferry_io::Copier`: `.copy` / `.bidirectional`.
    FerryCopier,
    /// `Copier::new().zero_copy(ZeroCopyMode::Auto)`: `copy_file_range` from
    /// file to file, `sendfile` from a file to a socket; only for the file
    /// workloads.
    FerryZeroCopy,
    /// `Copier::new().zero_copy(ZeroCopyMode::Always)`: `splice` between two
    /// sockets; only for the relay workloads.
    FerrySplice,
    /// `std::io::copy` on a blocking thread (`spawn_blocking`), with std ends:
    /// only for the in-memory workloads, the socket receivers and the files
    /// (where std itself calls `copy_file_range` or `sendfile`).
    Std,
}

impl Implementation {
    /// Every implementation, in table order.
    pub const ALL: [Implementation; 10] = [
        Implementation::Tokio,
        Implementation::Ferry8K,
        Implementation::Ferry64K,
        Implementation::Ferry256K,
        Implementation::Ferry1M,
        Implementation::Ferry,
        Implementation::FerryCopier,
        Implementation::FerryZeroCopy,
        Implementation::FerrySplice,
        Implementation::Std,
    ];

    /// What `ferry bench` compares: tokio, ferry's default, ferry's
    /// zero-copy routes and std, each where it applies.
    pub const BENCH: [Implementation; 5] = [
        Implementation::Tokio,
        Implementation::Ferry,
        Implementation::FerryZeroCopy,
        Implementation::FerrySplice,
        Implementation::Std,
    ];

    /// Issue 9's matrix: tokio, ferry at each fixed size, and ferry's default.
    pub const MATRIX: [Implementation; 6] = [
        Implementation::Tokio,
        Implementation::Ferry8K,
        Implementation::Ferry64K,
        Implementation::Ferry256K,
        Implementation::Ferry1M,
        Implementation::Ferry,
    ];

    /// The implementations ferry's default is compared against: the best of
    /// these is the figure the default should come near.
    pub const CONTENDERS: [Implementation; 5] = [
        Implementation::Tokio,
        Implementation::Ferry8K,
        Implementation::Ferry64K,
        Implementation::Ferry256K,
        Implementation::Ferry1M,
    ];

    /// The name used on the command line, in tables and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Tokio => "tokio",
            Implementation::Ferry8K => "ferry-8k",
            Implementation::Ferry64K => "ferry-64k",
            Implementation::Ferry256K => "ferry-256k",
            Implementation::Ferry1M => "ferry-1m",
            Implementation::Ferry => "ferry",
            Implementation::FerryCopier => "ferry-copier",
            Implementation::FerryZeroCopy => "ferry-zero-copy",
            Implementation::FerrySplice => "ferry-splice",
            Implementation::Std => "std",
        }
    }

    /// The buffer size ferry's engine is pinned at, for the fixed variants.
    pub fn fixed_size(self) -> Option<usize> {
        match self {
            Implementation::Ferry8K => Some(8 * 1024),
            Implementation::Ferry64K => Some(64 * 1024),
            Implementation::Ferry256K => Some(256 * 1024),
            Implementation::Ferry1M => Some(1024 * 1024),
            _ => None,
        }
    }

    /// Whether this implementation copies on a blocking thread with std ends
    /// rather than on the runtime with tokio's.
    pub fn is_blocking(self) -> bool {
        self == Implementation::Std
    }

    /// Copies `reader` to `writer` on the runtime and returns the bytes copied.
    ///
    /// # Errors
    ///
    /// The copy's error; [`io::ErrorKind::Unsupported`] for a blocking
    /// implementation, which workloads drive with std ends instead.
    pub async fn copy<R, W>(self, reader: &mut R, writer: &mut W) -> io::Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        if let Some(size) = self.fixed_size() {
            let mut engine = ferry_io::CopyBuffer::with_capacity(size);
            return poll_fn(|cx| {
                engine.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))
            })
            .await;
        }
        match self {
            Implementation::Tokio => tokio::io::copy(reader, writer).await,
            Implementation::Ferry => ferry_io::copy(reader, writer).await,
            Implementation::FerryCopier => Ok(ferry_io::Copier::new().copy(reader, writer).await?),
            _ => Err(self.unsupported("an asynchronous copy")),
        }
    }

    /// Copies `source` to `sink`, two kernel objects (files, sockets), on the
    /// runtime: on ferry's zero-copy routes for those implementations, as
    /// [`copy`](Self::copy) does for the others.
    ///
    /// # Errors
    ///
    /// The copy's error; [`io::ErrorKind::Unsupported`] for a blocking
    /// implementation.
    pub async fn copy_fds<S, D>(self, source: &mut S, sink: &mut D) -> io::Result<u64>
    where
        S: ZeroCopySource + AsyncRead + ?Sized,
        D: ZeroCopySink + AsyncWrite + ?Sized,
    {
        match self.zero_copy_mode() {
            Some(mode) => Ok(ferry_io::Copier::new()
                .zero_copy(mode)
                .copy(source, sink)
                .await?
                .bytes),
            None => self.copy(source, sink).await,
        }
    }

    /// Relays between `a` and `b`, two sockets, both ways until both
    /// directions have ended, and returns the bytes moved `(a to b, b to a)`.
    ///
    /// # Errors
    ///
    /// The relay's error; [`io::ErrorKind::Unsupported`] for a blocking
    /// implementation.
    pub async fn relay<A, B>(self, a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
    where
        A: ZeroCopyStream + ?Sized,
        B: ZeroCopyStream + ?Sized,
    {
        if let Some(size) = self.fixed_size() {
            return ferry_io::copy_bidirectional_with_sizes(a, b, size, size).await;
        }
        if let Some(mode) = self.zero_copy_mode() {
            let relayed = ferry_io::Copier::new()
                .zero_copy(mode)
                .bidirectional(a, b)
                .await?;
            return Ok((relayed.transfer.a_to_b.bytes, relayed.transfer.b_to_a.bytes));
        }
        match self {
            Implementation::Tokio => tokio::io::copy_bidirectional(a, b).await,
            Implementation::Ferry => ferry_io::copy_bidirectional(a, b).await,
            Implementation::FerryCopier => {
                let transfer = ferry_io::Copier::new().bidirectional(a, b).await?;
                Ok((transfer.a_to_b.bytes, transfer.b_to_a.bytes))
            }
            _ => Err(self.unsupported("a relay")),
        }
    }

    /// The zero-copy mode of ferry's zero-copy implementations.
    fn zero_copy_mode(self) -> Option<ZeroCopyMode> {
        match self {
            Implementation::FerryZeroCopy => Some(ZeroCopyMode::Auto),
            Implementation::FerrySplice => Some(ZeroCopyMode::Always),
            _ => None,
        }
    }

    fn unsupported(self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} cannot run {what}", self.name()),
        )
    }
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Implementation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Implementation::ALL
            .into_iter()
            .find(|imp| imp.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Implementation::ALL.iter().map(|i| i.name()).collect();
                format!(
                    "unknown implementation `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for Implementation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// How a saved name is read back (`#[serde(try_from)]`).
impl TryFrom<String> for Implementation {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}
