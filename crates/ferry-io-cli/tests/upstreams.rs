//! Several upstreams behind one `ferry --serve`: connections alternate
//! (round-robin) or go to the least busy, an upstream that refuses is
//! skipped and logged, and with every upstream down each client is reset
//! at once while the server goes on and finds an upstream that came back.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// A backend that reads to EOF, then answers its `name` and the bytes it
/// read, and closes.
fn named(name: u8) -> u16 {
    backend(move |mut stream: TcpStream| {
        let mut data = Vec::new();
        if stream.read_to_end(&mut data).is_ok() {
            let mut reply = vec![name];
            reply.extend_from_slice(&data);
            let _ = stream.write_all(&reply);
            let _ = stream.shutdown(Shutdown::Write);
        }
    })
}

/// Which backend served one client sending `data`; checks the bytes came back.
fn served_by(port: u16, data: &[u8]) -> u8 {
    let reply = exchange(&mut connect(port), data);
    assert_eq!(&reply[1..], data);
    reply[0]
}

/// A client of the server on `port` that gets no byte and a reset.
fn assert_reset(port: u16) {
    let mut got = Vec::new();
    let ended = connect(port).read_to_end(&mut got);
    assert!(got.is_empty());
    assert_eq!(
        ended.map_err(|error| error.kind()),
        Err(ErrorKind::ConnectionReset)
    );
}

/// An upstream that came back on `port`: echoes what each client sends.
fn echo_on(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut data = Vec::new();
            let _ = stream.read_to_end(&mut data);
            let _ = stream.write_all(&data);
        }
    });
}

fn serve(upstreams: &[u16], flags: &[&str]) -> Ferry {
    let dsts: Vec<String> = upstreams
        .iter()
        .map(|port| format!("tcp:127.0.0.1:{port}"))
        .collect();
    let mut args = vec!["-vv", "tcp-listen:127.0.0.1:0"];
    args.extend(dsts.iter().map(String::as_str));
    args.push("--serve");
    args.extend_from_slice(flags);
    Ferry::spawn(&args)
}

#[test]
fn connections_alternate_between_two_upstreams() {
    let (a, b) = (named(b'A'), named(b'B'));
    let ferry = serve(&[a, b], &[]);
    let port = ferry.port();
    let served: Vec<u8> = (0..6).map(|i| served_by(port, &[i; 1000])).collect();
    assert_eq!(served, b"ABABAB");
    let line = ferry.wait_for_line("relaying");
    assert!(line.contains(&format!("dst=tcp:127.0.0.1:{a}")), "{line}");
}

#[test]
fn least_connections_sends_a_client_to_the_idle_upstream() {
    let (a, b) = (named(b'A'), named(b'B'));
    let ferry = serve(&[a, b], &["--balance", "least-connections"]);
    let port = ferry.port();
    // The first client holds A.
    let mut held = connect(port);
    held.write_all(b"held").unwrap();
    ferry.wait_for_line(&format!("dst=tcp:127.0.0.1:{a}"));
    // Round-robin would give the third client A again: it goes to B,
    // which runs nothing.
    assert_eq!(served_by(port, b"second"), b'B');
    // The client sees its EOF a moment before the relay ends and B is
    // free again; the close line comes after that.
    ferry.wait_for_line(" close");
    assert_eq!(served_by(port, b"third"), b'B');
    assert_eq!(exchange(&mut held, b""), b"Aheld");
}

#[test]
fn an_upstream_that_is_down_is_skipped_and_logged() {
    let down = free_port();
    let up = named(b'B');
    let ferry = serve(&[down, up], &[]);
    let port = ferry.port();
    for i in 0..5 {
        assert_eq!(served_by(port, &[i; 100]), b'B', "client {i}");
    }
    let failed = ferry.wait_for_line("connect failed");
    assert!(
        failed.contains(&format!("upstream=tcp:127.0.0.1:{down}"))
            && failed.contains("connection refused"),
        "{failed}"
    );
    let marked = ferry.wait_for_line("upstream down");
    assert!(
        marked.contains(&format!("tcp:127.0.0.1:{down}")) && marked.contains("10s"),
        "{marked}"
    );
    // Down for the back-off: tried once, not by every client.
    assert_eq!(ferry.stderr_so_far().matches("connect failed").count(), 1);
}

#[test]
fn with_every_upstream_down_clients_are_reset_and_the_server_goes_on() {
    let (a, b) = (free_port(), free_port());
    let ferry = serve(&[a, b], &["--upstream-backoff", "200ms"]);
    let port = ferry.port();
    for _ in 0..3 {
        let started = Instant::now();
        assert_reset(port);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    let line = ferry.wait_for_line("ending=connect-failed");
    assert!(line.contains("cannot connect to any upstream"), "{line}");
    assert!(line.contains(&format!("tcp:127.0.0.1:{a}: connection refused")));
    assert!(line.contains(&format!("tcp:127.0.0.1:{b}: connection refused")));
    // One comes back: once its back-off is over, clients reach it.
    echo_on(b);
    thread::sleep(Duration::from_millis(300));
    let mut served = false;
    for _ in 0..4 {
        if exchange(&mut connect(port), b"back") == b"back" {
            served = true;
            break;
        }
    }
    assert!(served, "{}", ferry.stderr_so_far());
    ferry.wait_for_line("upstream up");
}

/// An upstream named by host name: its answer is kept between connections
/// and forgotten when the upstream refuses, and clients reach it before,
/// during and after (reset while it is down).
#[test]
fn an_upstream_named_by_host_name_is_reached_again_after_it_refused() {
    let upstream = free_port();
    let dst = format!("tcp:localhost:{upstream}");
    let ferry = Ferry::spawn(&["-vv", "tcp-listen:127.0.0.1:0", &dst, "--serve"]);
    let port = ferry.port();
    assert_reset(port);
    echo_on(upstream);
    for i in 0..6u8 {
        let data = vec![i; 3000 + usize::from(i)];
        assert_eq!(exchange(&mut connect(port), &data), data, "client {i}");
    }
    let line = ferry.wait_for_line("ending=eof");
    assert!(line.contains(&format!("upstream=\"{dst}\"")), "{line}");
}

#[test]
fn several_dsts_need_serve() {
    let done = run(&["tcp-listen:0", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        "ferry: unexpected argument \"tcp:127.0.0.1:2\": expected ferry [OPTIONS] SRC DST (several DSTs only with --serve)\n"
    );
    let done = run(&["zero:", "null:", "--balance", "least-connections"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr
            .starts_with("ferry: cannot use --balance without --serve"),
        "{}",
        done.stderr
    );
}
