//! HAProxy as a relay: its configuration for one TCP listener.

use std::io;
use std::net::SocketAddr;
use std::process::Command;

use super::config_dir::{free_port, ConfigDir};

/// The configuration HAProxy runs with in the serve scenarios: `listen` relayed
/// to `backend` in TCP mode on one thread (`nbthread 1`, as the other
/// peers run one worker), with `splice-auto` (HAProxy splices where it
/// expects it to pay) and timeouts long enough for any run. `maxconn` is far
/// above what the serve scenarios open and low enough that HAProxy need not
/// raise its open-file limit past what an ordinary account may.
///
/// README's `ferry bench` section quotes it; a test keeps the two the same.
///
/// ```
/// let config = ferry_io_bench::serve::haproxy_config(
///     "127.0.0.1:8080".parse().unwrap(),
///     "127.0.0.1:9090".parse().unwrap(),
/// );
/// assert!(config.contains("    nbthread 1\n"));
/// assert!(config.contains("    option splice-auto\n"));
/// assert!(config.contains("    server backend 127.0.0.1:9090\n"));
/// ```
pub fn haproxy_config(listen: SocketAddr, backend: SocketAddr) -> String {
    format!(
        "global
    nbthread 1
    maxconn 2000
defaults
    mode tcp
    option splice-auto
    timeout connect 10s
    timeout client 5m
    timeout server 5m
listen relay
    bind {listen}
    server backend {backend}
"
    )
}

/// `haproxy -db -f CONFIG` relaying a free loopback port to `backend`, and
/// the directory of its configuration (to be kept until HAProxy exits).
pub(super) fn command(backend: SocketAddr) -> io::Result<(Command, ConfigDir)> {
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let config = ConfigDir::write("haproxy", "haproxy.cfg", &haproxy_config(listen, backend))?;
    let mut command = Command::new("haproxy");
    command.arg("-db").arg("-f").arg(config.file());
    Ok((command, config))
}
