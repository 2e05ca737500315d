//! `FileRange`: file to file with `copy_file_range(2)`, off the runtime's
//! worker threads.

use std::future::Future;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustix::io::Errno;
use tokio::task::coop::poll_proceed;
use tokio::task::JoinHandle;

use super::step::Stop;
use super::table::{first_zero_is_refusal, is_refusal, Route};
use crate::gate::ReadGate;
use crate::{DirectionCounts, Step};

/// Bytes per `copy_file_range` call. A call can block on the disk, so each
/// runs on tokio's blocking pool; 16 MiB keeps a call in the tens of
/// milliseconds when the data is not cached, and the per-call round trip
/// (about 20 µs) under 1% of a page-cache copy.
pub(crate) const FILE_RANGE_CHUNK: usize = 16 << 20;

/// The source and sink, duplicated so a blocking-pool task can own them.
/// The duplicates share the file offsets with the caller's files.
type Fds = Arc<(OwnedFd, OwnedFd)>;

#[derive(Debug, Default)]
pub(crate) struct FileRange {
    fds: Option<Fds>,
    pending: Option<JoinHandle<io::Result<usize>>>,
    copied: u64,
    calls: u64,
}

impl FileRange {
    pub(crate) fn counts(&self) -> DirectionCounts {
        DirectionCounts {
            read: self.copied,
            written: self.copied,
        }
    }

    /// Copies until EOF or until `gate` allows no more.
    ///
    /// If the future driving this is dropped while a call is on the blocking
    /// pool, that call still completes: the files' offsets move on, and the
    /// bytes of that one chunk are not in the counts.
    pub(crate) fn poll_move<G: ReadGate>(
        &mut self,
        cx: &mut Context<'_>,
        source: BorrowedFd<'_>,
        sink: BorrowedFd<'_>,
        gate: &mut G,
    ) -> Poll<Result<(), Stop>> {
        loop {
            if let Some(task) = &mut self.pending {
                let result = ready!(Pin::new(task).poll(cx))
                    .unwrap_or_else(|join| Err(io::Error::other(join)));
                self.pending = None;
                let first = self.calls == 0;
                self.calls += 1;
                match result {
                    Ok(0) => {
                        gate.consume(0);
                        if first && first_zero_is_refusal(Route::CopyFileRange) {
                            return Poll::Ready(Err(Stop::Refused(io::Error::other(
                                "copy_file_range returned 0 on its first call",
                            ))));
                        }
                        return Poll::Ready(Ok(()));
                    }
                    Ok(n) => {
                        gate.consume(n);
                        self.copied += n as u64;
                    }
                    Err(err) => {
                        gate.consume(0);
                        if self.copied == 0 && is_refusal(Route::CopyFileRange, &err) {
                            return Poll::Ready(Err(Stop::Refused(err)));
                        }
                        return Poll::Ready(Err(Stop::Failed(Step::Write, err)));
                    }
                }
                continue;
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
                            return Poll::Ready(Err(Stop::Failed(Step::Read, err)));
                        }
                    }
                }
            };
            coop.made_progress();
            self.pending = Some(tokio::task::spawn_blocking(move || loop {
                match rustix::fs::copy_file_range(&fds.0, None, &fds.1, None, want) {
                    Err(Errno::INTR) => continue,
                    result => return result.map_err(io::Error::from),
                }
            }));
        }
    }
}
