//! Destination files: opened without truncating, cut to what was written
//! once the transfer ends, and never the source itself.

use std::fs::FileType;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ferry_io::LandedWriter;

use super::device::Device;
use super::Endpoint;
use crate::address::Address;
use crate::messages::{describe, Failure};
use crate::units::Exact;

/// A destination file ferry opened. It is written from its start and cut
/// to the bytes written only when the transfer is over, so a transfer that
/// never starts or moves nothing (a refused connection, bad input found
/// late) leaves an existing file as it was, and removes one ferry created.
#[derive(Debug)]
pub struct DestinationFile {
    path: PathBuf,
    file: std::fs::File,
    created: bool,
    /// A regular file that is not appended to: cut to what was written.
    truncate: bool,
}

impl DestinationFile {
    /// Ends the file after a transfer that wrote `written` bytes and
    /// succeeded or not: the file holds exactly those bytes, unless nothing
    /// was written by a failed transfer.
    ///
    /// # Errors
    ///
    /// A [`Failure::Transfer`] when the file cannot be cut to its length.
    pub fn finish(self, written: u64, succeeded: bool) -> Result<(), Failure> {
        if !succeeded && written == 0 {
            self.abandon();
            return Ok(());
        }
        if !self.truncate {
            return Ok(());
        }
        self.file.set_len(written).map_err(|error| {
            Failure::Transfer(format!(
                "cannot cut {} to the {} written: {}",
                self.path.display(),
                Exact(written),
                describe(&error)
            ))
        })
    }

    /// Another end writing to the file where the last one stopped (they
    /// share the offset), for the next connection of `--keep-listening`.
    ///
    /// # Errors
    ///
    /// A [`Failure::Transfer`] when the file descriptor cannot be duplicated.
    pub fn sink(&self) -> Result<Endpoint, Failure> {
        let file = self.file.try_clone().map_err(|error| {
            Failure::Transfer(format!(
                "cannot write to {} again: {}",
                self.path.display(),
                describe(&error)
            ))
        })?;
        Ok(Endpoint::Sink(Box::new(LandedWriter::new(file))))
    }

    /// Removes the file if ferry created it; leaves it as it was otherwise.
    pub fn abandon(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Opens (creating if needed) a destination file without truncating it.
///
/// # Errors
///
/// A [`Failure::Input`]: a directory, no permission, and so on.
pub async fn open_destination(
    address: &Address,
    path: &Path,
    append: bool,
) -> Result<(Endpoint, DestinationFile), Failure> {
    let fail =
        |error: io::Error| Failure::input(format!("cannot open {address}"), describe(&error));
    if let Ok(metadata) = tokio::fs::metadata(path).await {
        refuse_directory(address, metadata.file_type())?;
    }
    let open = |create_new| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).append(append);
        if create_new {
            options.create_new(true);
        }
        let path = path.to_path_buf();
        // Opening a FIFO for writing blocks until a reader comes.
        async move {
            tokio::task::spawn_blocking(move || options.open(path))
                .await
                .unwrap_or_else(|join| Err(io::Error::other(join)))
        }
    };
    let (file, created) = match open(true).await {
        Ok(file) => (file, true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            (open(false).await.map_err(fail)?, false)
        }
        Err(error) => return Err(fail(error)),
    };
    let regular = file.metadata().map_err(fail)?.is_file();
    let kept = file.try_clone().map_err(fail)?;
    let endpoint = match Device::new(file) {
        Ok(device) => Endpoint::Sink(Box::new(device)),
        Err(file) => Endpoint::Sink(Box::new(LandedWriter::new(file))),
    };
    let file = DestinationFile {
        path: path.to_path_buf(),
        file: kept,
        created,
        truncate: regular && !append,
    };
    Ok((endpoint, file))
}

/// Refuses a copy whose destination is its own source (`ferry a a`,
/// `ferry - a < a`, `ferry a - >> a`): truncating would destroy the source,
/// appending to it would never end.
///
/// # Errors
///
/// A [`Failure::Input`] naming both addresses.
pub fn refuse_same_file(
    src: &Address,
    src_end: &Endpoint,
    dst: &Address,
    dst_end: &Endpoint,
) -> Result<(), Failure> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let src_fd = match (src, src_end) {
        (Address::Stdio, _) => Some(stdin.as_fd()),
        (Address::File(_), Endpoint::Source(file, _)) => Some(file.as_fd()),
        _ => None,
    };
    let dst_fd = match (dst, dst_end) {
        (Address::Stdio, _) => Some(stdout.as_fd()),
        (Address::File(_), Endpoint::Sink(file)) => Some(file.as_fd()),
        _ => None,
    };
    match (
        src_fd.and_then(regular_file_id),
        dst_fd.and_then(regular_file_id),
    ) {
        (Some(a), Some(b)) if a == b => Err(Failure::input(
            format!("cannot copy {src} to {dst}"),
            "they are the same file",
        )),
        _ => Ok(()),
    }
}

/// The device and inode of a regular file.
fn regular_file_id(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    let metadata = std::fs::File::from(fd.try_clone_to_owned().ok()?)
        .metadata()
        .ok()?;
    metadata.is_file().then(|| (metadata.dev(), metadata.ino()))
}

/// Refuses a directory where a file was expected.
pub(super) fn refuse_directory(address: &Address, file_type: FileType) -> Result<(), Failure> {
    if file_type.is_dir() {
        return Err(Failure::input(
            format!("cannot use {address}"),
            "is a directory; expected a file",
        ));
    }
    Ok(())
}
