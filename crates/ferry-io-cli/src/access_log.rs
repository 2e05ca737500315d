//! The access log (`--access-log FILE|-`): one line per finished
//! connection of a server, as text (`key=value`) or as the JSON record of
//! `--json-lines`, both made from the same [`Closed`] facts.
//!
//! Lines go through a thread of their own, as stderr's do, so a slow disk
//! or a stdout nobody reads never stops a relay: lines that do not fit in
//! the queue are dropped and counted, and the count is reported at exit.
//! A line the file refuses (a full disk) is counted too: the first
//! failure is a warning on stderr, the count is a metric and told at exit.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

use crate::flags::AccessLogFormat;
use crate::messages::{self, describe, Failure};
use crate::report::{timestamp, Closed};

/// Lines that may wait for the file before new ones are dropped.
const QUEUED_LINES: usize = 100_000;

/// An open access log.
#[derive(Debug)]
pub struct AccessLog {
    writer: NonBlocking,
    dropped: ErrorCounter,
    failed: Arc<AtomicU64>,
    /// The file's path, or `stdout`.
    name: String,
    format: AccessLogFormat,
    /// Keeps the writing thread; dropping it writes out what is queued.
    _worker: WorkerGuard,
}

impl AccessLog {
    /// Opens `path` for appending (created if missing), or stdout for
    /// `None`.
    ///
    /// # Errors
    ///
    /// A [`Failure::Input`] when the file cannot be opened.
    pub fn open(path: Option<&Path>, format: AccessLogFormat) -> Result<AccessLog, Failure> {
        let builder = NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(QUEUED_LINES)
            .thread_name("ferry-access-log");
        let name = path.map_or_else(|| "stdout".to_string(), |path| path.display().to_string());
        let failed = Arc::new(AtomicU64::new(0));
        let counted = |inner| Counted {
            inner,
            failed: failed.clone(),
            name: name.clone(),
        };
        let (writer, worker) = match path {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|error| {
                        Failure::input(
                            format!("cannot open access log {}", path.display()),
                            describe(&error),
                        )
                    })?;
                builder.finish(counted(Box::new(file)))
            }
            None => builder.finish(counted(Box::new(std::io::stdout()))),
        };
        Ok(AccessLog {
            dropped: writer.error_counter(),
            writer,
            failed,
            name,
            format,
            _worker: worker,
        })
    }

    /// Writes the line of a closed connection, whose JSON record is `record`.
    pub fn write(&self, closed: &Closed, record: impl FnOnce() -> Value) {
        let line = match self.format {
            AccessLogFormat::Text => text(closed),
            AccessLogFormat::Json => format!("{}\n", record()),
        };
        let _ = self.writer.clone().write_all(line.as_bytes());
    }

    /// Lines the file refused so far, kept up to date for the metrics.
    pub fn failures(&self) -> Arc<AtomicU64> {
        self.failed.clone()
    }

    /// Writes out what is queued, then tells on stderr what was lost:
    /// lines dropped because the log could not keep up, and lines the file
    /// refused.
    pub fn close(self) {
        let AccessLog {
            writer,
            dropped,
            failed,
            name,
            _worker,
            ..
        } = self;
        drop(writer);
        drop(_worker);
        let dropped = dropped.dropped_lines() as u64;
        if dropped > 0 {
            crate::stderr::line(messages::access_log_dropped(dropped));
        }
        let failed = failed.load(Ordering::Relaxed);
        if failed > 0 {
            crate::stderr::line(messages::access_log_failed(failed, &name));
        }
    }
}

/// The access log's file (or stdout) as the writing thread sees it: each
/// line is one `write_all`, and each that fails is counted.
struct Counted {
    inner: Box<dyn Write + Send>,
    failed: Arc<AtomicU64>,
    name: String,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_all(&mut self, line: &[u8]) -> io::Result<()> {
        let written = self.inner.write_all(line);
        if let Err(error) = &written {
            if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                crate::stderr::line(messages::access_log_failing(&self.name, error));
            }
        }
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The text line: `START id=N client=ADDR upstream=DST up=B down=B
/// seconds=S ending=WORD`, then `error="..."` for a failure.
fn text(closed: &Closed) -> String {
    let mut line = format!(
        "{} id={} client={} upstream={} up={} down={} seconds={:.3} ending={}",
        timestamp(closed.opened.wall()),
        closed.id,
        closed.peer,
        closed.upstream.as_deref().unwrap_or("-"),
        closed.forward,
        closed.backward,
        closed.elapsed.as_secs_f64(),
        closed.ending,
    );
    if let Some(error) = &closed.error {
        let _ = write!(line, " error={:?}", error.message);
    }
    line.push('\n');
    line
}
