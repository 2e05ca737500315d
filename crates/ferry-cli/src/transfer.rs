//! One transfer between two opened endpoints: a one-way copy or a relay,
//! driven by the library's [`Copier`] (the CLI never runs its own copy loop).

use ferry::zero_copy::{Route, ZeroCopier, ZeroCopyMode, ZeroCopySink, ZeroCopySource};
use std::io;
use std::time::Duration;

use ferry::{Bytes, Copier, CopyError, Counts, Direction, Step};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::closing;
use crate::endpoint::{Endpoint, Kernel};
use crate::messages::{describe, Failure};

/// Bytes written each way by a finished transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// From SRC to DST.
    pub forward: u64,
    /// From DST back to SRC (relays only).
    pub backward: u64,
    /// How the bytes moved, when both ends were kernel objects.
    pub route: Option<Route>,
}

/// A transfer that failed part way.
#[derive(Debug)]
pub struct Broken {
    /// What had moved when it failed.
    pub moved: Moved,
    /// The failure, with the counts in its message.
    pub failure: Failure,
}

/// How a transfer runs, besides its [`Copier`].
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Whether the kernel may move the bytes.
    pub zero_copy: ZeroCopyMode,
    /// How long a socket ferry wrote to may be drained before it is closed
    /// (see [`closing`]).
    pub drain_for: Duration,
}

/// Copies SRC to DST, or relays both ways when both are two-way.
///
/// After a one-way copy the destination's write half is shut down, so a
/// socket peer sees EOF; a socket ferry wrote to is drained before it is
/// closed, so closing it does not reset the connection.
///
/// # Errors
///
/// A [`Broken`] with the counts reached. A pair that cannot carry bytes from
/// SRC to DST (a write-only SRC) is a [`Failure::Input`].
pub async fn run(
    copier: &Copier,
    options: Options,
    src: Endpoint,
    dst: Endpoint,
) -> Result<Moved, Broken> {
    let drain_for = options.drain_for;
    match (src, dst) {
        (Endpoint::Kernel(src), Endpoint::Kernel(dst))
            if kernel_pays(options.zero_copy, &src, &dst) =>
        {
            let zero_copy = copier.zero_copy(options.zero_copy);
            kernel(copier, zero_copy, drain_for, src, dst).await
        }
        _ if options.zero_copy == ZeroCopyMode::Always => Err(Broken {
            moved: Moved::default(),
            failure: Failure::input(
                "cannot use --zero-copy always here",
                "SRC and DST must both be files or sockets",
            ),
        }),
        (src, dst) => buffered(copier, drain_for, src.erase(), dst.erase()).await,
    }
}

/// Whether to hand a pair of kernel objects to the zero-copy paths.
///
/// Under `auto`, a relay between two sockets goes through memory instead:
/// with the command's 1 MiB buffers it measured 1.1× splice's throughput
/// for one iperf3 flow on loopback (and the same for four), as BASELINES.md
/// found at equal buffers; splice still wins where a file or a pipe is an
/// end, and `--zero-copy always` splices sockets too.
fn kernel_pays(mode: ZeroCopyMode, src: &Kernel, dst: &Kernel) -> bool {
    match mode {
        ZeroCopyMode::Never => false,
        ZeroCopyMode::Always => true,
        _ => !(src.is_socket() && dst.is_socket()),
    }
}

/// Both ends are kernel objects: the zero-copy paths decide how bytes move.
async fn kernel(
    copier: &Copier,
    zero_copy: ZeroCopier<'_>,
    drain_for: Duration,
    src: Kernel,
    dst: Kernel,
) -> Result<Moved, Broken> {
    use Kernel::{FileIn, FileOut, Tcp, Unix};
    match (src, dst) {
        (Tcp(mut a), Tcp(mut b)) => kernel_relay(zero_copy, drain_for, &mut a, &mut b).await,
        (Tcp(mut a), Unix(mut b)) => kernel_relay(zero_copy, drain_for, &mut a, &mut b).await,
        (Unix(mut a), Tcp(mut b)) => kernel_relay(zero_copy, drain_for, &mut a, &mut b).await,
        (Unix(mut a), Unix(mut b)) => kernel_relay(zero_copy, drain_for, &mut a, &mut b).await,
        (FileIn(mut src, _), FileOut(mut dst)) => {
            kernel_one_way(zero_copy, &mut src, &mut dst).await
        }
        (FileIn(mut src, _), Tcp(mut dst)) => {
            kernel_to_socket(zero_copy, drain_for, &mut src, &mut dst).await
        }
        (FileIn(mut src, _), Unix(mut dst)) => {
            kernel_to_socket(zero_copy, drain_for, &mut src, &mut dst).await
        }
        (Tcp(mut src), FileOut(mut dst)) => kernel_one_way(zero_copy, &mut src, &mut dst).await,
        (Unix(mut src), FileOut(mut dst)) => kernel_one_way(zero_copy, &mut src, &mut dst).await,
        (src, dst) => {
            buffered(
                copier,
                drain_for,
                Endpoint::Kernel(src).erase(),
                Endpoint::Kernel(dst).erase(),
            )
            .await
        }
    }
}

async fn kernel_relay<A, B>(
    zero_copy: ZeroCopier<'_>,
    drain_for: Duration,
    a: &mut A,
    b: &mut B,
) -> Result<Moved, Broken>
where
    A: ZeroCopySource + ZeroCopySink + AsyncRead + AsyncWrite + Unpin,
    B: ZeroCopySource + ZeroCopySink + AsyncRead + AsyncWrite + Unpin,
{
    let relayed = zero_copy
        .bidirectional(a, b)
        .await
        .map_err(|error| broken(&error))?;
    tokio::join!(closing::drain(a, drain_for), closing::drain(b, drain_for));
    Ok(Moved {
        forward: relayed.transfer.a_to_b.bytes,
        backward: relayed.transfer.b_to_a.bytes,
        route: Some(relayed.route),
    })
}

async fn kernel_one_way<S, D>(
    zero_copy: ZeroCopier<'_>,
    src: &mut S,
    dst: &mut D,
) -> Result<Moved, Broken>
where
    S: ZeroCopySource + AsyncRead + Unpin,
    D: ZeroCopySink + AsyncWrite + Unpin,
{
    let copied = zero_copy
        .copy(src, dst)
        .await
        .map_err(|error| broken(&error))?;
    shut_down(
        dst,
        Moved {
            forward: copied.bytes,
            backward: 0,
            route: Some(copied.route),
        },
    )
    .await
}

/// A one-way kernel copy into a socket, drained before it is closed.
async fn kernel_to_socket<S, D>(
    zero_copy: ZeroCopier<'_>,
    drain_for: Duration,
    src: &mut S,
    dst: &mut D,
) -> Result<Moved, Broken>
where
    S: ZeroCopySource + AsyncRead + Unpin,
    D: ZeroCopySink + AsyncRead + AsyncWrite + Unpin,
{
    let moved = kernel_one_way(zero_copy, src, dst).await?;
    closing::drain(dst, drain_for).await;
    Ok(moved)
}

/// Copies through memory with the [`Copier`]: any readers and writers.
async fn buffered(
    copier: &Copier,
    drain_for: Duration,
    src: Endpoint,
    dst: Endpoint,
) -> Result<Moved, Broken> {
    use Endpoint::{Duplex, Read, Write};
    match (src, dst) {
        (
            Duplex {
                stream: mut a,
                socket: a_socket,
            },
            Duplex {
                stream: mut b,
                socket: b_socket,
            },
        ) => {
            let transfer = copier
                .bidirectional(&mut *a, &mut *b)
                .await
                .map_err(|error| broken(&error))?;
            tokio::join!(
                drain_socket(&mut *a, a_socket, drain_for),
                drain_socket(&mut *b, b_socket, drain_for)
            );
            Ok(Moved {
                forward: transfer.a_to_b.bytes,
                backward: transfer.b_to_a.bytes,
                route: None,
            })
        }
        (Read(mut reader, _), Write(mut writer)) => {
            one_way(copier, &mut *reader, &mut *writer).await
        }
        (Read(mut reader, _), Duplex { mut stream, socket }) => {
            let moved = one_way(copier, &mut *reader, &mut *stream).await?;
            drain_socket(&mut *stream, socket, drain_for).await;
            Ok(moved)
        }
        (Duplex { mut stream, .. }, Write(mut writer)) => {
            one_way(copier, &mut *stream, &mut *writer).await
        }
        _ => Err(Broken {
            moved: Moved::default(),
            failure: Failure::input("bad addresses", "SRC must be readable and DST writable"),
        }),
    }
}

async fn drain_socket(stream: &mut dyn crate::endpoint::Duplex, socket: bool, drain_for: Duration) {
    if socket {
        closing::drain(stream, drain_for).await;
    }
}

async fn one_way<R, W>(copier: &Copier, reader: &mut R, writer: &mut W) -> Result<Moved, Broken>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
    W: tokio::io::AsyncWrite + Unpin + ?Sized,
{
    let forward = copier
        .copy(reader, writer)
        .await
        .map_err(|error| broken(&error))?;
    shut_down(
        writer,
        Moved {
            forward,
            backward: 0,
            route: None,
        },
    )
    .await
}

/// Shuts the destination down after a one-way copy: a socket peer sees EOF;
/// for files and stdout this is a flush.
async fn shut_down<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    moved: Moved,
) -> Result<Moved, Broken> {
    writer.shutdown().await.map_err(|error| Broken {
        moved,
        failure: Failure::Transfer(format!(
            "shutting down DST failed after {}: {}",
            Bytes(moved.forward),
            describe(&error)
        )),
    })?;
    Ok(moved)
}

/// Describes a failed copy in SRC/DST terms, e.g.
/// `write to DST failed after 12.4 MiB: connection reset by peer`.
fn broken(error: &CopyError) -> Broken {
    let counts = error.counts();
    // `--zero-copy always` and a pair the kernel will not copy: nothing moved.
    if error.io_error().kind() == io::ErrorKind::Unsupported && counts == Counts::default() {
        return Broken {
            moved: Moved::default(),
            failure: Failure::input(
                "cannot use --zero-copy always here",
                describe(error.io_error()),
            ),
        };
    }
    let moved = Moved {
        forward: counts.a_to_b.written,
        backward: counts.b_to_a.written,
        route: None,
    };
    let (from, to) = match error.direction() {
        Some(Direction::BToA) => ("DST", "SRC"),
        _ => ("SRC", "DST"),
    };
    let what = match error.step() {
        Step::Read => format!("read from {from} failed"),
        Step::Write => format!("write to {to} failed"),
        Step::Flush => format!("flush of {to} failed"),
        Step::Shutdown => format!("shutdown of {to} failed"),
        Step::IdleTimeout => "idle timeout: no byte moved".to_string(),
        Step::LingerTimeout => format!("linger timeout: {from} to {to} did not finish in time"),
    };
    let reached = if moved.backward > 0 || error.direction() == Some(Direction::BToA) {
        format!(
            "after {} SRC to DST, {} DST to SRC",
            Bytes(moved.forward),
            Bytes(moved.backward)
        )
    } else {
        format!("after {}", Bytes(moved.forward))
    };
    let why = match error.step() {
        Step::IdleTimeout | Step::LingerTimeout => "timed out".to_string(),
        _ => describe(error.io_error()),
    };
    Broken {
        moved,
        failure: Failure::Transfer(format!("{what} {reached}: {why}")),
    }
}
