//! `--serve` on one runtime per core, each accepting on a listener of its
//! own: what the threads must share exactly. Every thread listens on the
//! port the first was given; `--max-connections` holds across them;
//! connection ids are unique in the access log; relays cut off by the
//! shutdown are counted on every thread; a Unix socket is served by all
//! and removed once they are all done.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

/// The threads ferry serves on: one per core.
fn cores() -> usize {
    thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// How many sockets listen on 127.0.0.1:`port`, from /proc/net/tcp.
fn listeners_on(port: u16) -> usize {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields[1] == local && fields[3] == "0A"
        })
        .count()
}

/// `clients` clients at once, each sending its own bytes and checking the
/// reply of [`xor_after_eof`].
fn exchange_all(clients: u64, connect: impl Fn() -> TcpStream + Send + Sync + 'static) {
    let connect = Arc::new(connect);
    let clients: Vec<_> = (0..clients)
        .map(|i| {
            let connect = connect.clone();
            thread::spawn(move || {
                let data = random_bytes(4096 + i as usize * 13, 300 + i);
                let reply = exchange(&mut connect(), &data);
                assert!(reply == xor(&data), "client {i} got wrong bytes");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

#[test]
fn every_thread_listens_on_the_port_that_port_0_chose() {
    let backend = backend(xor_after_eof);
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
    ]);
    let port = ferry.port();
    assert_eq!(listeners_on(port), cores());
    exchange_all(40, move || connect(port));
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stderr.matches(" close").count(), 40, "{}", done.stderr);
    assert_eq!(listeners_on(port), 0);
}

#[test]
fn max_connections_holds_exactly_across_threads() {
    // Counts the connections open at once; each is answered at the
    // client's EOF, and leaves the count before it closes, so ferry cannot
    // start the next relay before it is counted out.
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (counted, highest) = (open.clone(), most.clone());
    let backend = backend(move |mut stream: TcpStream| {
        let now = counted.fetch_add(1, Ordering::SeqCst) + 1;
        highest.fetch_max(now, Ordering::SeqCst);
        let mut data = Vec::new();
        let _ = stream.read_to_end(&mut data);
        let _ = stream.write_all(&xor(&data));
        counted.fetch_sub(1, Ordering::SeqCst);
    });
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--max-connections",
        "3",
    ]);
    let port = ferry.port();
    let mut clients: Vec<(TcpStream, Vec<u8>)> = (0..12u64)
        .map(|i| {
            let mut client = connect(port);
            let data = random_bytes(1000 + i as usize, 400 + i);
            client.write_all(&data).unwrap();
            (client, data)
        })
        .collect();
    // Three relays fill the pool; the other nine wait.
    let until = Instant::now() + DEADLINE;
    while open.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < until, "three relays never ran");
        thread::sleep(Duration::from_millis(10));
    }
    for (client, _) in &clients {
        client.shutdown(Shutdown::Write).unwrap();
    }
    for (i, (client, data)) in clients.iter_mut().enumerate() {
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).unwrap();
        assert!(reply == xor(data), "client {i} got wrong bytes");
    }
    assert_eq!(most.load(Ordering::SeqCst), 3);
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stderr.matches(" close").count(), 12, "{}", done.stderr);
}

/// The records of a JSON access log, a line each.
fn access_log(path: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn connection_ids_are_unique_across_threads() {
    let backend = backend(xor_after_eof);
    let dir = TempDir::new("threads-ids");
    let log = dir.path("access.json");
    let ferry = Ferry::spawn(&[
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--access-log",
        &log,
        "--access-log-format",
        "json",
        "-v",
    ]);
    let port = ferry.port();
    exchange_all(200, move || connect(port));
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let ids: Vec<u64> = access_log(&log)
        .iter()
        .map(|record| {
            assert_eq!(record["ending"], "eof", "{record}");
            record["id"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 200);
    let unique: BTreeSet<u64> = ids.into_iter().collect();
    assert_eq!(unique, (1..=200).collect());
}

#[test]
fn relays_cut_off_on_every_thread_are_counted() {
    // Holds each connection until the client's EOF, which never comes.
    let backend = backend(xor_after_eof);
    let dir = TempDir::new("threads-cut");
    let log = dir.path("access.json");
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
        "--shutdown-timeout",
        "300ms",
        "--access-log",
        &log,
        "--access-log-format",
        "json",
    ]);
    let port = ferry.port();
    let held: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut client = connect(port);
            client.write_all(b"held").unwrap();
            client
        })
        .collect();
    for _ in &held {
        ferry.wait_for_line("open id=");
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(
        done.stderr.contains("stopped with 6 relays still running"),
        "{}",
        done.stderr
    );
    let endings: Vec<String> = access_log(&log)
        .iter()
        .map(|record| record["ending"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(endings, vec!["shutdown"; 6]);
    // Each was reset: the relay did not pass for a clean end.
    for mut client in held {
        let mut rest = Vec::new();
        assert!(client.read_to_end(&mut rest).is_err(), "{rest:?}");
    }
}

#[test]
fn a_unix_socket_is_served_by_every_thread_and_removed_at_the_end() {
    let backend = backend(xor_after_eof);
    let dir = TempDir::new("threads-unix");
    let path = dir.path("ferry.sock");
    let ferry = Ferry::spawn(&[
        "-v",
        &format!("unix-listen:{path}"),
        &format!("tcp:127.0.0.1:{backend}"),
        "--serve",
    ]);
    ferry.wait_for_line("listening");
    let clients: Vec<_> = (0..40u64)
        .map(|i| {
            let path = path.clone();
            thread::spawn(move || {
                let mut client = UnixStream::connect(&path).unwrap();
                client.set_read_timeout(Some(DEADLINE)).unwrap();
                let data = random_bytes(3000 + i as usize, 500 + i);
                client.write_all(&data).unwrap();
                client.shutdown(Shutdown::Write).unwrap();
                let mut reply = Vec::new();
                client.read_to_end(&mut reply).unwrap();
                assert!(reply == xor(&data), "client {i} got wrong bytes");
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stderr.matches(" close").count(), 40, "{}", done.stderr);
    assert!(!Path::new(&path).exists());
}
