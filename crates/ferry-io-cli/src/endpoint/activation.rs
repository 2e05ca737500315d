//! Listening sockets passed by systemd socket activation (`LISTEN_FDS`,
//! `LISTEN_PID`), on the `listenfd` crate: taken from the environment once,
//! at start, and handed out as the listeners of `fd:N` addresses.

use std::sync::{Mutex, OnceLock};

use listenfd::ListenFd;

/// The sockets passed to this process, once [`inherit`] ran.
static PASSED: OnceLock<Mutex<Passed>> = OnceLock::new();

struct Passed {
    fds: ListenFd,
    /// The descriptor of the first socket (3 unless `LISTEN_FDS_FIRST_FD` says).
    first: u32,
}

/// A socket passed to this process.
#[derive(Debug)]
pub enum Inherited {
    /// A listening TCP socket.
    Tcp(std::net::TcpListener),
    /// A listening Unix stream socket.
    Unix(std::os::unix::net::UnixListener),
}

/// Takes the passed sockets from the environment and clears it, so that
/// programs ferry runs (`exec:`) do not take them for theirs. Call once,
/// before the runtime's threads start: changing the environment is not
/// safe while other threads read it.
pub fn inherit() {
    let first = std::env::var("LISTEN_FDS_FIRST_FD")
        .ok()
        .and_then(|first| first.parse().ok())
        .unwrap_or(3);
    let fds = ListenFd::from_env();
    let _ = PASSED.set(Mutex::new(Passed { fds, first }));
}

/// Takes the listening socket passed as descriptor `fd`.
///
/// # Errors
///
/// Why there is none to take, for a `cannot listen on fd:N: ...` message.
pub fn take(fd: u32) -> Result<Inherited, String> {
    let Some(passed) = PASSED.get() else {
        return Err("no sockets were passed to ferry".to_string());
    };
    let mut passed = passed
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let count = passed.fds.len();
    if count == 0 {
        return Err(
            "no socket was passed (LISTEN_FDS is not set, or LISTEN_PID names another process)"
                .to_string(),
        );
    }
    let first = passed.first;
    let index = fd
        .checked_sub(first)
        .map(|index| index as usize)
        .filter(|&index| index < count)
        .ok_or_else(|| match count {
            1 => format!("1 socket was passed: fd:{first}"),
            _ => format!(
                "{count} sockets were passed: fd:{first} to fd:{}",
                first as usize + count - 1
            ),
        })?;
    let taken = match passed.fds.take_tcp_listener(index) {
        Ok(Some(listener)) => Ok(Some(Inherited::Tcp(listener))),
        Ok(None) => Ok(None),
        Err(_) => passed
            .fds
            .take_unix_listener(index)
            .map(|listener| listener.map(Inherited::Unix)),
    };
    match taken {
        Ok(Some(inherited)) => Ok(inherited),
        Ok(None) => Err("already taken".to_string()),
        Err(_) => Err("not a TCP or Unix stream socket".to_string()),
    }
}
