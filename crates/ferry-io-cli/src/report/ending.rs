//! How a connection of a server ended, in one word: the one place that
//! classifies it, for the logs, the JSON records, the access log and the
//! metrics alike.

use std::fmt;
use std::io;

use ferry_io::{Direction, Step};

use crate::access::Refusal;
use crate::transfer::{Broken, Cause, Moved};

/// How a connection of a server ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ending {
    /// Both directions reached their end (or `--limit`): a clean end.
    Eof,
    /// Nothing moved for `--idle-timeout`.
    IdleTimeout,
    /// One direction ended and the other went on past `--linger`.
    LingerTimeout,
    /// The client reset the connection or went away mid-stream.
    ResetByClient,
    /// The upstream reset the connection or went away mid-stream.
    ResetByUpstream,
    /// No upstream could be reached.
    ConnectFailed,
    /// No valid PROXY header came within `--proxy-timeout`.
    ProxyHeaderInvalid,
    /// The client's TLS handshake failed.
    HandshakeFailed,
    /// The client is not in `--allow`, or is in `--deny`.
    Denied,
    /// The client's address had `--max-connections-per-source` open.
    PerSourceLimit,
    /// The peer is not in `--accept-proxy-from`.
    UntrustedProxy,
    /// The server's shutdown cut the relay off.
    Shutdown,
    /// Any other failure (a program that exited with an error status, an
    /// I/O error other than a reset).
    Error,
}

impl Ending {
    /// Every ending, in the order the metrics list them.
    pub const ALL: [Ending; 13] = [
        Ending::Eof,
        Ending::IdleTimeout,
        Ending::LingerTimeout,
        Ending::ResetByClient,
        Ending::ResetByUpstream,
        Ending::ConnectFailed,
        Ending::ProxyHeaderInvalid,
        Ending::HandshakeFailed,
        Ending::Denied,
        Ending::PerSourceLimit,
        Ending::UntrustedProxy,
        Ending::Shutdown,
        Ending::Error,
    ];

    /// The word for it: `eof`, `reset-by-client`...
    pub fn name(self) -> &'static str {
        match self {
            Ending::Eof => "eof",
            Ending::IdleTimeout => "idle-timeout",
            Ending::LingerTimeout => "linger-timeout",
            Ending::ResetByClient => "reset-by-client",
            Ending::ResetByUpstream => "reset-by-upstream",
            Ending::ConnectFailed => "connect-failed",
            Ending::ProxyHeaderInvalid => "proxy-header-invalid",
            Ending::HandshakeFailed => "handshake-failed",
            Ending::Denied => "denied",
            Ending::PerSourceLimit => "per-source-limit",
            Ending::UntrustedProxy => "untrusted-proxy",
            Ending::Shutdown => "shutdown",
            Ending::Error => "error",
        }
    }

    /// How a relay that started ended: cleanly, or how it failed.
    pub fn of(relayed: Result<&Moved, &Broken>) -> Ending {
        match relayed {
            Ok(_) => Ending::Eof,
            Err(broken) => broken
                .cause
                .as_ref()
                .map_or(Ending::Error, Ending::of_cause),
        }
    }

    fn of_cause(cause: &Cause) -> Ending {
        match (cause.step, cause.kind) {
            (Some(Step::IdleTimeout), _) => Ending::IdleTimeout,
            (Some(Step::LingerTimeout), _) => Ending::LingerTimeout,
            (_, io::ErrorKind::Interrupted) => Ending::Shutdown,
            (
                Some(step),
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof,
            ) => {
                // A read fails on the side bytes come from, a write on the
                // side they go to; SRC is the client.
                let reading = step == Step::Read;
                match (cause.direction, reading) {
                    (Some(Direction::AToB), true) | (Some(Direction::BToA), false) => {
                        Ending::ResetByClient
                    }
                    (Some(_), _) => Ending::ResetByUpstream,
                    (None, _) => Ending::Error,
                }
            }
            _ => Ending::Error,
        }
    }

    /// Whether it is part of a server's ordinary life, logged as news
    /// rather than as a warning: a clean end, a client going away, or a
    /// client the access rules turned away (as they were told to; a
    /// warning each would let any port scan flood stderr).
    pub fn ordinary(self) -> bool {
        matches!(self, Ending::Eof | Ending::ResetByClient) || self.refusal()
    }

    /// Whether the access rules turned the client away.
    pub fn refusal(self) -> bool {
        matches!(
            self,
            Ending::Denied | Ending::PerSourceLimit | Ending::UntrustedProxy
        )
    }
}

impl From<Refusal> for Ending {
    fn from(refusal: Refusal) -> Ending {
        match refusal {
            Refusal::NotAllowed | Refusal::Denied => Ending::Denied,
            Refusal::PerSourceLimit(_) => Ending::PerSourceLimit,
            Refusal::UntrustedProxy => Ending::UntrustedProxy,
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Failure;

    fn ended(kind: io::ErrorKind, step: Step, direction: Option<Direction>) -> Ending {
        let broken = Broken {
            moved: Moved::default(),
            failure: Failure::Transfer(String::new()),
            dst_failed: false,
            cause: Some(Cause {
                kind,
                step: Some(step),
                direction,
            }),
        };
        Ending::of(Err(&broken))
    }

    #[test]
    fn a_reset_is_the_side_whose_read_or_write_failed() {
        use io::ErrorKind::{BrokenPipe, ConnectionReset};
        let up = Some(Direction::AToB);
        let down = Some(Direction::BToA);
        assert_eq!(
            ended(ConnectionReset, Step::Read, up),
            Ending::ResetByClient
        );
        assert_eq!(ended(BrokenPipe, Step::Write, down), Ending::ResetByClient);
        assert_eq!(
            ended(ConnectionReset, Step::Read, down),
            Ending::ResetByUpstream
        );
        assert_eq!(
            ended(ConnectionReset, Step::Write, up),
            Ending::ResetByUpstream
        );
        assert_eq!(
            ended(io::ErrorKind::TimedOut, Step::IdleTimeout, None),
            Ending::IdleTimeout
        );
        assert_eq!(
            ended(io::ErrorKind::TimedOut, Step::LingerTimeout, up),
            Ending::LingerTimeout
        );
        assert_eq!(ended(io::ErrorKind::Other, Step::Write, up), Ending::Error);
        assert_eq!(Ending::of(Ok(&Moved::default())), Ending::Eof);
    }

    #[test]
    fn names_are_distinct_words() {
        let mut names: Vec<&str> = Ending::ALL.iter().map(|ending| ending.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Ending::ALL.len());
    }
}
