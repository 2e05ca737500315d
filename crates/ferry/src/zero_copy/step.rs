//! What a zero-copy mover reports when it stops.

use std::io;

use crate::Step;

/// Why a mover stopped before EOF.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The kernel refused this pair before any byte moved: fall back.
    Refused(io::Error),
    /// A real failure, at `Step`, after the counts the mover holds.
    Failed(Step, io::Error),
}

/// Whether `err` only says "not now": readiness was cleared, try again later.
pub(crate) fn is_retry(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
