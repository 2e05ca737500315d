//! UDP: datagrams relayed whole, one flow per client under `--serve`, and
//! stdin lines as datagrams.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

/// Sizes from 0 to 65507 bytes (the IPv4 maximum), mostly small.
fn size(i: u64) -> usize {
    let random = random_bytes(8, 7000 + i);
    let r = u64::from_le_bytes(random.try_into().unwrap());
    match r % 100 {
        0 => 65_507,
        1 => 0,
        2..=9 => (r >> 8) as usize % 65_508,
        _ => (r >> 8) as usize % 1500,
    }
}

#[test]
fn ten_thousand_datagrams_keep_their_boundaries() {
    let (upstream, _seen) = udp_echo();
    let ferry = Ferry::spawn(&[
        "-v",
        "udp-listen:0",
        &format!("udp:127.0.0.1:{upstream}"),
        "--serve",
        "--json",
    ]);
    let port = ferry.port();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(("127.0.0.1", port)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut reply = vec![0; 1 << 16];
    let mut total = 0;
    // One datagram in flight at a time: loopback then drops nothing, so
    // every datagram must come back whole and in order.
    for i in 0..10_000u64 {
        let mut datagram = random_bytes(size(i), i);
        if datagram.len() >= 8 {
            datagram[..8].copy_from_slice(&i.to_le_bytes());
        }
        client.send(&datagram).unwrap();
        let length = client
            .recv(&mut reply)
            .unwrap_or_else(|error| panic!("datagram {i} ({} B): {error}", datagram.len()));
        assert_eq!(length, datagram.len(), "datagram {i} changed size");
        assert!(
            reply[..length] == xor(&datagram)[..],
            "datagram {i} changed"
        );
        total += datagram.len();
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], total);
    assert_eq!(report["dst_to_src"]["bytes"], total);
    assert_eq!(report["connections"], 1);
}

#[test]
fn each_client_address_gets_its_own_flow() {
    let (upstream, _seen) = udp_echo();
    let ferry = Ferry::spawn(&[
        "-v",
        "udp-listen:0",
        &format!("udp:127.0.0.1:{upstream}"),
        "--serve",
        "--idle-timeout",
        "200ms",
        "--stats",
    ]);
    let port = ferry.port();
    let clients: Vec<UdpSocket> = (0..5)
        .map(|_| {
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.connect(("127.0.0.1", port)).unwrap();
            client.set_read_timeout(Some(DEADLINE)).unwrap();
            client
        })
        .collect();
    // Interleaved: each reply goes back to the client that asked.
    for round in 0..3u8 {
        for (i, client) in clients.iter().enumerate() {
            client.send(&[round, i as u8, 1, 2, 3]).unwrap();
        }
        for (i, client) in clients.iter().enumerate() {
            let mut reply = [0; 16];
            let length = client.recv(&mut reply).unwrap();
            assert_eq!(reply[..length], xor(&[round, i as u8, 1, 2, 3])[..]);
        }
    }
    // The flows end once idle.
    for _ in 0..5 {
        ferry.wait_for_line("close");
    }
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("5 connections, 0 failed"),
        "{}",
        done.stderr
    );
}

#[test]
fn stdin_lines_are_one_datagram_each() {
    let (upstream, seen) = udp_echo();
    let done = run_with_stdin(
        &[
            "-",
            &format!("udp:127.0.0.1:{upstream}"),
            "--linger",
            "1s",
            "--json",
        ],
        b"one\ntwo two\n\nlast without newline",
    );
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let datagrams: Vec<Vec<u8>> = seen.try_iter().collect();
    assert_eq!(
        datagrams,
        [&b"one\n"[..], b"two two\n", b"\n", b"last without newline"]
    );
    // The replies, written to stdout as they came.
    assert_eq!(done.stdout, xor(b"one\ntwo two\n\nlast without newline"));
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], 33);
    assert_eq!(report["dst_to_src"]["bytes"], 33);
}

#[test]
fn udp_listen_relays_its_first_sender_to_stdout() {
    let ferry = Ferry::spawn(&["-v", "udp-listen:0", "-", "--idle-timeout", "300ms"]);
    let port = ferry.port();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(b"first ", ("127.0.0.1", port)).unwrap();
    client.send_to(b"second", ("127.0.0.1", port)).unwrap();
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, b"first second");
}

#[test]
fn udp_refuses_a_byte_stream_partner_and_stream_options() {
    let done = run(&["udp-listen:0", "tcp:127.0.0.1:9"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr
            .contains("datagrams go between udp:, udp-listen: and - only"),
        "{}",
        done.stderr
    );
    let done = run(&["-", "udp:127.0.0.1:9", "-L", "1M"]);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr
            .starts_with("ferry: cannot use --rate-limit with UDP"),
        "{}",
        done.stderr
    );
}

#[test]
fn sending_stdin_ends_after_its_eof_and_a_short_linger() {
    // As socat: once stdin ended, replies may come for 0.5 s, then exit 0.
    let (upstream, seen) = udp_echo();
    let done = run_with_stdin(&["-", &format!("udp:127.0.0.1:{upstream}")], b"hello\n");
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(seen.try_iter().collect::<Vec<_>>(), [b"hello\n".to_vec()]);
    assert_eq!(done.stdout, xor(b"hello\n"));
    assert!(
        done.elapsed < Duration::from_secs(5),
        "took {:?}",
        done.elapsed
    );

    // A stdin the shell closed is /dev/null to ferry (see README): it ends
    // at once, as an empty stdin does.
    let ferry = Ferry::spawn_shell(&format!("exec \"$0\" - udp:127.0.0.1:{upstream} <&-"));
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stdout.is_empty());
}
