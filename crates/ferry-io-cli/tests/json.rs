//! The JSON records: every one ferry prints validates against the schema in
//! `doc/ferry.schema.json`, carries the addresses, times, exit code, route
//! and error fields, and stands alone on stderr when a run fails.

mod common;

use std::io::Write;
use std::thread;
use std::time::Duration;

use common::{backend, connect, exchange, free_port, Ferry, Finished, TempDir, DEADLINE};
use serde_json::Value;

/// Every line of stderr that is a JSON record, each checked against the schema.
fn records(done: &Finished) -> Vec<Value> {
    let schema: Value = serde_json::from_str(include_str!("../doc/ferry.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    let records: Vec<Value> = done
        .stderr
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for record in &records {
        let errors: Vec<String> = validator
            .iter_errors(record)
            .map(|error| error.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{record} does not fit the schema: {errors:?}"
        );
    }
    records
}

/// The summary: the last record, and the last line of stderr.
fn summary(done: &Finished) -> Value {
    let all = records(done);
    let last = all
        .last()
        .cloned()
        .unwrap_or_else(|| panic!("no JSON:\n{}", done.stderr));
    assert_eq!(last["type"], "summary");
    assert_eq!(done.stderr.lines().last(), Some(last.to_string().as_str()));
    last
}

#[test]
fn a_copy_reports_addresses_times_route_and_exit_code() {
    let dir = TempDir::new("json-copy");
    let (from, to) = (dir.path("from"), dir.path("to"));
    std::fs::write(&from, common::random_bytes(300_000, 1)).unwrap();
    let done = common::run(&[&from, &to, "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let object = summary(&done);
    assert_eq!(object["src"], format!("file:{from}"));
    assert_eq!(object["dst"], format!("file:{to}"));
    assert_eq!(object["bytes"], 300_000);
    assert_eq!(object["src_to_dst"]["bytes"], 300_000);
    assert_eq!(object["exit_code"], 0);
    assert_eq!(object["error"], Value::Null);
    assert!(matches!(
        object["path"].as_str(),
        Some("copy_file_range" | "buffered")
    ));
    assert!(object["start"].as_str().unwrap() <= object["end"].as_str().unwrap());
}

#[test]
fn quiet_json_prints_the_object_alone() {
    let done = common::run(&["zero:", "null:", "-n", "1M", "-q", "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    assert_eq!(summary(&done)["bytes"], 1 << 20);
}

#[test]
fn bad_input_is_reported_in_the_json_alone() {
    let port = free_port();
    let done = common::run(&[&format!("tcp:127.0.0.1:{port}"), "null:", "--json"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(
        done.stderr.lines().count(),
        1,
        "one line, the JSON:\n{}",
        done.stderr
    );
    let object = summary(&done);
    assert_eq!(object["exit_code"], 2);
    // Bad input all the same (exit 2), of the kind the system answered.
    assert_eq!(object["error"]["kind"], "connection_refused");
    assert_eq!(object["src"], format!("tcp:127.0.0.1:{port}"));
    let message = object["error"]["message"].as_str().unwrap();
    assert!(message.contains("connection refused"), "{message}");
    // A mistake of the command line's own has no system's answer.
    let done = common::run(&["zero:", "null:", "--max-connections", "3", "--json"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(summary(&done)["error"]["kind"], "invalid_input");
}

#[test]
fn a_failed_copy_has_its_error_as_fields_and_its_route() {
    // Sends 5 bytes, then nothing: the idle timeout fails the copy.
    let port = backend(|mut stream| {
        stream.write_all(b"hello").unwrap();
        thread::sleep(Duration::from_secs(5));
    });
    let done = common::run(&[
        &format!("tcp:127.0.0.1:{port}"),
        "null:",
        "--idle-timeout",
        "300ms",
        "--json",
    ]);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    let object = summary(&done);
    assert_eq!(object["exit_code"], 1);
    assert_eq!(object["bytes"], 5);
    assert_eq!(object["path"], "buffered");
    let error = &object["error"];
    assert_eq!(error["kind"], "timed_out");
    assert_eq!(error["step"], "idle_timeout");
    // Nothing moved either way: no one direction failed.
    assert_eq!(error["direction"], Value::Null);
    assert_eq!(
        error["message"],
        "idle timeout after 5 B: nothing more moved within --idle-timeout"
    );
}

#[test]
fn an_interrupted_copy_has_its_exact_count_and_route() {
    let dir = TempDir::new("json-interrupt");
    let out = dir.path("out");
    let ferry = Ferry::spawn(&[
        "zero:",
        &out,
        "-L",
        "1M",
        "--json-lines",
        "--interval",
        "100ms",
    ]);
    ferry.wait_for_line("\"type\":\"progress\"");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let object = summary(&done);
    let written = std::fs::metadata(&out).unwrap().len();
    assert!(written > 0);
    assert_eq!(object["bytes"], written);
    assert_eq!(object["error"]["kind"], "interrupted");
    assert_eq!(object["path"], "buffered");
    let message = object["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("interrupted after {} B", group(written))),
        "{message}"
    );
}

#[test]
fn a_server_records_each_connection_progress_and_the_summary() {
    let upstream = backend(common::xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
        "--json-lines",
        "--interval",
        "100ms",
    ]);
    let port = ferry.port();
    for (seed, len) in [(1, 1000), (2, 70_000)] {
        let data = common::random_bytes(len, seed);
        let reply = exchange(&mut connect(port), &data);
        assert_eq!(reply.len(), len);
    }
    ferry.wait_for_line("\"id\":2");
    ferry.wait_for_line("\"type\":\"progress\"");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let all = records(&done);
    let connections: Vec<&Value> = all.iter().filter(|r| r["type"] == "connection").collect();
    assert_eq!(connections.len(), 2, "{}", done.stderr);
    // 1,000 bytes are a message; 70,000 sent at once stream, and splice.
    let expected = [(1, 1000, "buffered"), (2, 70_000, "splice")];
    for (connection, (id, len, path)) in connections.iter().zip(expected) {
        assert_eq!(connection["id"], id);
        assert_eq!(connection["src_to_dst"]["bytes"], len);
        assert_eq!(connection["dst_to_src"]["bytes"], len);
        assert_eq!(connection["path"], path);
        assert_eq!(connection["error"], Value::Null);
    }
    let last = summary(&done);
    assert_eq!(last["connections"], 2);
    assert_eq!(last["failed_connections"], 0);
    assert_eq!(last["bytes"], 2 * 71_000);
    assert_eq!(last["path"], "mixed");
    // -v: every log line starts with an RFC 3339 time; closes count exactly.
    let logs: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| !l.starts_with('{'))
        .collect();
    assert!(!logs.is_empty());
    for line in &logs {
        let time = line.split_whitespace().next().unwrap();
        assert!(humantime::parse_rfc3339(time).is_ok(), "{line:?}");
    }
    assert!(
        logs.iter()
            .any(|l| l.contains("close") && l.contains("up=70000") && l.contains("down=70000")),
        "{}",
        done.stderr
    );
}

#[test]
fn very_verbose_shows_each_connections_route_and_buffers() {
    let upstream = backend(common::xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-vv",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
    ]);
    let port = ferry.port();
    exchange(&mut connect(port), b"ping");
    let line = ferry.wait_for_line("relaying");
    assert!(line.contains("path=buffered"), "{line}");
    assert!(
        line.contains("buffer=adaptive 8.0 KiB to 1.0 MiB"),
        "{line}"
    );
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
