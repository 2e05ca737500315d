//! `FileRange`: file to file with `copy_file_range(2)`, off the runtime's
//! worker threads.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustix::io::Errno;
use tokio::task::coop::poll_proceed;
use tokio::task::JoinHandle;

use super::end::{ZeroCopySink, ZeroCopySource};
use super::table::{first_zero, judge, Route};
use crate::engine::{Fault, Mover, PollMove, ReadGate, StopFlag};
use crate::{DirectionCounts, Step};

/// Bytes per trip to tokio's blocking pool. A call can block on the disk, so
/// the calls run there; 16 MiB keeps the per-trip round trip (about 20 µs)
/// under 1% of a page-cache copy.
pub(crate) const FILE_RANGE_CHUNK: usize = 16 << 20;

/// Bytes per `copy_file_range` call within a trip. Each call's bytes are
/// counted as soon as it returns, so the copy's counts (and with them the
/// idle timeout and progress) move every megabyte, not every 16, and a
/// dropped or stopped copy ends after at most this many more bytes.
pub(crate) const FILE_RANGE_CALL: usize = 1 << 20;

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

/// How a trip to the blocking pool ended, short of an error.
#[derive(Debug)]
enum Trip {
    /// A call returned 0: the source's end.
    Eof,
    /// The allowance was spent, or the copy was halted or stopped.
    Spent,
}

#[derive(Debug, Default)]
pub(crate) struct FileRange {
    fds: Option<Fds>,
    shared: Arc<Shared>,
    pending: Option<JoinHandle<io::Result<Trip>>>,
    /// The landed bytes already reported to the gate.
    settled: u64,
}

impl Mover for FileRange {
    /// Bytes landed in the sink, including those of a trip still in flight:
    /// the counts lag the sink by at most the one call running right now.
    fn counts(&self) -> DirectionCounts {
        let landed = self.shared.landed.load(Ordering::SeqCst);
        DirectionCounts {
            read: landed,
            written: landed,
        }
    }

    /// Tells a trip in flight to make no call after its current one.
    ///
    /// Once this has returned, at most one more call (at most
    /// [`FILE_RANGE_CALL`] bytes) can land that [`counts`](Mover::counts)
    /// does not yet include.
    fn halt(&self) {
        self.shared.halt.store(true, Ordering::SeqCst);
    }
}

impl<S, D> PollMove<S, D> for FileRange
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    /// Copies until EOF or until `gate` allows no more.
    ///
    /// A trip to the blocking pool makes calls of up to [`FILE_RANGE_CALL`]
    /// bytes, up to the gate's allowance, and publishes each call's bytes to
    /// [`counts`](Self::counts) as it returns. If the future driving this is
    /// dropped, or the gate's stop signal is given, mid-trip, the call
    /// running then still completes and the trip makes no other.
    fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        source: Pin<&mut S>,
        sink: Pin<&mut D>,
        gate: &mut G,
    ) -> Poll<Result<(), Fault>> {
        let (source, sink) = (source.as_fd(), sink.as_fd());
        loop {
            if let Some(task) = &mut self.pending {
                let result = ready!(Pin::new(task).poll(cx))
                    .unwrap_or_else(|join| Err(io::Error::other(join)));
                self.pending = None;
                let landed = self.shared.landed.load(Ordering::SeqCst);
                // One trip moves at most FILE_RANGE_CHUNK bytes: this fits.
                gate.consume((landed - self.settled) as usize);
                self.settled = landed;
                match result {
                    Ok(Trip::Spent) => continue,
                    Ok(Trip::Eof) => match first_zero(Route::CopyFileRange, landed) {
                        Some(refused) => return Poll::Ready(Err(refused)),
                        None => return Poll::Ready(Ok(())),
                    },
                    Err(err) => {
                        let fault = judge(Route::CopyFileRange, Step::Write, err, landed);
                        return Poll::Ready(Err(fault));
                    }
                }
            }
            let coop = ready!(poll_proceed(cx));
            let want = ready!(gate.poll_allowance(cx, FILE_RANGE_CHUNK));
            if want == 0 {
                return Poll::Ready(Ok(()));
            }
            let fds = match &self.fds {
                Some(fds) => Arc::clone(fds),
                None => {
                    let dup = source
                        .try_clone_to_owned()
                        .and_then(|source| Ok((source, sink.try_clone_to_owned()?)));
                    match dup {
                        Ok(pair) => Arc::clone(self.fds.insert(Arc::new(pair))),
                        Err(err) => {
                            gate.consume(0);
                            return Poll::Ready(Err(Fault::Failed(Step::Read, err)));
                        }
                    }
                }
            };
            coop.made_progress();
            let shared = Arc::clone(&self.shared);
            let stop = gate.stop_flag();
            self.pending = Some(tokio::task::spawn_blocking(move || {
                trip(&fds, &shared, stop.as_deref(), want)
            }));
        }
    }
}

impl Drop for FileRange {
    fn drop(&mut self) {
        // The trip in flight owns its fds and runs on; end it soon, so a
        // dropped copy does not keep writing up to 16 MiB nobody counts.
        Mover::halt(self);
    }
}

/// Copies up to `want` bytes in calls of at most [`FILE_RANGE_CALL`],
/// publishing each call's bytes, until the source's end, a halt or a stop.
///
/// The stop is checked here, before each call, rather than when the copy is
/// next polled: once it is given, only the call already running can land.
fn trip(
    fds: &(OwnedFd, OwnedFd),
    shared: &Shared,
    stop: Option<&dyn StopFlag>,
    want: usize,
) -> io::Result<Trip> {
    let stopped = || shared.halt.load(Ordering::SeqCst) || stop.is_some_and(StopFlag::is_set);
    let mut left = want;
    while left > 0 && !stopped() {
        match rustix::fs::copy_file_range(&fds.0, None, &fds.1, None, left.min(FILE_RANGE_CALL)) {
            Ok(0) => return Ok(Trip::Eof),
            Ok(n) => {
                left -= n;
                shared.landed.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Trip::Spent)
}
