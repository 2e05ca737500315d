//! `ferry`: copy and relay bytes between stdio, files, TCP and Unix sockets,
//! TLS, programs and UDP.
//!
//! A thin binary over the `ferry-io` library: this file wires the pieces. The
//! flags are defined in [`flags`] and turned, with the addresses
//! ([`address`], [`units`]) and the TLS settings ([`tls`]), into one checked
//! [`plan`]; [`run`] opens the [`endpoint`]s and makes the [`transfer`] or
//! runs the server ([`serve`], with [`access`], [`slots`], [`proxy`],
//! [`upstreams`], [`access_log`] and [`metrics`]) or the one-after-another listener
//! ([`keep_listening`]), stopping on [`signals`]; datagrams have a relay of
//! their own ([`udp`]); [`report`] prints progress and summaries,
//! [`messages`] every failure; [`closing`] closes sockets without resetting
//! them; [`stderr`] writes everything ferry says without ever blocking.
//! [`completions`] and [`man`] are what `ferry completions` and `ferry man`
//! print, and `ferry bench` ([`mod@bench`]) runs the `ferry-io-bench` harness.

#![forbid(unsafe_code)]

pub mod access;
pub mod access_log;
pub mod address;
pub mod bench;
pub mod closing;
pub mod completions;
pub mod endpoint;
pub mod flags;
pub mod keep_listening;
pub mod man;
pub mod messages;
pub mod metrics;
pub mod plan;
pub mod proxy;
pub mod report;
pub mod run;
pub mod serve;
pub mod signals;
pub mod slots;
pub mod stderr;
pub mod tls;
pub mod transfer;
pub mod udp;
pub mod units;
pub mod upstreams;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::flags::{Cli, Command};
use crate::messages::{describe, Failure};
use crate::plan::Plan;

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|error| messages::clap_exit(error));
    match cli.command {
        Some(Command::Completions { shell }) => {
            let script = completions::script(shell);
            return print_generated("the completion script", Ok(script));
        }
        Some(Command::Man) => {
            return print_generated("the man page", Ok(man::PAGE.as_bytes().to_vec()));
        }
        Some(Command::Bench(flags)) => {
            return bench::run(flags)
                .map_or_else(|failure| fail(failure, None), |()| ExitCode::SUCCESS)
        }
        None => {}
    }
    // Before any thread starts: taking the sockets clears the environment.
    endpoint::inherit();
    let _stderr = stderr::start();
    init_logging(&cli.output);
    raise_fd_limit();
    let output = cli.output.clone();
    let addresses = (cli.src.clone(), cli.dst.first().cloned());
    let plan = match Plan::new(cli) {
        Ok(plan) => plan,
        Err(failure) => {
            let (src, dst) = (addresses.0.as_ref(), addresses.1.as_ref());
            report::print_early_failure(&output, src, dst, &failure);
            return fail(failure, Some(&output));
        }
    };
    if !output.quiet && !output.json && !output.json_lines {
        for warning in &plan.warnings {
            stderr::line(warning);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let failure = Failure::input("cannot start the runtime", describe(&error));
            return fail(failure, None);
        }
    };
    let result = runtime.block_on(run::run(plan));
    // Do not wait for blocked stdin reads: they never return on their own.
    runtime.shutdown_background();
    endpoint::restore_flags();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure, Some(&output)),
    }
}

/// Writes a generated text to stdout; a full disk or closed pipe is exit 1.
fn print_generated(what: &str, text: std::io::Result<Vec<u8>>) -> ExitCode {
    let mut stdout = std::io::stdout();
    match text.and_then(|text| stdout.write_all(&text).and_then(|()| stdout.flush())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(
            Failure::Transfer(format!("cannot write {what}: {}", describe(&error))),
            None,
        ),
    }
}

/// Prints the failure and returns its exit code; with `--json` or
/// `--json-lines` the summary already carries it, and stands alone.
fn fail(failure: Failure, output: Option<&flags::OutputFlags>) -> ExitCode {
    if !output.is_some_and(|output| output.json || output.json_lines) {
        failure.print();
    }
    failure.exit_code()
}

/// Lifts the soft limit on open files to the hard one, as servers do: a
/// spliced relay holds six fds (two sockets, two pipes), so the usual soft
/// limit of 1024 would cap `--serve` far below `--max-connections`.
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    /// Linux's default `fs.nr_open`: the most a soft limit may be when the
    /// hard one is unlimited (`None`).
    const NR_OPEN: u64 = 1 << 20;
    let mut limit = getrlimit(Resource::Nofile);
    let most = limit.maximum.unwrap_or(NR_OPEN);
    if limit.current.is_some_and(|current| current < most) {
        limit.current = Some(most);
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::debug!(%error, "cannot raise the open-file limit");
        }
    }
}

/// Logs go to stderr, each line with an RFC 3339 timestamp: warnings
/// (failed connections) by default, per-connection open/close with `-v`,
/// routes and buffers with `-vv`; nothing with `-q`, and nothing beside the
/// records of `--json`/`--json-lines` unless `-v` asks.
fn init_logging(flags: &flags::OutputFlags) {
    use tracing_subscriber::filter::LevelFilter;
    let machine = flags.json || flags.json_lines;
    let level = match (flags.quiet, flags.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) if machine => LevelFilter::OFF,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    tracing_subscriber::fmt()
        .with_writer(stderr::writer)
        .with_max_level(level)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
