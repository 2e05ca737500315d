//! The JSON that `ferry` prints for programs: the summary object of
//! `--json`, and with `--json-lines` also a record per connection of a
//! server and a progress record every `--interval`. The schema is
//! `doc/ferry.schema.json`; README shows it.

use std::io;
use std::time::{Duration, SystemTime};

use ferry_io::{Direction, Step};
use serde_json::{json, Value};

use super::ending::Ending;
use super::meter::{per_second, Reading};
use crate::messages::Failure;
use crate::transfer::Cause;

/// Why a run or a connection failed, as fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRecord {
    /// What kind of failure: an `io::ErrorKind` in snake case
    /// (`connection_reset`, `timed_out`), `interrupted` for a signal,
    /// `invalid_input` for bad input (or the kind of the system's answer to
    /// it, `connection_refused`).
    pub kind: String,
    /// The step of the copy that failed, when a copy failed.
    pub step: Option<Step>,
    /// The direction that failed, in a relay.
    pub direction: Option<Direction>,
    /// The message ferry prints for it, without `ferry: `.
    pub message: String,
    /// The exit code it leads to: 1 or 2.
    pub exit_code: u8,
}

impl ErrorRecord {
    /// The record of `failure`, with the copy's `cause` when one is known.
    pub fn new(failure: &Failure, cause: Option<&Cause>) -> ErrorRecord {
        let (kind, exit_code) = match failure {
            Failure::Input(_) => ("invalid_input".to_string(), 2),
            Failure::Refused(_, kind) => (snake_case(*kind), 2),
            Failure::Transfer(_) => (
                cause.map_or_else(|| "other".to_string(), |cause| snake_case(cause.kind)),
                1,
            ),
        };
        ErrorRecord {
            kind,
            step: cause.and_then(|cause| cause.step),
            direction: cause.and_then(|cause| cause.direction),
            message: failure.message().to_string(),
            exit_code,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "kind": self.kind,
            "step": self.step.map(step_name),
            "direction": self.direction.map(direction_name),
            "message": self.message,
        })
    }
}

/// An `io::ErrorKind` as a JSON word: `ConnectionReset` → `connection_reset`.
fn snake_case(kind: io::ErrorKind) -> String {
    let mut word = String::new();
    for (at, c) in format!("{kind:?}").chars().enumerate() {
        if c.is_uppercase() && at > 0 {
            word.push('_');
        }
        word.extend(c.to_lowercase());
    }
    word
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Read => "read",
        Step::Write => "write",
        Step::Flush => "flush",
        Step::Shutdown => "shutdown",
        Step::IdleTimeout => "idle_timeout",
        Step::LingerTimeout => "linger_timeout",
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::AToB => "src_to_dst",
        Direction::BToA => "dst_to_src",
    }
}

/// A duration in seconds, to the millisecond (as the times beside it): no
/// `1.5045088519999998`.
pub fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

/// A time as RFC 3339 in UTC, to the millisecond.
pub fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// What one transfer (a run, or one connection of a server) moved.
#[derive(Clone, Debug)]
pub struct Span {
    /// SRC as written (or the address a connection came from).
    pub src: String,
    /// DST as written.
    pub dst: String,
    /// When it started.
    pub started: SystemTime,
    /// How long it ran.
    pub elapsed: Duration,
    /// Bytes written to DST.
    pub forward: u64,
    /// Bytes written back to SRC.
    pub backward: u64,
    /// How the bytes moved, when known.
    pub path: Option<String>,
    /// The failure, if it did not complete.
    pub error: Option<ErrorRecord>,
}

impl Span {
    fn fields(&self) -> Value {
        let total = self.forward + self.backward;
        json!({
            "src": self.src,
            "dst": self.dst,
            "start": timestamp(self.started),
            "end": timestamp(self.started + self.elapsed),
            "seconds": seconds(self.elapsed),
            "src_to_dst": { "bytes": self.forward },
            "dst_to_src": { "bytes": self.backward },
            "bytes": total,
            "bytes_per_second": per_second(total, self.elapsed),
            "path": self.path,
            "error": self.error.as_ref().map(ErrorRecord::to_json),
        })
    }
}

/// The summary object (`"type": "summary"`): the run's span, its exit
/// code, and with `--serve` the connections handled.
pub fn summary(span: &Span, connections: Option<(u64, u64)>) -> Value {
    let mut object = span.fields();
    object["type"] = "summary".into();
    object["exit_code"] = span
        .error
        .as_ref()
        .map_or(0, |error| error.exit_code)
        .into();
    if let Some((accepted, failed)) = connections {
        object["connections"] = accepted.into();
        object["failed_connections"] = failed.into();
    }
    object
}

/// How a program end (`exec:`, `sh:`) exited: its status, or the signal
/// that ended it.
pub fn program(exit: std::process::ExitStatus) -> Value {
    use std::os::unix::process::ExitStatusExt;
    json!({ "exit_status": exit.code(), "signal": exit.signal() })
}

/// A connection's record (`"type": "connection"`), under `--serve`: its
/// span, where it came from (`peer`), the upstream it was relayed to (none
/// when it got none) and how it ended.
pub fn connection(
    id: u64,
    peer: &str,
    upstream: Option<&str>,
    ending: Ending,
    span: &Span,
) -> Value {
    let mut object = span.fields();
    object["type"] = "connection".into();
    object["id"] = id.into();
    object["peer"] = peer.into();
    object["upstream"] = upstream.into();
    object["ending"] = ending.name().into();
    object
}

/// A progress record (`"type": "progress"`), every `--interval`.
pub fn progress(reading: &Reading, forward: u64, backward: u64, size: Option<u64>) -> Value {
    json!({
        "type": "progress",
        "time": timestamp(SystemTime::now()),
        "seconds": seconds(reading.elapsed),
        "src_to_dst": { "bytes": forward },
        "dst_to_src": { "bytes": backward },
        "bytes": reading.bytes,
        "bytes_per_second": reading.current,
        "average_bytes_per_second": reading.average,
        "size": size,
        "eta_seconds": reading.eta.map(seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_are_snake_case_words() {
        assert_eq!(
            snake_case(io::ErrorKind::ConnectionReset),
            "connection_reset"
        );
        assert_eq!(snake_case(io::ErrorKind::TimedOut), "timed_out");
        assert_eq!(snake_case(io::ErrorKind::Other), "other");
    }
}
