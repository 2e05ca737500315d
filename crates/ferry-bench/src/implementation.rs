//! `Implementation`: the copies under test, and how each one moves bytes.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::workload::Workload;

/// One way of copying bytes: tokio's, ferry's default, ferry's engine at a
/// fixed buffer size, a `Copier`, or `std::io::copy` on a blocking thread.
///
/// New implementations (ferry's zero-copy paths, relay processes such as
/// socat or HAProxy) are new variants: give each a name, say in
/// [`applies_to`](Self::applies_to) which workloads it can run, and teach
/// those workloads how to drive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// ferry's default: `ferry::copy` / `ferry::copy_bidirectional`.
    Ferry,
    /// A default `ferry::Copier`: `.copy` / `.bidirectional`.
    FerryCopier,
    /// `std::io::copy` on a blocking thread (`spawn_blocking`), with std ends:
    /// only for the in-memory workloads and the socket receivers.
    Std,
}

impl Implementation {
    /// Every implementation, in table order.
    pub const ALL: [Implementation; 8] = [
        Implementation::Tokio,
        Implementation::Ferry8K,
        Implementation::Ferry64K,
        Implementation::Ferry256K,
        Implementation::Ferry1M,
        Implementation::Ferry,
        Implementation::FerryCopier,
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

    /// Whether this implementation can run `workload`.
    ///
    /// `std` has no asynchronous ends, so it runs only where the workload's
    /// ends have std twins: the in-memory workloads and the socket receivers.
    pub fn applies_to(self, workload: Workload) -> bool {
        match self {
            Implementation::Std => matches!(
                workload,
                Workload::MemFill
                    | Workload::MemPattern
                    | Workload::SliceVec
                    | Workload::UnixRecv
                    | Workload::TcpRecv
            ),
            _ => true,
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
            let mut engine = ferry::CopyBuffer::with_capacity(size);
            return poll_fn(|cx| {
                engine.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))
            })
            .await;
        }
        match self {
            Implementation::Tokio => tokio::io::copy(reader, writer).await,
            Implementation::Ferry => ferry::copy(reader, writer).await,
            Implementation::FerryCopier => Ok(ferry::Copier::new().copy(reader, writer).await?),
            _ => Err(self.unsupported("an asynchronous copy")),
        }
    }

    /// Relays between `a` and `b` both ways until both directions have ended,
    /// and returns the bytes moved `(a to b, b to a)`.
    ///
    /// # Errors
    ///
    /// The relay's error; [`io::ErrorKind::Unsupported`] for a blocking
    /// implementation.
    pub async fn relay<A, B>(self, a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
    where
        A: AsyncRead + AsyncWrite + Unpin + ?Sized,
        B: AsyncRead + AsyncWrite + Unpin + ?Sized,
    {
        if let Some(size) = self.fixed_size() {
            return ferry::copy_bidirectional_with_sizes(a, b, size, size).await;
        }
        match self {
            Implementation::Tokio => tokio::io::copy_bidirectional(a, b).await,
            Implementation::Ferry => ferry::copy_bidirectional(a, b).await,
            Implementation::FerryCopier => {
                let transfer = ferry::Copier::new().bidirectional(a, b).await?;
                Ok((transfer.a_to_b.bytes, transfer.b_to_a.bytes))
            }
            _ => Err(self.unsupported("a relay")),
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
