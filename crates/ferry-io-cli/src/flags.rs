//! Every flag of `ferry`, defined once: names, help text and parsing.
//!
//! The help text is the doc comment of each field; completions are
//! generated from the same definitions (see [`completions`](crate::completions)).
//! The man page is written by hand (`doc/ferry.1`); a test checks that it
//! names every flag defined here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueHint};
use ipnet::IpNet;

use crate::access;
use crate::address::{Address, Bind};
use crate::units::{self, Timeout};

/// Copy and relay bytes between stdio, files, TCP and Unix sockets, TLS,
/// programs and UDP.
///
/// Addresses: - (stdin/stdout), PATH or file:PATH, tcp:HOST:PORT,
/// tcp-listen:PORT or tcp-listen:HOST:PORT (HOST defaults to 127.0.0.1), unix:PATH,
/// unix-listen:PATH, zero: (endless zeros) and null: (discard);
/// tls:HOST:PORT and `tls-listen:[HOST:]PORT` (TCP with TLS);
/// exec:CMD ARGS... (a program, no shell) and sh:COMMAND (/bin/sh -c COMMAND),
/// whose stdin and stdout are the end; udp:HOST:PORT and `udp-listen:[HOST:]PORT`
/// (datagrams, relayed one by one); fd:N (a listening socket passed by
/// systemd). tcp: and tls: take `,bind=ADDR[:PORT]`.
///
/// When both addresses are two-way (sockets, or - as stdin+stdout) ferry
/// relays both directions with half-close; otherwise it copies SRC to DST.
/// With --serve, several DSTs are upstreams to spread connections over.
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
    after_help = "Examples:\n  ferry zero: null: --limit 1G --rate-limit 200M\n  ferry big.iso tcp:host:9000\n  ferry tcp-listen:0.0.0.0:8080 tcp:10.0.0.5:80 --serve\n  ferry tls-listen:0.0.0.0:443 tcp:127.0.0.1:8080 --serve --tls-cert cert.pem --tls-key key.pem\n  ferry tcp-listen:9000 exec:'cat' --serve"
)]
pub struct Cli {
    /// Generate shell completions or the man page, or run the benchmark.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Where bytes come from.
    #[arg(value_name = "SRC", required = true, value_parser = parse_address, value_hint = ValueHint::AnyPath)]
    pub src: Option<Address>,

    /// Where bytes go; with --serve, several upstreams to spread
    /// connections over.
    #[arg(value_name = "DST", required = true, num_args = 1.., value_parser = parse_address, value_hint = ValueHint::AnyPath)]
    pub dst: Vec<Address>,

    /// How to copy.
    #[command(flatten)]
    pub copy: CopyFlags,

    /// Serving many connections.
    #[command(flatten)]
    pub serve: ServeFlags,

    /// What to print.
    #[command(flatten)]
    pub output: OutputFlags,

    /// Directions, source binding, keep listening.
    #[command(flatten)]
    pub connection: ConnectionFlags,

    /// PROXY protocol, access log, metrics.
    #[command(flatten)]
    pub relay: RelayFlags,

    /// Who may connect to a server, and how many at once.
    #[command(flatten)]
    pub access: AccessFlags,

    /// Certificates and keys for tls: and tls-listen:.
    #[command(flatten)]
    pub tls: TlsFlags,
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
    /// Measure ferry against tokio, std, socat, HAProxy and nginx on this machine.
    ///
    /// Each scenario runs every contender once per round, alternating the
    /// order, and reports medians and ratios in the same run: copies in
    /// this process against tokio, relays in processes of their own
    /// (`ferry --serve`, socat, HAProxy, nginx) against direct connections,
    /// and how one `ferry --serve` scales from 1 to 1,000 connections.
    /// socat, HAProxy and nginx are skipped with a note where they are not
    /// installed.
    /// Every run checks its byte counts; a wrong count fails the benchmark.
    #[command(after_help = ferry_io_bench::Scenario::help())]
    Bench(BenchFlags),
}

/// The flags of `ferry bench`.
#[derive(Debug, ClapArgs)]
pub struct BenchFlags {
    /// Runs of tens of milliseconds, all in under 30 s on 2 cores (default:
    /// runs of about a second, all in under 10 minutes).
    #[arg(long)]
    pub quick: bool,

    /// Write every figure (each run, medians, ratios, machine) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Draw the ratios and the scaling curves as an SVG chart to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Print markdown tables instead of plain text.
    #[arg(long)]
    pub markdown: bool,

    /// The amounts per run: `tiny` runs every scenario at a few hundred
    /// KiB in one round, for tests (counts are checked, figures mean
    /// nothing); `quick` is --quick; `full` the default.
    #[arg(
        long,
        value_enum,
        value_name = "SIZE",
        hide = true,
        conflicts_with = "quick"
    )]
    pub size: Option<ferry_io_bench::Preset>,

    /// The scenarios to run, in this order (default: all, listed below).
    #[arg(value_name = "SCENARIO")]
    pub scenarios: Vec<String>,
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

    /// With --serve or --keep-listening, limit each connection to RATE,
    /// both directions together (both limits apply).
    #[arg(long, value_name = "RATE", allow_hyphen_values = true, value_parser = units::parse_rate, value_hint = ValueHint::Other)]
    pub rate_limit_per_connection: Option<u64>,

    /// Stop after SIZE bytes in each direction.
    #[arg(short = 'n', long, value_name = "SIZE", allow_hyphen_values = true, value_parser = units::parse_positive_size, value_hint = ValueHint::Other)]
    pub limit: Option<u64>,

    /// Fail when no byte moved in either direction for DURATION; `off` for
    /// never (default: off, or 10m with --serve). Waiting on a rate limit is
    /// not idleness.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_timeout, value_hint = ValueHint::Other)]
    pub idle_timeout: Option<Timeout>,

    /// Fail a connection to DST (or a connecting SRC) that takes longer than DURATION.
    #[arg(long, value_name = "DURATION", default_value = "10s", allow_hyphen_values = true, value_parser = units::parse_positive_duration, value_hint = ValueHint::Other)]
    pub connect_timeout: Duration,

    /// After one direction of a relay finished, let the other run for at most
    /// DURATION.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_duration, value_hint = ValueHint::Other)]
    pub linger: Option<Duration>,

    /// After the first SIGINT or SIGTERM, let what runs finish for at most
    /// DURATION, then cut it off (default: 2s, or 30s with --serve).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_duration, value_hint = ValueHint::Other)]
    pub shutdown_timeout: Option<Duration>,

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
    /// The kernel where a file or a pipe is an end, and between two
    /// sockets once a direction streams; memory otherwise and when the
    /// kernel refuses.
    Auto,
    /// Always copy through memory.
    Never,
    /// The kernel for every pair it can take (two sockets too), or an error.
    Always,
}

impl From<ZeroCopy> for ferry_io::zero_copy::ZeroCopyMode {
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
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = units::parse_connections, value_hint = ValueHint::Other)]
    pub max_connections: Option<u32>,

    /// With --serve, the most memory all relays' buffers may grow into
    /// together (default 256M; each starts at 8 KiB per direction and may
    /// grow to 1 MiB where that pays; past this bound, buffers stop growing).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = units::parse_size, value_hint = ValueHint::Other)]
    pub max_buffer_memory: Option<u64>,

    /// With --serve and several DSTs, how to pick the upstream of each
    /// connection: in turn, or the one with the fewest relays running
    /// (default: round-robin).
    #[arg(long, value_enum, value_name = "POLICY")]
    pub balance: Option<Balance>,

    /// With --serve and several DSTs, how long an upstream that refused a
    /// connection is skipped before it is tried again (default 10s).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_positive_duration, value_hint = ValueHint::Other)]
    pub upstream_backoff: Option<Duration>,

    /// With --serve or --keep-listening, let other processes listen on the
    /// same port (SO_REUSEPORT): the kernel spreads connections over them,
    /// and a new server can start before the old one drains.
    #[arg(long)]
    pub reuse_port: bool,
}

/// The `--balance` policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Balance {
    /// Each upstream in turn.
    RoundRobin,
    /// The upstream with the fewest relays running (in turn among equals).
    LeastConnections,
}

/// What a relay server adds around the bytes: the PROXY protocol, the
/// access log and metrics.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Relay server")]
pub struct RelayFlags {
    /// With --serve, require a PROXY protocol header (v1, v2, or any of
    /// the two) at the start of every accepted connection, and take the
    /// client's address from it (believing any peer unless
    /// --accept-proxy-from names the ones to believe).
    #[arg(long, value_enum, value_name = "VERSION")]
    pub accept_proxy: Option<AcceptProxy>,

    /// With --accept-proxy, how long a client may take to send its header
    /// before it is closed (default 5s).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_positive_duration, value_hint = ValueHint::Other)]
    pub proxy_timeout: Option<Duration>,

    /// With --serve, send a PROXY protocol header (v1 or v2) with the
    /// client's addresses to each upstream before the client's bytes.
    #[arg(long, value_enum, value_name = "VERSION")]
    pub send_proxy: Option<SendProxy>,

    /// With --serve, write a line for every finished connection to FILE
    /// (appended to), or to stdout for -.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub access_log: Option<PathBuf>,

    /// With --access-log, the log's lines: text (key=value, the default) or
    /// json (the records of --json-lines).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub access_log_format: Option<AccessLogFormat>,

    /// With --serve, serve Prometheus metrics on http://ADDR/metrics
    /// (`[HOST:]PORT`; HOST defaults to 127.0.0.1).
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_address)]
    pub metrics: Option<(String, u16)>,

    /// Turn on TCP keepalive on relayed TCP connections: probes after
    /// DURATION of silence (1s to 32767s), so a peer that vanished is noticed.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = units::parse_keepalive, value_hint = ValueHint::Other)]
    pub keepalive: Option<Duration>,
}

/// Who may connect to a server (`--serve`), and how many of its
/// connections may be at each stage at once.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Access")]
pub struct AccessFlags {
    /// With --serve, serve only clients in CIDR: a network (10.0.0.0/8,
    /// 2001:db8::/32) or one address; repeatable. Others are reset when
    /// accepted, before a byte is read (with --accept-proxy: once their
    /// header gave their address).
    #[arg(long, value_name = "CIDR", value_parser = access::parse, value_hint = ValueHint::Other)]
    pub allow: Vec<IpNet>,

    /// With --serve, reset clients in CIDR, even those --allow lets in;
    /// repeatable.
    #[arg(long, value_name = "CIDR", value_parser = access::parse, value_hint = ValueHint::Other)]
    pub deny: Vec<IpNet>,

    /// With --accept-proxy, believe PROXY headers only from peers in CIDR
    /// (a load balancer); repeatable. A connection from any other peer is
    /// reset when accepted (default: headers from any peer are believed).
    #[arg(long, value_name = "CIDR", value_parser = access::parse, value_hint = ValueHint::Other)]
    pub accept_proxy_from: Vec<IpNet>,

    /// With --serve, at most N connections (UDP: flows) at once from one
    /// client address; more are reset at once, not queued.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = units::parse_connections, value_hint = ValueHint::Other)]
    pub max_connections_per_source: Option<u32>,

    /// With --serve, at most N connections at once still sending their
    /// PROXY header or shaking hands for TLS (default 1024). They do not
    /// count against --max-connections, so clients slow to begin delay only
    /// each other; more wait in the backlog.
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = units::parse_connections, value_hint = ValueHint::Other)]
    pub max_handshakes: Option<u32>,
}

/// The PROXY protocol versions `--accept-proxy` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AcceptProxy {
    /// The text header, `PROXY TCP4 ...`.
    V1,
    /// The binary header.
    V2,
    /// Either.
    Any,
}

/// The PROXY protocol versions `--send-proxy` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SendProxy {
    /// The text header, `PROXY TCP4 ...`.
    V1,
    /// The binary header.
    V2,
}

/// The `--access-log-format` formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessLogFormat {
    /// One `key=value` line per connection.
    Text,
    /// One JSON object per connection, as `--json-lines` prints it.
    Json,
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

/// Flags about connections: which way bytes go, where a connection comes
/// from, and accepting one connection after another.
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionFlags {
    /// Copy SRC to DST only; DST to SRC is half-closed at once (SRC's peer
    /// sees EOF) and what DST sends is not read.
    #[arg(short = 'u', long, conflicts_with = "dst_to_src")]
    pub src_to_dst: bool,

    /// Copy DST to SRC only; SRC to DST is half-closed at once (DST's peer
    /// sees EOF) and what SRC sends is not read.
    #[arg(short = 'U', long)]
    pub dst_to_src: bool,

    /// Connect tcp: and tls: addresses from this local address and/or port
    /// (ADDR, ADDR:PORT, `[IPV6]:PORT` or :PORT), unless they give their own ,bind=.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_bind)]
    pub bind: Option<Bind>,

    /// With a listening SRC and a file, - or null: as DST, accept
    /// connections one after another, appending each to DST (like nc -k).
    #[arg(short = 'k', long, conflicts_with = "serve")]
    pub keep_listening: bool,
}

/// Certificates and keys for `tls:` and `tls-listen:` (PEM files).
#[derive(Debug, ClapArgs)]
#[command(next_help_heading = "TLS")]
pub struct TlsFlags {
    /// Trust only the CA certificates in FILE to verify tls: servers
    /// (default: the system's trusted roots).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// The certificate chain to present: required for tls-listen:, a client
    /// certificate for tls:.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// With tls-listen:, require every client to present a certificate
    /// signed by a CA in FILE.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,

    /// Do not verify the tls: server's certificate. Anyone on the path can
    /// then read and change the traffic; ferry says so on stderr.
    #[arg(long, conflicts_with = "tls_ca")]
    pub tls_insecure: bool,
}

fn parse_metrics_address(text: &str) -> Result<(String, u16), String> {
    crate::address::split_host_port(text, true)
        .map_err(|why| format!("expected [HOST:]PORT ({why})"))
}

fn parse_bind(text: &str) -> Result<Bind, String> {
    Bind::parse(text)
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
