//! The copy engine: the one loop that moves bytes from a reader to a writer,
//! and everything that loop needs. It imports nothing from the rest of the
//! crate; every front end (the tokio twins, the futures-io twins, the
//! `Copier`, the zero-copy paths) drives it or plugs into it through
//! [`Mover`], and every family of I/O traits reaches it through [`Source`],
//! [`LendingSource`] and [`Sink`].

pub(crate) mod budget;
mod buffer;
mod climb;
mod counts;
mod ends;
mod gate;
mod lent;
mod memory;
mod mover;
mod one_way;
mod output;
mod policy;
mod step;
mod two_way;

pub use budget::{MAX_BYTES_PER_POLL, MAX_OPS_PER_POLL, TIME_PER_POLL};
pub use buffer::CopyBuffer;
pub use counts::DirectionCounts;
pub use memory::MemoryBudget;
pub use policy::{BufferPolicy, DEFAULT_BUF_SIZE, DEFAULT_MAX_BUF_SIZE};
pub use step::Step;

pub(crate) use ends::{LendingSource, Sink, Source};
pub(crate) use gate::{ReadGate, StopFlag, Ungated};
pub(crate) use lent::LentCopy;
pub(crate) use mover::{Fault, Mover, PollMove};
pub(crate) use one_way::OneWay;
pub(crate) use two_way::TwoWay;
