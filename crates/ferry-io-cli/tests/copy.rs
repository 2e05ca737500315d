//! One-way copies between files, stdio, sockets, `zero:` and `null:`, with
//! limits, rates and the `--json` summary.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn file_to_file_copies_every_byte() {
    let dir = TempDir::new("f2f");
    let data = random_bytes(3 << 20, 1);
    std::fs::write(dir.path("in"), &data).unwrap();
    let done = run(&[&dir.path("in"), &format!("file:{}", dir.path("out"))]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), data);
    assert!(done.stderr.is_empty(), "stderr not empty: {}", done.stderr);
}

#[test]
fn destination_file_is_truncated_unless_append() {
    let dir = TempDir::new("append");
    std::fs::write(dir.path("in"), b"new").unwrap();
    std::fs::write(dir.path("out"), b"old old old").unwrap();
    assert_eq!(run(&[&dir.path("in"), &dir.path("out")]).code, Some(0));
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), b"new");
    assert_eq!(
        run(&["--append", &dir.path("in"), &dir.path("out")]).code,
        Some(0)
    );
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), b"newnew");
}

#[test]
fn stdin_to_stdout_and_files() {
    let dir = TempDir::new("stdio");
    let data = random_bytes(1 << 20, 2);
    let done = run_with_stdin(&["-", "-"], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, data);

    let done = run_with_stdin(&["-", &dir.path("out")], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), data);

    let done = run(&[&dir.path("out"), "-"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, data);
}

#[test]
fn zero_to_null_stops_at_the_limit_and_reports_json() {
    let done = run(&["zero:", "null:", "--limit", "10M", "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], 10 << 20);
    assert_eq!(report["dst_to_src"]["bytes"], 0);
    assert_eq!(report["bytes"], 10 << 20);
    assert!(report["error"].is_null());
    assert!(report["seconds"].as_f64().unwrap() >= 0.0);
    assert!(report["bytes_per_second"].as_u64().unwrap() > 0);
}

#[test]
fn limit_cuts_a_file_copy_at_exactly_that_many_bytes() {
    let dir = TempDir::new("limit");
    let data = random_bytes(100_000, 3);
    std::fs::write(dir.path("in"), &data).unwrap();
    let done = run(&[&dir.path("in"), &dir.path("out"), "-n", "1K", "--stats"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), &data[..1024]);
    assert!(done.stderr.starts_with("ferry: 1"), "{}", done.stderr);

    let done = run(&["zero:", &dir.path("zeros"), "-n", "1MB"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        std::fs::metadata(dir.path("zeros")).unwrap().len(),
        1_000_000
    );
}

#[test]
fn rate_limit_holds_within_ten_percent() {
    let started = Instant::now();
    let done = run(&["zero:", "null:", "-n", "2M", "-L", "1M", "--json"]);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.json()["bytes"], 2 << 20);
    assert!(
        (1.8..2.3).contains(&elapsed),
        "2 MiB at 1 MiB/s took {elapsed:.2} s"
    );
}

#[test]
fn file_to_tcp_connect_and_tcp_listen_to_file() {
    let dir = TempDir::new("tcp");
    let data = random_bytes(2 << 20, 4);
    std::fs::write(dir.path("in"), &data).unwrap();

    // ferry connects out and sends the file, then closes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        got
    });
    let done = run(&[&dir.path("in"), &format!("tcp:127.0.0.1:{port}")]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(receiver.join().unwrap(), data);

    // ferry accepts one connection and writes what it receives to a file.
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", &dir.path("out")]);
    let mut stream = connect(ferry.port());
    stream.write_all(&data).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), data);
}

#[test]
fn file_served_to_one_tcp_client_then_exit() {
    let dir = TempDir::new("serve-file");
    let data = random_bytes(1 << 20, 5);
    std::fs::write(dir.path("in"), &data).unwrap();
    let ferry = Ferry::spawn(&["-v", &dir.path("in"), "tcp-listen:0"]);
    let mut stream = connect(ferry.port());
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    assert_eq!(got, data);
    assert_eq!(ferry.wait(DEADLINE).code, Some(0));
}

#[test]
fn ipv6_loopback_connect() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("note: no IPv6 loopback here; skipping");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let receiver = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        got
    });
    let done = run(&["zero:", &format!("tcp:[::1]:{port}"), "-n", "64K"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(receiver.join().unwrap(), vec![0; 64 << 10]);
}

#[test]
fn unix_listen_to_file_and_file_to_unix() {
    let dir = TempDir::new("unix");
    let data = random_bytes(1 << 20, 6);
    let socket = dir.path("sock");
    // A stale socket file (nobody listens) is removed and replaced.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let ferry = Ferry::spawn(&["-v", &format!("unix-listen:{socket}"), &dir.path("out")]);
    ferry.wait_for_line("listening");
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream.write_all(&data).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), data);
    assert!(
        !std::path::Path::new(&socket).exists(),
        "socket file left behind"
    );

    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let receiver = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        got
    });
    let done = run(&[&dir.path("out"), &format!("unix:{socket}")]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(receiver.join().unwrap(), data);
}

#[test]
fn peer_reset_exits_1_with_counts_in_json() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut some = vec![0; 256 << 10];
        let _ = stream.read_exact(&mut some);
        // Closing with unread data makes the kernel send a reset.
        drop(stream);
    });
    let done = run(&["zero:", &format!("tcp:127.0.0.1:{port}"), "--json"]);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let report = done.json();
    assert!(report["src_to_dst"]["bytes"].as_u64().unwrap() >= 256 << 10);
    let error = &report["error"];
    let message = error["message"].as_str().expect("an error");
    assert!(message.contains("write to DST failed after"), "{message}");
    assert_eq!(error["step"], "write");
    assert_eq!(error["direction"], "src_to_dst");
    assert!(
        matches!(
            error["kind"].as_str(),
            Some("connection_reset" | "broken_pipe")
        ),
        "{error}"
    );
    // With --json the failure is in the object alone.
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
}

#[test]
fn completions_and_man_page_come_from_the_flags() {
    let done = run(&["completions", "bash"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let script = String::from_utf8(done.stdout).unwrap();
    assert!(script.contains("--rate-limit-per-connection"));
    let done = run(&["man"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let page = String::from_utf8(done.stdout).unwrap();
    assert!(
        page.contains(".TH FERRY 1") && page.contains("idle\\-timeout"),
        "{page}"
    );
    let _ = Duration::ZERO;
}

#[test]
fn tcp_connect_to_file_downloads_until_eof() {
    let dir = TempDir::new("download");
    let data = random_bytes(1 << 20, 7);
    let sent = data.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(&sent).unwrap();
    });
    let done = run(&[
        &format!("tcp:localhost:{port}"),
        &dir.path("out"),
        "--stats",
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("out")).unwrap(), data);
    assert!(
        done.stderr.starts_with("ferry: 1.0 MiB in "),
        "{}",
        done.stderr
    );
}

// A tokio file answers its first read with Pending (the read runs on the
// blocking pool); the rate limiter must not charge such a read twice (an
// earlier library version did, and a file source ran at half the rate).
#[test]
fn rate_limit_holds_for_a_file_source() {
    let dir = TempDir::new("file-rate");
    std::fs::write(dir.path("in"), vec![7; 2 << 20]).unwrap();
    let started = Instant::now();
    let done = run(&[&dir.path("in"), "null:", "-L", "1M"]);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        (1.8..2.2).contains(&elapsed),
        "2 MiB at 1 MiB/s took {elapsed:.2} s"
    );
}
