//! `OffTask`: a call that may block on the disk (`copy_file_range`) made on
//! tokio's blocking pool, in trips of many calls, with each call's bytes
//! counted as soon as it returns.

use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::{io, mem};

use rustix::io::Errno;
use tokio::task::JoinHandle;

use super::call::{Call, Turn};
use crate::engine::StopFlag;

/// Bytes per call within a trip. Each call's bytes are counted as soon as it
/// returns, so the copy's counts (and with them the idle timeout and
/// progress) move every megabyte, not every trip, and a dropped or stopped
/// copy ends after at most this many more bytes.
const CALL_BYTES: usize = 1 << 20;

/// The source and sink, duplicated so a blocking-pool task can own them.
/// The duplicates share the file offsets with the caller's files.
type Fds = Arc<(OwnedFd, OwnedFd)>;

/// What the copy and its blocking-pool task share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes landed in the sink by every call so far, added as each returns.
    landed: AtomicU64,
    /// Set when the copy is dropped or stopped: the task in flight makes no
    /// call after the current one.
    halt: AtomicBool,
}

/// The trips of one copy: at most one in flight at a time.
#[derive(Debug, Default)]
pub(crate) struct OffTask {
    fds: Option<Fds>,
    shared: Arc<Shared>,
    pending: Option<JoinHandle<Turn>>,
    /// The landed bytes already handed to the mover.
    settled: u64,
}

impl OffTask {
    /// Bytes that have landed and that no finished trip has handed over
    /// yet: the calls of the trip in flight.
    pub(crate) fn in_flight(&self) -> u64 {
        self.shared.landed.load(Ordering::SeqCst) - self.settled
    }

    /// Starts a trip of `call`s from `from` to `to` moving up to `want`
    /// bytes, which ends early at the source's end, a halt or `stop`.
    pub(crate) fn start(
        &mut self,
        call: Call,
        (from, to): (BorrowedFd<'_>, BorrowedFd<'_>),
        stop: Option<Arc<dyn StopFlag>>,
        want: usize,
    ) -> io::Result<()> {
        let fds = match &self.fds {
            Some(fds) => Arc::clone(fds),
            None => {
                let pair = (from.try_clone_to_owned()?, to.try_clone_to_owned()?);
                Arc::clone(self.fds.insert(Arc::new(pair)))
            }
        };
        let shared = Arc::clone(&self.shared);
        self.pending = Some(tokio::task::spawn_blocking(move || {
            trip(call, &fds, &shared, stop.as_deref(), want)
        }));
        Ok(())
    }

    /// Waits for the trip in flight, if there is one: the bytes it landed,
    /// and how it ended.
    pub(crate) fn poll_trip(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Turn)>> {
        let Some(task) = &mut self.pending else {
            return Poll::Ready(None);
        };
        let turn = ready!(Pin::new(task).poll(cx))
            .unwrap_or_else(|join| Turn::Failed(io::Error::other(join)));
        self.pending = None;
        let landed = self.shared.landed.load(Ordering::SeqCst);
        // One trip moves at most the allowance it was given: this fits.
        let moved = (landed - mem::replace(&mut self.settled, landed)) as usize;
        Poll::Ready(Some((moved, turn)))
    }

    /// Tells a trip in flight to make no call after its current one.
    ///
    /// Once this has returned, at most one more call (at most
    /// [`CALL_BYTES`]) can land that [`in_flight`](Self::in_flight) does
    /// not yet include.
    pub(crate) fn halt(&self) {
        self.shared.halt.store(true, Ordering::SeqCst);
    }
}

impl Drop for OffTask {
    fn drop(&mut self) {
        // The trip in flight owns its fds and runs on; end it soon, so a
        // dropped copy does not keep writing a whole trip nobody counts.
        self.halt();
    }
}

/// Makes `call`s of at most [`CALL_BYTES`] until `want` bytes moved, the
/// source's end, a halt or a stop, publishing each call's bytes.
///
/// The stop is checked here, before each call, rather than when the copy is
/// next polled: once it is given, only the call already running can land.
fn trip(
    call: Call,
    fds: &(OwnedFd, OwnedFd),
    shared: &Shared,
    stop: Option<&dyn StopFlag>,
    want: usize,
) -> Turn {
    let stopped = || shared.halt.load(Ordering::SeqCst) || stop.is_some_and(StopFlag::is_set);
    let mut left = want;
    while left > 0 && !stopped() {
        match call.run(fds.0.as_fd(), fds.1.as_fd(), left.min(CALL_BYTES)) {
            Ok(0) => return Turn::Zero,
            Ok(n) => {
                left -= n;
                shared.landed.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(Errno::INTR) => {}
            Err(err) => return Turn::Failed(err.into()),
        }
    }
    Turn::Again
}
