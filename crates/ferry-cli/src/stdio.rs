//! The standard streams: whether the shell gave ferry a stdin and a stdout
//! at all.
//!
//! Rust's runtime reopens a closed fd 0, 1 or 2 on `/dev/null`, read-write,
//! before `main` runs, so `ferry FILE - >&-` would copy into `/dev/null` and
//! report success. A stream that is `/dev/null` opened read-write is taken
//! as closed: shells open `</dev/null` read-only and `>/dev/null` write-only.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use rustix::fs::OFlags;

/// Whether stdin was closed when ferry started.
pub fn stdin_closed() -> bool {
    closed(std::io::stdin().as_fd())
}

/// Whether stdout was closed when ferry started.
pub fn stdout_closed() -> bool {
    closed(std::io::stdout().as_fd())
}

fn closed(fd: BorrowedFd<'_>) -> bool {
    let Ok(flags) = rustix::fs::fcntl_getfl(fd) else {
        return true;
    };
    if flags & OFlags::RWMODE != OFlags::RDWR {
        return false;
    }
    let Ok(stream) = fd
        .try_clone_to_owned()
        .and_then(|fd| File::from(fd).metadata())
    else {
        return true;
    };
    let Ok(null) = std::fs::metadata("/dev/null") else {
        return false;
    };
    stream.file_type().is_char_device() && stream.rdev() == null.rdev()
}
