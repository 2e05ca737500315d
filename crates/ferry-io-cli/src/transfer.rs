//! One transfer between two opened endpoints, made with one library call:
//! the library's [`ZeroCopier`] decides, per
//! pair of ends, whether the kernel or memory carries the bytes.

use std::io;
use std::time::Duration;

use ferry_io::zero_copy::{Route, ZeroCopier, ZeroCopyMode};
use ferry_io::{Copier, CopyError, Direction, Step};
use tokio::io::AsyncWriteExt;

use crate::closing::Closing;
use crate::endpoint::{self, Endpoint, Exit};
use crate::messages::{self, Failure};

/// Which directions a relay between two two-way ends copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Way {
    /// Both, each half-closed when its source ends.
    #[default]
    Both,
    /// SRC to DST only (`-u`): DST to SRC is half-closed at once.
    Forward,
    /// DST to SRC only (`-U`): SRC to DST is half-closed at once.
    Backward,
}

/// Bytes written each way by a finished transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// From SRC to DST.
    pub forward: u64,
    /// From DST back to SRC (relays only).
    pub backward: u64,
    /// How the bytes moved, once the transfer has ended well.
    pub route: Option<Route>,
    /// How a program end (`exec:`, `sh:`) ended, when there was one (the
    /// one that failed, if either did).
    pub exit: Option<Exit>,
}

/// A transfer that failed part way.
#[derive(Debug)]
pub struct Broken {
    /// What had moved when it failed.
    pub moved: Moved,
    /// The failure, with the counts in its message.
    pub failure: Failure,
    /// Whether writing to DST failed (a full disk, a closed stdout), rather
    /// than SRC or the way there: a destination that keeps taking
    /// connections (`--keep-listening`) cannot go on after that.
    pub dst_failed: bool,
    /// What failed, as fields, when a copy failed or a signal stopped it.
    pub cause: Option<Cause>,
}

/// What made a transfer fail, for programs (`--json`): the library's
/// [`CopyError`] has these as fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The kind of I/O error (`Interrupted` for a signal).
    pub kind: io::ErrorKind,
    /// The step of the copy that failed.
    pub step: Option<Step>,
    /// The direction that failed, in SRC/DST terms: [`Direction::AToB`]
    /// is SRC to DST.
    pub direction: Option<Direction>,
}

impl Cause {
    /// The cause of a transfer that a signal stopped.
    pub fn interrupted() -> Cause {
        Cause {
            kind: io::ErrorKind::Interrupted,
            step: None,
            direction: None,
        }
    }
}

impl Broken {
    /// A transfer that failed before it started, with nothing moved.
    pub fn before_start(failure: Failure) -> Broken {
        Broken {
            moved: Moved::default(),
            failure,
            dst_failed: false,
            cause: None,
        }
    }

    /// A failed copy on `route`: what it moved, and the message that says so.
    fn copy_failed(error: &CopyError, reversed: bool, route: Route) -> Broken {
        let counts = error.counts();
        let (forward, backward) = (counts.a_to_b.written, counts.b_to_a.written);
        let (forward, backward, mut failure) = if reversed {
            (backward, forward, messages::copy_back_failed(error))
        } else {
            (forward, backward, messages::copy_failed(error))
        };
        // A TLS server that refused ferry's certificate: bad input.
        if let Some(refused) = endpoint::certificate_refused(error.io_error()) {
            failure = Failure::Input(refused);
        }
        // A program's output that ended with a failed status: the failure
        // is the program's, told as when it is found after the transfer.
        if let Some(exit) = endpoint::failed_program(error.io_error()) {
            let from_src = (error.direction() == Some(Direction::AToB)) != reversed;
            let side = if from_src { "SRC" } else { "DST" };
            failure = Failure::Transfer(messages::program_failed(side, exit.status));
        }
        let writing = matches!(error.step(), Step::Write | Step::Flush | Step::Shutdown);
        Broken {
            moved: Moved {
                forward,
                backward,
                route: Some(route),
                exit: None,
            },
            failure,
            dst_failed: writing && !reversed && error.direction() == Some(Direction::AToB),
            cause: Some(Cause {
                kind: error.kind(),
                step: Some(error.step()),
                // In SRC/DST terms: with -U the library's a is DST.
                direction: error
                    .direction()
                    .map(|direction| match (reversed, direction) {
                        (false, direction) => direction,
                        (true, Direction::AToB) => Direction::BToA,
                        (true, Direction::BToA) => Direction::AToB,
                    }),
            }),
        }
    }
}

/// The route a transfer between `src` and `dst` in `way` starts on (the
/// kernel may still refuse it, and memory carry the bytes).
pub fn route(
    copier: &Copier,
    mode: ZeroCopyMode,
    way: Way,
    src: &mut Endpoint,
    dst: &mut Endpoint,
) -> Route {
    let zero_copy = copier.zero_copy(mode);
    let (from, to) = match way {
        Way::Backward => (dst, src),
        Way::Both | Way::Forward => (src, dst),
    };
    if way == Way::Both {
        if let (Some(a), Some(b)) = (from.stream(), to.stream()) {
            return zero_copy.relay_route(&*a, &*b);
        }
    }
    match (from.source(), to.sink()) {
        (Some(source), Some(sink)) => zero_copy.route(&*source, &*sink),
        _ => Route::Buffered,
    }
}

/// Copies SRC to DST, or relays both ways when both are two-way streams
/// (one way only with `way` [`Way::Forward`] or [`Way::Backward`]), on
/// `planned`, the route [`route`] gave for these ends (the caller reports
/// it before the transfer starts, so it is decided once).
///
/// After a one-way copy the destination's write half is shut down, so a
/// socket peer sees EOF. Every end ferry wrote to is readied for closing
/// with [`Endpoint::close`], so closing a socket does not reset it (a relay
/// that read both ends to their end of stream leaves nothing unread, and
/// skips it: see [`Closing`]). Program
/// ends are waited for once the transfer is over, and stopped when it failed;
/// a program that failed fails the transfer.
///
/// # Errors
///
/// A [`Broken`] with the counts reached. A pair that cannot carry bytes from
/// SRC to DST (a write-only SRC) is a [`Failure::Input`].
pub async fn run(
    copier: &Copier,
    mode: ZeroCopyMode,
    closing: Closing,
    way: Way,
    planned: Route,
    mut src: Endpoint,
    mut dst: Endpoint,
) -> Result<Moved, Broken> {
    let drain_for = closing.drain_for;
    src.exit_within(drain_for);
    dst.exit_within(drain_for);
    let zero_copy = copier.zero_copy(mode);
    let copied = match way {
        Way::Both => {
            if let (Some(a), Some(b)) = (src.stream(), dst.stream()) {
                let relayed = zero_copy
                    .bidirectional(a, b)
                    .await
                    .map_err(|error| Broken::copy_failed(&error, false, planned));
                if relayed.is_ok() && !closing.relays_read_all {
                    tokio::join!(src.close(drain_for), dst.close(drain_for));
                }
                relayed.map(|relayed| Moved {
                    forward: relayed.transfer.a_to_b.bytes,
                    backward: relayed.transfer.b_to_a.bytes,
                    route: Some(relayed.route),
                    exit: None,
                })
            } else {
                one_way(zero_copy, drain_for, &mut src, &mut dst, way, planned).await
            }
        }
        Way::Forward => one_way(zero_copy, drain_for, &mut src, &mut dst, way, planned).await,
        Way::Backward => one_way(zero_copy, drain_for, &mut dst, &mut src, way, planned).await,
    };
    // What a program dropped after it stopped reading was not delivered.
    let (into_src, into_dst) = (src.discarded(), dst.discarded());
    let undelivered = |moved: &mut Moved| {
        moved.forward -= into_dst.min(moved.forward);
        moved.backward -= into_src.min(moved.backward);
    };
    let copied = copied
        .map(|mut moved| {
            undelivered(&mut moved);
            moved
        })
        .map_err(|mut broken| {
            undelivered(&mut broken.moved);
            broken
        });
    match copied {
        Ok(moved) => {
            let exits = tokio::join!(src.finish(drain_for), dst.finish(drain_for));
            ended(moved, exits)
        }
        Err(mut broken) => {
            let (src_exit, dst_exit) = tokio::join!(src.stop(), dst.stop());
            // Say how a program took part in the failure (a broken pipe to a
            // program that had exited 1).
            let exits = [("SRC", src_exit), ("DST", dst_exit)];
            for (side, exit) in exits.into_iter() {
                if let Some(Ok(exit)) = exit {
                    if broken.moved.exit.is_none_or(|seen| seen.ok) {
                        broken.moved.exit = Some(exit);
                    }
                    let with = messages::program_failed(side, exit.status);
                    if !exit.ok && !broken.failure.message().contains(&with) {
                        broken.failure =
                            Failure::Transfer(format!("{} ({with})", broken.failure.message()));
                    }
                }
            }
            Err(broken)
        }
    }
}

/// The transfer after its programs exited: a program that failed fails it.
fn ended(
    mut moved: Moved,
    (src, dst): (Option<io::Result<Exit>>, Option<io::Result<Exit>>),
) -> Result<Moved, Broken> {
    let mut failures = Vec::new();
    for (side, exit) in [("SRC", src), ("DST", dst)] {
        match exit {
            None => {}
            Some(Ok(exit)) => {
                if moved.exit.is_none_or(|seen| seen.ok) {
                    moved.exit = Some(exit);
                }
                if !exit.ok {
                    failures.push(messages::program_failed(side, exit.status));
                }
            }
            Some(Err(error)) => failures.push(messages::cannot_wait(side, &error)),
        }
    }
    if failures.is_empty() {
        return Ok(moved);
    }
    Err(Broken {
        moved,
        failure: Failure::Transfer(failures.join("; ")),
        dst_failed: false,
        cause: None,
    })
}

/// Copies `from` to `to`, then shuts `to`'s write half down. With `-u` or
/// `-U` (`way` not [`Way::Both`]) `from`'s write half is shut down first:
/// that direction carries nothing. With `-U`, `from` is DST and `to` is SRC.
async fn one_way(
    zero_copy: ZeroCopier<'_>,
    drain_for: Duration,
    from: &mut Endpoint,
    to: &mut Endpoint,
    way: Way,
    planned: Route,
) -> Result<Moved, Broken> {
    let reversed = way == Way::Backward;
    let moved = |bytes, route| {
        let (forward, backward) = if reversed { (0, bytes) } else { (bytes, 0) };
        Moved {
            forward,
            backward,
            route,
            exit: None,
        }
    };
    let half_close = |error: io::Error| Broken {
        moved: moved(0, Some(planned)),
        failure: messages::shutdown_failed(&error, 0),
        dst_failed: false,
        cause: Some(Cause {
            kind: error.kind(),
            step: Some(Step::Shutdown),
            direction: Some(if reversed {
                Direction::AToB
            } else {
                Direction::BToA
            }),
        }),
    };
    // With -u/-U a two-way `from` says at once that nothing comes back.
    if let (false, Some(sink)) = (way == Way::Both, from.sink()) {
        let mut writer = sink.writer().map_err(half_close)?;
        writer.shutdown().await.map_err(half_close)?;
    }
    let stops_reading = to.is_program_only_written();
    let (Some(source), Some(sink)) = (from.source(), to.sink()) else {
        return Err(Broken::before_start(messages::wrong_way()));
    };
    let copied = match zero_copy.copy(source, sink).await {
        Ok(copied) => (copied.bytes, copied.route),
        // A program that stopped reading ends the copy into it, as `head`
        // ends `cat` in a pipeline: its exit status tells how it went.
        Err(error) if stops_reading && endpoint::stopped_reading(error.io_error()) => {
            (error.counts().a_to_b.written, planned)
        }
        Err(error) => return Err(Broken::copy_failed(&error, reversed, planned)),
    };
    // A socket peer sees EOF; for files and stdout this is a flush.
    let shut = match sink.writer() {
        Ok(mut writer) => writer.shutdown().await,
        Err(error) => Err(error),
    };
    let (bytes, route) = copied;
    if let Err(error) = shut {
        return Err(Broken {
            moved: moved(bytes, Some(route)),
            failure: messages::shutdown_failed(&error, bytes),
            dst_failed: !reversed,
            cause: Some(Cause {
                kind: error.kind(),
                step: Some(Step::Shutdown),
                direction: Some(if reversed {
                    Direction::BToA
                } else {
                    Direction::AToB
                }),
            }),
        });
    }
    // A two-way `from` hears that nothing comes back: under TLS, a
    // close_notify, without which a client reading to the end sees a
    // truncation. It has already ended its side, so a failure loses nothing.
    if let (Way::Both, Some(sink)) = (way, from.sink()) {
        if let Ok(mut writer) = sink.writer() {
            let _ = writer.shutdown().await;
        }
    }
    to.close(drain_for).await;
    Ok(moved(bytes, Some(route)))
}
