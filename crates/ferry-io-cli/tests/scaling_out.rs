//! More than one process on a port: two `ferry --serve --reuse-port` share
//! it and both serve, and the second goes on serving while the first
//! drains on SIGTERM; a listening socket passed the systemd way
//! (`LISTEN_FDS`, `LISTEN_PID`, descriptor 3) is served as `fd:3`.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

use common::*;

fn xor(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b ^ 0x5a).collect()
}

#[test]
fn two_servers_with_reuse_port_share_a_port_and_one_drains_while_the_other_serves() {
    let backend = backend(xor_after_eof);
    let upstream = format!("tcp:127.0.0.1:{backend}");
    let first = Ferry::spawn(&[
        "-v",
        "tcp-listen:127.0.0.1:0",
        &upstream,
        "--serve",
        "--reuse-port",
    ]);
    let port = first.port();
    let address = format!("tcp-listen:127.0.0.1:{port}");
    let second = Ferry::spawn(&["-v", &address, &upstream, "--serve", "--reuse-port"]);
    second.wait_for_line("listening");
    // Without --reuse-port the port is taken.
    let refused = run(&[&address, &upstream, "--serve"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("address already in use"),
        "{}",
        refused.stderr
    );

    // The kernel spreads connections by their addresses: with 40, each
    // server gets some unless something is wrong (odds 2 in 10^12).
    for seed in 0..40 {
        let data = random_bytes(10_000, seed);
        assert_eq!(exchange(&mut connect(port), &data), xor(&data));
    }
    let served = |ferry: &Ferry| ferry.stderr_so_far().matches(" close").count();
    let deadline = std::time::Instant::now() + DEADLINE;
    while served(&first) + served(&second) < 40 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(served(&first) > 0 && served(&second) > 0);
    assert_eq!(served(&first) + served(&second), 40);

    // A restart: the old server drains on SIGTERM, the new one serves.
    let mut running = connect(port);
    running.write_all(b"before").unwrap();
    let opens = |ferry: &Ferry| ferry.stderr_so_far().matches(" open").count();
    while opens(&first) + opens(&second) < 41 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    first.signal("TERM");
    first.wait_for_line("finishing");
    // Whichever server took it, the running relay finishes.
    assert_eq!(exchange(&mut running, b" after"), xor(b"before after"));
    let done = first.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    for seed in 0..5 {
        let data = random_bytes(1000, 100 + seed);
        assert_eq!(exchange(&mut connect(port), &data), xor(&data));
    }
}

#[test]
fn a_socket_passed_by_systemd_is_served_as_fd_3() {
    let backend = backend(xor_after_eof);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ferry = passed_as_fd_3(
        &listener,
        &format!("-v fd:3 tcp:127.0.0.1:{backend} --serve"),
    );
    drop(listener);
    let line = ferry.wait_for_line("listening");
    assert!(
        line.contains(&format!("tcp-listen:127.0.0.1:{port}")),
        "{line}"
    );
    for seed in 0..3 {
        let data = random_bytes(50_000, seed);
        assert_eq!(exchange(&mut connect(port), &data), xor(&data));
    }
}

/// `ferry ARGS` given `listener` as systemd gives one: descriptor 3, with
/// LISTEN_FDS and LISTEN_PID set.
fn passed_as_fd_3(listener: &TcpListener, args: &str) -> Ferry {
    // A copy the shell inherits (dup does not set close-on-exec); the
    // shell moves it to 3 and becomes ferry, keeping its pid for LISTEN_PID.
    let inherited = rustix::io::dup(listener).unwrap();
    let fd = inherited.as_raw_fd();
    let to_3 = match fd {
        3 => String::new(),
        fd => format!("exec 3<&{fd} {fd}<&- && "),
    };
    Ferry::spawn_shell(&format!(
        "{to_3}export LISTEN_FDS=1 LISTEN_PID=$$ && exec \"$0\" {args}"
    ))
}

#[test]
fn asking_for_a_socket_past_those_passed_counts_them_in_words() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ferry = passed_as_fd_3(&listener, "fd:4 tcp:127.0.0.1:1 --serve");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        "ferry: cannot listen on fd:4: 1 socket was passed: fd:3\n"
    );
}

#[test]
fn fd_without_a_passed_socket_is_one_clear_line() {
    let done = run(&["fd:3", "tcp:127.0.0.1:1", "--serve"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        "ferry: cannot listen on fd:3: no socket was passed (LISTEN_FDS is not set, or LISTEN_PID names another process)\n"
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .args(["fd:4", "tcp:127.0.0.1:1", "--serve"])
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1");
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("LISTEN_PID names another process"));
    let done = run(&["fd:2", "null:"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("expected fd:N"), "{}", done.stderr);
}
