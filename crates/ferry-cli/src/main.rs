//! `ferry`: copy and relay bytes between stdio, files, TCP and Unix sockets.
//!
//! A thin binary over the `ferry` library: this file wires the pieces; flags
//! live in [`flags`], addresses in [`address`], opening them in [`endpoint`],
//! the transfer in [`transfer`], the server in [`serve`], output in
//! [`report`] and error messages in [`messages`].

pub mod address;
pub mod endpoint;
pub mod flags;
pub mod messages;
pub mod report;
pub mod run;
pub mod serve;
pub mod transfer;
pub mod units;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::flags::{Cli, Command};
use crate::messages::{describe, Failure};

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|error| messages::clap_exit(error));
    match cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            let written = clap_mangen::Man::new(Cli::command()).render(&mut page);
            return match written.and_then(|()| std::io::stdout().write_all(&page)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(Failure::Transfer(format!(
                    "cannot write the man page: {}",
                    describe(&error)
                ))),
            };
        }
        None => {}
    }
    let (Some(src), Some(dst)) = (cli.src.clone(), cli.dst.clone()) else {
        return fail(Failure::input(
            "missing addresses",
            "expected ferry [OPTIONS] SRC DST",
        ));
    };
    init_logging(&cli.output);
    if let Err(failure) = run::check(&cli, &src, &dst) {
        return fail(failure);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(Failure::input("cannot start the runtime", describe(&error))),
    };
    let result = runtime.block_on(run::run(cli, src, dst));
    // Do not wait for blocked stdin reads: they never return on their own.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    }
}

fn fail(failure: Failure) -> ExitCode {
    failure.print();
    failure.exit_code()
}

/// Logs go to stderr: warnings (failed connections) by default, per-connection
/// open/close with `-v`, more with `-vv`, nothing with `-q`.
fn init_logging(flags: &flags::OutputFlags) {
    let level = match (flags.quiet, flags.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, 2) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
}
