//! Every flag of `ferry`, defined once: names, help text and parsing.
//!
//! The help text is the doc comment of each field; completions are
//! generated from the same definitions (see [`completions`](crate::completions)).
//! The man page is written by hand (`doc/ferry.1`); a test checks that it
//! names every flag defined here.

use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueHint};

use crate::address::Address;
use crate::units;

/// Copy and relay bytes between stdio, files, TCP and Unix sockets.
///
/// Addresses: - (stdin/stdout), PATH or file:PATH, tcp:HOST:PORT,
/// tcp-listen:PORT or tcp-listen:HOST:PORT (HOST defaults to 127.0.0.1), unix:PATH,
/// unix-listen:PATH, zero: (endless zeros) and null: (discard).
///
/// When both addresses are two-way (sockets, or - as stdin+stdout) ferry
/// relays both directions with half-close; otherwise it copies SRC to DST.
///
/// Sizes: bytes, or K/M/G/T (powers of 1024), KB/MB/GB/TB (powers of 1000).
/// Rates are sizes per second. Durations: 500ms, 30s, 2m, 1h.
///
/// Exit status: 0 success, 1 an I/O failure during the copy or relay,
/// 2 bad input found before any byte moved.
#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  ferry zero: null: --limit 1G --rate-limit 200M\n  ferry big.iso tcp:host:9000\n  ferry tcp-listen:0.0.0.0:8080 tcp:10.0.0.5:80 --serve"
)]
pub struct Cli {
    /// Generate shell completions or the man page.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Where bytes come from.
    #[arg(value_name = "SRC", required = true, value_parser = parse_address, value_hint = ValueHint::AnyPath)]
    pub src: Option<Address>,

    /// Where bytes go.
    #[arg(value_name = "DST", required = true, value_parser = parse_address, value_hint = ValueHint::AnyPath)]
    pub dst: Option<Address>,

    /// How to copy.
    #[command(flatten)]
    pub copy: CopyFlags,

    /// Serving many connections.
    #[command(flatten)]
    pub serve: ServeFlags,

    /// What to print.
    #[command(flatten)]
    pub output: OutputFlags,
}

/// The subcommands that do not copy.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a completion script for SHELL to stdout.
    Completions {
        /// The shell to generate for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

/// Flags that shape each copy: buffers, limits, timeouts.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Copy")]
pub struct CopyFlags {
    /// Use a fixed buffer of this size per direction instead of the adaptive default.
    #[arg(short = 'b', long, value_name = "SIZE", allow_hyphen_values = true, value_parser = parse_buffer_size, value_hint = ValueHint::Other)]
    pub buffer_size: Option<usize>,

    /// Limit the rate to RATE bytes per second, both directions of a relay
    /// together (with --serve: for the whole server).
    #[arg(short = 'L', long, value_name = "RATE", allow_hyphen_values = true, value_parser = units::parse_rate, value_hint = ValueHint::Other)]
    pub rate_limit: Option<u64>,

    /// With --serve, limit each connection to RATE, both directions together
    /// (both limits apply).
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, value_parser = units::parse_rate, value_hint = ValueHint::Other)]
    pub rate_limit_per_connection: Option<u64>,

    /// Stop after SIZE bytes in each direction.
    #[arg(short = 'n', long, value_name = "SIZE", allow_hyphen_values = true, value_parser = units::parse_positive_size, value_hint = ValueHint::Other)]
    pub limit: Option<u64>,

    /// Fail when no byte moved in either direction for DURATION.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_positive_duration, value_hint = ValueHint::Other)]
    pub idle_timeout: Option<Duration>,

    /// After one direction of a relay finished, let the other run for at most
    /// DURATION; also how long running relays may finish after Ctrl-C.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_duration, value_hint = ValueHint::Other)]
    pub linger: Option<Duration>,

    /// Append to the destination file instead of truncating it.
    #[arg(long)]
    pub append: bool,

    /// Whether the kernel may move the bytes (splice, sendfile,
    /// copy_file_range): auto where a file or a pipe is an end, never, or
    /// always.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ZeroCopy::Auto)]
    pub zero_copy: ZeroCopy,
}

/// The `--zero-copy` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ZeroCopy {
    /// The kernel where a file or a pipe is an end; memory between two
    /// sockets and when the kernel refuses.
    Auto,
    /// Always copy through memory.
    Never,
    /// The kernel for every pair it can take (two sockets too), or an error.
    Always,
}

impl From<ZeroCopy> for ferry::zero_copy::ZeroCopyMode {
    fn from(mode: ZeroCopy) -> Self {
        match mode {
            ZeroCopy::Auto => Self::Auto,
            ZeroCopy::Never => Self::Never,
            ZeroCopy::Always => Self::Always,
        }
    }
}

/// Flags of the relay server (`--serve`).
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Server")]
pub struct ServeFlags {
    /// With a listening SRC, keep accepting and relay every connection
    /// concurrently to a fresh DST connection.
    #[arg(long)]
    pub serve: bool,

    /// With --serve, relay at most N connections at once (default 1024);
    /// more wait in the backlog.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), value_hint = ValueHint::Other)]
    pub max_connections: Option<u32>,
}

/// Flags that decide what goes to stderr.
#[derive(Clone, Debug, ClapArgs)]
#[command(next_help_heading = "Output")]
pub struct OutputFlags {
    /// Show progress on stderr: a bar on a terminal, otherwise a line every
    /// --interval (default: a bar when stderr is a terminal, the copy is
    /// one-way and its data does not go to the same terminal).
    #[arg(short = 'p', long, overrides_with = "no_progress")]
    pub progress: bool,

    /// Never show progress.
    #[arg(long)]
    pub no_progress: bool,

    /// Show progress as numbers on stderr, one a line every --interval, as
    /// pv -n does: the percent done when the size is known, otherwise the
    /// bytes so far.
    #[arg(long, conflicts_with = "no_progress")]
    pub numeric: bool,

    /// How often progress is shown, and the window of its current rate.
    #[arg(long, value_name = "DURATION", default_value = "1s", allow_hyphen_values = true, value_parser = units::parse_positive_duration, value_hint = ValueHint::Other)]
    pub interval: Duration,

    /// The total size for percent and ETA, when it cannot be read from the
    /// source file.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = units::parse_size, value_hint = ValueHint::Other)]
    pub size: Option<u64>,

    /// Print one summary line on stderr at the end.
    #[arg(long)]
    pub stats: bool,

    /// Print the summary as one JSON object on stderr at the end (also on
    /// failure, instead of the message).
    #[arg(long)]
    pub json: bool,

    /// Print JSON records on stderr, one a line: progress every --interval,
    /// one per connection with --serve, and the summary at the end.
    #[arg(long)]
    pub json_lines: bool,

    /// Print nothing on stderr unless something failed (--json and
    /// --json-lines still print their records).
    #[arg(short, long, conflicts_with_all = ["progress", "numeric", "verbose", "stats"])]
    pub quiet: bool,

    /// Log what happens, with timestamps: connections opened and closed,
    /// with exact byte counts up (SRC to DST) and down; twice for more
    /// (routes, buffers).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_address(text: &str) -> Result<Address, String> {
    // clap prints "invalid value 'X' for '<SRC>': <this>", so leave the
    // value out and say only what was expected.
    Address::parse(text).map_err(|error| error.expected)
}

fn parse_buffer_size(text: &str) -> Result<usize, String> {
    let size = units::parse_positive_size(text)?;
    if size > 1 << 30 {
        return Err("at most 1G".to_string());
    }
    usize::try_from(size).map_err(|_| "too large for this machine".to_string())
}
