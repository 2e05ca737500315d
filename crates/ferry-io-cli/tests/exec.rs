//! Program ends (`exec:`, `sh:`): bytes through a program, its exit status,
//! and no program left behind, alive or as a zombie.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// The children of `pid` in /proc, with their state (`Z` for a zombie).
fn children(pid: u32) -> Vec<(u32, char)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().and_then(|state| state.chars().next());
        let parent = fields.next().and_then(|parent| parent.parse::<u32>().ok());
        if let (Some(state), Some(parent)) = (state, parent) {
            if parent == pid {
                found.push((child, state));
            }
        }
    }
    found
}

/// Waits until `pid` has no children left; fails with what is left.
fn assert_no_children_soon(pid: u32) {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let left = children(pid);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < until,
            "ferry still has children (pid, state): {left:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_cat_echoes_exact_bytes() {
    let data = random_bytes(3 << 20, 20);
    let done = run_with_stdin(&["-", "exec:cat", "--json"], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stdout == data, "cat's output differs");
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], data.len());
    assert_eq!(report["dst_to_src"]["bytes"], data.len());
    assert_eq!(report["program"]["exit_status"], 0);
}

#[test]
fn exec_splits_arguments_like_a_shell_without_one() {
    let done = run(&["exec:printf '%s|' 'a b' \"c d\" $HOME", "-"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, b"a b|c d|$HOME|");
}

#[test]
fn sh_runs_through_the_shell() {
    let done = run_with_stdin(&["-", "sh:tr a-z A-Z | rev"], b"ferry\n");
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, b"YRREF\n");
}

#[test]
fn exec_false_reports_failure() {
    let done = run_with_stdin(&["-", "exec:false", "--json"], b"");
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["program"]["exit_status"], 1);
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["error"]["message"], "DST exited with status 1");
    let done = run_with_stdin(&["-", "exec:false"], b"");
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert!(
        done.stderr.contains("ferry: DST exited with status 1"),
        "{}",
        done.stderr
    );

    // As a source of a one-way copy, and with a status of its own.
    let done = run(&["sh:echo partial; exit 7", "-", "--json"]);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(done.stdout, b"partial\n");
    assert_eq!(done.json()["program"]["exit_status"], 7);
}

#[test]
fn a_program_that_cannot_start_is_bad_input() {
    let done = run(&["exec:/nonexistent/program", "null:"]);
    assert_eq!(done.code, Some(2));
    assert_eq!(
        done.stderr,
        "ferry: cannot run exec:/nonexistent/program: no such file or directory\n"
    );
}

#[test]
fn a_program_that_stops_reading_ends_its_input_not_the_relay() {
    // head exits after 10 bytes; the rest of stdin is read and dropped, not
    // counted, and head's output still arrives.
    let data = random_bytes(1 << 20, 21);
    let done = run_with_stdin(&["-", "exec:head -c 10", "--json"], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, &data[..10]);
    let report = done.json();
    assert_eq!(report["dst_to_src"]["bytes"], 10);
    assert!(report["src_to_dst"]["bytes"].as_u64().unwrap() < data.len() as u64);
    assert_eq!(report["program"]["exit_status"], 0);
}

#[test]
fn a_limit_stops_an_endless_program_without_failing() {
    // yes never ends; after --limit ferry stops reading and yes dies of
    // SIGPIPE, as under `yes | head -c`.
    let done = run(&["exec:yes", "-", "-n", "100K", "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout.len(), 100 << 10);
    assert!(done.stdout.starts_with(b"y\ny\n"));
    assert_eq!(done.json()["program"]["signal"], 13);
}

#[test]
fn serve_runs_one_program_per_connection_and_leaves_no_zombie() {
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", "exec:cat", "--serve", "--stats"]);
    let port = ferry.port();
    // 200 connections, 20 at a time.
    for batch in 0..10u64 {
        let clients: Vec<_> = (0..20u64)
            .map(|i| {
                let seed = batch * 20 + i;
                thread::spawn(move || {
                    let data = random_bytes(4096 + seed as usize * 61, 300 + seed);
                    let echo = exchange(&mut connect(port), &data);
                    assert!(echo == data, "client {seed} got wrong bytes");
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
    }
    assert_no_children_soon(ferry.pid());
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("200 connections, 0 failed"),
        "{}",
        done.stderr
    );
}

#[test]
fn idle_timeout_kills_the_connection_program() {
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        "exec:sleep 600",
        "--serve",
        "--idle-timeout",
        "300ms",
    ]);
    let mut client = connect(ferry.port());
    ferry.wait_for_line("open");
    let started = Instant::now();
    let reply = exchange_without_closing(&mut client);
    assert!(reply.is_empty());
    assert!(started.elapsed() < DEADLINE);
    ferry.wait_for_line("idle timeout");
    assert_no_children_soon(ferry.pid());
}

#[test]
fn shutdown_kills_running_programs() {
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", "exec:sleep 600", "--serve"]);
    let _client = connect(ferry.port());
    ferry.wait_for_line("open");
    let pid = ferry.pid();
    let until = Instant::now() + DEADLINE;
    while children(pid).is_empty() {
        assert!(Instant::now() < until, "no program started");
        thread::sleep(Duration::from_millis(10));
    }
    let sleeper = children(pid)[0].0;
    // The first signal waits for running relays; the second cuts them off.
    ferry.signal("INT");
    ferry.wait_for_line("stopping");
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let until = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{sleeper}")).exists()
        && !std::fs::read_to_string(format!("/proc/{sleeper}/stat"))
            .is_ok_and(|stat| stat.contains(") Z "))
    {
        assert!(Instant::now() < until, "the program outlived ferry");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Reads until EOF without closing the write side first.
fn exchange_without_closing(stream: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    got
}

/// Every process below `pid` (children, their children...).
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for (child, _) in children(parent) {
            found.push(child);
            parents.push(child);
        }
    }
    found
}

/// Whether `pid` is gone or a zombie (dead, waiting to be reaped).
fn dead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| stat.contains(") Z "))
}

/// Waits until each of `pids` is dead; fails with those still alive.
fn assert_dead_soon(pids: &[u32]) {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|pid| !dead(*pid)).collect();
        if alive.is_empty() {
            return;
        }
        assert!(Instant::now() < until, "still running: {alive:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `pid` has at least `count` descendants and returns them.
fn wait_for_descendants(pid: u32, count: usize) -> Vec<u32> {
    let until = Instant::now() + DEADLINE;
    loop {
        let found = descendants(pid);
        if found.len() >= count {
            return found;
        }
        assert!(Instant::now() < until, "only {found:?} started");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads until EOF or an error: the bytes, and how it ended.
fn read_all(stream: &mut std::net::TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    use std::io::Read;
    let mut got = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(err) => return (got, Err(err)),
        }
    }
}

#[test]
fn a_failed_upstream_program_resets_the_client() {
    // The client must not take a truncated response for a complete one:
    // no EOF until the program's status is known, a reset when it failed.
    for (program, half_close) in [
        ("sh:echo partial-response; exit 1", false),
        ("sh:echo partial-response; kill -SEGV $$", false),
        ("sh:cat >/dev/null; echo partial-response; exit 3", true),
    ] {
        let ferry = Ferry::spawn(&["-v", "tcp-listen:0", program, "--serve"]);
        let mut client = connect(ferry.port());
        if half_close {
            client.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let (got, ended) = read_all(&mut client);
        assert!(
            b"partial-response\n".starts_with(&got),
            "{program}: got {got:?}"
        );
        let error = ended.expect_err(&format!("{program}: the client read a clean EOF"));
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::ConnectionReset,
            "{program}"
        );
        ferry.wait_for_line("close");
        ferry.signal("INT");
        let done = ferry.wait(DEADLINE);
        assert!(
            done.stderr.contains("ending=error")
                && (done.stderr.contains("DST exited with status")
                    || done.stderr.contains("DST was killed by signal 11")),
            "{program}: {}",
            done.stderr
        );
    }
    // A program that succeeds still ends the client with a clean EOF.
    let ferry = Ferry::spawn(&["-v", "tcp-listen:0", "sh:echo complete", "--serve"]);
    let mut client = connect(ferry.port());
    let (got, ended) = read_all(&mut client);
    assert_eq!(got, b"complete\n");
    assert!(ended.is_ok(), "{ended:?}");
}

#[test]
fn a_one_way_copy_into_a_program_that_exited_ends_well() {
    // As `cat /dev/zero | head -c 5`: the program decides, and ferry stops
    // reading instead of spinning on an endless source.
    for program in ["exec:true", "sh:head -c 5 >/dev/null"] {
        let done = Ferry::spawn(&["zero:", program, "--json"]).wait(DEADLINE);
        assert_eq!(done.code, Some(0), "{program}: {}", done.stderr);
        let report = done.json();
        assert_eq!(report["program"]["exit_status"], 0, "{program}");
        assert_eq!(report["error"], serde_json::Value::Null, "{program}");
    }
    // A program that fails still fails the copy, once.
    let done =
        Ferry::spawn(&["zero:", "sh:head -c 5 >/dev/null; exit 4", "--stats"]).wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(
        done.stderr.matches("DST exited with status 4").count(),
        1,
        "{}",
        done.stderr
    );
}

#[test]
fn stats_tell_an_interrupted_copys_failure_once() {
    let ferry = Ferry::spawn(&["zero:", "sh:sleep 60", "--stats"]);
    wait_for_descendants(ferry.pid(), 1);
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(
        done.stderr.matches("interrupted after").count(),
        1,
        "{}",
        done.stderr
    );
}

#[test]
fn a_programs_own_children_end_with_it() {
    // sh runs sleep as a child of its own; cutting the relay off (shutdown),
    // an idle timeout and a failed relay must end sleep too, not leave it
    // to init.
    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        "sh:sleep 77; true",
        "--serve",
        "--shutdown-timeout",
        "1s",
    ]);
    let _client = connect(ferry.port());
    let programs = wait_for_descendants(ferry.pid(), 2);
    ferry.signal("TERM");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_dead_soon(&programs);

    let ferry = Ferry::spawn(&[
        "-v",
        "tcp-listen:0",
        "sh:sleep 77; true",
        "--serve",
        "--idle-timeout",
        "300ms",
    ]);
    let _client = connect(ferry.port());
    let programs = wait_for_descendants(ferry.pid(), 2);
    ferry.wait_for_line("idle-timeout");
    assert_dead_soon(&programs);
    ferry.signal("INT");
    let done = ferry.wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}
