//! Options of the sockets ferry relays: no Nagle delay (set once on a
//! listener, for the connections it accepts), keepalive if asked, and a
//! reset instead of an orderly close for a connection given up on.

use std::os::fd::BorrowedFd;
use std::time::Duration;

/// Probes a keepalive sends before it gives a silent peer up.
const KEEPALIVE_PROBES: u32 = 3;

/// Readies a relayed TCP socket: `TCP_NODELAY`, so a small message (a
/// request, a keystroke) leaves at once instead of waiting up to 40 ms for
/// the peer's acknowledgement, which relaying it would otherwise add at
/// each hop; and keepalive as [`keep_alive`] says. A socket that is not
/// TCP (a Unix socket) is left alone.
pub fn tune(fd: BorrowedFd<'_>, keepalive: Option<Duration>) {
    if rustix::net::sockopt::set_tcp_nodelay(fd, true).is_ok() {
        keep_alive(fd, keepalive);
    }
}

/// Readies a listening TCP socket: Linux copies a listener's `TCP_NODELAY`
/// into every connection it accepts, which then needs no call of its own
/// (see [`accepted`]).
///
/// # Errors
///
/// The socket is not TCP.
pub fn tune_listener(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    Ok(rustix::net::sockopt::set_tcp_nodelay(fd, true)?)
}

/// Readies a TCP socket accepted on a listener that [`tune_listener`]
/// readied: what it did not inherit.
pub fn accepted(fd: BorrowedFd<'_>, keepalive: Option<Duration>) {
    if cfg!(target_os = "linux") {
        keep_alive(fd, keepalive);
    } else {
        tune(fd, keepalive);
    }
}

/// With `keepalive`, probes after that long without a byte, then every
/// third of it, so a vanished peer is noticed after about twice
/// `keepalive`.
fn keep_alive(fd: BorrowedFd<'_>, keepalive: Option<Duration>) {
    use rustix::net::sockopt;
    if let Some(idle) = keepalive {
        let interval = (idle / KEEPALIVE_PROBES).max(Duration::from_secs(1));
        // The plan takes 1 s to 32767 s, what Linux takes for each.
        let set = sockopt::set_socket_keepalive(fd, true)
            .and_then(|()| sockopt::set_tcp_keepidle(fd, idle))
            .and_then(|()| sockopt::set_tcp_keepintvl(fd, interval))
            .and_then(|()| sockopt::set_tcp_keepcnt(fd, KEEPALIVE_PROBES));
        if let Err(error) = set {
            tracing::warn!(%error, "cannot set TCP keepalive");
        }
    }
}

/// Makes closing the socket reset its connection: a client whose relay
/// could not start must not take the close for a clean end of what it
/// asked for.
pub fn abort(fd: BorrowedFd<'_>) {
    // Only an fd that is not a socket refuses.
    let _ = rustix::net::sockopt::set_socket_linger(fd, Some(Duration::ZERO));
}
