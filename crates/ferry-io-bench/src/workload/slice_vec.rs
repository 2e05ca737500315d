//! `slice-vec`: a `&[u8]` into a `Vec<u8>` with room reserved, DRAM-bound.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::expect_amount;
use super::owned::blocking;
use crate::ends::pattern;
use crate::{Implementation, Measurement};

/// A source of `len` bytes of the pattern, tiled.
pub(super) fn source(len: usize) -> Arc<[u8]> {
    let tile = pattern();
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let n = (len - bytes.len()).min(tile.len());
        bytes.extend_from_slice(&tile[..n]);
    }
    bytes.into()
}

/// An empty destination with room for `len` bytes whose pages are already
/// mapped, so no run pays the first touch.
pub(super) fn destination(len: usize) -> Vec<u8> {
    let mut bytes = vec![1u8; len];
    bytes.clear();
    bytes
}

/// Copies all of `source` into `destination` (which must be empty with room)
/// and checks that the destination equals the source; hands the destination
/// back, emptied, for the next run.
pub(super) async fn run(
    imp: Implementation,
    source: Arc<[u8]>,
    mut destination: Vec<u8>,
) -> io::Result<(Measurement, Vec<u8>)> {
    let amount = source.len() as u64;
    let started = Instant::now();
    let (n, source, mut destination) = if imp.is_blocking() {
        blocking(move || {
            let n = io::copy(&mut &source[..], &mut destination)?;
            Ok((n, source, destination))
        })
        .await?
    } else {
        let n = imp.copy(&mut &source[..], &mut destination).await?;
        (n, source, destination)
    };
    let elapsed = started.elapsed();
    expect_amount("bytes the copy reported", amount, n)?;
    expect_amount("bytes in the destination", amount, destination.len() as u64)?;
    if destination[..] != source[..] {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the destination differs from the source",
        ));
    }
    destination.clear();
    Ok((
        Measurement {
            amount,
            elapsed,
            latency: None,
        },
        destination,
    ))
}
