//! One transfer between two opened endpoints, made with one library call:
//! the library's [`ZeroCopier`](ferry::zero_copy::ZeroCopier) decides, per
//! pair of ends, whether the kernel or memory carries the bytes.

use std::time::Duration;

use std::io;

use ferry::zero_copy::{Route, ZeroCopyMode};
use ferry::{Copier, CopyError, Direction, Step};
use tokio::io::AsyncWriteExt;

use crate::endpoint::Endpoint;
use crate::messages::{self, Failure};

/// Bytes written each way by a finished transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// From SRC to DST.
    pub forward: u64,
    /// From DST back to SRC (relays only).
    pub backward: u64,
    /// How the bytes moved: the route taken, or for a transfer that did not
    /// end well the route it was on.
    pub route: Option<Route>,
}

/// A transfer that failed part way.
#[derive(Debug)]
pub struct Broken {
    /// What had moved when it failed.
    pub moved: Moved,
    /// The failure, with the counts in its message.
    pub failure: Failure,
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
    /// The direction that failed.
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
            cause: None,
        }
    }

    /// A failed copy on `route`: what it moved, and the message that says so.
    fn copy_failed(error: &CopyError, route: Route) -> Broken {
        let counts = error.counts();
        Broken {
            moved: Moved {
                forward: counts.a_to_b.written,
                backward: counts.b_to_a.written,
                route: Some(route),
            },
            failure: messages::copy_failed(error),
            cause: Some(Cause {
                kind: error.kind(),
                step: Some(error.step()),
                direction: error.direction(),
            }),
        }
    }
}

/// The route a transfer between `src` and `dst` starts on (the kernel may
/// still refuse it, and memory carry the bytes).
pub fn route(copier: &Copier, mode: ZeroCopyMode, src: &Endpoint, dst: &Endpoint) -> Route {
    let zero_copy = copier.zero_copy(mode);
    match (src, dst) {
        // A relay splices only when both directions can.
        (Endpoint::Stream(a), Endpoint::Stream(b)) => {
            match (zero_copy.route(&**a, &**b), zero_copy.route(&**b, &**a)) {
                (Route::Splice, Route::Splice) => Route::Splice,
                _ => Route::Buffered,
            }
        }
        (Endpoint::Source(source, _), Endpoint::Sink(sink)) => zero_copy.route(&**source, &**sink),
        (Endpoint::Stream(source), Endpoint::Sink(sink)) => zero_copy.route(&**source, &**sink),
        (Endpoint::Source(source, _), Endpoint::Stream(sink)) => {
            zero_copy.route(&**source, &**sink)
        }
        _ => Route::Buffered,
    }
}

/// Copies SRC to DST, or relays both ways when both are two-way streams.
///
/// After a one-way copy the destination's write half is shut down, so a
/// socket peer sees EOF. Every end ferry wrote to is readied for closing
/// with [`Endpoint::close`], so closing a socket does not reset it.
///
/// # Errors
///
/// A [`Broken`] with the counts reached. A pair that cannot carry bytes from
/// SRC to DST (a write-only SRC) is a [`Failure::Input`].
pub async fn run(
    copier: &Copier,
    mode: ZeroCopyMode,
    drain_for: Duration,
    mut src: Endpoint,
    mut dst: Endpoint,
) -> Result<Moved, Broken> {
    let planned = route(copier, mode, &src, &dst);
    let zero_copy = copier.zero_copy(mode);
    let moved = if let (Endpoint::Stream(a), Endpoint::Stream(b)) = (&mut src, &mut dst) {
        let relayed = zero_copy
            .bidirectional(&mut **a, &mut **b)
            .await
            .map_err(|error| Broken::copy_failed(&error, planned))?;
        tokio::join!(src.close(drain_for), dst.close(drain_for));
        Moved {
            forward: relayed.transfer.a_to_b.bytes,
            backward: relayed.transfer.b_to_a.bytes,
            route: Some(relayed.route),
        }
    } else {
        let (Some(source), Some(sink)) = (src.source(), dst.sink()) else {
            return Err(Broken {
                moved: Moved::default(),
                failure: messages::wrong_way(),
                cause: None,
            });
        };
        let copied = zero_copy
            .copy(source, sink)
            .await
            .map_err(|error| Broken::copy_failed(&error, planned))?;
        // A socket peer sees EOF; for files and stdout this is a flush.
        let shut = match sink.writer() {
            Ok(mut writer) => writer.shutdown().await,
            Err(error) => Err(error),
        };
        let moved = Moved {
            forward: copied.bytes,
            backward: 0,
            route: Some(copied.route),
        };
        if let Err(error) = shut {
            return Err(Broken {
                moved,
                cause: Some(Cause {
                    kind: error.kind(),
                    step: Some(Step::Shutdown),
                    direction: Some(Direction::AToB),
                }),
                failure: messages::shutdown_failed(&error, copied.bytes),
            });
        }
        dst.close(drain_for).await;
        moved
    };
    Ok(moved)
}
