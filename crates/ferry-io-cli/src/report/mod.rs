//! What `ferry` tells on stderr about a transfer: progress while it runs (a
//! bar, lines, numbers or JSON records, every `--interval`), and at the end
//! the final progress line, the `--stats` line and the `--json` summary.
//!
//! The rate shown while bytes move is the current one, over the last
//! interval ([`meter`]), so a stall shows `0 B/s` within one interval; the
//! end shows the average. A bar is drawn only where it cannot land among
//! the data: on a terminal stderr that is not also the terminal the data
//! goes to.

mod connection;
mod ending;
mod meter;
mod record;

use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::time::{Duration, SystemTime};

use ferry_io::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use connection::{Closed, Connections, Opened};
pub use ending::Ending;
pub use meter::{Meter, Reading};
pub use record::{timestamp, ErrorRecord, Span};

use crate::address::Address;
use crate::flags::OutputFlags;
use crate::messages::Failure;
use crate::plan::Plan;
use crate::units::Bytes;

use meter::{clock, per_second};

/// How often the bar redraws: its bytes move smoothly, its rate still
/// covers the last interval.
const BAR_TICK: Duration = Duration::from_millis(100);

/// How progress is shown while bytes move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Not at all.
    Hidden,
    /// A bar redrawn in place on a terminal.
    Bar,
    /// A line every interval (a log, a pipe, or a terminal the data goes to).
    Lines,
    /// A number every interval, as `pv -n`: percent when the size is
    /// known, bytes otherwise.
    Numeric,
}

impl Display {
    /// What to show for `flags`: the bar by default only on a terminal, for
    /// a one-way copy without `--json`, and never where it would be drawn
    /// among data going to the same terminal (`ferry small.txt -`); `-p`
    /// asks for progress anyway, as lines where a bar cannot go.
    pub fn choose(flags: &OutputFlags, two_way: bool, data_on_stdout: bool) -> Display {
        if flags.quiet || flags.no_progress {
            return Display::Hidden;
        }
        if flags.numeric {
            return Display::Numeric;
        }
        let terminal = io::stderr().is_terminal();
        let among_data = data_on_stdout && stdout_is_stderr_terminal();
        let machine = flags.json || flags.json_lines;
        let wanted = flags.progress || (terminal && !two_way && !machine && !among_data);
        match (wanted, terminal && !among_data) {
            (false, _) => Display::Hidden,
            (true, true) => Display::Bar,
            (true, false) => Display::Lines,
        }
    }
}

/// Whether stdout and stderr are the same terminal.
fn stdout_is_stderr_terminal() -> bool {
    let (stdout, stderr) = (io::stdout(), io::stderr());
    if !stdout.is_terminal() || !stderr.is_terminal() {
        return false;
    }
    match (
        rustix::fs::fstat(stdout.as_fd()),
        rustix::fs::fstat(stderr.as_fd()),
    ) {
        (Ok(out), Ok(err)) => out.st_rdev == err.st_rdev,
        _ => true,
    }
}

/// How a transfer ended: the content of the final line, `--stats` and `--json`.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Bytes written to DST (from SRC).
    pub forward: u64,
    /// Bytes written back to SRC (from DST) in a relay.
    pub backward: u64,
    /// Whether this was a relay (two directions).
    pub two_way: bool,
    /// Connections accepted and failed, in `--serve` mode.
    pub connections: Option<(u64, u64)>,
    /// The failure, if the transfer did not complete.
    pub error: Option<ErrorRecord>,
    /// How the bytes moved: `splice`, `sendfile`, `copy_file_range` or
    /// `buffered` (through memory), `mixed` for a server whose connections
    /// took different routes; unknown only before any transfer started.
    pub path: Option<String>,
    /// How a program end (`exec:`, `sh:`) exited.
    pub exit: Option<std::process::ExitStatus>,
}

/// Reports on a transfer while it runs and when it ends.
#[derive(Debug)]
pub struct Reporter {
    display: Display,
    bar: Option<ProgressBar>,
    ticker: Option<JoinHandle<()>>,
    started: SystemTime,
    clock: Instant,
    size: Option<u64>,
    flags: OutputFlags,
    src: String,
    dst: String,
}

impl Reporter {
    /// Decides what to show for `plan` and starts showing progress. `size`
    /// (from the source file, `--size` or `--limit`) turns on percent and
    /// ETA. Must be called inside the tokio runtime.
    pub fn start(plan: &Plan, progress: &Progress, size: Option<u64>) -> Reporter {
        let flags = &plan.output;
        let display = Display::choose(flags, plan.two_way(), plan.data_on_stdout());
        let bar = (display == Display::Bar).then(|| new_bar(size));
        let ticking = display != Display::Hidden || flags.json_lines;
        let ticker = ticking.then(|| {
            tokio::spawn(tick(
                display,
                bar.clone(),
                progress.clone(),
                flags.interval,
                flags.json_lines,
                size,
            ))
        });
        Reporter {
            display,
            bar,
            ticker,
            started: SystemTime::now(),
            clock: Instant::now(),
            size,
            flags: flags.clone(),
            src: plan.src.to_string(),
            dst: plan.dsts(),
        }
    }

    /// Stops showing progress and prints how it ended: the final progress
    /// line or number, the `--stats` line and the `--json` summary.
    pub fn finish(self, summary: &Summary) {
        let elapsed = self.clock.elapsed();
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        let total = summary.forward + summary.backward;
        let average = format!("average {}/s", Bytes(per_second(total, elapsed)));
        match self.display {
            Display::Hidden => {}
            Display::Bar => {
                if let Some(bar) = self.bar {
                    bar.set_position(total);
                    bar.abandon_with_message(average);
                }
            }
            Display::Lines => crate::stderr::line(format_args!(
                "ferry: {}{} in {:.2} s, {average}",
                Bytes(total),
                percent(total, self.size),
                elapsed.as_secs_f64(),
            )),
            Display::Numeric => crate::stderr::line(number(total, self.size)),
        }
        if self.flags.stats {
            crate::stderr::line(stats_line(summary, elapsed));
        }
        if self.flags.json || self.flags.json_lines {
            let span = Span {
                src: self.src,
                dst: self.dst,
                started: self.started,
                elapsed,
                forward: summary.forward,
                backward: summary.backward,
                path: summary.path.clone(),
                error: summary.error.clone(),
            };
            let mut object = record::summary(&span, summary.connections);
            if let Some(exit) = summary.exit {
                object["program"] = record::program(exit);
            }
            crate::stderr::line(object);
        }
    }
}

/// Says, at the first signal, that ferry is finishing what runs (for at
/// most `within`) and how to stop at once; a log line instead when the
/// output is for programs (`--json`, `--json-lines`), nothing with `-q`.
pub fn finishing(flags: &OutputFlags, within: Duration) {
    let notice = crate::messages::finishing(within);
    if flags.json || flags.json_lines {
        tracing::info!("{notice}");
    } else if !flags.quiet {
        crate::stderr::line(notice);
    }
}

/// Shows progress until aborted: the bar every [`BAR_TICK`], everything
/// else (lines, numbers, JSON records) every `interval`; rates are over the
/// last `interval`.
async fn tick(
    display: Display,
    bar: Option<ProgressBar>,
    progress: Progress,
    interval: Duration,
    json_lines: bool,
    size: Option<u64>,
) {
    let mut meter = Meter::new(interval);
    let step = if bar.is_some() {
        BAR_TICK.min(interval)
    } else {
        interval
    };
    let mut every = tokio::time::interval_at(Instant::now() + step, step);
    let mut due = Instant::now() + interval;
    loop {
        every.tick().await;
        let counts = progress.snapshot();
        let reading = meter.sample(counts.total_written(), size);
        if let Some(bar) = &bar {
            bar.set_position(reading.bytes);
            bar.set_message(rate_and_eta(&reading, size));
        }
        if Instant::now() + step / 2 < due {
            continue;
        }
        due += interval;
        let print = |line: String| match &bar {
            Some(bar) => bar.suspend(|| crate::stderr::line(&line)),
            None => crate::stderr::line(line),
        };
        match display {
            Display::Lines => print(format!(
                "ferry: {}{} at {}, {} s",
                Bytes(reading.bytes),
                percent(reading.bytes, size),
                rate_and_eta(&reading, size),
                reading.elapsed.as_secs()
            )),
            Display::Numeric => print(number(reading.bytes, size)),
            Display::Hidden | Display::Bar => {}
        }
        if json_lines {
            let (forward, backward) = (counts.a_to_b.written, counts.b_to_a.written);
            print(record::progress(&reading, forward, backward, size).to_string());
        }
    }
}

/// `12.0 MiB/s, ETA 0:00:05`, or `0 B/s` (no ETA while nothing moves).
fn rate_and_eta(reading: &Reading, size: Option<u64>) -> String {
    let rate = format!("{}/s", Bytes(reading.current));
    match (size, reading.eta) {
        (Some(_), Some(eta)) => format!("{rate}, ETA {}", clock(eta)),
        (Some(_), None) => format!("{rate}, ETA --"),
        (None, _) => rate,
    }
}

/// ` (12%)` when the size is known.
fn percent(bytes: u64, size: Option<u64>) -> String {
    match size {
        Some(size) if size > 0 => format!(" ({}%)", bytes.saturating_mul(100) / size),
        _ => String::new(),
    }
}

/// `--numeric`'s number: percent done when the size is known, else bytes.
fn number(bytes: u64, size: Option<u64>) -> String {
    match size {
        Some(size) if size > 0 => (bytes.saturating_mul(100) / size).min(100).to_string(),
        _ => bytes.to_string(),
    }
}

fn new_bar(size: Option<u64>) -> ProgressBar {
    let template = if size.is_some() {
        "{bytes} {elapsed_precise} [{wide_bar}] {percent}% {msg}"
    } else {
        "{spinner} {bytes} {elapsed_precise} {msg}"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr_with_hz(10));
    bar.set_style(style);
    bar.set_message("0 B/s");
    bar
}

/// For `--json`, the summary of a run that failed before any transfer
/// started (bad input found once files or sockets were opened), so a
/// script reading stderr always gets one object.
pub fn print_early_failure(
    flags: &OutputFlags,
    src: Option<&Address>,
    dst: Option<&Address>,
    failure: &Failure,
) {
    if flags.json || flags.json_lines {
        let span = Span {
            src: src.map(ToString::to_string).unwrap_or_default(),
            dst: dst.map(ToString::to_string).unwrap_or_default(),
            started: SystemTime::now(),
            elapsed: Duration::ZERO,
            forward: 0,
            backward: 0,
            path: None,
            error: Some(ErrorRecord::new(failure, None)),
        };
        crate::stderr::line(record::summary(&span, None));
    }
}

/// The `--stats` line, e.g. `ferry: 1.0 GiB in 0.52 s (1.9 GiB/s) via splice`.
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
        Bytes(per_second(total, elapsed))
    ));
    if let Some(path) = &summary.path {
        line.push_str(&format!(" via {path}"));
    }
    if let Some((accepted, failed)) = summary.connections {
        let accepted = crate::units::count(accepted, "connection", "connections");
        line.push_str(&format!(", {accepted}, {failed} failed"));
    }
    // The failure itself is the `ferry:` line that follows (or the JSON).
    if summary.error.is_some() {
        line.push_str(", failed");
    }
    line
}
