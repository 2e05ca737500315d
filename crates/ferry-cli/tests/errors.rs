//! Bad input: each mistake exits 2 with one `ferry:` line naming the bad value.

mod common;

use std::net::TcpListener;

use common::*;

fn refused(args: &[&str], needle: &str) {
    let done = run(args);
    assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
    assert!(
        done.stderr.starts_with("ferry: "),
        "{args:?}: {}",
        done.stderr
    );
    assert!(
        done.stderr.contains(needle),
        "{args:?}: expected {needle:?} in {}",
        done.stderr
    );
    assert!(done.stdout.is_empty());
}

#[test]
fn bad_addresses() {
    refused(
        &["tcp:localhost", "null:"],
        "ferry: bad address \"tcp:localhost\": expected tcp:HOST:PORT",
    );
    refused(
        &["udp:1.2.3.4:5", "null:"],
        "bad address \"udp:1.2.3.4:5\": unknown address type",
    );
    refused(
        &["zero:", "tcp:127.0.0.1:70000"],
        "bad address \"tcp:127.0.0.1:70000\"",
    );
    refused(&["zero:", "tcp:127.0.0.1:"], "missing port");
    refused(&["tcp-listen:0", "tcp-listen:0"], "both are listening");
    refused(&["null:", "zero:"], "bad address \"null:\"");
    refused(&["zero:", "-", "--serve"], "--serve");
}

#[test]
fn bad_files() {
    let dir = TempDir::new("bad-files");
    let missing = dir.path("missing");
    refused(
        &[&missing, "null:"],
        &format!("cannot open file:{missing}: no such file or directory"),
    );
    let unwritable = dir.path("no/such/dir/out");
    refused(&["zero:", &unwritable], &unwritable);
    let directory = dir.path("");
    refused(&[&directory, "null:"], "is a directory");
    refused(&["zero:", &directory], "is a directory");
}

#[test]
fn bad_sizes_and_durations() {
    refused(
        &["zero:", "null:", "--limit", "0"],
        "ferry: bad --limit \"0\": must be at least 1 byte",
    );
    refused(&["zero:", "null:", "--limit=-5"], "bad --limit \"-5\"");
    refused(&["zero:", "null:", "-n", "-5"], "bad --limit \"-5\"");
    refused(&["zero:", "null:", "-n", "12Q"], "bad --limit \"12Q\"");
    refused(
        &["zero:", "null:", "--rate-limit", "fast"],
        "bad --rate-limit \"fast\"",
    );
    refused(
        &["zero:", "null:", "--idle-timeout", "soon"],
        "bad --idle-timeout \"soon\": expected a duration",
    );
    refused(&["zero:", "null:", "--linger=-1s"], "bad --linger \"-1s\"");
    refused(
        &["zero:", "null:", "--buffer-size", "0"],
        "bad --buffer-size \"0\"",
    );
    refused(
        &["zero:", "null:", "--max-connections", "0"],
        "--max-connections",
    );
    refused(&["zero:", "null:", "--no-such-flag"], "--no-such-flag");
    refused(&["zero:", "null:", "-q", "--stats"], "--stats");
}

#[test]
fn address_in_use_and_connection_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    refused(
        &[&format!("tcp-listen:{port}"), "null:"],
        "address already in use",
    );
    let nobody = free_port();
    refused(
        &["zero:", &format!("tcp:127.0.0.1:{nobody}")],
        "connection refused",
    );
    refused(
        &["zero:", "tcp:no-such-host.invalid:80"],
        "tcp:no-such-host.invalid:80",
    );
}

#[test]
fn unix_socket_in_use_is_not_removed() {
    let dir = TempDir::new("unix-in-use");
    let socket = dir.path("sock");
    let _live = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    refused(
        &[&format!("unix-listen:{socket}"), "null:"],
        "address already in use",
    );
    assert!(std::path::Path::new(&socket).exists());
}
