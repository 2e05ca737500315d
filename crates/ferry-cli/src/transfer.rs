//! One transfer between two opened endpoints: a one-way copy or a relay,
//! driven by the library's [`Copier`] (the CLI never runs its own copy loop).

use ferry::{Bytes, Copier, CopyError, Direction, Step};
use tokio::io::AsyncWriteExt;

use crate::endpoint::Endpoint;
use crate::messages::{describe, Failure};

/// Bytes written each way by a finished transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// From SRC to DST.
    pub forward: u64,
    /// From DST back to SRC (relays only).
    pub backward: u64,
}

/// A transfer that failed part way.
#[derive(Debug)]
pub struct Broken {
    /// What had moved when it failed.
    pub moved: Moved,
    /// The failure, with the counts in its message.
    pub failure: Failure,
}

/// Copies SRC to DST, or relays both ways when both are two-way.
///
/// After a one-way copy the destination's write half is shut down, so a
/// socket peer sees EOF.
///
/// # Errors
///
/// A [`Broken`] with the counts reached. A pair that cannot carry bytes from
/// SRC to DST (a write-only SRC) is a [`Failure::Input`].
pub async fn run(copier: &Copier, src: Endpoint, dst: Endpoint) -> Result<Moved, Broken> {
    match (src, dst) {
        (Endpoint::Duplex(mut a), Endpoint::Duplex(mut b)) => {
            match copier.bidirectional(&mut *a, &mut *b).await {
                Ok(transfer) => Ok(Moved {
                    forward: transfer.a_to_b.bytes,
                    backward: transfer.b_to_a.bytes,
                }),
                Err(error) => Err(broken(&error)),
            }
        }
        (Endpoint::Read(mut reader, _), Endpoint::Write(mut writer)) => {
            one_way(copier, &mut *reader, &mut *writer).await
        }
        (Endpoint::Read(mut reader, _), Endpoint::Duplex(mut writer)) => {
            one_way(copier, &mut *reader, &mut *writer).await
        }
        (Endpoint::Duplex(mut reader), Endpoint::Write(mut writer)) => {
            one_way(copier, &mut *reader, &mut *writer).await
        }
        (Endpoint::Write(_), _) | (_, Endpoint::Read(..)) => Err(Broken {
            moved: Moved::default(),
            failure: Failure::input("bad addresses", "SRC must be readable and DST writable"),
        }),
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
    let moved = Moved {
        forward,
        backward: 0,
    };
    // Tell a socket peer we are done; for files and stdout this is a flush.
    writer.shutdown().await.map_err(|error| Broken {
        moved,
        failure: Failure::Transfer(format!(
            "shutting down DST failed after {}: {}",
            Bytes(forward),
            describe(&error)
        )),
    })?;
    Ok(moved)
}

/// Describes a failed copy in SRC/DST terms, e.g.
/// `write to DST failed after 12.4 MiB: connection reset by peer`.
fn broken(error: &CopyError) -> Broken {
    let counts = error.counts();
    let moved = Moved {
        forward: counts.a_to_b.written,
        backward: counts.b_to_a.written,
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
