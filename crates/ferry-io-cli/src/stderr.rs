//! ferry's stderr: every line goes through a thread of its own, so a stderr
//! that nobody reads (a full pipe) never blocks a relay. Lines that do not
//! fit in the queue are dropped and counted, and the count is reported.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

/// The writer every line goes through, once [`start`] has run.
static WRITER: OnceLock<(NonBlocking, ErrorCounter)> = OnceLock::new();

/// Lines that may wait for stderr before new ones are dropped: a few
/// megabytes of log, enough for bursts, bounded for a stderr that is stuck.
const QUEUED_LINES: usize = 20_000;

/// Keeps the writing thread; dropping it writes out what is queued (waiting
/// at most about a second for a stuck stderr).
#[must_use = "dropping the guard stops the writer"]
#[derive(Debug)]
pub struct Guard {
    _worker: WorkerGuard,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Said last, so that a reader who caught up sees it.
        let dropped = dropped();
        if dropped > 0 {
            let lines = crate::units::count(dropped as u64, "line", "lines");
            let were = if dropped == 1 { "was" } else { "were" };
            line(format_args!(
                "ferry: {lines} of output {were} dropped: stderr was not read fast enough"
            ));
        }
    }
}

/// Starts the writing thread. Call once, before anything is printed.
pub fn start() -> Guard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("ferry-stderr")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    let _ = WRITER.set((writer, dropped));
    Guard { _worker: guard }
}

/// The writer for the log, which writes through the same queue.
pub fn writer() -> NonBlocking {
    match WRITER.get() {
        Some((writer, _)) => writer.clone(),
        // Not started (a unit test): a writer of its own.
        None => tracing_appender::non_blocking(std::io::stderr()).0,
    }
}

/// Writes `text` and a newline to stderr without blocking.
pub fn line(text: impl Display) {
    let text = format!("{text}\n");
    match WRITER.get() {
        Some((writer, _)) => {
            let _ = writer.clone().write_all(text.as_bytes());
        }
        None => eprint!("{text}"),
    }
}

/// Lines dropped so far because stderr was not read.
pub fn dropped() -> usize {
    WRITER
        .get()
        .map_or(0, |(_, dropped)| dropped.dropped_lines())
}
