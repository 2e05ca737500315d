//! Running a [`Plan`]: open the endpoints in the right order, transfer or
//! serve, stop on signals, and report.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ferry_io::{Progress, StopSignal};

use crate::address::Address;
use crate::endpoint::{self, Endpoint, Listener, OpenOptions, Role, Sharing};
use crate::keep_listening;
use crate::messages::{self, Failure};
use crate::plan::{Plan, Shape};
use crate::report::{self, ErrorRecord, Reporter, Summary};
use crate::serve::{self, Tally};
use crate::signals::{self, Finish, Signals};
use crate::tls::TlsServer;
use crate::transfer::{self, Broken, Cause, Moved};
use crate::udp;

/// Runs the copy, relay or server, prints the summary, and returns how it ended.
///
/// # Errors
///
/// [`Failure::Input`] when nothing moved because of bad input,
/// [`Failure::Transfer`] when a transfer failed or was interrupted.
pub async fn run(plan: Plan) -> Result<(), Failure> {
    let mut reported = false;
    let result = execute(&plan, &mut reported).await;
    if let (Err(failure), false) = (&result, reported) {
        report::print_early_failure(&plan.output, Some(&plan.src), Some(&plan.dst), failure);
    }
    result
}

/// [`run`], which sets `reported` once the summary is printed.
async fn execute(plan: &Plan, reported: &mut bool) -> Result<(), Failure> {
    let mut signals = Signals::new().map_err(|error| messages::no_signal_handlers(&error))?;
    let progress = Progress::new();
    let stop = StopSignal::new();
    let copier = plan.copy.copier(&progress, &stop);

    if matches!(plan.shape, Shape::Datagrams | Shape::DatagramServer) {
        let reporter = Reporter::start(plan, &progress, None);
        let (relayed, result) = udp::run(plan, &mut signals).await;
        *reported = true;
        reporter.finish(&Summary {
            forward: relayed.forward,
            backward: relayed.backward,
            two_way: true,
            connections: relayed.flows.map(|flows| (flows, relayed.failed_flows)),
            error: result
                .as_ref()
                .err()
                .map(|failure| ErrorRecord::new(failure, None)),
            path: None,
            exit: None,
        });
        return result;
    }

    if matches!(plan.shape, Shape::Serve | Shape::KeepListening) {
        let sharing = match (plan.relay.reuse_port, plan.shape) {
            (true, _) => Sharing::Processes,
            (false, Shape::Serve) if plan.threads > 1 => Sharing::Threads,
            (false, _) => Sharing::Alone,
        };
        let listener = Listener::bind(
            &plan.src,
            plan.max_connections,
            sharing,
            plan.tls_server.as_ref(),
        )
        .await?;
        let tally = Arc::new(Tally::default());
        let two_way = plan.shape == Shape::Serve;
        let reporter = Reporter::start(plan, &progress, plan.output.size);
        let result = if two_way {
            serve::run(
                plan,
                copier,
                listener,
                &mut signals,
                tally.clone(),
                &progress,
            )
            .await
        } else {
            keep_listening::run(
                plan,
                copier,
                listener,
                &mut signals,
                tally.clone(),
                &progress,
            )
            .await
        };
        let counts = progress.snapshot();
        *reported = true;
        reporter.finish(&Summary {
            forward: counts.a_to_b.written,
            backward: counts.b_to_a.written,
            two_way,
            connections: Some((
                tally.accepted.load(Ordering::Relaxed),
                tally.failed.load(Ordering::Relaxed),
            )),
            error: result
                .as_ref()
                .err()
                .map(|failure| ErrorRecord::new(failure, None)),
            path: tally.path(),
            exit: None,
        });
        return result;
    }

    let two_way = plan.two_way();
    let (src, dst) = (&plan.src, &plan.dst);
    let open = |role| plan.copy.open_options(role, two_way);
    let (reuse_port, tls_server) = (plan.relay.reuse_port, plan.tls_server.as_ref());
    // A signal while an end opens (a FIFO with no peer, a listener with no
    // client, a connect that hangs) stops at once.
    let mut dst_file = None;
    let opening = open_ends(src, dst, open, reuse_port, tls_server, &mut dst_file);
    let ends = tokio::select! {
        ends = opening => ends,
        _ = signals.recv() => Err(messages::interrupted_before_start()),
    };
    let (src_end, dst_end) = match ends {
        Ok(ends) => ends,
        Err(failure) => {
            if let Some(file) = dst_file {
                file.abandon();
            }
            return Err(failure);
        }
    };
    let size = match (plan.output.size.or(src_end.known_size()), plan.copy.limit) {
        (Some(size), Some(limit)) => Some(size.min(limit)),
        (size, limit) => size.or(limit),
    };
    let reporter = Reporter::start(plan, &progress, size);
    let copier = plan.copy.for_connection(&copier);
    let (mut src_end, mut dst_end) = (src_end, dst_end);
    if two_way {
        src_end.tune(plan.relay.keepalive);
        dst_end.tune(plan.relay.keepalive);
    }
    let planned = transfer::route(
        &copier,
        plan.copy.zero_copy,
        plan.copy.way,
        &mut src_end,
        &mut dst_end,
    );
    tracing::debug!(path = %planned, buffer = %plan.copy.buffer(), "transfer");
    let transfer = transfer::run(
        &copier,
        plan.copy.zero_copy,
        plan.copy.closing(),
        plan.copy.way,
        planned,
        src_end,
        dst_end,
    );
    // A one-way copy stops reading at the first signal and writes out what
    // it read, so its counts are exact; a running relay may finish. Either
    // gets --shutdown-timeout; a second signal cuts it off at once.
    let grace = Some(plan.copy.shutdown_timeout);
    let ending = signals::until_cut(transfer, &mut signals, grace, || {
        report::finishing(&plan.output, plan.copy.shutdown_timeout);
        if !two_way {
            stop.stop();
        }
    })
    .await;
    let outcome = match ending {
        Finish::Done(outcome) => outcome,
        Finish::AfterSignal(Ok(moved)) if !two_way => Err(interrupted(moved)),
        Finish::AfterSignal(outcome) => outcome,
        // What moved by the time of a cut: the progress the copy published.
        Finish::Cut => {
            let counts = progress.snapshot();
            Err(interrupted(Moved {
                forward: counts.a_to_b.written,
                backward: counts.b_to_a.written,
                route: Some(planned),
                exit: None,
            }))
        }
    };
    let (moved, mut result, cause) = match outcome {
        Ok(moved) => (moved, Ok(()), None),
        Err(broken) => (broken.moved, Err(broken.failure), broken.cause),
    };
    if let Some(file) = dst_file {
        let ended = file.finish(moved.forward, result.is_ok());
        result = result.and(ended);
    }
    tracing::info!(up = moved.forward, down = moved.backward, "close");
    *reported = true;
    reporter.finish(&Summary {
        forward: moved.forward,
        backward: moved.backward,
        two_way,
        connections: None,
        error: result
            .as_ref()
            .err()
            .map(|failure| ErrorRecord::new(failure, cause.as_ref())),
        path: Some(moved.route.unwrap_or(planned).to_string()),
        exit: moved.exit.map(|exit| exit.status),
    });
    result
}

/// A transfer ended by a signal after `moved`.
fn interrupted(moved: Moved) -> Broken {
    Broken {
        moved,
        failure: messages::interrupted(moved.forward + moved.backward),
        dst_failed: false,
        cause: Some(Cause::interrupted()),
    }
}

/// Opens both ends, in an order that reports bad input early: what can fail
/// on bad input first (files, binds), then waiting for a peer, then
/// connecting, so a typo is reported before anyone connects. A destination
/// file goes to `dst_file`; it is truncated only once both ends are there.
async fn open_ends<'a>(
    src: &Address,
    dst: &Address,
    open: impl Fn(Role) -> OpenOptions<'a>,
    reuse_port: bool,
    tls_server: Option<&TlsServer>,
    dst_file: &mut Option<endpoint::DestinationFile>,
) -> Result<(Endpoint, Endpoint), Failure> {
    let mut src_end = None;
    let mut dst_end = None;
    if !src.is_listening() && !src.is_connecting() {
        src_end = Some(endpoint::open(src, open(Role::Source)).await?);
    }
    if let Address::File(path) = dst {
        let (end, file) =
            endpoint::open_destination(dst, path, open(Role::Destination).append).await?;
        dst_end = Some(end);
        *dst_file = Some(file);
    } else if !dst.is_listening() && !dst.is_connecting() {
        dst_end = Some(endpoint::open(dst, open(Role::Destination)).await?);
    }
    if let (Some(src_end), Some(dst_end)) = (&src_end, &dst_end) {
        endpoint::refuse_same_file(src, src_end, dst, dst_end)?;
    }
    let sharing = if reuse_port {
        Sharing::Processes
    } else {
        Sharing::Alone
    };
    let mut listener = None;
    if src.is_listening() {
        listener = Some((
            Role::Source,
            Listener::bind(src, 1, sharing, tls_server).await?,
        ));
    } else if dst.is_listening() {
        listener = Some((
            Role::Destination,
            Listener::bind(dst, 1, sharing, tls_server).await?,
        ));
    }
    let connect_timeout = open(Role::Source).connect_timeout;
    {
        if let Some((role, listener)) = listener {
            tracing::info!(address = %listener.local_address(), "listening");
            let (incoming, peer) = listener
                .accept()
                .await
                .map_err(|error| messages::cannot_accept(&listener.local_address(), &error))?;
            tracing::info!(peer, "open");
            let stream = incoming
                .establish(connect_timeout)
                .await
                .map_err(|error| messages::handshake_failed(&peer, &error))?;
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
        Ok((src_end, dst_end))
    }
}
