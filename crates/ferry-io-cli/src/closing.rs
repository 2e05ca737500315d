//! Closing a socket that carried ferry's bytes without resetting it.
//!
//! Closing a socket that still holds unread bytes makes the kernel abort the
//! connection: it sends RST and throws away what it had not yet sent to the
//! peer, bytes ferry already counted as delivered (a server that greets
//! before it reads lost megabytes that way). So before such a socket is
//! closed, what the peer still sends is read and discarded until the peer
//! closes, goes quiet, or the time allowed runs out.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{timeout, Instant};

/// How the ends of a transfer are readied for closing once it is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closing {
    /// How long a socket may be drained (and a program waited for).
    pub drain_for: Duration,
    /// Whether a two-way relay that ended well has read both ends to their
    /// end of stream, so that nothing is left unread and closing cannot
    /// reset: their drain is skipped.
    pub relays_read_all: bool,
}

/// How long a peer that sent something may stay quiet before the socket is
/// closed anyway.
pub const QUIET: Duration = Duration::from_secs(2);

/// How long draining may take in all, unless `--linger` says otherwise (a
/// linger too long for the clock never runs out).
pub const AT_MOST: Duration = Duration::from_secs(10);

/// Reads and discards what the peer still sends, so that dropping `stream`
/// afterwards closes it gracefully. Returns at once when nothing is unread.
pub async fn drain<S: AsyncRead + Unpin + ?Sized>(stream: &mut S, at_most: Duration) {
    let deadline = Instant::now().checked_add(at_most);
    // Most peers have sent nothing more: the first read needs no big buffer.
    let mut first = [0; 512];
    let mut scratch = Vec::new();
    // A peer that sent nothing more is not waited for: nothing can be reset.
    let mut wait = Duration::ZERO;
    loop {
        let left = deadline.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        let into = if scratch.is_empty() {
            &mut first[..]
        } else {
            &mut scratch[..]
        };
        match timeout(wait.min(left), stream.read(into)).await {
            Ok(Ok(n)) if n > 0 && !left.is_zero() => {
                wait = QUIET;
                if scratch.is_empty() {
                    scratch = vec![0; 64 << 10];
                }
            }
            // EOF, an error, quiet for too long, or out of time.
            _ => return,
        }
    }
}
