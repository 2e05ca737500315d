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
    assert_eq!(
        done.stderr.lines().count(),
        1,
        "{args:?}: more than one line:\n{}",
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
        &["sctp:1.2.3.4:5", "null:"],
        "bad address \"sctp:1.2.3.4:5\": unknown address type",
    );
    refused(
        &["zero:", "tcp:127.0.0.1:70000"],
        "bad address \"tcp:127.0.0.1:70000\"",
    );
    refused(&["zero:", "tcp:127.0.0.1:"], "missing port");
    refused(&["tcp-listen:0", "tcp-listen:0"], "both are listening");
    refused(&["null:", "zero:"], "bad address \"null:\"");
    refused(&["zero:", "-", "--serve"], "--serve");
    // What people type for TCP.
    refused(
        &["zero:", "127.0.0.1:80"],
        "looks like HOST:PORT; write tcp:127.0.0.1:80 to connect",
    );
    refused(
        &["tcp://example.com:80", "null:"],
        "expected tcp:[HOST:]PORT without \"//\", like tcp:example.com:80",
    );
    refused(&["localhost:80", "null:"], "write tcp:localhost:80");
}

#[test]
fn flags_that_do_not_apply() {
    // A server's limit without a server: an error, the run would end after
    // one connection.
    refused(
        &["tcp-listen:0", "null:", "--max-connections", "5"],
        "cannot use --max-connections without --serve",
    );
    // --append with nothing to append to: a warning, and the copy runs.
    let done = run(&["zero:", "null:", "-n", "1K", "--append"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        "ferry: warning: --append has no effect on \"null:\": only a file is appended to\n"
    );
}

#[test]
fn a_server_flag_without_a_server_says_what_it_does() {
    // One rule: a flag about a server's connections needs a server, and
    // each says what it would have done.
    let mut messages = std::collections::BTreeSet::new();
    for (flag, value, needs) in [
        ("--max-connections", Some("5"), "--serve"),
        ("--max-buffer-memory", Some("64M"), "--serve"),
        ("--metrics", Some("0"), "--serve"),
        ("--access-log", Some("-"), "--serve"),
        ("--accept-proxy", Some("v1"), "--serve"),
        ("--send-proxy", Some("v1"), "--serve"),
        ("--balance", Some("round-robin"), "--serve"),
        ("--upstream-backoff", Some("1s"), "--serve"),
        ("--reuse-port", None, "--serve or --keep-listening"),
        (
            "--rate-limit-per-connection",
            Some("1M"),
            "--serve or --keep-listening",
        ),
    ] {
        let mut args = vec!["tcp-listen:0", "tcp:127.0.0.1:9", flag];
        args.extend(value);
        let done = run(&args);
        assert_eq!(done.code, Some(2), "{flag}: {}", done.stderr);
        let prefix = format!("ferry: cannot use {flag} without {needs}: ");
        assert!(done.stderr.starts_with(&prefix), "{flag}: {}", done.stderr);
        assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
        let why = done.stderr[prefix.len()..].to_string();
        assert!(
            messages.insert(why.clone()),
            "{flag} says what another says: {why}"
        );
    }
    // Flags that only shape another flag need that one.
    refused(
        &[
            "tcp-listen:0",
            "tcp:127.0.0.1:9",
            "--serve",
            "--proxy-timeout",
            "1s",
        ],
        "ferry: cannot use --proxy-timeout without --accept-proxy",
    );
    refused(
        &[
            "tcp-listen:0",
            "tcp:127.0.0.1:9",
            "--serve",
            "--access-log-format",
            "json",
        ],
        "ferry: cannot use --access-log-format without --access-log",
    );
}

#[test]
fn usage_mistakes_are_one_line() {
    refused(
        &["zero:", "null:", "-q", "-v"],
        "ferry: cannot use --quiet with --verbose",
    );
    let done = run(&["zero:", "null:", "-q", "-v"]);
    assert!(!done.stderr.contains("..."), "{}", done.stderr);
    refused(
        &["tls-listen:0", "null:", "--tls-cert", "cert.pem"],
        "ferry: --tls-cert needs --tls-key",
    );
    refused(&["zero:"], "ferry: missing DST");
    refused(
        &["zero:", "null:", "--zero-copy", "sometimes"],
        "bad --zero-copy \"sometimes\"",
    );
    refused(&["zero:", "null:", "--interval"], "--interval");
    refused(&["zero:", "null:", "--limti", "5"], "--limti");
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
fn durations_longer_than_a_hundred_years_are_refused() {
    // Each of these panicked or overflowed a timer somewhere (a UDP linger,
    // a UDP flow's idle timeout, the progress interval).
    for (args, flag) in [
        (&["-", "udp:127.0.0.1:9"][..], "--linger"),
        (&["-", "udp:127.0.0.1:9"], "--idle-timeout"),
        (&["zero:", "null:"], "--interval"),
        (&["zero:", "null:"], "--connect-timeout"),
        (&["zero:", "null:"], "--shutdown-timeout"),
        (
            &["tcp-listen:0", "tcp:127.0.0.1:9", "--serve"],
            "--upstream-backoff",
        ),
        (
            &["tcp-listen:0", "tcp:127.0.0.1:9", "--serve"],
            "--proxy-timeout",
        ),
    ] {
        for huge in ["300000000000y", "18446744073709551615", "101y"] {
            let mut args = args.to_vec();
            args.extend([flag, huge]);
            refused(
                &args,
                &format!("ferry: bad {flag} \"{huge}\": too long: at most 100 years"),
            );
        }
    }
}

#[test]
fn keepalive_outside_what_tcp_takes_is_refused() {
    // TCP_KEEPIDLE takes 1 to 32767 seconds; the kernel refused anything
    // longer, and the interval was never set.
    for (value, why) in [
        ("10h", "at most 32767s (9h 6m 7s)"),
        ("32768", "at most 32767s (9h 6m 7s)"),
        ("500ms", "at least 1s"),
    ] {
        refused(
            &["tcp-listen:0", "tcp:127.0.0.1:9", "--keepalive", value],
            &format!("ferry: bad --keepalive \"{value}\": {why}"),
        );
    }
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

#[test]
fn numeric_hosts_and_paths_that_are_not_sockets() {
    // The resolver would read "0" as 0.0.0.0: every interface, by accident.
    refused(
        &["tcp-listen:0:0", "null:"],
        "host \"0\" is not an IPv4 address",
    );
    refused(&["zero:", "tcp:127.1:80"], "host \"127.1\"");
    let dir = TempDir::new("not-a-socket");
    std::fs::write(dir.path("plain"), b"x").unwrap();
    refused(
        &[&format!("unix:{}", dir.path("plain")), "null:"],
        "not a socket",
    );
    refused(
        &["a", "b", "c"],
        "ferry: unexpected argument \"c\": expected ferry [OPTIONS] SRC DST",
    );
}

#[test]
fn zero_copy_always_is_refused_before_anything_waits() {
    // Checked before listening: this would otherwise wait for a client.
    refused(
        &["tcp-listen:0", "-", "--zero-copy", "always"],
        "cannot use --zero-copy always with \"-\"",
    );
    refused(
        &["zero:", "null:", "--zero-copy", "always"],
        "cannot use --zero-copy always with \"zero:\"",
    );
    let dir = TempDir::new("always-append");
    std::fs::write(dir.path("in"), b"data").unwrap();
    refused(
        &[
            &dir.path("in"),
            &dir.path("out"),
            "--append",
            "--zero-copy",
            "always",
        ],
        "cannot use --zero-copy always with --append",
    );
    // The kernel will not copy_file_range out of /proc: nothing moved, exit 2.
    refused(
        &[
            "/proc/self/status",
            &dir.path("out"),
            "--zero-copy",
            "always",
        ],
        "cannot use --zero-copy always here",
    );
}

#[test]
fn json_reports_bad_input_found_after_parsing() {
    let nobody = free_port();
    let done = run(&["zero:", &format!("tcp:127.0.0.1:{nobody}"), "--json"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["bytes"], 0);
    assert!(
        report["error"]["message"]
            .as_str()
            .is_some_and(|error| error.contains("connection refused")),
        "{report}"
    );
}
