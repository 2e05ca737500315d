//! Prometheus metrics of a server (`--metrics ADDR`), on the
//! `prometheus-client` crate, served on `GET /metrics` in the classic
//! Prometheus text format, or as OpenMetrics text to a scraper whose
//! `Accept` prefers it (as Prometheus's does).
//!
//! prometheus-client writes OpenMetrics only; the classic text is made from
//! that same text ([`classic`]): the two differ in a counter's family name
//! (OpenMetrics names `x`, whose sample is `x_total`; the classic format and
//! promtool want `x_total` in HELP and TYPE too) and in the OpenMetrics-only
//! lines (`# UNIT`, `# EOF`).
//!
//! The HTTP side is a few lines of glue over a tokio `TcpListener` rather
//! than an HTTP library: it answers one request per connection, `GET` or
//! `HEAD` of `/metrics`, and closes. The counters are those of the server's
//! connections as they close ([`Closed`], the facts the logs and the access
//! log are made from), and the bytes relayed are read from the server's
//! live counts at each scrape, so they move while long relays run.

use std::collections::BTreeSet;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_io::zero_copy::Route;
use ferry_io::Progress;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::messages::{describe, Failure};
use crate::report::{Closed, Ending};

/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest request head read.
const REQUEST_MOST: usize = 8192;

/// What OpenMetrics text is served as.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the classic Prometheus text format is served as.
const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabel {
    upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

/// The metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Counter,
    active: Gauge,
    closed: Counter,
    failed: Family<ReasonLabel, Counter>,
    bytes: Family<DirectionLabel, Counter>,
    upstream_connections: Family<UpstreamLabel, Counter>,
    upstream_failures: Family<UpstreamLabel, Counter>,
    routes: Family<RouteLabel, Counter>,
    duration: Histogram,
    access_log_failed: Counter,
    /// The server's live byte counts, read at each scrape.
    progress: Progress,
    /// The access log's refused lines so far, read at each scrape.
    access_log_failures: Option<Arc<AtomicU64>>,
    /// One scrape at a time: each sets the byte counters from `progress`.
    scraping: Mutex<()>,
}

impl Metrics {
    /// The metrics of a server relaying to `upstreams`, whose relays add
    /// their bytes to `progress`, and whose access log counts the lines it
    /// could not write in `access_log_failures`.
    pub fn new(
        upstreams: &[String],
        progress: Progress,
        access_log_failures: Option<Arc<AtomicU64>>,
    ) -> Metrics {
        let mut metrics = Metrics {
            accepted: Counter::default(),
            active: Gauge::default(),
            closed: Counter::default(),
            failed: Family::default(),
            bytes: Family::default(),
            upstream_connections: Family::default(),
            upstream_failures: Family::default(),
            routes: Family::default(),
            // 1 ms to about 4.4 minutes, four times longer each.
            duration: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            access_log_failed: Counter::default(),
            progress,
            access_log_failures,
            scraping: Mutex::new(()),
            registry: Registry::with_prefix("ferry"),
        };
        // Every series there is, at zero, so a scraper sees them from the start.
        for ending in Ending::ALL
            .into_iter()
            .filter(|ending| *ending != Ending::Eof)
        {
            let _ = metrics.failed.get_or_create(&ReasonLabel {
                reason: ending.name(),
            });
        }
        for direction in ["src_to_dst", "dst_to_src"] {
            let _ = metrics.bytes.get_or_create(&DirectionLabel { direction });
        }
        for upstream in upstreams {
            let label = UpstreamLabel {
                upstream: upstream.clone(),
            };
            let _ = metrics.upstream_connections.get_or_create(&label);
            let _ = metrics.upstream_failures.get_or_create(&label);
        }
        for route in [Route::Buffered, Route::Splice] {
            let _ = metrics.routes.get_or_create(&RouteLabel {
                route: route.to_string(),
            });
        }
        metrics.register();
        metrics
    }

    /// Names and explains every metric.
    fn register(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "connections_accepted",
            "Connections accepted",
            self.accepted.clone(),
        );
        registry.register(
            "connections_active",
            "Connections accepted and not yet closed",
            self.active.clone(),
        );
        registry.register(
            "connections_closed",
            "Connections closed, however they ended",
            self.closed.clone(),
        );
        registry.register(
            "connections_failed",
            "Connections that did not end cleanly, by how they ended",
            self.failed.clone(),
        );
        registry.register(
            "relayed_bytes",
            "Bytes written, src_to_dst (to the upstreams) and dst_to_src (back to the clients)",
            self.bytes.clone(),
        );
        registry.register(
            "upstream_connections",
            "Relays started to each upstream",
            self.upstream_connections.clone(),
        );
        registry.register(
            "upstream_connect_failures",
            "Connections to each upstream that failed",
            self.upstream_failures.clone(),
        );
        registry.register(
            "relays_by_route",
            "Relays started, by how their bytes move (buffered: through memory; splice: the kernel)",
            self.routes.clone(),
        );
        registry.register(
            "connection_duration_seconds",
            "How long connections lasted, from accept to close",
            self.duration.clone(),
        );
        registry.register(
            "access_log_failed_lines",
            "Access-log lines the file refused (a full disk, say)",
            self.access_log_failed.clone(),
        );
    }

    /// A connection was accepted.
    pub fn accepted(&self) {
        self.accepted.inc();
        self.active.inc();
    }

    /// Connecting to `upstream` failed.
    pub fn connect_failed(&self, upstream: &str) {
        self.upstream_failures
            .get_or_create(&UpstreamLabel {
                upstream: upstream.to_string(),
            })
            .inc();
    }

    /// A relay to `upstream` started on `route`.
    pub fn relaying(&self, upstream: &str, route: Route) {
        self.upstream_connections
            .get_or_create(&UpstreamLabel {
                upstream: upstream.to_string(),
            })
            .inc();
        self.routes
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .inc();
    }

    /// A connection closed.
    pub fn closed(&self, closed: &Closed) {
        self.active.dec();
        self.closed.inc();
        if closed.ending != Ending::Eof {
            self.failed
                .get_or_create(&ReasonLabel {
                    reason: closed.ending.name(),
                })
                .inc();
        }
        self.duration.observe(closed.elapsed.as_secs_f64());
    }

    /// The metrics as OpenMetrics text.
    pub fn encode(&self) -> String {
        let _one = self
            .scraping
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let counts = self.progress.snapshot();
        for (direction, written) in [
            ("src_to_dst", counts.a_to_b.written),
            ("dst_to_src", counts.b_to_a.written),
        ] {
            let counter = self.bytes.get_or_create(&DirectionLabel { direction });
            counter.inc_by(written.saturating_sub(counter.get()));
        }
        if let Some(failures) = &self.access_log_failures {
            let failed = failures.load(Ordering::Relaxed);
            let counter = &self.access_log_failed;
            counter.inc_by(failed.saturating_sub(counter.get()));
        }
        let mut text = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// OpenMetrics text as the classic Prometheus text format: a counter's
/// family is named as its `_total` sample, and the lines OpenMetrics alone
/// has (`# UNIT`, `# EOF`, a counter's `_created`) are left out.
fn classic(openmetrics: &str) -> String {
    let counters: BTreeSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        let comment = line
            .strip_prefix("# HELP ")
            .map(|rest| ("# HELP", rest))
            .or_else(|| line.strip_prefix("# TYPE ").map(|rest| ("# TYPE", rest)));
        let line = match comment {
            Some((kind, rest)) => {
                let (name, after) = rest.split_once(' ').unwrap_or((rest, ""));
                let after = if after == "unknown" { "untyped" } else { after };
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                format!("{kind} {name}{total} {after}")
            }
            None if line == "# EOF" || line.starts_with("# UNIT ") => continue,
            None => {
                let name = line.split(['{', ' ']).next().unwrap_or(line);
                let created = name
                    .strip_suffix("_created")
                    .is_some_and(|family| counters.contains(family));
                if created {
                    continue;
                }
                line.to_string()
            }
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Whether a scraper's `Accept` header asks for OpenMetrics before the
/// classic text format (Prometheus's own asks for it first).
fn wants_openmetrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let (mut openmetrics, mut classic) = (0.0_f64, 0.0_f64);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let quality = parts
            .filter_map(|part| part.strip_prefix("q="))
            .find_map(|q| q.parse::<f64>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(quality),
            "text/plain" | "text/*" | "*/*" => classic = classic.max(quality),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= classic
}

/// Binds the metrics address `host:port`.
///
/// # Errors
///
/// A [`Failure::Input`] when it cannot be bound.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, Failure> {
    TcpListener::bind((host, port)).await.map_err(|error| {
        Failure::input(
            format!("cannot serve metrics on {host}:{port}"),
            describe(&error),
        )
    })
}

/// Answers scrapes on `listener` until the process ends.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    if let Ok(local) = listener.local_addr() {
        tracing::info!(address = %local, "metrics on http://{local}/metrics");
    }
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    if let Err(error) = respond(stream, &metrics).await {
                        tracing::debug!(error = %describe(&error), "metrics request failed");
                    }
                });
            }
            Err(error) => {
                tracing::warn!(error = %describe(&error), "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Reads one request and answers it: the metrics for `GET /metrics`.
async fn respond(mut stream: TcpStream, metrics: &Metrics) -> io::Result<()> {
    let head = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    let mut lines = head.split("\r\n");
    let mut words = lines.next().unwrap_or("").split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let accept = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("accept")
            .then(|| value.trim())
    });
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") if wants_openmetrics(accept) => {
            ("200 OK", OPENMETRICS, metrics.encode())
        }
        ("GET" | "HEAD", "/metrics") => ("200 OK", CLASSIC, classic(&metrics.encode())),
        (_, "/metrics") => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        ),
        _ => (
            "404 Not Found",
            "text/plain",
            "metrics are at /metrics\n".to_string(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
        body.len(),
        if status.starts_with("405") { "Allow: GET, HEAD\r\n" } else { "" },
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The request line and headers, once the whole head (up to the blank
/// line) is in.
async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut chunk = [0; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() >= REQUEST_MOST {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_text_names_counters_by_their_samples() {
        let openmetrics = "# HELP ferry_x Things.\n# TYPE ferry_x counter\n# UNIT ferry_x things\n\
                           ferry_x_total 3\nferry_x_created 1.5\n# HELP ferry_y Level.\n\
                           # TYPE ferry_y gauge\nferry_y 2\n# EOF\n";
        assert_eq!(
            classic(openmetrics),
            "# HELP ferry_x_total Things.\n# TYPE ferry_x_total counter\nferry_x_total 3\n\
             # HELP ferry_y Level.\n# TYPE ferry_y gauge\nferry_y 2\n"
        );
    }

    #[test]
    fn openmetrics_only_for_a_scraper_that_prefers_it() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(Some(prometheus)));
        assert!(wants_openmetrics(Some("application/openmetrics-text")));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(Some("text/plain")));
        assert!(!wants_openmetrics(Some(
            "text/plain, application/openmetrics-text;q=0.5"
        )));
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=0")));
    }
}
