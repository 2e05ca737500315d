//! `Workload`: the scenarios a copy is measured in, from cache-resident
//! memory to a relay between loopback sockets.
//!
//! Each workload's file holds its run: setup (untimed), the timed copy, and
//! the check that exactly the asked amount arrived. [`Prepared`] holds what
//! is allocated once per workload and runs each measurement as a task.

mod duplex;
mod file_file;
mod file_tcp;
mod mem_fill;
mod mem_pattern;
mod owned;
mod peer;
mod ping_pong;
mod prepared;
mod receiver;
mod slice_vec;
mod source_file;
mod tcp_recv;
mod tcp_relay;
mod unix_recv;

use std::fmt;
use std::io;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::Implementation;

pub use peer::CHUNK;
pub(crate) use peer::{absorb, generate};
pub use ping_pong::MESSAGE_LEN;
pub use prepared::Prepared;

/// One scenario of the benchmark matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Workload {
    /// Cache-resident and budget-free: a reader that fills the buffer it is
    /// given behind a byte limit, and a writer that only counts.
    MemFill,
    /// A 1 MiB in-memory cyclic pattern (a real `memcpy` from an L2-resident
    /// source) into a sink that reads one byte per cache line.
    MemPattern,
    /// A `&[u8]` into a `Vec<u8>` with room reserved: DRAM-bound.
    SliceVec,
    /// `tokio::io::duplex(64 KiB)` fed by a writer task, into a counting sink.
    Duplex,
    /// A Unix socket pair fed by a writer task, into a counting sink.
    UnixRecv,
    /// A loopback TCP connection fed by a writer task, into a counting sink.
    TcpRecv,
    /// Client → relay → server over two loopback TCP connections; the relay
    /// under test moves both ways and ends with half-closes.
    TcpRelay,
    /// 100-byte messages round-tripping client → relay → echo server.
    PingPong,
    /// A file in the page cache into a new file in the same directory.
    FileFile,
    /// A file in the page cache into a loopback TCP connection, read by a
    /// peer that samples what it receives.
    FileTcp,
}

/// What a workload's figure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Bytes of payload; shown as decimal GB/s.
    Bytes,
    /// Request/response round trips; shown as thousands per second.
    RoundTrips,
    /// Connections opened, used and closed; shown as thousands per second.
    Connections,
}

impl Unit {
    /// The label of a rate in this unit, as the tables show it.
    pub fn rate_label(self) -> &'static str {
        match self {
            Unit::Bytes => "GB/s",
            Unit::RoundTrips => "k rt/s",
            Unit::Connections => "k conn/s",
        }
    }

    /// Converts a per-second figure to the scale of [`rate_label`](Self::rate_label).
    pub fn scale(self, per_second: f64) -> f64 {
        match self {
            Unit::Bytes => per_second / 1e9,
            Unit::RoundTrips | Unit::Connections => per_second / 1e3,
        }
    }
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 10] = [
        Workload::MemFill,
        Workload::MemPattern,
        Workload::SliceVec,
        Workload::Duplex,
        Workload::UnixRecv,
        Workload::TcpRecv,
        Workload::TcpRelay,
        Workload::PingPong,
        Workload::FileFile,
        Workload::FileTcp,
    ];

    /// Issue 9's matrix: the workloads between memory and sockets, where the
    /// buffer policy decides the figure (the files add the kernel's routes).
    pub const MATRIX: [Workload; 8] = [
        Workload::MemFill,
        Workload::MemPattern,
        Workload::SliceVec,
        Workload::Duplex,
        Workload::UnixRecv,
        Workload::TcpRecv,
        Workload::TcpRelay,
        Workload::PingPong,
    ];

    /// The name used on the command line, in tables and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::MemFill => "mem-fill",
            Workload::MemPattern => "mem-pattern",
            Workload::SliceVec => "slice-vec",
            Workload::Duplex => "duplex",
            Workload::UnixRecv => "unix-recv",
            Workload::TcpRecv => "tcp-recv",
            Workload::TcpRelay => "tcp-relay",
            Workload::PingPong => "ping-pong",
            Workload::FileFile => "file-file",
            Workload::FileTcp => "file-tcp",
        }
    }

    /// What the workload's amount and figures count.
    pub fn unit(self) -> Unit {
        match self {
            Workload::PingPong => Unit::RoundTrips,
            _ => Unit::Bytes,
        }
    }

    /// Whether this workload can run with `imp`.
    ///
    /// `std` has no asynchronous ends, so it runs only where the workload's
    /// ends have std twins: the in-memory workloads, the socket receivers and
    /// the files. The zero-copy routes run only where the kernel has one
    /// that ferry takes: between files and from a file to a socket
    /// (`ferry-zero-copy`), between two sockets (`ferry-splice`).
    ///
    /// ```
    /// use ferry_io_bench::{Implementation, Workload};
    ///
    /// assert!(Workload::TcpRelay.supports(Implementation::FerrySplice));
    /// assert!(!Workload::TcpRelay.supports(Implementation::Std));
    /// assert!(Workload::FileTcp.supports(Implementation::FerryZeroCopy));
    /// ```
    pub fn supports(self, imp: Implementation) -> bool {
        match imp {
            Implementation::Std => matches!(
                self,
                Workload::MemFill
                    | Workload::MemPattern
                    | Workload::SliceVec
                    | Workload::UnixRecv
                    | Workload::TcpRecv
                    | Workload::FileFile
                    | Workload::FileTcp
            ),
            Implementation::FerryZeroCopy => {
                matches!(self, Workload::FileFile | Workload::FileTcp)
            }
            Implementation::FerrySplice => {
                matches!(self, Workload::TcpRelay | Workload::PingPong)
            }
            _ => true,
        }
    }

    /// Allocates what every run of this workload shares (the 1 MiB pattern,
    /// the slice and its destination, the source file), outside any timed
    /// part.
    ///
    /// `amount` is bytes per run, or round trips for [`Workload::PingPong`].
    pub fn prepare(self, amount: u64) -> io::Result<Prepared> {
        Prepared::new(self, amount)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
                format!(
                    "unknown workload `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for Workload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// How a saved name is read back (`#[serde(try_from)]`).
impl TryFrom<String> for Workload {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

/// Fails unless `got` is exactly `expected`: a benchmark that moved the wrong
/// amount measured nothing.
pub(crate) fn expect_amount(what: &str, expected: u64, got: u64) -> io::Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what}: expected {expected}, got {got}"),
        ))
    }
}
