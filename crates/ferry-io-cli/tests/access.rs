//! Who may connect to `ferry --serve`: `--allow` and `--deny` checked at
//! accept by the socket's peer, or by a trusted PROXY header's source;
//! `--accept-proxy-from`; `--max-connections-per-source` for TCP and UDP;
//! the handshake pool that keeps clients slow to begin from delaying the
//! others; and the refusal of malformed rules. Clients bind 127.0.0.2,
//! 127.0.0.3 and so on to stand for different hosts. Every refusal is a
//! reset, costs no upstream connection, and has its ending in the access
//! log, counted exactly.

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

/// A backend that answers each connection as [`xor_after_eof`] does, and
/// counts the connections it got.
fn counting_backend() -> (u16, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let port = backend(move |stream| {
        counted.fetch_add(1, Ordering::SeqCst);
        xor_after_eof(stream);
    });
    (port, connections)
}

/// `ferry -v tcp-listen:127.0.0.1:0 tcp:127.0.0.1:UPSTREAM --serve`
/// with `rules`.
fn serve(upstream: u16, rules: &[&str]) -> Ferry {
    let upstream = format!("tcp:127.0.0.1:{upstream}");
    let mut args = vec!["-v", "tcp-listen:127.0.0.1:0", &upstream, "--serve"];
    args.extend_from_slice(rules);
    Ferry::spawn(&args)
}

/// How a connection ferry refused ends for its client: reset, with nothing
/// read, and soon (well before any timeout of ferry's could have closed it).
/// Sends `request` on `client` and asserts that ferry resets it. The reset
/// may come before the write: the write then fails with it, and the read
/// after sees only the end (a socket reports its reset once).
fn assert_reset_after_sending(mut client: TcpStream, request: &[u8], what: &str) {
    match client.write_all(request) {
        Ok(()) => assert_reset(client, what),
        Err(error) => assert!(
            matches!(
                error.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "{what}: the write failed with {error}"
        ),
    }
}

fn assert_reset(mut client: TcpStream, what: &str) {
    let started = Instant::now();
    let mut got = Vec::new();
    let result = client.read_to_end(&mut got);
    assert!(got.is_empty(), "{what}: got {got:?}");
    assert_eq!(
        result.map_err(|error| error.kind()).err(),
        Some(ErrorKind::ConnectionReset),
        "{what}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{what}: {:?}",
        started.elapsed()
    );
}

/// The endings of the access log's lines, counted, once ferry stopped (it
/// writes out its queue as it exits). JSON lines must be valid records.
fn endings(ferry: Ferry, log: &str) -> BTreeMap<String, usize> {
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../doc/ferry.schema.json")).unwrap();
    let schema = jsonschema::validator_for(&schema).unwrap();
    let mut endings = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let ending = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(record) => {
                let errors: Vec<String> =
                    schema.iter_errors(&record).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{record}: {errors:?}");
                record["ending"].as_str().unwrap().to_string()
            }
            Err(_) => line
                .split(' ')
                .find_map(|field| field.strip_prefix("ending="))
                .unwrap_or_else(|| panic!("no ending in {line}"))
                .to_string(),
        };
        *endings.entry(ending).or_insert(0) += 1;
    }
    endings
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(word, n)| (word.to_string(), *n))
        .collect()
}

/// Checks the metrics of connections accepted, relays started and
/// refusals by reason, against the test's own counts.
fn assert_metrics(metrics: u16, accepted: f64, relayed: f64, refused: &[(&str, f64)]) {
    assert_eq!(
        metric(metrics, "ferry_connections_accepted_total"),
        accepted
    );
    assert_eq!(
        metric(metrics, "ferry_relays_by_route_total{route=\"buffered\"}"),
        relayed
    );
    for reason in ["denied", "per-source-limit", "untrusted-proxy"] {
        let expected = refused
            .iter()
            .find(|(name, _)| *name == reason)
            .map_or(0.0, |(_, n)| *n);
        let series = format!("ferry_connections_failed_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(metrics, &series), expected, "{series}");
    }
}

#[test]
fn allow_and_deny_are_checked_at_accept_before_a_byte_is_read() {
    let (upstream, connections) = counting_backend();
    let dir = TempDir::new("access-allow");
    let log = dir.path("access.log");
    let ferry = serve(
        upstream,
        &[
            "--allow",
            "127.0.0.1/30",
            "--deny",
            "127.0.0.3",
            "--max-handshakes",
            "8",
            "--access-log",
            &log,
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    // Written with host bits, and a pool these connections do not use.
    for warning in [
        "ferry: warning: --allow 127.0.0.1/30 is read as 127.0.0.0/30: the bits after the prefix are ignored",
        "ferry: warning: --max-handshakes has no effect on \"tcp-listen:127.0.0.1:0\": its connections have no PROXY header or TLS handshake",
    ] {
        assert!(ferry.stderr_so_far().contains(warning), "{}", ferry.stderr_so_far());
    }
    for (n, source) in [[127, 0, 0, 1], [127, 0, 0, 2]].into_iter().enumerate() {
        let data = random_bytes(50_000, n as u64);
        let mut client = connect_from(source, port);
        assert_eq!(exchange(&mut client, &data), xor(&data), "{source:?}");
    }
    // Denied (deny wins over allow), not allowed, and one that sends
    // nothing: each is reset at once, having sent nothing or not.
    let denied = connect_from([127, 0, 0, 3], port);
    assert_reset(denied, "a silent client in --deny");
    assert_reset_after_sending(
        connect_from([127, 0, 0, 3], port),
        b"a request",
        "a client in --deny",
    );
    assert_reset(
        connect_from([127, 0, 0, 4], port),
        "a client not in --allow",
    );
    let line = ferry.wait_for_line("ending=denied");
    assert!(line.contains("peer=\"127.0.0.3:"), "{line}");
    assert!(line.contains("in --deny"), "{line}");
    ferry.wait_for_line("ending=denied");
    let line = ferry.wait_for_line("ending=denied");
    assert!(
        line.contains("peer=\"127.0.0.4:") && line.contains("not in --allow"),
        "{line}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    assert_metrics(metrics, 5.0, 2.0, &[("denied", 3.0)]);
    assert_eq!(endings(ferry, &log), counts(&[("eof", 2), ("denied", 3)]));
}

#[test]
fn ipv6_clients_match_ipv6_rules_and_mapped_ipv4_ones_ipv4_rules() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let (upstream, connections) = counting_backend();
    // An IPv6 socket on a mapped address: its IPv4 clients show as
    // ::ffff:127.0.0.x, as on a dual-stack listener.
    let upstream_address = format!("tcp:127.0.0.1:{upstream}");
    let mapped = Ferry::spawn(&[
        "-v",
        "tcp-listen:[::ffff:127.0.0.1]:0",
        &upstream_address,
        "--serve",
        "--allow",
        "127.0.0.2",
        "--max-connections-per-source",
        "1",
    ]);
    let port = mapped.port();
    let mut held = connect_from([127, 0, 0, 2], port);
    held.write_all(b"mapped").unwrap();
    // Taken in before the next: the server's threads accept in no set order.
    mapped.wait_for_line("open id=");
    assert_reset(
        connect_from([127, 0, 0, 2], port),
        "a second mapped connection",
    );
    assert_reset(
        connect_from([127, 0, 0, 3], port),
        "a mapped client not in --allow",
    );
    assert_eq!(exchange(&mut held, b""), xor(b"mapped"));
    let v6 = Ferry::spawn(&[
        "-v",
        "tcp-listen:[::1]:0",
        &upstream_address,
        "--serve",
        "--allow",
        "::1/128",
        "--deny",
        "127.0.0.0/8",
    ]);
    let port = v6.port();
    let mut client = TcpStream::connect(("::1", port)).unwrap();
    client.set_read_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(exchange(&mut client, b"over IPv6"), xor(b"over IPv6"));
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

/// A PROXY v1 header for `client`.
fn header(client: &str) -> Vec<u8> {
    let client: SocketAddr = client.parse().unwrap();
    let server: SocketAddr = "198.51.100.1:443".parse().unwrap();
    ppp::v1::Addresses::from((client, server))
        .to_string()
        .into_bytes()
}

#[test]
fn a_trusted_proxy_header_gives_the_client_the_rules_check() {
    let (upstream, connections) = counting_backend();
    let dir = TempDir::new("access-proxy");
    let log = dir.path("access.log");
    let ferry = serve(
        upstream,
        &[
            "--accept-proxy",
            "v1",
            "--accept-proxy-from",
            "127.0.0.2",
            "--allow",
            "192.0.2.0/24",
            "--deny",
            "192.0.2.66",
            "--proxy-timeout",
            "30s",
            "--access-log",
            &log,
            "--access-log-format",
            "json",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    // The load balancer (127.0.0.2, itself in no --allow) passes on a
    // client --allow has: served.
    let mut request = header("192.0.2.7:4000");
    request.extend_from_slice(b"through the balancer");
    let mut client = connect_from([127, 0, 0, 2], port);
    assert_eq!(
        exchange(&mut client, &request),
        xor(b"through the balancer")
    );
    let line = ferry.wait_for_line("ending=eof");
    assert!(line.contains("peer=\"192.0.2.7:4000\""), "{line}");
    // Clients the header names, denied and not allowed: reset once their
    // header was read.
    for (source, why) in [
        ("192.0.2.66:4001", "in --deny"),
        ("203.0.113.5:4002", "not in --allow"),
    ] {
        let mut client = connect_from([127, 0, 0, 2], port);
        client.write_all(&header(source)).unwrap();
        assert_reset(client, source);
        let line = ferry.wait_for_line("ending=denied");
        assert!(
            line.contains(&format!("peer=\"{source}\"")) && line.contains(why),
            "{line}"
        );
    }
    // Another peer: reset at accept, header or not, without waiting for
    // one (--proxy-timeout is 30 s).
    assert_reset_after_sending(
        connect_from([127, 0, 0, 3], port),
        &header("192.0.2.7:4003"),
        "a header from an untrusted peer",
    );
    assert_reset(
        connect_from([127, 0, 0, 3], port),
        "a silent untrusted peer",
    );
    for _ in 0..2 {
        let line = ferry.wait_for_line("ending=untrusted-proxy");
        assert!(line.contains("peer=\"127.0.0.3:"), "{line}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    assert_metrics(
        metrics,
        5.0,
        1.0,
        &[("denied", 2.0), ("untrusted-proxy", 2.0)],
    );
    assert_eq!(
        endings(ferry, &log),
        counts(&[("eof", 1), ("denied", 2), ("untrusted-proxy", 2)])
    );
}

/// Waits for the `-v` line of `client`'s close.
fn wait_for_close(ferry: &Ferry, client: &TcpStream) {
    let peer = format!("peer=\"{}\"", client.local_addr().unwrap());
    while !ferry.wait_for_line(&peer).contains(" close ") {}
}

#[test]
fn the_per_source_limit_resets_at_once_and_frees_a_place_at_each_close() {
    let (upstream, connections) = counting_backend();
    let dir = TempDir::new("access-per-source");
    let log = dir.path("access.log");
    let ferry = serve(
        upstream,
        &[
            "--max-connections-per-source",
            "2",
            "--access-log",
            &log,
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    // Two held open from 127.0.0.2 (the backend answers after EOF).
    let mut first = connect_from([127, 0, 0, 2], port);
    let mut second = connect_from([127, 0, 0, 2], port);
    first.write_all(b"first").unwrap();
    second.write_all(b"second").unwrap();
    // Both taken in: the server's threads accept in no set order.
    ferry.wait_for_line("open id=");
    ferry.wait_for_line("open id=");
    // A third from there is reset at once; another host is served.
    assert_reset_after_sending(
        connect_from([127, 0, 0, 2], port),
        b"third",
        "a third connection from 127.0.0.2",
    );
    let line = ferry.wait_for_line("ending=per-source-limit");
    assert!(
        line.contains("peer=\"127.0.0.2:") && line.contains("2 connections open"),
        "{line}"
    );
    assert_eq!(
        exchange(&mut connect_from([127, 0, 0, 3], port), b"other"),
        xor(b"other")
    );
    // Once one of the two closed, 127.0.0.2 may connect again.
    assert_eq!(exchange(&mut first, b""), xor(b"first"));
    wait_for_close(&ferry, &first);
    let mut fourth = connect_from([127, 0, 0, 2], port);
    assert_eq!(exchange(&mut fourth, b"fourth"), xor(b"fourth"));
    assert_eq!(exchange(&mut second, b""), xor(b"second"));
    wait_for_close(&ferry, &second);
    assert_eq!(connections.load(Ordering::SeqCst), 4);
    assert_metrics(metrics, 5.0, 4.0, &[("per-source-limit", 1.0)]);
    assert_eq!(
        endings(ferry, &log),
        counts(&[("eof", 4), ("per-source-limit", 1)])
    );
}

/// The time a client with a whole header takes to be relayed and answered.
fn served_in(port: u16, n: u64) -> Duration {
    let started = Instant::now();
    let mut client = connect(port);
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let data = random_bytes(1000, n);
    let mut request = header(&format!("192.0.2.9:{}", 1000 + n));
    request.extend_from_slice(&data);
    assert_eq!(exchange(&mut client, &request), xor(&data), "client {n}");
    started.elapsed()
}

#[test]
fn clients_slow_to_send_their_proxy_header_delay_only_each_other() {
    let (upstream, connections) = counting_backend();
    // Few relay slots, many slow clients: without a pool of their own the
    // slow ones would hold every relay slot, for seconds.
    let ferry = serve(
        upstream,
        &[
            "--accept-proxy",
            "v1",
            "--max-connections",
            "16",
            "--proxy-timeout",
            "30s",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    // 200 clients sending a byte every 100 ms (the 1 byte/s of a slowloris,
    // ten times faster, so the test takes seconds) of a line that is not
    // over before 107 bytes, the longest a v1 header may be.
    let start = b"PROXY TCP4 192.0.2.1 192.0.2.2 1111 2222222222222222222222222222222222";
    let slowloris = Slowloris::start(port, 200, start.to_vec(), Duration::from_millis(100));
    let delays = slowloris.assert_others_served(metrics, |n| served_in(port, n));
    eprintln!("well-behaved clients under 200 slow ones: {delays:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 5);
}

#[test]
fn the_handshake_pool_holds_at_most_max_handshakes() {
    let (upstream, _) = counting_backend();
    let ferry = serve(
        upstream,
        &[
            "--accept-proxy",
            "v1",
            "--max-handshakes",
            "4",
            "--proxy-timeout",
            "30s",
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let port = ferry.port();
    let metrics = ferry.metrics_port();
    let mut silent: Vec<TcpStream> = (0..4).map(|_| connect_from([127, 0, 0, 2], port)).collect();
    // All four taken in first: the server's threads accept in no set order.
    wait_for_metric(metrics, "ferry_connections_accepted_total", 4.0);
    // A whole header waits in the backlog while four clients hold every
    // handshake slot...
    let mut client = connect(port);
    let mut request = header("192.0.2.9:1000");
    request.extend_from_slice(b"waiting");
    client.write_all(&request).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let kind = client.read(&mut [0; 16]).map_err(|error| error.kind());
    assert!(
        matches!(kind, Err(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "served while the pool was full: {kind:?}"
    );
    // ...and is served as soon as one of them leaves.
    drop(silent.pop());
    ferry.wait_for_line("ending=proxy-header-invalid");
    client.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, xor(b"waiting"));
}

/// Sends `data` from a socket bound to `source` and returns the reply, if
/// one came within `wait`.
fn ask(socket: &UdpSocket, port: u16, data: &[u8], wait: Duration) -> Option<Vec<u8>> {
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(data, ("127.0.0.1", port)).unwrap();
    let mut reply = [0; 2048];
    match socket.recv(&mut reply) {
        Ok(length) => Some(reply[..length].to_vec()),
        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn udp_clients_are_checked_when_a_flow_would_start_and_capped_in_flows_per_address() {
    let (upstream, _seen) = udp_echo();
    let ferry = Ferry::spawn(&[
        "-vv",
        "udp-listen:127.0.0.1:0",
        &format!("udp:127.0.0.1:{upstream}"),
        "--serve",
        "--deny",
        "127.0.0.3",
        "--max-connections-per-source",
        "2",
        "--idle-timeout",
        "1s",
    ]);
    let port = ferry.port();
    let bound = |source: &str| UdpSocket::bind((source, 0)).unwrap();
    let from_two: Vec<UdpSocket> = (0..3).map(|_| bound("127.0.0.2")).collect();
    let answered = Duration::from_secs(5);
    let silent = Duration::from_millis(500);
    // Two flows from 127.0.0.2 (two ports); a third port gets no flow.
    assert_eq!(ask(&from_two[0], port, b"one", answered), Some(xor(b"one")));
    assert_eq!(ask(&from_two[1], port, b"two", answered), Some(xor(b"two")));
    assert_eq!(ask(&from_two[2], port, b"three", silent), None);
    let line = ferry.wait_for_line("datagram dropped");
    assert!(
        line.contains(&format!("peer={}", from_two[2].local_addr().unwrap())),
        "{line}"
    );
    assert!(line.contains("--max-connections-per-source"), "{line}");
    // Other hosts: 127.0.0.3 is denied, 127.0.0.4 has flows of its own.
    assert_eq!(ask(&bound("127.0.0.3"), port, b"denied", silent), None);
    let line = ferry.wait_for_line("datagram dropped");
    assert!(
        line.contains("peer=127.0.0.3:") && line.contains("in --deny"),
        "{line}"
    );
    assert_eq!(
        ask(&bound("127.0.0.4"), port, b"four", answered),
        Some(xor(b"four"))
    );
    // Once the two flows went idle, the third port gets one.
    for _ in 0..2 {
        ferry.wait_for_line("close peer=127.0.0.2:");
    }
    assert_eq!(
        ask(&from_two[2], port, b"three", answered),
        Some(xor(b"three"))
    );
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stderr.matches("datagram dropped").count(),
        2,
        "{}",
        done.stderr
    );
}

/// What a malformed CIDR is told.
const EXPECTED: &str = "expected an IP address or a network like 10.0.0.0/8 or 2001:db8::/32";

#[test]
fn malformed_networks_and_a_zero_limit_are_refused_in_one_line() {
    for flag in ["--allow", "--deny", "--accept-proxy-from"] {
        for (value, why) in [
            ("300.1.1.1/8", EXPECTED),
            (
                "10.0.0.0/33",
                "the prefix length after / is 0 to 32 for IPv4",
            ),
            ("::1/129", "the prefix length after / is 0 to 128 for IPv6"),
            ("nonsense", EXPECTED),
        ] {
            let done = run(&[
                "tcp-listen:127.0.0.1:0",
                "tcp:127.0.0.1:1",
                "--serve",
                "--accept-proxy",
                "v1",
                flag,
                value,
            ]);
            assert_eq!(done.code, Some(2), "{flag} {value}: {}", done.stderr);
            assert_eq!(done.stderr, format!("ferry: bad {flag} {value:?}: {why}\n"));
        }
    }
    let done = run(&[
        "tcp-listen:127.0.0.1:0",
        "tcp:127.0.0.1:1",
        "--serve",
        "--max-connections-per-source",
        "0",
    ]);
    assert_eq!(done.code, Some(2));
    assert_eq!(
        done.stderr,
        "ferry: bad --max-connections-per-source \"0\": must be at least 1\n"
    );
}

#[test]
fn rules_that_cannot_apply_are_refused_in_one_line() {
    let dir = TempDir::new("access-misuse");
    let socket = format!("unix-listen:{}", dir.path("sock"));
    for (args, message) in [
        (
            &["tcp-listen:127.0.0.1:0", "null:", "--allow", "10.0.0.0/8"][..],
            "ferry: cannot use --allow without --serve: ",
        ),
        (
            &[
                "tcp-listen:127.0.0.1:0",
                "tcp:127.0.0.1:1",
                "--serve",
                "--accept-proxy-from",
                "10.0.0.2",
            ],
            "ferry: cannot use --accept-proxy-from without --accept-proxy: ",
        ),
        (
            &[&socket, "tcp:127.0.0.1:1", "--serve", "--deny", "10.0.0.2"],
            "ferry: cannot use --deny with \"unix-listen:",
        ),
        (
            &[
                "udp-listen:127.0.0.1:0",
                "udp:127.0.0.1:1",
                "--serve",
                "--max-handshakes",
                "10",
            ],
            "ferry: cannot use --max-handshakes with UDP: ",
        ),
    ] {
        let done = run(args);
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        assert!(
            done.stderr.starts_with(message) && done.stderr.lines().count() == 1,
            "{args:?}: {}",
            done.stderr
        );
    }
}
