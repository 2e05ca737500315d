//! `Sizes`: how much each workload moves per run, and the presets.

use serde::Serialize;

use crate::Workload;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Which amounts a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// A few hundred KiB per run: for tests, which check counts, not speed.
    Tiny,
    /// Each run lasts tens of milliseconds on a 2-vCPU machine: a smoke run.
    Quick,
    /// Each run lasts about 0.3–1 s (slice-vec about 0.1 s: its 512 MiB
    /// source is the point of it).
    Full,
}

impl Preset {
    /// Rounds per scenario that `ferry bench` makes with this preset: one
    /// for tests, three for a quick look, five for figures to quote.
    pub fn rounds(self) -> usize {
        match self {
            Preset::Tiny => 1,
            Preset::Quick => 3,
            Preset::Full => 5,
        }
    }
}

/// The amount each workload moves per run: bytes, or round trips for
/// [`Workload::PingPong`].
///
/// ```
/// use ferry_io_bench::{Sizes, Workload};
///
/// let sizes = Sizes::full().with(Workload::SliceVec, 64 << 20);
/// assert_eq!(sizes.amount(Workload::SliceVec), 64 << 20);
/// assert_eq!(sizes.amount(Workload::PingPong), Sizes::full().amount(Workload::PingPong));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sizes {
    amounts: [u64; Workload::ALL.len()],
}

impl Sizes {
    /// The amounts of `preset`.
    pub fn preset(preset: Preset) -> Sizes {
        match preset {
            Preset::Tiny => Sizes::tiny(),
            Preset::Quick => Sizes::quick(),
            Preset::Full => Sizes::full(),
        }
    }

    /// Runs of tens of milliseconds (figures from the baselines of a 2-vCPU machine).
    pub fn quick() -> Sizes {
        Sizes::from_fn(|workload| match workload {
            Workload::MemFill => 2 * GIB,
            Workload::MemPattern => 512 * MIB,
            Workload::SliceVec => 64 * MIB,
            Workload::Duplex => 256 * MIB,
            Workload::UnixRecv => 128 * MIB,
            Workload::TcpRecv => 64 * MIB,
            Workload::TcpRelay => 32 * MIB,
            Workload::PingPong => 1_000,
            Workload::FileFile => 32 * MIB,
            Workload::FileTcp => 32 * MIB,
        })
    }

    /// Runs of about 0.3–1 s; slice-vec moves 512 MiB (about 0.1 s), the
    /// file workloads copy a 512 MiB file (its copy needs as much again in
    /// the page cache).
    pub fn full() -> Sizes {
        Sizes::from_fn(|workload| match workload {
            Workload::MemFill => 32 * GIB,
            Workload::MemPattern => 16 * GIB,
            Workload::SliceVec => 512 * MIB,
            Workload::Duplex => 8 * GIB,
            Workload::UnixRecv => 4 * GIB,
            Workload::TcpRecv => 2 * GIB,
            Workload::TcpRelay => GIB,
            Workload::PingPong => 20_000,
            Workload::FileFile => 512 * MIB,
            Workload::FileTcp => 512 * MIB,
        })
    }

    /// Amounts for tests: a few hundred KiB that end mid-chunk, and a handful
    /// of round trips.
    pub fn tiny() -> Sizes {
        Sizes::from_fn(|workload| match workload {
            Workload::PingPong => 20,
            _ => 600 * KIB + 7,
        })
    }

    /// Every workload's amount from `amount`.
    pub fn from_fn(mut amount: impl FnMut(Workload) -> u64) -> Sizes {
        Sizes {
            amounts: Workload::ALL.map(&mut amount),
        }
    }

    /// The amount `workload` moves per run.
    pub fn amount(&self, workload: Workload) -> u64 {
        self.amounts[Self::index(workload)]
    }

    /// These sizes with `workload` moving `amount` per run.
    pub fn with(mut self, workload: Workload, amount: u64) -> Sizes {
        self.amounts[Self::index(workload)] = amount;
        self
    }

    fn index(workload: Workload) -> usize {
        Workload::ALL
            .iter()
            .position(|&w| w == workload)
            .unwrap_or_default()
    }
}
