//! The PROXY protocol through `ferry --serve`: `--send-proxy` gives a
//! backend (which parses the header with the `ppp` crate) the client's
//! address, `--accept-proxy` takes it from a load balancer's header and
//! relays every byte after it, and a client without a valid header in time
//! is refused while the server goes on.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// What a backend saw: the addresses in the header, and the bytes after it.
type Seen = (Option<(SocketAddr, SocketAddr)>, Vec<u8>);

/// A backend that reads everything until EOF, parses the PROXY header at
/// its start with `ppp`, reports it and the bytes after it, and sends those
/// bytes back XORed.
fn proxy_backend() -> (u16, mpsc::Receiver<Seen>) {
    let (seen, seen_rx) = mpsc::channel();
    let seen = std::sync::Mutex::new(seen);
    let port = backend(move |mut stream: TcpStream| {
        let mut data = Vec::new();
        stream.read_to_end(&mut data).unwrap();
        let (length, addresses) = match ppp::HeaderResult::parse(&data) {
            ppp::HeaderResult::V1(Ok(header)) => {
                let addresses = match header.addresses {
                    ppp::v1::Addresses::Tcp4(ip) => Some((
                        SocketAddr::new(ip.source_address.into(), ip.source_port),
                        SocketAddr::new(ip.destination_address.into(), ip.destination_port),
                    )),
                    _ => None,
                };
                (header.header.len(), addresses)
            }
            ppp::HeaderResult::V2(Ok(header)) => {
                let addresses = match header.addresses {
                    ppp::v2::Addresses::IPv4(ip) => Some((
                        SocketAddr::new(ip.source_address.into(), ip.source_port),
                        SocketAddr::new(ip.destination_address.into(), ip.destination_port),
                    )),
                    _ => None,
                };
                (header.len(), addresses)
            }
            other => panic!("the backend got no PROXY header: {other:?}"),
        };
        let body = data[length..].to_vec();
        let reply: Vec<u8> = body.iter().map(|b| b ^ 0x5a).collect();
        seen.lock().unwrap().send((addresses, body)).unwrap();
        stream.write_all(&reply).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
    });
    (port, seen_rx)
}

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

#[test]
fn send_proxy_gives_the_backend_the_clients_address() {
    let (backend, seen) = proxy_backend();
    for version in ["v1", "v2"] {
        let ferry = Ferry::spawn(&[
            "-v",
            "tcp-listen:127.0.0.1:0",
            &format!("tcp:127.0.0.1:{backend}"),
            "--serve",
            "--send-proxy",
            version,
        ]);
        let port = ferry.port();
        let mut client = connect(port);
        let data = random_bytes(200_000, 1);
        assert_eq!(exchange(&mut client, &data), xor(&data), "{version}");
        let (addresses, body) = seen.recv_timeout(DEADLINE).unwrap();
        assert!(body == data, "{version}: the backend got other bytes");
        assert_eq!(
            addresses,
            Some((
                client.local_addr().unwrap(),
                SocketAddr::from(([127, 0, 0, 1], port))
            )),
            "{version}"
        );
    }
}

/// A header a load balancer would send for `client` connecting to `server`.
fn header(version: &str, client: SocketAddr, server: SocketAddr) -> Vec<u8> {
    match version {
        "v1" => ppp::v1::Addresses::from((client, server))
            .to_string()
            .into_bytes(),
        _ => ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (client, server),
        )
        .build()
        .unwrap(),
    }
}

#[test]
fn accept_proxy_takes_the_address_and_relays_every_byte_after_the_header() {
    let (backend, seen) = proxy_backend();
    let client_address: SocketAddr = "192.0.2.7:4242".parse().unwrap();
    let server_address: SocketAddr = "198.51.100.1:443".parse().unwrap();
    for (accept, received, sent) in [("v1", "v1", "v2"), ("v2", "v2", "v1"), ("any", "v1", "v1")] {
        let ferry = Ferry::spawn(&[
            "-v",
            "tcp-listen:127.0.0.1:0",
            &format!("tcp:127.0.0.1:{backend}"),
            "--serve",
            "--accept-proxy",
            accept,
            "--send-proxy",
            sent,
            "--json-lines",
        ]);
        let port = ferry.port();
        let mut client = connect(port);
        // The header and the first bytes in one write: nothing after the
        // header may be lost or read as part of it.
        let data = random_bytes(300_000, 2);
        let mut first = header(received, client_address, server_address);
        first.extend_from_slice(&data);
        let reply = exchange(&mut client, &first);
        assert!(reply == xor(&data), "{accept}: the client got other bytes");
        let (addresses, body) = seen.recv_timeout(DEADLINE).unwrap();
        assert!(body == data, "{accept}: the backend got other bytes");
        assert_eq!(
            addresses,
            Some((client_address, server_address)),
            "{accept}"
        );
        let record = ferry.wait_for_line("\"type\":\"connection\"");
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        assert_eq!(record["peer"], client_address.to_string());
        assert_eq!(record["ending"], "eof");
        assert_eq!(record["src_to_dst"]["bytes"], data.len());
        assert_eq!(record["dst_to_src"]["bytes"], data.len());
    }
}

/// Reads until EOF or an error, and says how it ended.
fn ended(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut got = Vec::new();
    let result = stream.read_to_end(&mut got).map(|_| ());
    (got, result)
}

#[test]
fn a_client_without_a_valid_header_is_refused_and_the_server_goes_on() {
    let (backend, seen) = proxy_backend();
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--accept-proxy",
        "any",
        "--send-proxy",
        "v2",
    ]);
    let port = ferry.port();
    for (request, why) in [
        (
            &b"GET / HTTP/1.0\r\n\r\n"[..],
            "neither a v1 nor a v2 header",
        ),
        (b"PROXY TCP9 1.2.3.4\r\n", "not a v1 header"),
        (b"\r\n\r\n\0\r\nQUIT\n\x99\x11\x00\x0c", "not a v2 header"),
    ] {
        let mut client = connect(port);
        client.write_all(request).unwrap();
        let started = Instant::now();
        let (got, result) = ended(&mut client);
        assert!(got.is_empty());
        assert_eq!(
            result.map_err(|error| error.kind()),
            Err(ErrorKind::ConnectionReset),
            "{request:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        let line = ferry.wait_for_line("ending=proxy-header-invalid");
        assert!(line.contains(why), "{line}");
    }
    // Nothing reached the backend; a client with a header is served.
    assert!(seen.try_recv().is_err());
    let client_address: SocketAddr = "192.0.2.9:1".parse().unwrap();
    let mut request = header("v2", client_address, "192.0.2.10:2".parse().unwrap());
    request.extend_from_slice(b"hello");
    assert_eq!(exchange(&mut connect(port), &request), xor(b"hello"));
    let (addresses, body) = seen.recv_timeout(DEADLINE).unwrap();
    assert_eq!(body, b"hello");
    assert_eq!(addresses.map(|(client, _)| client), Some(client_address));
}

/// A server that requires PROXY headers (`accept` and `extra` flags), to
/// a backend that reads nothing, with its access log in a file: the
/// server, the directory holding the log, the log's path.
fn server_with_access_log(accept: &str, extra: &[&str]) -> (Ferry, TempDir, String) {
    let backend = backend(|_| {});
    let dir = TempDir::new("proxy-access-log");
    let log = dir.path("access.log");
    let upstream = format!("tcp:127.0.0.1:{backend}");
    let mut args = vec!["-v", "tcp-listen:127.0.0.1:0", &upstream, "--serve"];
    args.extend(["--accept-proxy", accept, "--access-log", &log]);
    args.extend_from_slice(extra);
    (Ferry::spawn(&args), dir, log)
}

#[test]
fn a_complete_but_malformed_v1_line_is_refused_at_once() {
    // Once a line ended (CRLF) it is judged: no waiting for
    // --proxy-timeout, and the client's bytes after it are not read as
    // header. The timeout is far longer than the test's deadline.
    let (ferry, _dir, log) = server_with_access_log("any", &["--proxy-timeout", "10m"]);
    let port = ferry.port();
    for request in [
        &b"PROXY TCP4 203.0.113.7 127.0.0.1\r\n"[..],
        b"PROXY TCP4 203.0.113.7 127.0.0.1\r\nGET / HTTP/1.1\r\n\r\n",
    ] {
        let mut client = connect(port);
        client.write_all(request).unwrap();
        let (got, result) = ended(&mut client);
        assert!(got.is_empty());
        assert_eq!(
            result.map_err(|error| error.kind()),
            Err(ErrorKind::ConnectionReset),
            "{request:?}"
        );
        let line = ferry.wait_for_line("ending=proxy-header-invalid");
        assert!(line.contains("bad PROXY header: not a v1 header"), "{line}");
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 2, "{logged}");
    assert!(!logged.contains("no complete PROXY header"), "{logged}");
}

#[test]
fn a_refused_header_is_logged_without_escapes() {
    // ppp's text for a wrong v2 start held the signature as escapes, which
    // the access log escaped once more.
    let (ferry, _dir, log) = server_with_access_log("v2", &[]);
    let mut client = connect(ferry.port());
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let _ = ended(&mut client);
    let line = ferry.wait_for_line("ending=proxy-header-invalid");
    assert!(
        line.contains("not a v2 header: it does not start with the v2 signature"),
        "{line}"
    );
    ferry.signal("INT");
    ferry.wait(DEADLINE);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("error=\"cannot accept ") && !logged.contains('\\'),
        "{logged}"
    );
}

#[test]
fn a_slow_or_incomplete_header_times_out() {
    let backend = backend(|_| {});
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--accept-proxy",
        "v1",
        "--proxy-timeout",
        "300ms",
    ]);
    let port = ferry.port();
    for start in [&b""[..], b"PROXY TCP4 192.0.2.1 "] {
        let mut client = connect(port);
        client.write_all(start).unwrap();
        let started = Instant::now();
        let (got, _) = ended(&mut client);
        let waited = started.elapsed();
        assert!(got.is_empty());
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        let line = ferry.wait_for_line("ending=proxy-header-invalid");
        assert!(
            line.contains("no complete PROXY header within 300ms"),
            "{line}"
        );
    }
}

#[test]
fn a_unix_socket_client_is_sent_the_local_form() {
    let (command, command_rx) = mpsc::channel();
    let command = std::sync::Mutex::new(command);
    let backend = backend(move |mut stream: TcpStream| {
        let mut data = Vec::new();
        stream.read_to_end(&mut data).unwrap();
        let header = ppp::v2::Header::try_from(&data[..]).expect("a v2 header");
        let body = data[header.len()..].to_vec();
        let sent = (header.command, header.addresses, body);
        command.lock().unwrap().send(sent).unwrap();
    });
    let dir = TempDir::new("proxy-unix");
    let socket = dir.path("sock");
    let ferry = Ferry::spawn(&[
        "-v",
        &format!("unix-listen:{socket}"),
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--send-proxy",
        "v2",
    ]);
    ferry.wait_for_line("listening");
    let mut client = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    client.write_all(b"over a unix socket").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let (command, addresses, body) = command_rx.recv_timeout(DEADLINE).unwrap();
    assert_eq!(command, ppp::v2::Command::Local);
    assert_eq!(addresses, ppp::v2::Addresses::Unspecified);
    assert_eq!(body, b"over a unix socket");
}
