//! What a server tells about each connection: its log lines (`-v`: open and
//! close with exact counts up and down; `-vv`: its route and buffers) and,
//! with `--json-lines`, one record when it closes. Every report of a
//! closed connection (these, the access log, the metrics) is made from one
//! [`Closed`].

use std::time::{Duration, SystemTime};

use ferry_io::zero_copy::Route;
use serde_json::Value;
use tokio::time::Instant;

use super::ending::Ending;
use super::record::{self, ErrorRecord, Span};
use crate::plan::Plan;
use crate::transfer::{Broken, Moved};

/// Logs and records the connections of one server.
#[derive(Debug)]
pub struct Connections {
    json_lines: bool,
    src: String,
    dst: String,
    buffer: String,
}

/// When a connection opened.
#[derive(Clone, Copy, Debug)]
pub struct Opened {
    clock: Instant,
    wall: SystemTime,
}

impl Opened {
    /// Now.
    pub fn now() -> Opened {
        Opened {
            clock: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// The wall-clock time it opened.
    pub fn wall(&self) -> SystemTime {
        self.wall
    }
}

/// What is known about a connection of a server once it ended: the facts
/// every report of it is made from.
#[derive(Clone, Debug)]
pub struct Closed {
    /// Its number, from 1.
    pub id: u64,
    /// Where it came from: the client's address (from its PROXY header,
    /// when one gave it), or `unix:PATH`.
    pub peer: String,
    /// The DST it was relayed to, once one was reached.
    pub upstream: Option<String>,
    /// When it was accepted.
    pub opened: Opened,
    /// How long it lasted.
    pub elapsed: Duration,
    /// Bytes written to the upstream.
    pub forward: u64,
    /// Bytes written back to the client.
    pub backward: u64,
    /// How the bytes moved, once a relay started.
    pub route: Option<Route>,
    /// The failure, if it did not end cleanly.
    pub error: Option<ErrorRecord>,
    /// How it ended.
    pub ending: Ending,
}

impl Closed {
    /// The facts of connection `id`, which ended now with `ended`; `ending`
    /// says how, for a relay that never started (its [`Broken`] has no
    /// cause to tell).
    pub fn new(
        id: u64,
        peer: String,
        upstream: Option<String>,
        opened: Opened,
        ended: Result<&Moved, &Broken>,
        ending: Ending,
    ) -> Closed {
        let (moved, error) = match ended {
            Ok(moved) => (*moved, None),
            Err(broken) => (
                broken.moved,
                Some(ErrorRecord::new(&broken.failure, broken.cause.as_ref())),
            ),
        };
        Closed {
            id,
            peer,
            upstream,
            opened,
            elapsed: opened.clock.elapsed(),
            forward: moved.forward,
            backward: moved.backward,
            route: moved.route,
            error,
            ending,
        }
    }
}

impl Connections {
    /// For the server `plan` describes.
    pub fn new(plan: &Plan) -> Connections {
        Connections {
            json_lines: plan.output.json_lines,
            src: plan.src.to_string(),
            dst: plan.dsts(),
            buffer: plan.copy.buffer(),
        }
    }

    /// Connection `id` from `peer` is about to be relayed.
    pub fn open(&self, id: u64, peer: &str) {
        tracing::info!(id, peer, "open");
    }

    /// Connection `id` reached `upstream` and starts moving bytes on `route`.
    pub fn relaying(&self, id: u64, upstream: &str, route: Route) {
        tracing::debug!(id, dst = %upstream, path = %route, buffer = %self.buffer, "relaying");
    }

    /// Logs a closed connection, and prints its record with `--json-lines`.
    /// A clean end, a client going away and a client refused (with why)
    /// are news (`-v`); anything else is a warning, with its error.
    pub fn close(&self, closed: &Closed) {
        let Closed {
            id,
            ref peer,
            forward: up,
            backward: down,
            ending,
            ..
        } = *closed;
        // To the millisecond, as the access log and the records say it.
        let seconds = format!("{:.3}", closed.elapsed.as_secs_f64());
        let upstream = closed.upstream.as_deref().unwrap_or("-");
        let path = closed
            .route
            .map_or_else(|| "-".to_string(), |route| route.to_string());
        match &closed.error {
            Some(error) if !ending.ordinary() => {
                tracing::warn!(id, peer, upstream, up, down, seconds = %seconds, ending = %ending, error = %error.message, "close")
            }
            Some(error) if ending.refusal() => {
                tracing::info!(id, peer, seconds, ending = %ending, error = %error.message, "close")
            }
            _ => {
                tracing::info!(id, peer, upstream, up, down, seconds = %seconds, path, ending = %ending, "close")
            }
        }
        if self.json_lines {
            crate::stderr::line(self.record(closed));
        }
    }

    /// The JSON record of a closed connection (`"type": "connection"`).
    pub fn record(&self, closed: &Closed) -> Value {
        let span = Span {
            src: self.src.clone(),
            dst: closed.upstream.clone().unwrap_or_else(|| self.dst.clone()),
            started: closed.opened.wall,
            elapsed: closed.elapsed,
            forward: closed.forward,
            backward: closed.backward,
            path: closed.route.map(|route| route.to_string()),
            error: closed.error.clone(),
        };
        record::connection(
            closed.id,
            &closed.peer,
            closed.upstream.as_deref(),
            closed.ending,
            &span,
        )
    }
}
