//! `ConfigDir`: a relay's configuration file in a directory of its own, and
//! the free port it is told to listen on.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// A temporary directory holding one configuration file (and whatever the
/// relay writes beside it, such as nginx's pid file); removed when dropped,
/// which [`RelayProcess`](super::RelayProcess) does only after the relay
/// has exited.
#[derive(Debug)]
pub(super) struct ConfigDir {
    dir: tempfile::TempDir,
    file: PathBuf,
}

impl ConfigDir {
    /// Writes `text` to a file named `name` in a new directory named after `relay`.
    pub(super) fn write(relay: &str, name: &str, text: &str) -> io::Result<ConfigDir> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ferry-io-bench-{relay}-"))
            .tempdir()?;
        let file = dir.path().join(name);
        fs::write(&file, text)?;
        Ok(ConfigDir { dir, file })
    }

    /// The directory.
    pub(super) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration file.
    pub(super) fn file(&self) -> &Path {
        &self.file
    }
}

/// A loopback port free now. HAProxy and nginx refuse port 0, so a port is
/// found by binding one and letting it go just before the relay starts.
pub(super) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
