//! Watching a server: the access log has one line per connection with the
//! exact bytes the client and the backend saw and how it ended (every
//! ending produced here), in JSON (validated against the schema) and text;
//! the Prometheus metrics, scraped during and after a run, match the
//! test's own counts and parse as strict OpenMetrics text.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Closes `stream` with a reset.
fn reset(stream: TcpStream) {
    rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO)).unwrap();
    drop(stream);
}

/// A backend that does what the first line a client sends says: `eof`
/// reads to EOF and sends everything back; `hold` reads to EOF and keeps
/// the connection open, silent; `reset` sends 1000 bytes, then resets when
/// told to. It reports the bytes it received.
fn scripted(go: mpsc::Receiver<()>) -> (u16, mpsc::Receiver<usize>) {
    let (received, received_rx) = mpsc::channel();
    let received = Mutex::new(received);
    let go = Mutex::new(go);
    let port = backend(move |mut stream: TcpStream| {
        let mut command = Vec::new();
        let mut byte = [0];
        while stream.read_exact(&mut byte).is_ok() && byte[0] != b'\n' {
            command.push(byte[0]);
        }
        let report = |rest: usize| {
            let _ = received.lock().unwrap().send(command.len() + 1 + rest);
        };
        match &command[..] {
            b"eof" => {
                let mut data = Vec::new();
                stream.read_to_end(&mut data).unwrap();
                report(data.len());
                let mut reply = b"eof\n".to_vec();
                reply.extend_from_slice(&data);
                stream.write_all(&reply).unwrap();
            }
            b"hold" => {
                let mut data = Vec::new();
                let _ = stream.read_to_end(&mut data);
                report(data.len());
                thread::sleep(Duration::from_secs(5));
            }
            b"reset" => {
                report(0);
                stream.write_all(&[7; 1000]).unwrap();
                let _ = go.lock().unwrap().recv_timeout(DEADLINE);
                reset(stream);
            }
            other => panic!("unknown command {other:?}"),
        }
    });
    (port, received_rx)
}

/// The access log's JSON lines, each checked against the schema, by peer.
fn json_lines(text: &str) -> BTreeMap<String, Value> {
    let schema: Value = serde_json::from_str(include_str!("../doc/ferry.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut lines = BTreeMap::new();
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&record)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{record}: {errors:?}");
        assert_eq!(record["type"], "connection");
        let peer = record["peer"].as_str().unwrap().to_string();
        assert!(
            lines.insert(peer, record).is_none(),
            "two lines for one peer"
        );
    }
    lines
}

#[test]
fn the_access_log_has_each_connections_exact_bytes_and_how_it_ended() {
    let (go, go_rx) = mpsc::channel();
    let (upstream, received) = scripted(go_rx);
    let dir = TempDir::new("access-log");
    let log = dir.path("access.log");
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
        "--access-log",
        &log,
        "--access-log-format",
        "json",
        "--idle-timeout",
        "800ms",
        "--linger",
        "300ms",
        "--shutdown-timeout",
        "300ms",
    ]);
    let port = ferry.port();
    // (ending, bytes up as the backend got them, bytes down as the client got them)
    let mut expected: BTreeMap<String, (&str, usize, usize)> = BTreeMap::new();
    let closes = |count: usize| {
        for _ in 0..count {
            ferry.wait_for_line(" close");
        }
    };

    // eof: everything both ways.
    let mut client = connect(port);
    let mut sent = b"eof\n".to_vec();
    sent.extend_from_slice(&random_bytes(70_000, 1));
    let reply = exchange(&mut client, &sent);
    assert_eq!(reply, sent);
    let got = received.recv_timeout(DEADLINE).unwrap();
    expected.insert(peer(&client), ("eof", got, reply.len()));
    assert_eq!(got, sent.len());
    closes(1);

    // reset-by-client: the client goes away mid-relay.
    let mut client = connect(port);
    client.write_all(b"hold\nhalf a request").unwrap();
    thread::sleep(Duration::from_millis(200));
    let name = peer(&client);
    reset(client);
    let got = received.recv_timeout(DEADLINE).unwrap();
    assert_eq!(got, 19);
    expected.insert(name, ("reset-by-client", got, 0));
    closes(1);

    // reset-by-upstream: after the client has every byte it sent.
    let mut client = connect(port);
    client.write_all(b"reset\n").unwrap();
    let mut first = vec![0; 1000];
    client.read_exact(&mut first).unwrap();
    go.send(()).unwrap();
    let mut rest = Vec::new();
    assert!(
        client.read_to_end(&mut rest).is_err(),
        "a reset, not an end"
    );
    let got = received.recv_timeout(DEADLINE).unwrap();
    expected.insert(peer(&client), ("reset-by-upstream", got, 1000));
    closes(1);

    // idle-timeout: a client that says nothing more.
    let mut client = connect(port);
    client.write_all(b"hold\n").unwrap();
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
    let got = received.recv_timeout(DEADLINE).unwrap();
    expected.insert(peer(&client), ("idle-timeout", got, 0));
    closes(1);

    // linger-timeout: the client is done, the upstream never answers.
    let mut client = connect(port);
    client.write_all(b"hold\nbye").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let _ = client.read_to_end(&mut rest);
    let got = received.recv_timeout(DEADLINE).unwrap();
    assert_eq!(got, 8);
    expected.insert(peer(&client), ("linger-timeout", got, 0));
    closes(1);

    // shutdown: cut off with what it had moved.
    let mut client = connect(port);
    client.write_all(b"hold\n").unwrap();
    client.write_all(&[1; 4000]).unwrap();
    let name = peer(&client);
    thread::sleep(Duration::from_millis(200));
    ferry.signal("TERM");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    expected.insert(name, ("shutdown", 4005, 0));
    drop(client);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines = json_lines(&text);
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (peer, (ending, up, down)) in &expected {
        let line = &lines[peer];
        assert_eq!(line["ending"], *ending, "{line}");
        assert_eq!(line["src_to_dst"]["bytes"], *up, "{line}");
        assert_eq!(line["dst_to_src"]["bytes"], *down, "{line}");
        assert_eq!(
            line["upstream"],
            format!("tcp:127.0.0.1:{upstream}"),
            "{line}"
        );
    }
    // Resets by the client are news, not warnings.
    let client_reset = done
        .stderr
        .lines()
        .find(|line| line.contains("ending=reset-by-client"))
        .unwrap();
    assert!(client_reset.contains(" INFO "), "{client_reset}");
    assert!(!client_reset.contains("error="), "{client_reset}");
}

fn peer(stream: &TcpStream) -> String {
    stream.local_addr().unwrap().to_string()
}

#[test]
fn a_text_access_log_on_stdout_tells_refused_headers_and_unreachable_upstreams() {
    let down = free_port();
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{down}"),
        "--serve",
        "--accept-proxy",
        "v1",
        "--access-log",
        "-",
    ]);
    let port = ferry.port();
    let mut client = connect(port);
    client.write_all(b"SSH-2.0-OpenSSH\r\n").unwrap();
    let _ = client.read_to_end(&mut Vec::new());
    let refused = peer(&client);
    ferry.wait_for_line(" close");
    let mut client = connect(port);
    client
        .write_all(b"PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\nGET / HTTP/1.0\r\n\r\n")
        .unwrap();
    let _ = client.read_to_end(&mut Vec::new());
    ferry.wait_for_line(" close");
    ferry.signal("TERM");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let stdout = String::from_utf8(done.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let fields = |line: &str| -> BTreeMap<String, String> {
        let mut words = line.split(' ');
        let start = words.next().unwrap();
        assert!(humantime::parse_rfc3339(start).is_ok(), "{line}");
        words
            .take_while(|word| !word.starts_with("error="))
            .map(|word| {
                let (key, value) = word.split_once('=').unwrap();
                (key.to_string(), value.to_string())
            })
            .collect()
    };
    let first = fields(lines[0]);
    assert_eq!(first["id"], "1");
    assert_eq!(first["client"], refused);
    assert_eq!(first["upstream"], "-");
    assert_eq!((first["up"].as_str(), first["down"].as_str()), ("0", "0"));
    assert_eq!(first["ending"], "proxy-header-invalid");
    assert!(lines[0].contains("error=\"cannot accept "), "{}", lines[0]);
    let second = fields(lines[1]);
    assert_eq!(second["client"], "192.0.2.1:1000");
    assert_eq!(second["ending"], "connect-failed");
    assert!(
        lines[1].contains(&format!(
            "cannot connect to tcp:127.0.0.1:{down}: connection refused"
        )),
        "{}",
        lines[1]
    );
}

/// `GET PATH` from the metrics server: status line, headers, body.
fn get(port: u16, method: &str, path: &str) -> (String, String, String) {
    request(port, method, path, "")
}

/// What Prometheus sends as `Accept` (its default scrape protocols).
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A request with `headers` (each line ending in CRLF): status line,
/// headers, body.
fn request(port: u16, method: &str, path: &str, headers: &str) -> (String, String, String) {
    let mut stream = connect(port);
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap();
    (status.to_string(), headers.to_string(), body.to_string())
}

/// Parses OpenMetrics text strictly: every line a comment of a known kind
/// (HELP and UNIT at most once a family) or a sample of a family whose
/// TYPE came first, names and labels as the
/// format allows, counters only as `_total`/`_created`, histograms with
/// cumulative buckets ending at `+Inf` equal to `_count`, and `# EOF` last.
/// Returns every sample as `name{labels}` → value.
fn openmetrics(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    assert!(text.ends_with("# EOF\n"), "no # EOF at the end");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut described = std::collections::BTreeSet::new();
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        if *line == "# EOF" {
            assert_eq!(at, lines.len() - 1, "# EOF before the end");
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap(), words.next().unwrap());
            assert!(name_ok(name), "{line}");
            match kind {
                "TYPE" => {
                    let kind = words.next().unwrap();
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "stateset",
                            "unknown"
                        ]
                        .contains(&kind),
                        "{line}"
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "{line}"
                    );
                }
                "HELP" | "UNIT" => {
                    assert!(described.insert(format!("{kind} {name}")), "{line}: twice")
                }
                _ => panic!("unknown comment {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            value => value
                .parse()
                .unwrap_or_else(|_| panic!("{line}: bad value")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("closing brace");
                for label in labels.split(',') {
                    let (key, quoted) = label.split_once('=').unwrap();
                    assert!(name_ok(key) && !key.contains(':'), "{line}");
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "{line}"
                    );
                }
                (name, labels)
            }
            None => (series, ""),
        };
        assert!(name_ok(name), "{line}");
        let family = types
            .iter()
            .find(|(family, kind)| match kind.as_str() {
                "counter" => [format!("{family}_total"), format!("{family}_created")]
                    .contains(&name.to_string()),
                "histogram" => ["_bucket", "_sum", "_count", "_created"]
                    .iter()
                    .any(|suffix| name == format!("{family}{suffix}")),
                _ => name == family.as_str(),
            })
            .unwrap_or_else(|| panic!("{line}: no TYPE for it before"));
        if family.1 == "histogram" && name.ends_with("_bucket") {
            assert!(labels.contains("le=\""), "{line}");
        }
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "{line} twice"
        );
    }
    // Histograms: cumulative buckets, +Inf equal to the count.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|(series, _)| series.starts_with(&format!("{family}_bucket{{")))
            .map(|(_, value)| *value)
            .collect();
        assert!(!buckets.is_empty(), "{family}: no buckets");
        let infinite = samples[&format!("{family}_bucket{{le=\"+Inf\"}}")];
        assert_eq!(infinite, samples[&format!("{family}_count")]);
        assert!(buckets.iter().all(|bucket| *bucket <= infinite));
    }
    samples
}

/// Parses the classic Prometheus text format (0.0.4) as promtool checks
/// it: every family has its HELP and TYPE before its samples, named as the
/// samples are (a counter's name ends in `_total`), no OpenMetrics-only
/// lines (`# EOF`, `# UNIT`). Runs promtool too where it is installed.
/// Returns every sample as `name{labels}` → value.
fn prometheus_text(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = std::collections::BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name, rest) = (
                words.next().unwrap(),
                words.next().unwrap(),
                words.next().unwrap_or(""),
            );
            match kind {
                "HELP" => assert!(helped.insert(name.to_string()), "{line}: twice"),
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&rest),
                        "{line}"
                    );
                    assert!(helped.contains(name), "{line}: no HELP before it");
                    if rest == "counter" {
                        assert!(name.ends_with("_total"), "{line}");
                    }
                    assert!(types.insert(name.to_string(), rest.to_string()).is_none());
                }
                _ => panic!("not a classic comment: {line}"),
            }
            continue;
        }
        assert!(!line.starts_with('#'), "{line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            value => value.parse().unwrap_or_else(|_| panic!("{line}")),
        };
        let name = series.split('{').next().unwrap();
        let typed = types.iter().any(|(family, kind)| match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| name == format!("{family}{suffix}")),
            _ => name == family,
        });
        assert!(typed, "{line}: no TYPE for it before");
        samples.insert(series.to_string(), value);
    }
    if have("promtool") {
        let mut promtool = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        promtool
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let checked = promtool.wait_with_output().unwrap();
        assert!(
            checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
            "promtool: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    samples
}

#[test]
fn metrics_match_the_connections_during_and_after_a_run() {
    let down = free_port();
    // An echo that answers as bytes come, and closes after EOF.
    let up = backend(|mut stream: TcpStream| {
        let mut chunk = [0; 16 * 1024];
        while let Ok(read) = stream.read(&mut chunk) {
            if read == 0 || stream.write_all(&chunk[..read]).is_err() {
                break;
            }
        }
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{down}"),
        &format!("tcp:127.0.0.1:{up}"),
        "--serve",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    let scrape = || {
        let accept = format!("Accept: {PROMETHEUS_ACCEPT}\r\n");
        let (status, headers, body) = request(metrics, "GET", "/metrics", &accept);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
            "{headers}"
        );
        assert!(headers.contains(&format!("Content-Length: {}", body.len())));
        let samples = openmetrics(&body);
        // Asked for nothing in particular (curl, promtool, older
        // scrapers): the same samples in the classic text format.
        let (status, headers, classic) = get(metrics, "GET", "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
            "{headers}"
        );
        assert_eq!(prometheus_text(&classic), samples);
        samples
    };
    let empty = scrape();
    assert_eq!(empty["ferry_connections_accepted_total"], 0.0);
    assert_eq!(
        empty["ferry_connections_failed_total{reason=\"reset-by-client\"}"],
        0.0
    );

    let sizes = [1000, 70_000, 300_000];
    for (seed, size) in sizes.iter().enumerate() {
        let data = random_bytes(*size, seed as u64);
        assert_eq!(exchange(&mut connect(port), &data), data);
        ferry.wait_for_line(" close");
    }
    // One client resets after its echo; one stays.
    let mut resetting = connect(port);
    resetting.write_all(&[5; 10]).unwrap();
    resetting.read_exact(&mut [0; 10]).unwrap();
    reset(resetting);
    ferry.wait_for_line("ending=reset-by-client");
    let mut held = connect(port);
    held.write_all(&[9; 1000]).unwrap();
    held.read_exact(&mut [0; 1000]).unwrap();

    let total: usize = sizes.iter().sum::<usize>() + 10 + 1000;
    // A relay counts what it moved when the poll that moved it ends, which
    // may be after the client has the bytes: wait for the held echo's.
    let echoed = "ferry_relayed_bytes_total{direction=\"dst_to_src\"}";
    wait_for_metric(metrics, echoed, total as f64);
    let during = scrape();
    let upstream = |metric: &str, port: u16| {
        format!("ferry_upstream_{metric}_total{{upstream=\"tcp:127.0.0.1:{port}\"}}")
    };
    for (series, value) in [
        ("ferry_connections_accepted_total".to_string(), 5.0),
        ("ferry_connections_active".to_string(), 1.0),
        ("ferry_connections_closed_total".to_string(), 4.0),
        (
            "ferry_connections_failed_total{reason=\"reset-by-client\"}".to_string(),
            1.0,
        ),
        (
            "ferry_connections_failed_total{reason=\"connect-failed\"}".to_string(),
            0.0,
        ),
        (
            "ferry_relayed_bytes_total{direction=\"src_to_dst\"}".to_string(),
            total as f64,
        ),
        (
            "ferry_relayed_bytes_total{direction=\"dst_to_src\"}".to_string(),
            total as f64,
        ),
        (upstream("connect_failures", down), 1.0),
        (upstream("connections", down), 0.0),
        (upstream("connections", up), 5.0),
        (
            "ferry_relays_by_route_total{route=\"buffered\"}".to_string(),
            5.0,
        ),
        ("ferry_connection_duration_seconds_count".to_string(), 4.0),
    ] {
        assert_eq!(during.get(&series), Some(&value), "{series}");
    }

    assert_eq!(exchange(&mut held, b""), b"");
    ferry.wait_for_line("down=1000");
    let after = scrape();
    assert_eq!(after["ferry_connections_active"], 0.0);
    assert_eq!(after["ferry_connections_closed_total"], 5.0);
    assert_eq!(after["ferry_connection_duration_seconds_count"], 5.0);
    assert_eq!(
        after["ferry_relayed_bytes_total{direction=\"dst_to_src\"}"],
        total as f64
    );

    let (status, _, _) = get(metrics, "GET", "/");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, headers, body) = get(metrics, "HEAD", "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.is_empty() && headers.contains("Content-Length: "));
    let (status, _, _) = get(metrics, "POST", "/metrics");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
}

#[test]
fn a_failing_access_log_is_told_once_and_counted() {
    // /dev/full refuses every line (no space left on device).
    let up = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{up}"),
        "--serve",
        "--access-log",
        "/dev/full",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    for _ in 0..3 {
        assert_eq!(
            exchange(&mut connect(port), b"logged"),
            b"logged".map(|b| b ^ 0x5a)
        );
        ferry.wait_for_line(" close");
    }
    let until = std::time::Instant::now() + DEADLINE;
    loop {
        let (_, _, body) = get(metrics, "GET", "/metrics");
        let failed = prometheus_text(&body)["ferry_access_log_failed_lines_total"];
        if failed == 3.0 {
            break;
        }
        assert!(std::time::Instant::now() < until, "{failed} lines failed");
        thread::sleep(Duration::from_millis(20));
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let warnings: Vec<&str> = done
        .stderr
        .lines()
        .filter(|line| line.contains("cannot write the access log"))
        .collect();
    assert_eq!(
        warnings,
        [
            "ferry: warning: cannot write the access log /dev/full: no space left on device; \
          lines that fail are counted (ferry_access_log_failed_lines_total) and told at exit"
        ],
        "{}",
        done.stderr
    );
    assert!(
        done.stderr
            .contains("ferry: 3 access-log lines could not be written to /dev/full"),
        "{}",
        done.stderr
    );
}

#[test]
fn durations_in_logs_and_records_are_rounded_to_the_millisecond() {
    let up = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{up}"),
        "--serve",
        "--json-lines",
    ]);
    let port = ferry.port();
    assert_eq!(
        exchange(&mut connect(port), b"time"),
        b"time".map(|b| b ^ 0x5a)
    );
    let line = ferry.wait_for_line(" close");
    let seconds = line
        .split(" seconds=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{line}"));
    let decimals = seconds.split_once('.').map(|(_, d)| d.len());
    assert_eq!(decimals, Some(3), "{line}");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    for record in done.stderr.lines().filter(|line| line.starts_with('{')) {
        let record: Value = serde_json::from_str(record).unwrap();
        let seconds = record["seconds"].to_string();
        let decimals = seconds.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 3, "{record}");
    }
}
