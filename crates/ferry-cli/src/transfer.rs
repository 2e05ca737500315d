//! One transfer between two opened endpoints, made with one library call:
//! the library's [`ZeroCopier`](ferry::zero_copy::ZeroCopier) decides, per
//! pair of ends, whether the kernel or memory carries the bytes.

use std::time::Duration;

use ferry::zero_copy::{Route, ZeroCopyMode};
use ferry::{Copier, CopyError};
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
    /// How the bytes moved, once the transfer has ended well.
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

impl Broken {
    /// A failed copy: what it moved, and the message that says so.
    fn copy_failed(error: &CopyError) -> Broken {
        let counts = error.counts();
        Broken {
            moved: Moved {
                forward: counts.a_to_b.written,
                backward: counts.b_to_a.written,
                route: None,
            },
            failure: messages::copy_failed(error),
        }
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
    let zero_copy = copier.zero_copy(mode);
    let moved = if let (Endpoint::Stream(a), Endpoint::Stream(b)) = (&mut src, &mut dst) {
        let relayed = zero_copy
            .bidirectional(&mut **a, &mut **b)
            .await
            .map_err(|error| Broken::copy_failed(&error))?;
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
            });
        };
        let copied = zero_copy
            .copy(source, sink)
            .await
            .map_err(|error| Broken::copy_failed(&error))?;
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
                failure: messages::shutdown_failed(&error, copied.bytes),
            });
        }
        dst.close(drain_for).await;
        moved
    };
    Ok(moved)
}
