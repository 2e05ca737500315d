//! Which way a connection goes and where it comes from: `--keep-listening`,
//! source binding (`bind=`, `--bind`), and one-way relays (`-u`, `-U`).

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::channel;
use std::thread;

use common::*;

#[test]
fn keep_listening_appends_three_clients_in_order() {
    let dir = TempDir::new("keep-listening");
    let out = dir.path("out.bin");
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", &out, "--keep-listening", "--json"]);
    let port = ferry.port();
    let payloads: Vec<Vec<u8>> = (0..3)
        .map(|i| random_bytes(200_000 + i * 7, 40 + i as u64))
        .collect();
    for (i, payload) in payloads.iter().enumerate() {
        let mut client = connect(port);
        client.write_all(payload).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        // ferry closes its side once it has everything.
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        ferry.wait_for_line(&format!("close id={}", i + 1));
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let written = std::fs::read(&out).unwrap();
    assert!(
        written == payloads.concat(),
        "the file is not the three payloads in order"
    );
    let report = done.json();
    assert_eq!(report["connections"], 3);
    assert_eq!(report["failed_connections"], 0);
    assert_eq!(report["src_to_dst"]["bytes"], written.len());
}

#[test]
fn keep_listening_goes_on_after_a_failed_connection() {
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        "-",
        "-k",
        "--idle-timeout",
        "200ms",
        "--stats",
    ]);
    let port = ferry.port();
    // A client that sends nothing times out; the next one still gets through.
    let silent = connect(port);
    ferry.wait_for_line("idle timeout");
    drop(silent);
    let mut client = connect(port);
    client.write_all(b"second").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    ferry.wait_for_line("close id=2");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, b"second");
    assert!(
        done.stderr.contains("2 connections, 1 failed"),
        "{}",
        done.stderr
    );
}

#[test]
fn keep_listening_wants_a_listening_source_and_a_stream_destination() {
    let done = run(&["tcp-listen:0", "tcp:127.0.0.1:9", "-k"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr
            .starts_with("ferry: bad DST \"tcp:127.0.0.1:9\" for --keep-listening"),
        "{}",
        done.stderr
    );
}

/// A server that reports the peer address of its first connection.
fn peer_reporter(host: &str) -> Option<(u16, std::sync::mpsc::Receiver<std::net::SocketAddr>)> {
    let listener = TcpListener::bind((host, 0)).ok()?;
    let port = listener.local_addr().unwrap().port();
    let (send, received) = channel();
    thread::spawn(move || {
        if let Ok((stream, peer)) = listener.accept() {
            send.send(peer).unwrap();
            drop(stream);
        }
    });
    Some((port, received))
}

#[test]
fn bind_sets_the_source_port_the_upstream_sees() {
    let (port, peer) = peer_reporter("127.0.0.1").unwrap();
    let source = free_port();
    let done = run(&[
        "-",
        &format!("tcp:127.0.0.1:{port},bind=127.0.0.1:{source}"),
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let seen = peer.recv_timeout(DEADLINE).unwrap();
    assert_eq!(seen, format!("127.0.0.1:{source}").parse().unwrap());
}

#[test]
fn bind_flag_works_for_ipv6() {
    let Some((port, peer)) = peer_reporter("::1") else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let source = TcpListener::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let done = run(&[
        "-",
        &format!("tcp:[::1]:{port}"),
        "--bind",
        &format!("[::1]:{source}"),
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let seen = peer.recv_timeout(DEADLINE).unwrap();
    assert_eq!(seen, format!("[::1]:{source}").parse().unwrap());
}

#[test]
fn bind_to_the_wrong_family_is_refused() {
    let done = run(&["-", "tcp:127.0.0.1:9,bind=[::1]"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr
            .contains("127.0.0.1 has no IPv6 address to connect to from ::1"),
        "{}",
        done.stderr
    );
    let done = run(&["zero:", "null:", "-n", "1", "--bind", "127.0.0.1"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr.starts_with("ferry: cannot use --bind here"),
        "{}",
        done.stderr
    );
}

/// A backend that first writes `greeting`, then reports whether it saw EOF
/// before the client closed, and what it read.
fn greeting_backend(greeting: &'static [u8]) -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    let (send, received) = channel();
    let port = backend(move |mut stream: TcpStream| {
        let _ = stream.write_all(greeting);
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        send.send(got).unwrap();
    });
    (port, received)
}

#[test]
fn src_to_dst_only_gives_the_client_eof_at_once() {
    let (backend, received) = greeting_backend(b"not for the client");
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "-u",
        "--json",
    ]);
    let mut client = connect(ferry.port());
    // EOF while the client still has its write side open: nothing comes back.
    let mut first = Vec::new();
    client.read_to_end(&mut first).unwrap();
    assert!(first.is_empty(), "the client got {first:?}");
    client.write_all(b"one way").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(received.recv_timeout(DEADLINE).unwrap(), b"one way");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], 7);
    assert_eq!(report["dst_to_src"]["bytes"], 0);
}

#[test]
fn dst_to_src_only_gives_the_upstream_eof_at_once() {
    let (send, received) = channel();
    let backend = backend(move |mut stream: TcpStream| {
        // EOF at once, while the client has not closed anything.
        let mut first = Vec::new();
        stream.read_to_end(&mut first).unwrap();
        stream.write_all(b"only back").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        send.send(first).unwrap();
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "-U",
        "--json",
    ]);
    let mut client = connect(ferry.port());
    assert_eq!(received.recv_timeout(DEADLINE).unwrap(), b"");
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"only back");
    let _ = client.write_all(b"ignored");
    drop(client);
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], 0);
    assert_eq!(report["dst_to_src"]["bytes"], 9);
}

#[test]
fn dst_to_src_needs_two_two_way_addresses() {
    let done = run(&["zero:", "tcp:127.0.0.1:9", "-U"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr.starts_with("ferry: cannot use -U here"),
        "{}",
        done.stderr
    );
}
