//! The measurement harness behind ferry's benchmark matrix (issue 9) and the
//! `ferry bench` command (issue 13).
//!
//! - [`Workload`]s: from cache-resident memory ([`ends`] that never touch
//!   tokio's cooperative budget) through pipes and sockets to a loopback
//!   relay and a ping-pong through it. Every run checks that exactly the
//!   asked amount arrived.
//! - [`Implementation`]s: tokio, ferry's default, ferry's engine at fixed
//!   sizes, a `Copier`, and `std::io::copy` on a blocking thread.
//! - A [`Runner`] that runs each workload for R rounds, every implementation
//!   once per round, alternating the order, and a [`Report`] with medians,
//!   min–max, ratios to tokio and ferry's default against the best
//!   ([`Comparison`]), as [`table`]s or JSON.
//!
//! ```
//! use ferry_bench::{Implementation, Runner, Sizes, Workload};
//!
//! let mut runner = Runner::new(vec![Workload::MemFill], Implementation::MATRIX.to_vec());
//! runner.sizes = Sizes::tiny();
//! runner.rounds = 2;
//! let report = runner.run(|_| {})?;
//! assert_eq!(report.workloads[0].runs.len(), 2 * Implementation::MATRIX.len());
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod comparison;
pub mod ends;
mod implementation;
pub mod machine;
mod measurement;
pub mod progress;
pub mod report;
mod runner;
mod sizes;
pub mod stats;
pub mod table;
mod workload;

pub use comparison::{Comparison, Targets};
pub use implementation::Implementation;
pub use measurement::{Latency, Measurement};
pub use report::Report;
pub use runner::{round_order, Flavor, Runner, Step};
pub use sizes::{Preset, Sizes};
pub use workload::{Prepared, Unit, Workload, CHUNK, MESSAGE_LEN};
