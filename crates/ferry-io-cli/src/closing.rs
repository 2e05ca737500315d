//! Closing a socket that carried ferry's bytes without resetting it.
//!
//! Closing a socket that still holds unread bytes, or that the peer writes to
//! after the close, makes the kernel abort the connection: it sends RST and
//! throws away what it had not yet sent to the peer, bytes ferry already
//! counted as delivered (a server that greets before it reads lost megabytes
//! that way; a TLS 1.3 server's session tickets, sent once it has finished
//! its side of the handshake, can arrive after ferry wrote everything). So
//! before such a socket is closed, ferry waits for the peer to close, reading
//! and discarding what it still sends, until the peer closes, goes quiet, or
//! the time allowed runs out.

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

/// How long a peer may stay quiet, neither sending nor closing, before the
/// socket is closed anyway.
pub const QUIET: Duration = Duration::from_secs(2);

/// How long draining may take in all, unless `--linger` says otherwise (a
/// linger too long for the clock never runs out).
pub const AT_MOST: Duration = Duration::from_secs(10);

/// Reads and discards what the peer still sends until it closes, so that
/// dropping `stream` afterwards closes it gracefully. Gives up when the peer
/// stays quiet for [`QUIET`] or `at_most` runs out. Returns as soon as the
/// peer has closed, which a peer that read ferry's end of stream does at once.
pub async fn drain<S: AsyncRead + Unpin + ?Sized>(stream: &mut S, at_most: Duration) {
    let deadline = Instant::now().checked_add(at_most);
    // Most peers send nothing more: the first read needs no big buffer.
    let mut first = [0; 512];
    let mut scratch = Vec::new();
    loop {
        let left = deadline.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        let into = if scratch.is_empty() {
            &mut first[..]
        } else {
            &mut scratch[..]
        };
        match timeout(QUIET.min(left), stream.read(into)).await {
            Ok(Ok(n)) if n > 0 && !left.is_zero() => {
                if scratch.is_empty() {
                    scratch = vec![0; 64 << 10];
                }
            }
            // EOF, an error, quiet for too long, or out of time.
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncWriteExt};
    use tokio::time::sleep;

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_closes_at_once_is_not_waited_for() {
        let (mut ours, peer) = duplex(64);
        drop(peer);
        let started = Instant::now();
        drain(&mut ours, AT_MOST).await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_speaks_late_is_read_until_it_closes() {
        let (mut ours, mut peer) = duplex(64);
        let speaking = tokio::spawn(async move {
            sleep(Duration::from_secs(1)).await;
            peer.write_all(b"late").await?;
            sleep(Duration::from_millis(1500)).await;
            peer.write_all(b"later").await
        });
        let started = Instant::now();
        drain(&mut ours, AT_MOST).await;
        assert_eq!(started.elapsed(), Duration::from_millis(2500));
        drop(ours);
        // Nothing the peer wrote met a closed end (on a socket: a reset).
        speaking.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_peer_is_given_up_after_quiet() {
        let (mut ours, _peer) = duplex(64);
        let started = Instant::now();
        drain(&mut ours, AT_MOST).await;
        assert_eq!(started.elapsed(), QUIET);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_never_stops_is_given_up_when_the_time_runs_out() {
        let (mut ours, mut peer) = duplex(64);
        tokio::spawn(async move {
            while peer.write_all(&[0; 1000]).await.is_ok() {
                sleep(Duration::from_millis(500)).await;
            }
        });
        let started = Instant::now();
        drain(&mut ours, Duration::from_secs(3)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }
}
