//! The in-memory ends of the workloads: readers and writers that never touch
//! tokio's cooperative budget, so a copy between them measures the copy alone.
//!
//! Each implements both tokio's `AsyncRead`/`AsyncWrite` and std's
//! `Read`/`Write`, so `std::io::copy` can drive the same ends. The criterion
//! benches in `crates/ferry-io/benches` use them too.

mod count;
mod fill;
mod pattern;
mod reading_sink;

pub use count::CountingSink;
pub use fill::FillReader;
pub use pattern::{pattern, sampled_sum, PatternReader, PATTERN_LEN, SAMPLE_STRIDE};
pub use reading_sink::ReadingSink;
