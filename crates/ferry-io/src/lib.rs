//! Async byte copying for tokio that never loses a byte and tells you what happened.
//!
//! `ferry-io` is a drop-in for [`tokio::io::copy`], [`tokio::io::copy_buf`],
//! [`tokio::io::copy_bidirectional`] and
//! [`tokio::io::copy_bidirectional_with_sizes`]: same names, same signatures,
//! same results. Swap the import and keep your code.
//!
//! What changes is underneath. All of them drive one engine,
//! [`CopyBuffer`], which
//!
//! - yields after a bounded amount of work (about [`TIME_PER_POLL`], and at
//!   most [`MAX_OPS_PER_POLL`] reads and writes or [`MAX_BYTES_PER_POLL`]
//!   bytes), so a copy between two always-ready ends lets other tasks run
//!   instead of holding its thread for the whole transfer, as tokio's copy
//!   does, at no measurable cost;
//! - sizes its buffer by what the ends do: it grows (up to 1 MiB) where a
//!   bigger buffer saves system calls, and stays at 8 KiB between in-memory
//!   ends, where a bigger one would only fall out of the CPU's cache; ends
//!   that make the copy wait (sockets, pipes, channels) try each doubling
//!   against the size before it, timing the copy's own reads, and keep it
//!   only while it pays;
//! - turns a writer that claims more bytes than it was given into an error
//!   instead of an over-count (tokio only has a `debug_assert!`);
//! - keeps its counts after an error ([`CopyBuffer::bytes_read`],
//!   [`CopyBuffer::bytes_written`]) and can be paused and resumed without
//!   losing the bytes in its buffer.
//!
//! With the `futures-io` feature, `ferry_io::futures` offers the same four
//! functions over futures-io's traits, for smol, async-std and `futures`
//! users, and `Copier::futures` the [`Copier`]'s copies: the same engine,
//! with no tokio runtime needed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let mut reader: &[u8] = b"hello, ferry";
//! let mut writer = Vec::new();
//! let n = ferry_io::copy(&mut reader, &mut writer).await?;
//! assert_eq!(n, 12);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod copier;
mod copy;
mod copy_bidirectional;
mod copy_buf;
mod engine;
mod error;
#[cfg(feature = "futures-io")]
pub mod futures;
#[cfg(unix)]
mod landed;
#[cfg(unix)]
pub mod zero_copy;

pub use copier::{
    Copier, CopyJob, DirectionTransfer, Progress, RateLimiter, StopSignal, Transfer,
    DEFAULT_RELEASE_AFTER,
};
pub use copy::{copy, Copy};
pub use copy_bidirectional::{
    copy_bidirectional, copy_bidirectional_with_sizes, CopyBidirectional,
};
pub use copy_buf::{copy_buf, CopyBuf};
pub use engine::{
    BufferPolicy, CopyBuffer, DirectionCounts, MemoryBudget, Step, DEFAULT_BUF_SIZE,
    DEFAULT_MAX_BUF_SIZE, MAX_BYTES_PER_POLL, MAX_OPS_PER_POLL, TIME_PER_POLL,
};
pub use error::{CopyError, Counts, Direction};
#[cfg(unix)]
pub use landed::LandedWriter;
