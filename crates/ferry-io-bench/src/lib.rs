//! The measurement harness behind ferry's benchmark matrix (issue 9) and the
//! `ferry bench` command (issue 13).
//!
//! - [`Workload`]s: from cache-resident memory ([`ends`] that never touch
//!   tokio's cooperative budget) through pipes and sockets to a loopback
//!   relay, a ping-pong through it, and files in the page cache. Every run
//!   checks that exactly the asked amount arrived.
//! - [`Implementation`]s: tokio, ferry's default, ferry's engine at fixed
//!   sizes, a `Copier`, ferry's zero-copy routes, and `std::io::copy` on a
//!   blocking thread.
//! - A [`Runner`] that runs each workload for R rounds, every implementation
//!   once per round, each in every place in turn (see [`round_order`]), and a [`Report`] with medians,
//!   min–max, ratios to tokio taken round by round ([`ratio`]) and ferry's
//!   default against the best ([`Comparison`]), as [`table`]s or JSON;
//!   saved runs [`pool`] into one report.
//! - For `ferry bench`: [`Scenario`]s that add relays in processes of their
//!   own ([`serve`]: ferry's `--serve`, socat, HAProxy and nginx against
//!   direct) and the [`scaling`] curves through one `ferry --serve`; a
//!   [`Bench`] that runs them into a [`BenchReport`], printed as tables
//!   ([`summary`]), JSON, or an SVG [`chart`].
//!
//! The modules import downwards only, in five layers:
//!
//! 1. figures: [`stats`], `Measurement`, [`ratio`] (round-by-round pairing
//!    of any contenders' runs) and [`machine`];
//! 2. what is measured, and on what: [`ends`], `Implementation` (the
//!    copies, which know no workload), `Workload` (which says what it
//!    [supports](Workload::supports)), `Sizes` and the runtime's `Flavor`;
//! 3. records and reports: `Run`, [`comparison`], [`report`] and [`pool`],
//!    which know nothing of how runs are made;
//! 4. runners: the [`Runner`] and its [`progress`], [`serve`], [`scaling`],
//!    the [`Scenario`]s and the [`Bench`] with its [`bench_report`];
//! 5. what a person reads: [`table`], [`grid`], [`summary`] and [`chart`].
//!
//! Tests and smoke runs use [`Preset::Tiny`] (`ferry bench --size tiny`):
//! every scenario at a few hundred KiB, checking counts, not speed.
//!
//! ```
//! use ferry_io_bench::{Implementation, Runner, Sizes, Workload};
//!
//! let mut runner = Runner::new(vec![Workload::MemFill], Implementation::MATRIX.to_vec());
//! runner.sizes = Sizes::tiny();
//! runner.rounds = 2;
//! let report = runner.run(|_| {})?;
//! assert_eq!(report.workloads[0].runs.len(), 2 * Implementation::MATRIX.len());
//! # Ok::<(), std::io::Error>(())
//! ```

mod bench;
pub mod bench_report;
pub mod chart;
pub mod comparison;
pub mod ends;
mod fd_limit;
mod flavor;
pub mod grid;
mod implementation;
pub mod machine;
mod measurement;
pub mod pool;
pub mod progress;
pub mod ratio;
mod record;
pub mod report;
mod runner;
pub mod scaling;
mod scenario;
pub mod serve;
mod sizes;
pub mod stats;
pub mod summary;
pub mod table;
mod workload;

pub use bench::Bench;
pub use bench_report::BenchReport;
pub use fd_limit::raise_fd_limit;
pub use scaling::{ScalingReport, Usage};
pub use scenario::Scenario;
pub use serve::{listening_ports, Relay, ServeLoad, ServeReport};

pub use comparison::{Comparison, Targets};
pub use flavor::Flavor;
pub use implementation::Implementation;
pub use measurement::{Latency, Measurement};
pub use report::Report;
pub use runner::{round_order, Runner, Step};
pub use sizes::{Preset, Sizes};
pub use workload::{Prepared, Unit, Workload, CHUNK, MESSAGE_LEN};
