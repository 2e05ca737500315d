//! What a server tells about each connection: its log lines (`-v`: open and
//! close with exact counts up and down; `-vv`: its route and buffers) and,
//! with `--json-lines`, one record when it closes.

use std::time::SystemTime;

use ferry::zero_copy::Route;
use tokio::time::Instant;

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

impl Connections {
    /// For the server `plan` describes.
    pub fn new(plan: &Plan) -> Connections {
        Connections {
            json_lines: plan.output.json_lines,
            src: plan.src.to_string(),
            dst: plan.dst.to_string(),
            buffer: plan.copy.buffer(),
        }
    }

    /// Connection `id` from `peer` was accepted.
    pub fn open(&self, id: u64, peer: &str) -> Opened {
        tracing::info!(id, peer, "open");
        Opened {
            clock: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// Connection `id` reached DST and starts moving bytes on `route`.
    pub fn relaying(&self, id: u64, route: Route) {
        tracing::debug!(id, dst = %self.dst, path = %route, buffer = %self.buffer, "relaying");
    }

    /// Connection `id` ended: how, with what it moved.
    pub fn close(&self, id: u64, peer: &str, opened: Opened, ended: Result<&Moved, &Broken>) {
        let elapsed = opened.clock.elapsed();
        let seconds = elapsed.as_secs_f64();
        let (moved, error) = match ended {
            Ok(moved) => (*moved, None),
            Err(broken) => (
                broken.moved,
                Some(ErrorRecord::new(&broken.failure, broken.cause.as_ref())),
            ),
        };
        let (up, down) = (moved.forward, moved.backward);
        let path = moved.route.map(|route| route.to_string());
        match &error {
            None => tracing::info!(
                id,
                peer,
                up,
                down,
                seconds,
                path = path.as_deref().unwrap_or("-"),
                "close"
            ),
            Some(error) => {
                tracing::warn!(id, peer, up, down, seconds, error = %error.message, "close")
            }
        }
        if self.json_lines {
            let span = Span {
                src: self.src.clone(),
                dst: self.dst.clone(),
                started: opened.wall,
                elapsed,
                forward: up,
                backward: down,
                path,
                error,
            };
            crate::stderr::line(record::connection(id, peer, &span));
        }
    }
}
