//! The relay under faults and abuse (issue 11): resets pass on as resets,
//! shared rate limits are fair, huge durations do not panic, a FIFO open
//! does not ignore signals, shutdown and connecting are bounded, a slow
//! stderr does not stop the server, only ferry's own socket file is
//! removed, a server's memory is bounded, and the messages say what
//! happened.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Reads until EOF or an error: the bytes, and how it ended.
fn read_all(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut got = Vec::new();
    let mut chunk = [0; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(err) => return (got, Err(err)),
        }
    }
}

/// Closes `stream` with a reset.
fn reset(stream: TcpStream) {
    rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO)).unwrap();
    drop(stream);
}

#[test]
fn an_upstream_reset_reaches_the_client_as_a_reset() {
    let data = random_bytes(100 * 1024, 1);
    let (go, reset_now) = mpsc::channel::<()>();
    let reset_now = std::sync::Mutex::new(reset_now);
    let sent = data.clone();
    let upstream = backend(move |mut stream| {
        stream.write_all(&sent).unwrap();
        // Reset only once the client has every byte: a reset discards what
        // the receiving kernel has not handed over yet.
        let _ = reset_now.lock().unwrap().recv_timeout(DEADLINE);
        reset(stream);
    });
    for serve in [true, false] {
        let upstream = format!("tcp:127.0.0.1:{upstream}");
        let mut args = vec!["-v", "tcp-listen:0", upstream.as_str()];
        if serve {
            args.push("--serve");
        }
        let ferry = Ferry::spawn(&args);
        let mut client = connect(ferry.port());
        let mut got = vec![0; data.len()];
        client.read_exact(&mut got).unwrap();
        assert_eq!(got, data);
        go.send(()).unwrap();
        let (rest, ended) = read_all(&mut client);
        assert!(rest.is_empty());
        assert_eq!(
            ended.map_err(|err| err.kind()),
            Err(ErrorKind::ConnectionReset),
            "serve={serve}: the client must not see a clean end of stream"
        );
    }
}

#[test]
fn a_client_reset_reaches_the_upstream_as_a_reset() {
    let (ended_tx, ended) = mpsc::channel();
    let upstream = backend(move |mut stream| {
        let _ = ended_tx.send(read_all(&mut stream));
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
    ]);
    let mut client = connect(ferry.port());
    client.write_all(b"half a request").unwrap();
    ferry.wait_for_line(" open");
    thread::sleep(Duration::from_millis(200));
    reset(client);
    let (got, ended) = ended.recv_timeout(DEADLINE).unwrap();
    assert_eq!(got, b"half a request");
    assert_eq!(
        ended.map_err(|err| err.kind()),
        Err(ErrorKind::ConnectionReset)
    );
}

#[test]
fn relays_cut_off_at_shutdown_end_with_a_reset() {
    // The upstream sends forever; the client reads slowly.
    let upstream = backend(|mut stream| {
        let chunk = vec![7u8; 64 * 1024];
        while stream.write_all(&chunk).is_ok() {}
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
        "--shutdown-timeout",
        "300ms",
    ]);
    let port = ferry.port();
    let mut clients: Vec<TcpStream> = (0..4).map(|_| connect(port)).collect();
    for client in &mut clients {
        let mut first = [0; 1024];
        client.read_exact(&mut first).unwrap();
    }
    ferry.signal("TERM");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    for client in &mut clients {
        let (_, ended) = read_all(client);
        assert_eq!(
            ended.map_err(|err| err.kind()),
            Err(ErrorKind::ConnectionReset)
        );
    }
}

#[test]
fn a_shared_rate_limit_serves_both_directions() {
    // Both ends send all the time and read all the time.
    let upstream = backend(|stream| {
        let mut reader = stream.try_clone().unwrap();
        thread::spawn(move || while reader.read(&mut [0; 65536]).is_ok_and(|n| n > 0) {});
        let mut stream = stream;
        let chunk = vec![1u8; 64 * 1024];
        while stream.write_all(&chunk).is_ok() {}
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
        "-L",
        "2M",
    ]);
    let client = connect(ferry.port());
    let mut sender = client.try_clone().unwrap();
    thread::spawn(move || {
        let chunk = vec![2u8; 64 * 1024];
        while sender.write_all(&chunk).is_ok() {}
    });
    let mut reader = client.try_clone().unwrap();
    let started = Instant::now();
    let mut down = 0;
    while started.elapsed() < Duration::from_secs(3) {
        down += reader.read(&mut [0; 65536]).unwrap() as u64;
    }
    client.shutdown(Shutdown::Both).unwrap();
    // 2 MiB/s for both directions: about 3 MiB each way in 3 s. Before the
    // limiter took turns, one direction got everything and the other none.
    assert!(
        down > 1 << 20,
        "the upstream-to-client direction got {down} B in 3 s at -L 2M shared"
    );
}

#[test]
fn the_longest_durations_do_not_panic() {
    // 100 years is the longest duration accepted (longer ones are bad
    // input, see tests/errors.rs); every timer must take it.
    let echo = backend(xor_after_eof);
    let upstream = format!("tcp:127.0.0.1:{echo}");
    let longest = "100y";
    for serve in [false, true] {
        let mut args = vec!["-v", "tcp-listen:0", upstream.as_str()];
        for flag in [
            "--linger",
            "--idle-timeout",
            "--connect-timeout",
            "--shutdown-timeout",
            "--interval",
            "-p",
        ] {
            args.push(flag);
            if flag != "-p" {
                args.push(longest);
            }
        }
        if serve {
            args.push("--serve");
        }
        let ferry = Ferry::spawn(&args);
        let reply = exchange(&mut connect(ferry.port()), b"durations");
        assert_eq!(reply, xor(b"durations"), "serve={serve}");
        if serve {
            ferry.signal("INT");
        }
        let done = ferry.wait(DEADLINE);
        assert_eq!(done.code, Some(0), "serve={serve}: {}", done.stderr);
    }
    // A UDP relay's linger and idle timeout, and a UDP server's flows.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = format!("udp:127.0.0.1:{}", udp.local_addr().unwrap().port());
    let ferry = Ferry::spawn_with_stdin(
        &["-", &target, "--linger", longest, "--idle-timeout", longest],
        Some(b"one datagram\n".to_vec()),
    );
    let mut got = [0; 64];
    udp.set_read_timeout(Some(DEADLINE)).unwrap();
    let (length, _) = udp.recv_from(&mut got).unwrap();
    assert_eq!(&got[..length], b"one datagram\n");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let ferry = Ferry::spawn(&[
        "-v",
        "udp-listen:0",
        &target,
        "--serve",
        "--idle-timeout",
        longest,
    ]);
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .send_to(b"flow", ("127.0.0.1", ferry.port()))
        .unwrap();
    let (length, _) = udp.recv_from(&mut got).unwrap();
    assert_eq!(&got[..length], b"flow");
    ferry.wait_for_line("open");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

#[test]
fn a_fifo_with_no_peer_does_not_ignore_signals() {
    let dir = TempDir::new("fifo-signal");
    let fifo = dir.path("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for args in [vec!["zero:", fifo.as_str()], vec![fifo.as_str(), "null:"]] {
        let mut ferry = Ferry::spawn(&args);
        thread::sleep(Duration::from_millis(300));
        assert!(ferry.is_running(), "{args:?}");
        ferry.signal("INT");
        let done = ferry.wait(Duration::from_secs(5));
        assert_eq!(done.code, Some(1), "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains("interrupted"), "{}", done.stderr);
    }
}

/// A loopback address whose listen queue is full: connecting to it hangs.
fn black_hole() -> (OwnedFd, Vec<TcpStream>, SocketAddr) {
    use rustix::net::{bind, listen, socket, AddressFamily, SocketType};
    let listener = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    bind(&listener, &any).unwrap();
    listen(&listener, 0).unwrap();
    let address = SocketAddr::try_from(rustix::net::getsockname(&listener).unwrap()).unwrap();
    let mut queued = Vec::new();
    while let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_millis(300)) {
        queued.push(stream);
        assert!(queued.len() < 64, "the listen queue never filled");
    }
    (listener, queued, address)
}

#[test]
fn a_stopping_server_does_not_wait_for_a_hanging_connect() {
    let (_listener, _queued, hole) = black_hole();
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:{hole}"),
        "--serve",
        "--connect-timeout",
        "1h",
        "--shutdown-timeout",
        "1s",
    ]);
    let _client = connect(ferry.port());
    ferry.wait_for_line(" open");
    ferry.signal("TERM");
    let done = ferry.wait(Duration::from_secs(10));
    assert!(
        done.elapsed < Duration::from_secs(5),
        "stopped after {:?}",
        done.elapsed
    );
    assert_eq!(done.code, Some(1), "{}", done.stderr);
}

#[test]
fn a_hanging_connect_times_out_and_the_server_goes_on() {
    let (_listener, _queued, hole) = black_hole();
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:{hole}"),
        "--serve",
        "--connect-timeout",
        "300ms",
    ]);
    let port = ferry.port();
    for _ in 0..2 {
        let mut client = connect(port);
        let (got, _) = read_all(&mut client);
        assert!(got.is_empty());
    }
    ferry.wait_for_line("timed out");
}

#[test]
fn a_stderr_nobody_reads_does_not_stop_the_server() {
    let echo = backend(xor_after_eof);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([
            "-vv",
            "tcp-listen:0",
            &format!("tcp:127.0.0.1:{echo}"),
            "--serve",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read only up to the line with the port, then never again: the pipe
    // fills after a few hundred connections' log lines.
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let port = loop {
        let mut byte = [0];
        assert_eq!(stderr.read(&mut byte).unwrap(), 1, "ferry exited");
        seen.push(byte[0]);
        let text = String::from_utf8_lossy(&seen);
        if let Some(line) = text.lines().find(|line| line.contains("listening")) {
            if text.ends_with('\n') {
                let digits: String = line
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                break digits.parse::<u16>().unwrap();
            }
        }
    };
    let started = Instant::now();
    for n in 0..2000 {
        let reply = exchange(&mut connect(port), b"logged");
        assert_eq!(reply, xor(b"logged"), "connection {n}");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn only_the_socket_ferry_made_is_removed() {
    let dir = TempDir::new("socket-file");
    let path = dir.path("ferry.sock");
    let ferry = Ferry::spawn(&["-v", &format!("unix-listen:{path}"), "null:"]);
    ferry.wait_for_line("listening");
    // Someone replaces the socket with a file of their own.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"mine").unwrap();
    ferry.signal("INT");
    let _ = ferry.wait(DEADLINE);
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
}

/// Resident memory of `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn peers_that_never_read_cannot_pin_a_megabyte_each() {
    // The upstream sends and never reads; so does every client.
    let upstream = backend(|mut stream| {
        let chunk = vec![3u8; 64 * 1024];
        while stream.write_all(&chunk).is_ok() {}
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{upstream}"),
        "--serve",
        "--max-buffer-memory",
        "1M",
    ]);
    let port = ferry.port();
    let before = rss(ferry.pid());
    let mut senders = Vec::new();
    for _ in 0..40 {
        let mut client = connect(port);
        client
            .set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        senders.push(thread::spawn(move || {
            let chunk = vec![4u8; 64 * 1024];
            while client.write_all(&chunk).is_ok() {}
            client
        }));
    }
    let clients: Vec<TcpStream> = senders.into_iter().map(|t| t.join().unwrap()).collect();
    thread::sleep(Duration::from_millis(300));
    let grown = rss(ferry.pid()).saturating_sub(before);
    // Unbounded, 40 relays grow to 2 MiB each: 80 MiB. With 1 MiB of budget
    // they hold 16 KiB each plus the budget.
    assert!(
        grown < 24 << 20,
        "ferry grew by {grown} B for 40 stuck relays"
    );
    drop(clients);
}

#[test]
fn max_connections_below_one_is_one_clear_line() {
    for bad in ["-1", "0", "many"] {
        let done = run(&["tcp-listen:0", "null:", "--serve", "--max-connections", bad]);
        assert_eq!(done.code, Some(2), "{bad}: {}", done.stderr);
        assert!(
            done.stderr
                .starts_with(&format!("ferry: bad --max-connections \"{bad}\": ")),
            "{}",
            done.stderr
        );
        assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    }
}

#[test]
fn a_rate_limited_copy_is_not_idle() {
    let done = run(&[
        "zero:",
        "null:",
        "-n",
        "5",
        "-L",
        "1",
        "--idle-timeout",
        "800ms",
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn a_refused_upstream_resets_the_client_and_the_server_goes_on() {
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{}", free_port()),
        "--serve",
    ]);
    let port = ferry.port();
    for _ in 0..3 {
        let mut client = connect(port);
        let (got, ended) = read_all(&mut client);
        assert!(got.is_empty());
        assert_eq!(
            ended.map_err(|err| err.kind()),
            Err(ErrorKind::ConnectionReset),
            "a client whose upstream cannot be reached must not see a clean end"
        );
    }
    ferry.wait_for_line("connection refused");
}

#[test]
fn out_of_file_descriptors_the_server_waits_then_serves_again() {
    // The upstream holds each connection open until the client closes.
    let upstream = backend(|mut stream| {
        let _ = read_all(&mut stream);
    });
    let ferry = Ferry::spawn_shell(&format!(
        "ulimit -n 24 && exec \"$0\" -v tcp-listen:0 tcp:127.0.0.1:{upstream} --serve --zero-copy never"
    ));
    let port = ferry.port();
    // Each relay holds two fds; a dozen of them use up the rest.
    let idle: Vec<TcpStream> = (0..12).map(|_| connect(port)).collect();
    // Out of fds accepting a client or connecting its upstream.
    ferry.wait_for_line("too many open files");
    drop(idle);
    thread::sleep(Duration::from_millis(300));
    let mut client = connect(port);
    client.write_all(b"after").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    // The upstream reads to EOF and closes: a clean end after the bytes.
    let (got, ended) = read_all(&mut client);
    assert!(got.is_empty());
    assert!(ended.is_ok(), "{ended:?}");
    ferry.wait_for_line(" close");
}

#[test]
fn the_shutdown_log_counts_only_relays_still_running() {
    // Finished relays used to be counted until the next accept reaped them.
    let echo = backend(xor_after_eof);
    let upstream = format!("tcp:127.0.0.1:{echo}");
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", &upstream, "--serve"]);
    let port = ferry.port();
    for _ in 0..3 {
        assert_eq!(exchange(&mut connect(port), b"done"), xor(b"done"));
        ferry.wait_for_line(" close");
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(!done.stderr.contains("waiting for"), "{}", done.stderr);

    // One still running is counted.
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", &upstream, "--serve"]);
    let port = ferry.port();
    assert_eq!(exchange(&mut connect(port), b"done"), xor(b"done"));
    ferry.wait_for_line(" close");
    let mut running = connect(port);
    running.write_all(b"still ").unwrap();
    ferry.wait_for_line(" open");
    ferry.signal("INT");
    let line = ferry.wait_for_line("waiting for");
    assert!(line.ends_with("running=1"), "{line}");
    assert_eq!(exchange(&mut running, b"here"), xor(b"still here"));
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn a_relay_cut_off_is_counted_in_words() {
    let echo = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        &format!("tcp:127.0.0.1:{echo}"),
        "--serve",
    ]);
    let _running = connect(ferry.port());
    ferry.wait_for_line(" open");
    ferry.signal("INT");
    ferry.wait_for_line("finishing");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("ferry: stopped with 1 relay still running\n"),
        "{}",
        done.stderr
    );
}

#[test]
fn too_few_file_descriptors_for_max_connections_is_a_warning() {
    // The hard limit is what ferry can raise its own to: 256 fds cannot
    // carry 500 relays of 2 sockets each.
    let ferry = Ferry::spawn_shell(
        "ulimit -n 256 && exec \"$0\" -v tcp-listen:0 tcp:127.0.0.1:9 --serve --max-connections 500",
    );
    let warning = ferry.wait_for_line("warning");
    assert!(
        warning.starts_with("ferry: warning: --max-connections 500 needs about 1,0")
            && warning.contains("file descriptors, but at most 256 can be open"),
        "{warning}"
    );
    ferry.port();
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    // Room enough: no warning.
    let ferry = Ferry::spawn_shell(
        "ulimit -n 4096 && exec \"$0\" -v tcp-listen:0 tcp:127.0.0.1:9 --serve --max-connections 500",
    );
    ferry.port();
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert!(!done.stderr.contains("warning"), "{}", done.stderr);
}

/// Sends `signal` twice, the second after ferry said it is finishing, and
/// checks that the second ends it at once (its --shutdown-timeout is far
/// longer than the test waits).
fn second_signal_ends_at_once(ferry: Ferry, signal: &str) -> Finished {
    ferry.signal(signal);
    ferry.wait_for_line("finishing");
    ferry.signal(signal);
    let done = ferry.wait(Duration::from_secs(5));
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    done
}

#[test]
fn a_second_signal_cuts_programs_off_at_once() {
    for (program, signal) in [("exec:cat", "INT"), ("sh:cat", "TERM")] {
        let ferry = Ferry::spawn(&[
            "-v",
            "tcp-listen:0",
            program,
            "--serve",
            "--shutdown-timeout",
            "10m",
        ]);
        let mut client = connect(ferry.port());
        client.write_all(b"echo me").unwrap();
        let mut echoed = [0; 7];
        client.read_exact(&mut echoed).unwrap();
        second_signal_ends_at_once(ferry, signal);
        let (_, ended) = read_all(&mut client);
        assert!(ended.is_err(), "{program}: a clean EOF after a cut-off");
    }
    // A one-way copy into a program that never reads.
    let ferry = Ferry::spawn(&["zero:", "sh:sleep 600", "--shutdown-timeout", "10m"]);
    thread::sleep(Duration::from_millis(300));
    second_signal_ends_at_once(ferry, "INT");
}

#[test]
fn a_second_signal_ends_a_copy_into_a_fifo_nobody_reads() {
    let dir = TempDir::new("fifo-second-signal");
    let fifo = dir.path("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // A reader that opened the FIFO and never reads: ferry's writes block
    // once it is full.
    let _reader = rustix::fs::open(
        &fifo,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let ferry = Ferry::spawn(&["zero:", &fifo, "--shutdown-timeout", "10m"]);
    thread::sleep(Duration::from_millis(300));
    let done = second_signal_ends_at_once(ferry, "INT");
    assert!(done.stderr.contains("interrupted after"), "{}", done.stderr);
}
