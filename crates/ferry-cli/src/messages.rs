//! Errors, printed one way: `ferry: <what was wrong>: <why>`, and their exit codes.

use std::fmt;
use std::io;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Why `ferry` stopped short, and so which exit code it returns.
#[derive(Debug)]
pub enum Failure {
    /// Bad input found before any byte moved: exit code 2.
    Input(String),
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

    /// The exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Input(_) => ExitCode::from(2),
            Failure::Transfer(_) => ExitCode::from(1),
        }
    }

    /// What went wrong, without the `ferry: ` prefix.
    pub fn message(&self) -> &str {
        let (Failure::Input(message) | Failure::Transfer(message)) = self;
        message
    }

    /// Prints the failure on stderr, as `ferry: ...`.
    pub fn print(&self) {
        eprintln!("ferry: {}", self.message());
    }
}

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
/// exit 0; every usage mistake prints one `ferry:` line (plus clap's usage
/// hint) and exits 2.
pub fn clap_exit(error: clap::Error) -> ! {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    let message = match (
        error.kind(),
        context(ContextKind::InvalidArg),
        context(ContextKind::InvalidValue),
    ) {
        (ErrorKind::ValueValidation, Some(arg), Some(value)) => {
            let why = std::error::Error::source(&error)
                .map(|source| source.to_string())
                .unwrap_or_else(|| "invalid value".to_string());
            let what = if arg == "<SRC>" || arg == "<DST>" {
                "bad address".to_string()
            } else {
                // `--limit <SIZE>` -> `--limit`
                let flag = arg.split_whitespace().next().unwrap_or(&arg);
                let flag = flag.rsplit(", ").next().unwrap_or(flag);
                format!("bad {flag}")
            };
            format!("ferry: {what} {value:?}: {why}\n")
        }
        // A third positional reads to clap as a subcommand after SRC DST.
        (ErrorKind::ArgumentConflict, _, _)
            if error.render().to_string().contains("the subcommand '") =>
        {
            let rendered = error.render().to_string();
            let extra = rendered.split('\'').nth(1).unwrap_or("?");
            format!("ferry: unexpected argument {extra:?}: expected ferry [OPTIONS] SRC DST\n")
        }
        _ => {
            let rendered = error.render().to_string();
            let rendered = rendered.strip_prefix("error: ").unwrap_or(&rendered);
            format!("ferry: {rendered}")
        }
    };
    eprint!("{message}");
    std::process::exit(2);
}
