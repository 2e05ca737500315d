//! What `ferry` tells on stderr about a transfer: the progress bar, the
//! `--stats` line and the `--json` object.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use ferry::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use crate::flags::OutputFlags;
use crate::units::Bytes;

/// What moved, and how it ended: the content of `--stats` and `--json`.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Bytes written to DST (from SRC).
    pub forward: u64,
    /// Bytes written back to SRC (from DST) in a relay.
    pub backward: u64,
    /// Whether this was a relay (two directions).
    pub two_way: bool,
    /// Connections accepted, in `--serve` mode.
    pub connections: Option<u64>,
    /// Connections that ended in an error, in `--serve` mode.
    pub failed_connections: Option<u64>,
    /// The failure, if the transfer did not complete.
    pub error: Option<String>,
    /// How the bytes moved: `splice`, `sendfile`, `copy_file_range` or
    /// `buffered` (through memory); unknown for a server or a failed copy.
    pub path: Option<String>,
    /// How a program end (`exec:`, `sh:`) exited.
    pub exit: Option<std::process::ExitStatus>,
}

/// Reports on a transfer while it runs and when it ends.
#[derive(Debug)]
pub struct Reporter {
    bar: Option<ProgressBar>,
    ticker: Option<JoinHandle<()>>,
    started: Instant,
    stats: bool,
    json: bool,
}

impl Reporter {
    /// Decides what to show and starts the progress bar if there is one.
    ///
    /// The bar shows by default only when stderr is a terminal, the copy is
    /// one-way and `-q` was not given; `-p` asks for it, `--no-progress`
    /// refuses it. `size` (from the source file, `--size` or `--limit`) turns
    /// on percent and ETA. Must be called inside the tokio runtime.
    pub fn start(
        flags: &OutputFlags,
        progress: &Progress,
        two_way: bool,
        size: Option<u64>,
    ) -> Reporter {
        let terminal = std::io::stderr().is_terminal();
        let show = !flags.quiet && !flags.no_progress && (flags.progress || (terminal && !two_way));
        // A bar needs a terminal; asked for anyway (a log, a pipe), progress
        // comes as one line a second.
        let bar = (show && terminal).then(|| new_bar(size));
        let progress = progress.clone();
        let ticker = match &bar {
            Some(bar) => {
                let bar = bar.clone();
                Some(tokio::spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_millis(100));
                    loop {
                        every.tick().await;
                        bar.set_position(progress.snapshot().total_written());
                    }
                }))
            }
            None if show => Some(tokio::spawn(print_lines(progress, size))),
            None => None,
        };
        Reporter {
            bar,
            ticker,
            started: Instant::now(),
            stats: flags.stats,
            json: flags.json,
        }
    }

    /// Stops the bar and prints the summary that was asked for.
    pub fn finish(self, summary: &Summary) {
        let elapsed = self.started.elapsed();
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.set_position(summary.forward + summary.backward);
            bar.abandon();
        }
        if self.stats {
            crate::stderr::line(format_args!("{}", stats_line(summary, elapsed)));
        }
        if self.json {
            crate::stderr::line(format_args!("{}", json_object(summary, elapsed)));
        }
    }
}

/// Progress without a terminal: every second, e.g.
/// `ferry: 120.0 MiB (12%) at 40.0 MiB/s, 3 s`.
async fn print_lines(progress: Progress, size: Option<u64>) {
    let started = tokio::time::Instant::now();
    let mut every =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    let mut last = 0;
    loop {
        every.tick().await;
        let bytes = progress.snapshot().total_written();
        let percent = match size {
            Some(size) if size > 0 => format!(" ({}%)", bytes.saturating_mul(100) / size),
            _ => String::new(),
        };
        crate::stderr::line(format_args!(
            "ferry: {}{percent} at {}/s, {} s",
            Bytes(bytes),
            Bytes(bytes - last),
            started.elapsed().as_secs()
        ));
        last = bytes;
    }
}

fn new_bar(size: Option<u64>) -> ProgressBar {
    let template = if size.is_some() {
        "{bytes} {binary_bytes_per_sec} {elapsed_precise} [{wide_bar}] {percent}% ETA {eta}"
    } else {
        "{spinner} {bytes} {binary_bytes_per_sec} {elapsed_precise}"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr_with_hz(10));
    bar.set_style(style);
    bar
}

/// For `--json`, the object of a run that failed before any transfer
/// started (bad input found once files or sockets were opened), so a
/// script reading stderr always gets one object.
pub fn print_early_failure(flags: &OutputFlags, error: &str) {
    if flags.json {
        let summary = Summary {
            error: Some(error.to_string()),
            ..Summary::default()
        };
        crate::stderr::line(format_args!("{}", json_object(&summary, Duration::ZERO)));
    }
}

fn rate(bytes: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        (bytes as f64 / seconds) as u64
    } else {
        0
    }
}

/// The `--stats` line, e.g. `ferry: 1.0 GiB in 0.52 s (1.9 GiB/s)`.
pub fn stats_line(summary: &Summary, elapsed: Duration) -> String {
    let total = summary.forward + summary.backward;
    let mut line = if summary.two_way {
        format!(
            "ferry: {} SRC to DST, {} DST to SRC",
            Bytes(summary.forward),
            Bytes(summary.backward)
        )
    } else {
        format!("ferry: {}", Bytes(summary.forward))
    };
    line.push_str(&format!(
        " in {:.2} s ({}/s)",
        elapsed.as_secs_f64(),
        Bytes(rate(total, elapsed))
    ));
    if let Some(path) = &summary.path {
        line.push_str(&format!(" via {path}"));
    }
    if let Some(connections) = summary.connections {
        line.push_str(&format!(
            ", {connections} connections, {} failed",
            summary.failed_connections.unwrap_or(0)
        ));
    }
    if let Some(error) = &summary.error {
        line.push_str(&format!(", failed: {error}"));
    }
    line
}

/// The `--json` object, on one line.
pub fn json_object(summary: &Summary, elapsed: Duration) -> String {
    let total = summary.forward + summary.backward;
    let mut object = serde_json::json!({
        "src_to_dst": { "bytes": summary.forward },
        "dst_to_src": { "bytes": summary.backward },
        "bytes": total,
        "seconds": elapsed.as_secs_f64(),
        "bytes_per_second": rate(total, elapsed),
        "error": summary.error,
        "path": summary.path,
    });
    if let Some(connections) = summary.connections {
        object["connections"] = connections.into();
        object["failed_connections"] = summary.failed_connections.unwrap_or(0).into();
    }
    if let Some(exit) = summary.exit {
        use std::os::unix::process::ExitStatusExt;
        object["exit_code"] = exit.code().into();
        object["exit_signal"] = exit.signal().into();
    }
    object.to_string()
}
