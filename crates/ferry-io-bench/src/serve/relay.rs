//! `Relay`: what stands between the clients and the backend in the serve
//! scenarios — ferry's server, socat, HAProxy, nginx, or nothing.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use serde::{Serialize, Serializer};

use super::process::RelayProcess;
use super::{haproxy, nginx};

/// A TCP relay in a process of its own, or [`Direct`](Relay::Direct): the
/// clients connect to the backend itself, the figure the others are
/// divided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relay {
    /// No relay: the clients connect to the backend.
    Direct,
    /// `ferry tcp-listen:127.0.0.1:0 tcp:BACKEND --serve`, its defaults.
    Ferry,
    /// `socat TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr TCP:BACKEND`: a
    /// process per connection.
    Socat,
    /// HAProxy in TCP mode on one thread with `option splice-auto`
    /// ([`haproxy_config`](super::haproxy_config)).
    Haproxy,
    /// nginx's stream module with one worker process
    /// ([`nginx_config`](super::nginx_config)).
    Nginx,
}

impl Relay {
    /// Every relay, in table order.
    pub const ALL: [Relay; 5] = [
        Relay::Direct,
        Relay::Ferry,
        Relay::Socat,
        Relay::Haproxy,
        Relay::Nginx,
    ];

    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Relay::Direct => "direct",
            Relay::Ferry => "ferry",
            Relay::Socat => "socat",
            Relay::Haproxy => "haproxy",
            Relay::Nginx => "nginx",
        }
    }

    /// Whether it is someone else's program, which may be missing or fail
    /// on this machine: then its rows are skipped with a note, not failed.
    pub fn is_external(self) -> bool {
        matches!(self, Relay::Socat | Relay::Haproxy | Relay::Nginx)
    }

    /// Starts the relay in front of `backend` (`ferry` is the ferry binary
    /// to run) and waits until it listens; `None` for [`Relay::Direct`].
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::NotFound`] if the program is not installed; nginx
    /// without its stream module; the process exiting or not listening in
    /// time, with its stderr.
    pub fn start(self, ferry: &Path, backend: SocketAddr) -> io::Result<Option<RelayProcess>> {
        let (command, config) = match self {
            Relay::Direct => return Ok(None),
            Relay::Ferry => {
                let mut command = Command::new(ferry);
                command.args([
                    "-q",
                    "tcp-listen:127.0.0.1:0",
                    &format!("tcp:{backend}"),
                    "--serve",
                ]);
                (command, None)
            }
            Relay::Socat => {
                let mut command = Command::new("socat");
                command
                    .arg("TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,backlog=1024")
                    .arg(format!("TCP:{backend}"));
                (command, None)
            }
            Relay::Haproxy => {
                let (command, config) = haproxy::command(backend)?;
                (command, Some(config))
            }
            Relay::Nginx => {
                let (command, config) = nginx::command(backend)?;
                (command, Some(config))
            }
        };
        RelayProcess::start(self, command, config).map(Some)
    }
}

impl fmt::Display for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Relay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}
