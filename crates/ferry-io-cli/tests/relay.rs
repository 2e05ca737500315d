//! Relays (both directions, half-close), the `--serve` server, its limits,
//! signals, and interop with socat.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

#[test]
fn relay_keeps_client_half_close() {
    // The client half-closes first; the backend answers only after EOF.
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--json",
    ]);
    let data = random_bytes(3 << 20, 10);
    let reply = exchange(&mut connect(ferry.port()), &data);
    assert_eq!(reply, xor(&data));
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], data.len());
    assert_eq!(report["dst_to_src"]["bytes"], data.len());
}

#[test]
fn relay_keeps_server_half_close() {
    // The backend speaks first and half-closes; the client answers after EOF.
    let greeting = random_bytes(1 << 20, 11);
    let expected = greeting.clone();
    let (send, received) = channel();
    let backend = backend(move |mut stream: TcpStream| {
        stream.write_all(&expected).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        send.send(answer).unwrap();
    });
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", &format!("tcp:127.0.0.1:{backend}")]);
    let mut client = connect(ferry.port());
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got, greeting);
    client.write_all(b"thanks").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(received.recv_timeout(DEADLINE).unwrap(), b"thanks");
    assert_eq!(ferry.wait(DEADLINE).code, Some(0));
}

#[test]
fn stdio_relays_to_a_socket_like_nc() {
    let backend = backend(xor_after_eof);
    let data = random_bytes(1 << 20, 12);
    let done = run_with_stdin(&["-", &format!("tcp:127.0.0.1:{backend}")], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, xor(&data));
}

#[test]
fn unix_relay_to_tcp() {
    let dir = TempDir::new("unix-relay");
    let socket = dir.path("sock");
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        &format!("unix-listen:{socket}"),
        &format!("tcp:127.0.0.1:{backend}"),
    ]);
    ferry.wait_for_line("listening");
    let mut client = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    client.set_read_timeout(Some(DEADLINE)).unwrap();
    let data = random_bytes(1 << 20, 13);
    let mut reader = client.try_clone().unwrap();
    let reading = thread::spawn(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        out
    });
    client.write_all(&data).unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reading.join().unwrap(), xor(&data));
    assert_eq!(ferry.wait(DEADLINE).code, Some(0));
}

#[test]
fn serve_relays_200_concurrent_clients() {
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--stats",
    ]);
    let port = ferry.port();
    let clients: Vec<_> = (0..200u64)
        .map(|i| {
            thread::spawn(move || {
                let data = random_bytes((16 << 10) + i as usize * 1021, 100 + i);
                let reply = exchange(&mut connect(port), &data);
                assert!(reply == xor(&data), "client {i} got wrong bytes");
                data.len() as u64
            })
        })
        .collect();
    let total: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.stderr.matches(" close").count(),
        200,
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("200 connections, 0 failed"),
        "{}",
        done.stderr
    );
    assert!(total > 0);
}

#[test]
fn max_connections_makes_the_next_client_wait() {
    // An echo backend that keeps each connection open until the client closes.
    let backend = backend(|mut stream: TcpStream| {
        let mut buf = [0; 1024];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 || stream.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--max-connections",
        "2",
    ]);
    let port = ferry.port();
    let echo = |stream: &mut TcpStream| {
        stream.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        stream.read_exact(&mut buf).map(|_| buf)
    };
    let mut first = connect(port);
    let mut second = connect(port);
    assert_eq!(&echo(&mut first).unwrap(), b"ping");
    assert_eq!(&echo(&mut second).unwrap(), b"ping");
    let mut third = connect(port); // completes in the kernel backlog
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    assert!(
        echo(&mut third).is_err(),
        "a third relay ran despite --max-connections 2"
    );
    drop(first);
    third.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = [0; 4];
    third.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

#[test]
fn idle_timeout_closes_a_silent_connection() {
    let backend = backend(|mut stream: TcpStream| {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--idle-timeout",
        "300ms",
    ]);
    let mut client = connect(ferry.port());
    let started = Instant::now();
    let mut buf = [0; 16];
    let closed = matches!(client.read(&mut buf), Ok(0) | Err(_));
    let waited = started.elapsed();
    assert!(closed);
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    ferry.wait_for_line("idle timeout");
}

#[test]
fn sigint_stops_accepting_and_lets_running_relays_finish() {
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
    ]);
    let port = ferry.port();
    let mut running = connect(port);
    running.write_all(b"before").unwrap();
    ferry.wait_for_line(" open");
    ferry.signal("INT");
    ferry.wait_for_line("stopping");
    // New connections are refused once the listener is closed.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    // The running relay still carries bytes both ways.
    let reply = exchange(&mut running, b" after");
    assert_eq!(reply, xor(b"before after"));
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn second_signal_exits_at_once() {
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
    ]);
    let _running = connect(ferry.port());
    ferry.wait_for_line(" open");
    ferry.signal("TERM");
    ferry.wait_for_line("stopping");
    ferry.signal("INT");
    let done = ferry.wait(Duration::from_secs(5));
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(
        done.stderr.contains("stopped with 1 relay still running"),
        "{}",
        done.stderr
    );
}

#[test]
fn shutdown_timeout_bounds_the_shutdown_wait() {
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--shutdown-timeout",
        "300ms",
        "--stats",
    ]);
    let _running = connect(ferry.port());
    ferry.wait_for_line(" open");
    ferry.signal("INT");
    let done = ferry.wait(Duration::from_secs(5));
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    // The relay cut off by the shutdown is logged and counted.
    assert!(
        done.stderr.contains("cut off by the shutdown"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("1 failed"), "{}", done.stderr);
}

#[test]
fn serve_without_fds_for_pipes_relays_through_memory() {
    let backend = backend(xor_after_eof);
    // Room for the listener and one relay's sockets, not for splice pipes.
    let ferry = Ferry::spawn_shell(&format!(
        "ulimit -n 14 && exec \"$0\" -v tcp-listen:0 tcp:127.0.0.1:{backend} --serve"
    ));
    let port = ferry.port();
    for seed in 0..3 {
        let data = random_bytes(100_000, 20 + seed);
        let reply = exchange(&mut connect(port), &data);
        assert_eq!(reply, xor(&data), "client {seed}");
    }
}

#[test]
fn socat_interop() {
    if !have("socat") {
        eprintln!("note: socat is not installed; skipping the interop test");
        return;
    }
    // socat as the backend (upper-casing) and as the client, ferry between.
    let backend_port = free_port();
    let _backend = Guard(
        Command::new("socat")
            .arg(format!(
                "TCP-LISTEN:{backend_port},bind=127.0.0.1,reuseaddr,fork"
            ))
            .arg("SYSTEM:tr a-z A-Z")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let until = Instant::now() + DEADLINE;
    while TcpStream::connect(("127.0.0.1", backend_port)).is_err() {
        assert!(Instant::now() < until, "socat did not listen");
        thread::sleep(Duration::from_millis(20));
    }
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend_port}"),
    ]);
    let port = ferry.port();
    let mut client = Guard(
        Command::new("socat")
            .arg("-")
            .arg(format!("TCP:127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    client
        .0
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello from socat\n")
        .unwrap();
    let mut out = String::new();
    client
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "HELLO FROM SOCAT\n");
    assert_eq!(ferry.wait(DEADLINE).code, Some(0));
}

/// Sends `bytes` zeros from each of `clients` concurrent clients to a
/// `--serve` discard server started with `flags`; returns the wall time.
fn discard_server_time(flags: &[&str], clients: usize, bytes: usize) -> f64 {
    let mut args = vec!["-v", "tcp-listen:0", "null:", "--serve"];
    args.extend_from_slice(flags);
    let ferry = Ferry::spawn(&args);
    let port = ferry.port();
    let started = Instant::now();
    let senders: Vec<_> = (0..clients)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = connect(port);
                // The server closes only after it read everything.
                assert!(exchange(&mut stream, &vec![0; bytes]).is_empty());
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    started.elapsed().as_secs_f64()
}

#[test]
fn serve_rate_limit_is_shared_by_all_connections() {
    let seconds = discard_server_time(&["-L", "1M"], 2, 1 << 20);
    assert!(
        (1.8..2.3).contains(&seconds),
        "2 x 1 MiB at 1 MiB/s for the server took {seconds:.2} s"
    );
}

#[test]
fn serve_rate_limit_per_connection_applies_to_each() {
    let seconds = discard_server_time(&["--rate-limit-per-connection", "1M"], 2, 1 << 20);
    assert!(
        (0.85..1.4).contains(&seconds),
        "2 x 1 MiB at 1 MiB/s each took {seconds:.2} s"
    );
}

#[test]
fn serve_to_a_unix_socket() {
    let dir = TempDir::new("serve-unix");
    let socket = dir.path("backend");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            thread::spawn(move || {
                let mut data = Vec::new();
                stream.read_to_end(&mut data).unwrap();
                stream.write_all(&xor(&data)).unwrap();
            });
        }
    });
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", &format!("unix:{socket}"), "--serve"]);
    let port = ferry.port();
    for seed in 0..3 {
        let data = random_bytes(200_000, 50 + seed);
        assert_eq!(exchange(&mut connect(port), &data), xor(&data));
    }
}

#[test]
fn sigint_lets_a_single_relay_finish() {
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&["-vv", "tcp-listen:0", &format!("tcp:127.0.0.1:{backend}")]);
    let mut running = connect(ferry.port());
    running.write_all(b"before").unwrap();
    // Not " open": that is logged at accept, before DST is connected, and
    // a signal while an end opens stops at once (seen under load in the
    // full suite). The -vv "transfer" line comes once both ends are open.
    ferry.wait_for_line(" transfer");
    ferry.signal("INT");
    ferry.wait_for_line("finishing");
    assert_eq!(exchange(&mut running, b" after"), xor(b"before after"));
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn sigint_stops_a_file_copy_with_exactly_the_reported_bytes_in_the_file() {
    let dir = TempDir::new("sigint-file");
    std::fs::write(dir.path("in"), random_bytes(8 << 20, 9)).unwrap();
    std::fs::write(dir.path("out"), random_bytes(16 << 20, 10)).unwrap();
    for mode in ["auto", "never"] {
        let mut ferry = Ferry::spawn(&[
            &dir.path("in"),
            &dir.path("out"),
            "-L",
            "2M",
            "--json",
            "--zero-copy",
            mode,
        ]);
        thread::sleep(Duration::from_millis(500));
        assert!(ferry.is_running());
        ferry.signal("INT");
        let done = ferry.wait(Duration::from_secs(5));
        assert_eq!(done.code, Some(1), "{}", done.stderr);
        let report = done.json();
        let reported = report["src_to_dst"]["bytes"].as_u64().unwrap();
        assert!(reported > 0 && reported < 8 << 20, "{mode}: {reported}");
        // The old, longer content past the copied bytes is gone too.
        let out = std::fs::read(dir.path("out")).unwrap();
        let input = std::fs::read(dir.path("in")).unwrap();
        assert_eq!(out.len() as u64, reported, "{mode}");
        assert!(out == input[..out.len()], "{mode}: content differs");
    }
}

#[test]
fn a_server_that_greets_first_still_gets_every_byte() {
    // Closing a socket with the greeting unread would reset the connection
    // and drop what ferry had not yet sent.
    let (count, counted) = std::sync::mpsc::channel();
    let port = backend(move |mut stream| {
        stream.write_all(b"220 ready\r\n").unwrap();
        thread::sleep(Duration::from_millis(500));
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        let _ = count.send(received.len());
    });
    let dir = TempDir::new("greeting");
    let data = random_bytes(16 << 20, 11);
    std::fs::write(dir.path("in"), &data).unwrap();
    for mode in ["auto", "never"] {
        let done = run(&[
            &dir.path("in"),
            &format!("tcp:127.0.0.1:{port}"),
            "--zero-copy",
            mode,
        ]);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        let received = counted.recv_timeout(DEADLINE).unwrap();
        assert_eq!(received, data.len(), "{mode}");
    }
}

#[test]
fn a_server_that_speaks_after_ferry_wrote_everything_still_gets_every_byte() {
    // A server that writes only once ferry has sent all and shut down its
    // side (as a TLS 1.3 server sends its session tickets late): a socket
    // closed before those bytes arrive answers them with a reset, and the
    // server loses what it had not yet read.
    let (result, results) = std::sync::mpsc::channel();
    let port = backend(move |mut stream| {
        thread::sleep(Duration::from_millis(300));
        let _ = stream.write_all(b"late\r\n");
        thread::sleep(Duration::from_millis(100));
        let mut received = Vec::new();
        let read = stream
            .read_to_end(&mut received)
            .map_err(|error| error.kind());
        let _ = result.send(read.map(|_| received));
    });
    let dir = TempDir::new("late-speaker");
    // More than the server's receive window, less than what the two socket
    // buffers hold: ferry has written it all while part of it still waits in
    // its send queue, which a reset throws away.
    let data = random_bytes(256 << 10, 12);
    std::fs::write(dir.path("in"), &data).unwrap();
    let done = run(&[&dir.path("in"), &format!("tcp:127.0.0.1:{port}")]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let received = results.recv_timeout(DEADLINE).unwrap();
    assert!(
        received == Ok(data),
        "the server read {:?}",
        received.map(|data| data.len())
    );
}

#[test]
fn a_relay_limit_delivers_every_byte_it_counts() {
    // Both peers keep sending after the limit; closing on their unread bytes
    // would reset the connections and lose what ferry counted as sent.
    let backend = backend(|mut stream| {
        let sender = stream.try_clone().unwrap();
        let writing = thread::spawn(move || {
            let mut sender = sender;
            let _ = sender.write_all(&vec![7; 4 << 20]);
        });
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        let _ = writing.join();
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "-n",
        "1M",
        "--json",
    ]);
    let mut client = connect(ferry.port());
    let sender = client.try_clone().unwrap();
    let writing = thread::spawn(move || {
        let mut sender = sender;
        let _ = sender.write_all(&vec![9; 4 << 20]);
    });
    let mut received = Vec::new();
    client.read_to_end(&mut received).unwrap();
    let done = ferry.wait(DEADLINE);
    let _ = writing.join();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(received.len(), 1 << 20);
    let report = done.json();
    assert_eq!(report["dst_to_src"]["bytes"], 1 << 20);
    assert_eq!(report["src_to_dst"]["bytes"], 1 << 20);
}

#[test]
fn a_second_unix_listener_does_not_take_the_first_ones_client() {
    let dir = TempDir::new("unix-twice");
    let socket = dir.path("sock");
    let first = Ferry::spawn(&["-v", &format!("unix-listen:{socket}"), &dir.path("out")]);
    first.wait_for_line("listening");
    let done = run(&[&format!("unix-listen:{socket}"), "null:"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    let data = random_bytes(1 << 20, 12);
    std::fs::write(dir.path("in"), &data).unwrap();
    let sent = run(&[&dir.path("in"), &format!("unix:{socket}")]);
    assert_eq!(sent.code, Some(0), "{}", sent.stderr);
    let done = first.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), data);
}

#[test]
fn sigint_stops_a_one_way_copy_at_once_with_counts() {
    let mut ferry = Ferry::spawn(&["zero:", "null:", "-L", "1M", "--json"]);
    thread::sleep(Duration::from_millis(300));
    assert!(ferry.is_running());
    ferry.signal("INT");
    let done = ferry.wait(Duration::from_secs(5));
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    // With --json the failure is in the object alone.
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    let report = done.json();
    let bytes = report["src_to_dst"]["bytes"].as_u64().unwrap();
    assert!(bytes > 0);
    let message = report["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("interrupted after "), "{message}");
    assert_eq!(report["error"]["kind"], "interrupted");
}

#[test]
fn relayed_tcp_connections_get_keepalive() {
    if !have("ss") {
        eprintln!("note: ss is not installed; skipping the keepalive test");
        return;
    }
    let backend = backend(|mut stream: TcpStream| {
        let _ = stream.read_to_end(&mut Vec::new());
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--keepalive",
        "7s",
    ]);
    let port = ferry.port();
    let mut client = connect(port);
    client.write_all(b"x").unwrap();
    ferry.wait_for_line(" open");
    thread::sleep(Duration::from_millis(200));
    // ferry's two sockets: the accepted one (local port `port`) and the
    // one to the backend (peer port `backend`), each with a keepalive timer.
    let timers = |filter: String| {
        let out = Command::new("ss")
            .args(["-tnoH", "state", "established", &filter])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let accepted = timers(format!("( sport = :{port} )"));
    let upstream = timers(format!("( dport = :{backend} )"));
    assert!(accepted.contains("timer:(keepalive"), "{accepted}");
    assert!(upstream.contains("timer:(keepalive"), "{upstream}");
}
