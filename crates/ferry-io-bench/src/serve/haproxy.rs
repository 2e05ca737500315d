//! HAProxy as a relay: its configuration for one TCP listener.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;

/// A configuration that relays `127.0.0.1:listen` to `backend` in TCP mode
/// with `splice-auto` (HAProxy splices where it expects it to pay), with
/// timeouts long enough for any run. `maxconn` is far above what the serve
/// scenarios open and low enough that HAProxy need not raise its open-file
/// limit past what an ordinary account may.
pub(super) fn config(listen: u16, backend: SocketAddr) -> String {
    format!(
        "global\n    maxconn 2000\n\
         defaults\n    mode tcp\n    option splice-auto\n    timeout connect 10s\n    timeout client 5m\n    timeout server 5m\n\
         listen relay\n    bind 127.0.0.1:{listen}\n    server backend {backend}\n"
    )
}

/// `haproxy -db -f CONFIG` relaying a free loopback port to `backend`, and
/// the configuration file (to be kept until HAProxy exits).
///
/// HAProxy refuses port 0, so the port is found by binding one and letting
/// it go just before HAProxy starts.
pub(super) fn command(backend: SocketAddr) -> io::Result<(Command, tempfile::NamedTempFile)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut file = tempfile::Builder::new()
        .prefix("ferry-io-bench-haproxy-")
        .suffix(".cfg")
        .tempfile()?;
    file.write_all(config(port, backend).as_bytes())?;
    file.flush()?;
    let mut command = Command::new("haproxy");
    command.arg("-db").arg("-f").arg(file.path());
    Ok((command, file))
}
