//! The access log (`--access-log FILE|-`): one line per finished
//! connection of a server, as text (`key=value`) or as the JSON record of
//! `--json-lines`, both made from the same [`Closed`] facts.
//!
//! Lines go through a thread of their own, as stderr's do, so a slow disk
//! or a stdout nobody reads never stops a relay: lines that do not fit in
//! the queue are dropped and counted, and the count is reported at exit.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use serde_json::Value;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

use crate::flags::AccessLogFormat;
use crate::messages::{describe, Failure};
use crate::report::{timestamp, Closed};

/// Lines that may wait for the file before new ones are dropped.
const QUEUED_LINES: usize = 100_000;

/// An open access log.
#[derive(Debug)]
pub struct AccessLog {
    writer: NonBlocking,
    dropped: ErrorCounter,
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
                builder.finish(Box::new(file) as Box<dyn Write + Send>)
            }
            None => builder.finish(Box::new(std::io::stdout()) as Box<dyn Write + Send>),
        };
        Ok(AccessLog {
            dropped: writer.error_counter(),
            writer,
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

    /// Lines dropped so far because the log could not keep up.
    pub fn dropped(&self) -> usize {
        self.dropped.dropped_lines()
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
