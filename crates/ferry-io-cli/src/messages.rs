//! Every message `ferry` prints about a failure, printed one way:
//! `ferry: <what was wrong>: <why>`, and the exit code that goes with it.

use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitCode, ExitStatus};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use ferry_io::{CopyError, Counts, Direction, Step};

use crate::access::Refusal;
use crate::address::Address;
use crate::units::{count, grouped, Exact};

/// Why `ferry` stopped short, and so which exit code it returns.
#[derive(Debug)]
pub enum Failure {
    /// Bad input found before any byte moved: exit code 2.
    Input(String),
    /// Bad input that the system refused before any byte moved (a
    /// connection refused, a file not found): exit code 2, and the kind of
    /// the system's answer for the JSON records.
    Refused(String, io::ErrorKind),
    /// An I/O failure during the copy or relay: exit code 1. The message
    /// already carries the byte counts reached.
    Transfer(String),
}

impl Failure {
    /// A bad-input failure: `what` names the offending value, `why` says what
    /// was expected or what the system answered.
    pub fn input(what: impl fmt::Display, why: impl fmt::Display) -> Failure {
        Failure::Input(format!("{what}: {why}"))
    }

    /// A bad-input failure the system answered with `error`: `what` names
    /// the offending value, the error says why.
    pub fn refused(what: impl fmt::Display, error: &io::Error) -> Failure {
        Failure::Refused(format!("{what}: {}", describe(error)), error.kind())
    }

    /// The exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Input(_) | Failure::Refused(..) => ExitCode::from(2),
            Failure::Transfer(_) => ExitCode::from(1),
        }
    }

    /// What went wrong, without the `ferry: ` prefix.
    pub fn message(&self) -> &str {
        let (Failure::Input(message) | Failure::Refused(message, _) | Failure::Transfer(message)) =
            self;
        message
    }

    /// Prints the failure on stderr, as `ferry: ...`.
    pub fn print(&self) {
        crate::stderr::line(format_args!("ferry: {}", self.message()));
    }
}

/// SRC or DST is missing.
pub fn missing_addresses() -> Failure {
    Failure::input("missing addresses", "expected ferry [OPTIONS] SRC DST")
}

/// More than one DST without `--serve`.
pub fn several_dsts(extra: &Address) -> Failure {
    // As it was typed: a path, not `file:PATH`.
    let typed = match extra {
        Address::File(path) => path.display().to_string(),
        other => other.to_string(),
    };
    Failure::input(
        format!("unexpected argument \"{typed}\""),
        "expected ferry [OPTIONS] SRC DST (several DSTs only with --serve)",
    )
}

/// `null:` given as SRC.
pub fn null_is_a_destination() -> Failure {
    Failure::input(
        "bad address \"null:\"",
        "null: is a destination only; use zero: for a source",
    )
}

/// `zero:` given as DST.
pub fn zero_is_a_source() -> Failure {
    Failure::input(
        "bad address \"zero:\"",
        "zero: is a source only; use null: to discard",
    )
}

/// `--zero-copy always` where the kernel cannot copy (`context` says where).
pub fn zero_copy_always_refused(context: impl fmt::Display) -> Failure {
    Failure::input(
        format!("cannot use --zero-copy always {context}"),
        "the kernel copies only between files, pipes and sockets",
    )
}

/// A flag about a server's connections given without a server: `needs`
/// is `--serve` (or `--serve or --keep-listening`), `does` what the flag
/// would have done.
pub fn needs_server(flag: &str, needs: &str, does: &str) -> Failure {
    Failure::input(
        format!("cannot use {flag} without {needs}"),
        format!("{does}; add {needs} to keep accepting connections"),
    )
}

/// A flag that shapes another flag, given without it.
pub fn needs_flag(flag: &str, other: &str, does: &str) -> Failure {
    Failure::input(format!("cannot use {flag} without {other}"), does)
}

/// The warning for a server whose open-file limit is below what
/// `--max-connections` needs.
pub fn too_few_fds(max_connections: u32, needed: u64, most: u64) -> String {
    format!(
        "ferry: warning: --max-connections {max_connections} needs about {} file \
         descriptors, but at most {most} can be open: past that, clients are reset; raise \
         the limit (ulimit -n, or LimitNOFILE= in a systemd unit) or lower --max-connections",
        grouped(needed)
    )
}

/// The warning for a flag that has nothing to act on with `address`.
pub fn no_effect(flag: &str, address: &Address, why: &str) -> String {
    format!("ferry: warning: {flag} has no effect on \"{address}\": {why}")
}

/// The warning for a network written with bits past its prefix
/// (`10.1.2.3/8`), which match nothing more than the network does.
pub fn host_bits_ignored(flag: &str, network: &ipnet::IpNet) -> String {
    format!(
        "ferry: warning: {flag} {network} is read as {}: the bits after the prefix are ignored",
        network.trunc()
    )
}

/// A client a server turned away, and why.
pub fn refused(peer: &str, refusal: Refusal) -> Failure {
    let why = match refusal {
        Refusal::NotAllowed => "not in --allow".to_string(),
        Refusal::Denied => "in --deny".to_string(),
        Refusal::PerSourceLimit(limit) => {
            format!(
                "its address has {limit} connections open already (--max-connections-per-source)"
            )
        }
        Refusal::UntrustedProxy => {
            "not in --accept-proxy-from, so its PROXY header would not be believed".to_string()
        }
    };
    Failure::input(format!("refused {peer}"), why)
}

/// An address that could not be opened.
pub fn cannot_open(address: &Address, error: &io::Error) -> Failure {
    Failure::refused(format!("cannot open {address}"), error)
}

/// A standard stream that is open but cannot be used (`stream` is "stdin"
/// or "stdout").
pub fn cannot_open_stdio(stream: &str, error: &io::Error) -> Failure {
    Failure::input(format!("cannot use {stream}"), describe(error))
}

/// Accepting on a listening address failed.
pub fn cannot_accept(address: &str, error: &io::Error) -> Failure {
    Failure::refused(format!("cannot accept on {address}"), error)
}

/// The signal handlers could not be installed.
pub fn no_signal_handlers(error: &io::Error) -> Failure {
    Failure::input("cannot install signal handlers", describe(error))
}

/// A signal came before both ends were there.
pub fn interrupted_before_start() -> Failure {
    Failure::Transfer("interrupted before any byte moved".to_string())
}

/// What ferry does at the first signal, and how to make it stop at once.
pub fn finishing(within: std::time::Duration) -> String {
    format!(
        "ferry: finishing (at most {}), Ctrl-C again to quit",
        humantime::format_duration(within)
    )
}

/// A signal ended the transfer after `bytes` in all.
pub fn interrupted(bytes: u64) -> Failure {
    Failure::Transfer(format!("interrupted after {}", Exact(bytes)))
}

/// The server stopped with `running` relays cut off.
pub fn relays_cut(running: usize) -> Failure {
    let running = count(running as u64, "relay", "relays");
    Failure::Transfer(format!("stopped with {running} still running"))
}

/// A relay of a server cut off by its shutdown after `bytes` in all.
pub fn cut_off(bytes: u64) -> Failure {
    Failure::Transfer(format!("cut off by the shutdown after {}", Exact(bytes)))
}

/// A client's PROXY header was refused (`why` says how).
pub fn proxy_header_refused(peer: &str, why: &str) -> Failure {
    Failure::input(format!("cannot accept {peer}"), why)
}

/// The PROXY header could not be written to an upstream.
pub fn proxy_header_unsent(upstream: &Address, error: &io::Error) -> Failure {
    Failure::input(
        format!("cannot send the PROXY header to {upstream}"),
        describe(error),
    )
}

/// No upstream of a server could be reached: each one's failure (of the
/// kind they share, when they share one).
pub fn no_upstream(failures: &[Failure]) -> Failure {
    let each: Vec<&str> = failures.iter().map(Failure::message).collect();
    let message = format!("cannot connect to any upstream: {}", each.join("; "));
    let kinds: Vec<Option<io::ErrorKind>> = failures
        .iter()
        .map(|failure| match failure {
            Failure::Refused(_, kind) => Some(*kind),
            _ => None,
        })
        .collect();
    match kinds.first() {
        Some(Some(kind)) if kinds.iter().all(|other| *other == Some(*kind)) => {
            Failure::Refused(message, *kind)
        }
        _ => Failure::Input(message),
    }
}

/// The access log dropped lines it could not write in time.
pub fn access_log_dropped(lines: u64) -> String {
    let (lines, were) = (
        count(lines, "access-log line", "access-log lines"),
        were(lines),
    );
    format!("ferry: {lines} {were} dropped: the log was not written fast enough")
}

/// The first line the access log's file refused.
pub fn access_log_failing(name: &str, error: &io::Error) -> String {
    format!(
        "ferry: warning: cannot write the access log {name}: {}; lines that fail are \
         counted (ferry_access_log_failed_lines_total) and told at exit",
        describe(error)
    )
}

/// Lines the access log's file refused, at exit.
pub fn access_log_failed(lines: u64, name: &str) -> String {
    let lines = count(lines, "access-log line", "access-log lines");
    format!("ferry: {lines} could not be written to {name}")
}

/// `was` or `were`, for `n` things.
fn were(n: u64) -> &'static str {
    if n == 1 {
        "was"
    } else {
        "were"
    }
}

/// SRC cannot be read or DST cannot be written.
pub fn wrong_way() -> Failure {
    Failure::input("bad addresses", "SRC must be readable and DST writable")
}

/// Shutting DST down after a one-way copy of `bytes` failed.
pub fn shutdown_failed(error: &io::Error, bytes: u64) -> Failure {
    Failure::Transfer(format!(
        "shutting down DST failed after {}: {}",
        Exact(bytes),
        describe(error)
    ))
}

/// A failed copy in SRC/DST terms, e.g. `write to DST failed after
/// 13,002,342 B (12.4 MiB): connection reset by peer`.
pub fn copy_failed(error: &CopyError) -> Failure {
    copy_failed_as(error, false)
}

/// A failed `-U` copy, which read DST and wrote SRC: the library's "a to b"
/// is DST to SRC.
pub fn copy_back_failed(error: &CopyError) -> Failure {
    copy_failed_as(error, true)
}

fn copy_failed_as(error: &CopyError, reversed: bool) -> Failure {
    let counts = error.counts();
    // `--zero-copy always` and a pair the kernel will not copy: nothing moved.
    if error.kind() == io::ErrorKind::Unsupported && counts == Counts::default() {
        return Failure::input(
            "cannot use --zero-copy always here",
            describe(error.io_error()),
        );
    }
    let (mut forward, mut backward) = (counts.a_to_b.written, counts.b_to_a.written);
    let mut back = error.direction() == Some(Direction::BToA);
    if reversed {
        std::mem::swap(&mut forward, &mut backward);
        back = error.direction().is_some() && !back;
    }
    let (from, to) = if back { ("DST", "SRC") } else { ("SRC", "DST") };
    let what = match error.step() {
        Step::Read => format!("read from {from} failed"),
        Step::Write => format!("write to {to} failed"),
        Step::Flush => format!("flush of {to} failed"),
        Step::Shutdown => format!("shutdown of {to} failed"),
        Step::IdleTimeout => "idle timeout".to_string(),
        Step::LingerTimeout => format!("linger timeout: {from} to {to} did not finish in time"),
    };
    let reached = if backward > 0 || back {
        format!(
            "after {} SRC to DST, {} DST to SRC",
            Exact(forward),
            Exact(backward)
        )
    } else {
        format!("after {}", Exact(forward))
    };
    let why = match error.step() {
        Step::IdleTimeout if forward + backward == 0 => {
            return Failure::Transfer(
                "idle timeout: no byte moved within --idle-timeout".to_string(),
            )
        }
        Step::IdleTimeout => "nothing more moved within --idle-timeout".to_string(),
        Step::LingerTimeout => "timed out".to_string(),
        _ => describe(error.io_error()),
    };
    Failure::Transfer(format!("{what} {reached}: {why}"))
}

/// A program end (`exec:`, `sh:`) that did not succeed; `side` is SRC or DST.
pub fn program_failed(side: &str, status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("{side} exited with status {code}"),
        (None, Some(signal)) => format!("{side} was killed by signal {signal}"),
        (None, None) => format!("{side} ended with {status}"),
    }
}

/// Waiting for a program end to exit failed.
pub fn cannot_wait(side: &str, error: &io::Error) -> String {
    format!("cannot wait for {side} to exit: {}", describe(error))
}

/// A TLS handshake with an accepted client failed.
pub fn handshake_failed(peer: &str, error: &io::Error) -> Failure {
    Failure::input(format!("cannot accept {peer}"), describe(error))
}

/// The warning `--tls-insecure` earns, printed even with `-q`.
pub const TLS_INSECURE: &str = "ferry: warning: --tls-insecure: the TLS server's certificate is NOT verified; anyone on the path can read and change this connection";

/// An I/O error as a person reads it: `connection refused`, not
/// `Connection refused (os error 111)`.
pub fn describe(error: &io::Error) -> String {
    let text = match error.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
        io::ErrorKind::AddrInUse => "address already in use".to_string(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_string(),
        io::ErrorKind::BrokenPipe => "broken pipe".to_string(),
        io::ErrorKind::IsADirectory => "is a directory".to_string(),
        io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => error.to_string(),
    };
    // Strip " (os error N)" that std appends to raw OS errors, and start in
    // lower case like every other message ("no space left on device").
    let text = match text.find(" (os error") {
        Some(at) => &text[..at],
        None => &text,
    };
    // A sentence's first letter, not an acronym's ("EOF").
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_string(),
    }
}

/// Turns a clap error into the exit it deserves: help and version print and
/// exit 0; every usage mistake prints one `ferry:` line and exits 2.
pub fn clap_exit(error: clap::Error) -> ! {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    eprintln!("ferry: {}", usage_mistake(&error));
    std::process::exit(2);
}

/// A usage mistake in one line, without the `ferry: `.
fn usage_mistake(error: &clap::Error) -> String {
    let string = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    let strings = |kind| match error.get(kind) {
        Some(ContextValue::Strings(texts)) => texts.clone(),
        Some(ContextValue::String(text)) => vec![text.clone()],
        _ => Vec::new(),
    };
    let rendered = error.render().to_string();
    let first_line = rendered.lines().next().unwrap_or("");
    let first_line = first_line.strip_prefix("error: ").unwrap_or(first_line);
    let arg = string(ContextKind::InvalidArg);
    let value = string(ContextKind::InvalidValue);
    match (error.kind(), arg, value) {
        (ErrorKind::ValueValidation, Some(arg), Some(value)) => {
            let why = std::error::Error::source(error)
                .map(|source| source.to_string())
                .unwrap_or_else(|| "invalid value".to_string());
            format!("{} {value:?}: {why}", bad(&arg))
        }
        (ErrorKind::InvalidValue, Some(arg), Some(value)) if value.is_empty() => {
            format!("{} needs a value", flag_name(&arg))
        }
        (ErrorKind::InvalidValue, Some(arg), Some(value)) => {
            let valid = strings(ContextKind::ValidValue);
            format!("{} {value:?}: expected {}", bad(&arg), alternatives(&valid))
        }
        // A third positional reads to clap as a subcommand after SRC DST.
        (ErrorKind::ArgumentConflict, _, _) if first_line.contains("the subcommand '") => {
            let extra = first_line.split('\'').nth(1).unwrap_or("?");
            format!("unexpected argument {extra:?}: expected ferry [OPTIONS] SRC DST")
        }
        (ErrorKind::ArgumentConflict, Some(arg), _) => {
            let prior: Vec<String> = strings(ContextKind::PriorArg)
                .iter()
                .map(|prior| flag_name(prior))
                .collect();
            format!("cannot use {} with {}", flag_name(&arg), prior.join(" or "))
        }
        (ErrorKind::MissingRequiredArgument, _, _) => {
            let missing: Vec<String> = strings(ContextKind::InvalidArg)
                .iter()
                .map(|missing| flag_name(missing))
                .collect();
            missing_arguments(&missing)
        }
        (ErrorKind::UnknownArgument, Some(arg), _) => {
            match strings(ContextKind::SuggestedArg).first() {
                Some(similar) => format!("unknown option {arg} (did you mean {similar}?)"),
                None => format!("unknown option {arg}: see ferry --help"),
            }
        }
        _ => format!("{first_line} (see ferry --help)"),
    }
}

/// `bad --limit` for clap's `--limit <SIZE>`, `bad address` for SRC or DST.
fn bad(arg: &str) -> String {
    if arg == "<SRC>" || arg.starts_with("<DST>") {
        "bad address".to_string()
    } else {
        format!("bad {}", flag_name(arg))
    }
}

/// A flag's name as typed: `--limit <SIZE>` → `--limit`, `-n, --limit` →
/// `--limit`, `--verbose...` → `--verbose`, `<DST>...` → `DST`.
fn flag_name(arg: &str) -> String {
    let name = arg.split_whitespace().next().unwrap_or(arg);
    let name = name.rsplit(", ").next().unwrap_or(name);
    let name = name.trim_end_matches("...");
    name.trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// What is missing, in one line: `missing DST: expected ferry [OPTIONS]
/// SRC DST`, or for a flag that needs another, `--tls-cert needs --tls-key`.
fn missing_arguments(missing: &[String]) -> String {
    let needed_by = |flag: &str| match flag {
        "--tls-key" => Some("--tls-cert"),
        "--tls-cert" => Some("--tls-key"),
        _ => None,
    };
    if let [flag] = missing {
        if let Some(by) = needed_by(flag) {
            return format!("{by} needs {flag} FILE");
        }
    }
    let names = missing.join(" and ");
    if missing.iter().all(|name| name == "SRC" || name == "DST") {
        format!("missing {names}: expected ferry [OPTIONS] SRC DST")
    } else {
        format!("missing {names}: see ferry --help")
    }
}

/// `auto, never or always`.
fn alternatives(values: &[String]) -> String {
    match values {
        [] => "another value (see ferry --help)".to_string(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
