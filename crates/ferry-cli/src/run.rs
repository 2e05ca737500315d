//! Wiring one invocation: check the addresses, build the [`Copier`], open the
//! endpoints in the right order, transfer or serve, and report.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferry::{Bytes, Copier, Progress, RateLimiter, StopSignal};

use crate::address::Address;
use crate::closing;
use crate::endpoint::{self, Endpoint, Listener, OpenOptions, Role};
use crate::flags::{Cli, ZeroCopy};
use crate::messages::{describe, Failure};
use crate::report::{self, Reporter, Summary};
use crate::serve::{Server, Signals, Tally};
use crate::transfer::{self, Moved};

/// Checks what can be checked before anything opens.
///
/// # Errors
///
/// A [`Failure::Input`] for address combinations that cannot work.
pub fn check(cli: &Cli, src: &Address, dst: &Address) -> Result<(), Failure> {
    if src.is_listening() && dst.is_listening() {
        return Err(Failure::input(
            format!("bad addresses \"{src}\" and \"{dst}\""),
            "both are listening; at most one address may listen",
        ));
    }
    if cli.serve.serve && !src.is_listening() {
        return Err(Failure::input(
            format!("bad SRC \"{src}\" for --serve"),
            "expected tcp-listen: or unix-listen:",
        ));
    }
    if cli.serve.serve && !dst.is_per_connection() {
        return Err(Failure::input(
            format!("bad DST \"{dst}\" for --serve"),
            "expected an address opened once per connection: tcp:, unix: or null:",
        ));
    }
    if cli.copy.zero_copy == ZeroCopy::Always {
        if let Some(address) = [src, dst]
            .into_iter()
            .find(|address| matches!(address, Address::Stdio | Address::Zero | Address::Null))
        {
            return Err(Failure::input(
                format!("cannot use --zero-copy always with \"{address}\""),
                "the kernel copies only between files and sockets",
            ));
        }
        if cli.copy.append {
            return Err(Failure::input(
                "cannot use --zero-copy always with --append",
                "the kernel's copy calls do not write to a file opened for appending",
            ));
        }
    }
    if matches!(src, Address::Null) {
        return Err(Failure::input(
            "bad address \"null:\"",
            "null: is a destination only; use zero: for a source",
        ));
    }
    if matches!(dst, Address::Zero) {
        return Err(Failure::input(
            "bad address \"zero:\"",
            "zero: is a source only; use null: to discard",
        ));
    }
    Ok(())
}

/// Runs the copy, relay or server, prints the summary, and returns how it ended.
///
/// # Errors
///
/// [`Failure::Input`] when nothing moved because of bad input,
/// [`Failure::Transfer`] when a transfer failed or was interrupted.
pub async fn run(cli: Cli, src: Address, dst: Address) -> Result<(), Failure> {
    let mut reported = false;
    let result = execute(&cli, src, dst, &mut reported).await;
    if let (Err(failure), false) = (&result, reported) {
        report::print_early_failure(&cli.output, failure.message());
    }
    result
}

/// [`run`], which sets `reported` once the summary is printed.
async fn execute(
    cli: &Cli,
    src: Address,
    dst: Address,
    reported: &mut bool,
) -> Result<(), Failure> {
    let mut signals = Signals::new()
        .map_err(|error| Failure::input("cannot install signal handlers", describe(&error)))?;
    let progress = Progress::new();
    let stop = StopSignal::new();
    let copier = copier(cli, &progress).stop_on(stop.clone());
    // `- -` is plain stdin to stdout, not stdio relayed to itself.
    let two_way =
        src.is_two_way() && dst.is_two_way() && !(src == Address::Stdio && dst == Address::Stdio);
    let open = |role| OpenOptions {
        role,
        two_way,
        append: cli.copy.append,
        connect_timeout: cli.copy.idle_timeout,
    };

    if cli.serve.serve {
        let listener = Listener::bind(&src).await?;
        let tally = Arc::new(Tally::default());
        let reporter = Reporter::start(&cli.output, &progress, true, cli.output.size);
        let server = Server {
            copier,
            rate_per_connection: cli.copy.rate_limit_per_connection,
            dst,
            max_connections: cli.serve.max_connections as usize,
            grace: cli.copy.linger,
            transfer: transfer_options(cli),
            connect_timeout: cli.copy.idle_timeout,
        };
        let result = server.run(listener, &mut signals, tally.clone()).await;
        let counts = progress.snapshot();
        *reported = true;
        reporter.finish(&Summary {
            forward: counts.a_to_b.written,
            backward: counts.b_to_a.written,
            two_way: true,
            connections: Some(tally.accepted.load(Ordering::Relaxed)),
            failed_connections: Some(tally.failed.load(Ordering::Relaxed)),
            error: result
                .as_ref()
                .err()
                .map(|failure| failure.message().to_string()),
            path: None,
        });
        return result;
    }

    // Open what can fail on bad input first (files, binds), then wait for a
    // peer, then connect: a typo is reported before anyone connects. A
    // destination file is truncated only once both ends are there.
    let mut src_end = None;
    let mut dst_end = None;
    let mut dst_file = None;
    if !src.is_listening() && !matches!(src, Address::Tcp { .. } | Address::Unix(_)) {
        src_end = Some(endpoint::open(&src, open(Role::Source)).await?);
    }
    if let Address::File(path) = &dst {
        let (end, file) = endpoint::open_destination(&dst, path, cli.copy.append).await?;
        dst_end = Some(end);
        dst_file = Some(file);
    } else if !dst.is_listening() && !matches!(dst, Address::Tcp { .. } | Address::Unix(_)) {
        dst_end = Some(endpoint::open(&dst, open(Role::Destination)).await?);
    }
    let file_size = src_end.as_ref().and_then(Endpoint::known_size);
    let size = match (cli.output.size.or(file_size), cli.copy.limit) {
        (Some(size), Some(limit)) => Some(size.min(limit)),
        (size, limit) => size.or(limit),
    };
    let ends = connect(&src, &dst, src_end, dst_end, open, &mut signals).await;
    let (src_end, dst_end) = match ends {
        Ok(ends) => ends,
        Err(failure) => {
            if let Some(file) = dst_file {
                file.abandon();
            }
            return Err(failure);
        }
    };
    let reporter = Reporter::start(&cli.output, &progress, two_way, size);
    // What moved by the time of a cut: the progress the copy published.
    let cut = || {
        let counts = progress.snapshot();
        interrupted(Moved {
            forward: counts.a_to_b.written,
            backward: counts.b_to_a.written,
            route: None,
        })
    };
    let transfer = transfer::run(&copier, transfer_options(cli), src_end, dst_end);
    tokio::pin!(transfer);
    let outcome = tokio::select! {
        outcome = &mut transfer => outcome,
        // A one-way copy stops reading at the first signal and writes out
        // what it read, so its counts are exact; a running relay may finish
        // (for at most --linger). A second signal cuts either at once.
        _ = signals.recv() => {
            let grace = async {
                match (two_way, cli.copy.linger) {
                    (true, Some(grace)) => tokio::time::sleep(grace).await,
                    _ => std::future::pending().await,
                }
            };
            if two_way {
                tracing::info!("stopping: waiting for the relay to finish");
            } else {
                tracing::info!("stopping: writing out what was read");
                stop.stop();
            }
            tokio::select! {
                outcome = &mut transfer => match outcome {
                    Ok(moved) if !two_way => interrupted(moved),
                    outcome => outcome,
                },
                _ = grace => cut(),
                _ = signals.recv() => cut(),
            }
        }
    };
    let (moved, mut result) = match outcome {
        Ok(moved) => (moved, Ok(())),
        Err(broken) => (broken.moved, Err(broken.failure)),
    };
    if let Some(file) = dst_file {
        let ended = file.finish(moved.forward, result.is_ok());
        result = result.and(ended);
    }
    tracing::info!(sent = %Bytes(moved.forward), received = %Bytes(moved.backward), "close");
    *reported = true;
    reporter.finish(&Summary {
        forward: moved.forward,
        backward: moved.backward,
        two_way,
        connections: None,
        failed_connections: None,
        error: result
            .as_ref()
            .err()
            .map(|failure| failure.message().to_string()),
        path: result.is_ok().then(|| {
            moved
                .route
                .map_or("buffered".to_string(), |route| route.to_string())
        }),
    });
    result
}

/// A transfer ended by a signal after `moved`.
fn interrupted(moved: Moved) -> Result<Moved, transfer::Broken> {
    Err(transfer::Broken {
        moved,
        failure: Failure::Transfer(format!(
            "interrupted after {}",
            Bytes(moved.forward + moved.backward)
        )),
    })
}

/// Completes the ends that were not opened yet: binds and accepts on a
/// listening address, then connects. A signal meanwhile stops at once.
async fn connect(
    src: &Address,
    dst: &Address,
    mut src_end: Option<Endpoint>,
    mut dst_end: Option<Endpoint>,
    open: impl Fn(Role) -> OpenOptions,
    signals: &mut Signals,
) -> Result<(Endpoint, Endpoint), Failure> {
    if let (Some(src_end), Some(dst_end)) = (&src_end, &dst_end) {
        endpoint::refuse_same_file(src, src_end, dst, dst_end)?;
    }
    let mut listener = None;
    if src.is_listening() {
        listener = Some((Role::Source, Listener::bind(src).await?));
    } else if dst.is_listening() {
        listener = Some((Role::Destination, Listener::bind(dst).await?));
    }
    let ends = async {
        if let Some((role, listener)) = listener {
            tracing::info!(address = %listener.local_address(), "listening");
            let (stream, peer) = listener.accept().await.map_err(|error| {
                Failure::input(
                    format!("cannot accept on {}", listener.local_address()),
                    describe(&error),
                )
            })?;
            tracing::info!(peer, "open");
            match role {
                Role::Source => src_end = Some(stream),
                Role::Destination => dst_end = Some(stream),
            }
        }
        let src_end = match src_end {
            Some(end) => end,
            None => endpoint::open(src, open(Role::Source)).await?,
        };
        let dst_end = match dst_end {
            Some(end) => end,
            None => endpoint::open(dst, open(Role::Destination)).await?,
        };
        Ok::<_, Failure>((src_end, dst_end))
    };
    tokio::select! {
        ends = ends => ends,
        _ = signals.recv() => Err(Failure::Transfer("interrupted before any byte moved".to_string())),
    }
}

/// The most a busy copy's adaptive buffer grows to. The library stops at
/// 256 KiB; a relay through 1 MiB buffers measured 1.1× to 1.15× faster
/// under iperf3 on loopback, and beat splice there (see `kernel_pays`).
/// An idle copy gives its buffer back either way.
const MAX_BUF_SIZE: usize = 1 << 20;

/// How every transfer runs, from the flags.
fn transfer_options(cli: &Cli) -> transfer::Options {
    transfer::Options {
        zero_copy: cli.copy.zero_copy.into(),
        drain_for: cli.copy.linger.unwrap_or(closing::AT_MOST),
    }
}

/// The copier every transfer uses, from the flags.
fn copier(cli: &Cli, progress: &Progress) -> Copier {
    let flags = &cli.copy;
    let mut copier = Copier::new().progress(progress.clone());
    copier = match flags.buffer_size {
        Some(size) => copier.buffer_size(size),
        None => copier.adaptive_buffer(ferry::DEFAULT_BUF_SIZE, MAX_BUF_SIZE),
    };
    if let Some(limit) = flags.limit {
        copier = copier.limit(limit);
    }
    if let Some(rate) = flags.rate_limit {
        // One limiter: with --serve every connection shares it.
        copier = copier.rate_limit(RateLimiter::new(rate));
    }
    if let (Some(rate), false) = (flags.rate_limit_per_connection, cli.serve.serve) {
        copier = copier.rate_limit(RateLimiter::new(rate));
    }
    if let Some(timeout) = flags.idle_timeout {
        copier = copier.idle_timeout(timeout);
    }
    if let Some(linger) = flags.linger {
        copier = copier.linger(linger);
    }
    copier
}
