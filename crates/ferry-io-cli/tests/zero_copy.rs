//! `--zero-copy`: which path the bytes took, byte-exact either way, and
//! `always` refused where the kernel cannot help.

#![cfg(target_os = "linux")]

mod common;

use common::*;

#[test]
fn file_to_file_uses_copy_file_range_unless_told_not_to() {
    let dir = TempDir::new("zero-copy-files");
    let data = random_bytes((5 << 20) + 3, 40);
    std::fs::write(dir.path("in"), &data).unwrap();
    for (mode, path) in [
        ("auto", "copy_file_range"),
        ("never", "buffered"),
        ("always", "copy_file_range"),
    ] {
        let out = dir.path(&format!("out-{mode}"));
        let done = run(&[&dir.path("in"), &out, "--json", "--zero-copy", mode]);
        assert_eq!(done.code, Some(0), "{mode}: {}", done.stderr);
        let report = done.json();
        assert_eq!(report["path"], path, "{mode}");
        assert_eq!(report["bytes"], data.len());
        assert!(
            std::fs::read(&out).unwrap() == data,
            "{mode}: content differs"
        );
    }
}

#[test]
fn file_to_tcp_uses_sendfile() {
    let dir = TempDir::new("zero-copy-sendfile");
    let data = random_bytes(3 << 20, 41);
    std::fs::write(dir.path("in"), &data).unwrap();
    let (send, received) = std::sync::mpsc::channel();
    let port = backend(move |mut stream| {
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut got).unwrap();
        send.send(got).unwrap();
    });
    let done = run(&[&dir.path("in"), &format!("tcp:127.0.0.1:{port}"), "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.json()["path"], "sendfile");
    assert!(received.recv_timeout(DEADLINE).unwrap() == data);
}

#[test]
fn tcp_relay_splices_streams_unless_told_not_to() {
    // Under auto a socket pair starts in memory and each direction that
    // streams moves to splice; always splices from the start, never not at all.
    let backend = backend(xor_after_eof);
    for (mode, size, path) in [
        ("always", (2 << 20) + 7, "splice"),
        ("auto", (2 << 20) + 7, "splice"),
        ("auto", 1000, "buffered"),
        ("never", (2 << 20) + 7, "buffered"),
    ] {
        let ferry = Ferry::spawn(&[
            "-v",
            "tcp-listen:0",
            &format!("tcp:127.0.0.1:{backend}"),
            "--json",
            "--zero-copy",
            mode,
        ]);
        let data = random_bytes(size, 42);
        let reply = exchange(&mut connect(ferry.port()), &data);
        assert!(reply.iter().zip(&data).all(|(r, d)| *r == d ^ 0x5a) && reply.len() == data.len());
        let done = ferry.wait(DEADLINE);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        let report = done.json();
        assert_eq!(report["path"], path, "{mode}, {size} B");
        assert_eq!(report["src_to_dst"]["bytes"], data.len());
        assert_eq!(report["dst_to_src"]["bytes"], data.len());
    }
}

#[test]
fn always_is_refused_when_an_end_is_not_a_file_or_socket() {
    let done = run(&["zero:", "null:", "-n", "1K", "--zero-copy", "always"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains("--zero-copy always"),
        "{}",
        done.stderr
    );
    let done = run(&["zero:", "null:", "-n", "1K", "--zero-copy", "sometimes"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("sometimes"), "{}", done.stderr);
}

#[test]
fn pipes_from_stdin_to_stdout_are_spliced() {
    // The test's stdin and stdout for ferry are pipes.
    let data = random_bytes((3 << 20) + 5, 43);
    for mode in ["auto", "always"] {
        let done = run_with_stdin(&["-", "-", "--json", "--zero-copy", mode], &data);
        assert_eq!(done.code, Some(0), "{mode}: {}", done.stderr);
        assert_eq!(done.json()["path"], "splice", "{mode}");
        assert!(done.stdout == data, "{mode}: content differs");
    }
}

#[test]
fn a_file_on_stdin_is_a_file_and_a_device_is_refused_by_always() {
    let dir = TempDir::new("zero-copy-stdin-file");
    let data = random_bytes(1 << 20, 44);
    std::fs::write(dir.path("in"), &data).unwrap();
    // stdout is a pipe: the file is sent to it, from where the shell left
    // stdin's offset, and the size is known.
    let done = Ferry::spawn_shell(&format!(
        "exec \"$0\" - - --zero-copy always --json < {}",
        dir.path("in")
    ))
    .wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.json()["path"], "sendfile");
    assert!(done.stdout == data);
    let done =
        Ferry::spawn_shell("exec \"$0\" - - -n 1K --zero-copy always < /dev/zero").wait(DEADLINE);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr.contains("cannot use --zero-copy always here"),
        "{}",
        done.stderr
    );
}

#[test]
fn stdin_and_stdout_flags_are_put_back_at_exit() {
    // ferry makes its stdin and stdout pipes non-blocking; the commands
    // after it share those pipes and must find them as they were. The
    // flags are read from /proc as octal; O_NONBLOCK is 04000.
    let script = r#"printf 'abcdef' | { "$0" -q -n 3 - -; echo; grep flags /proc/self/fdinfo/0; grep flags /proc/self/fdinfo/1 >&2; cat; } | cat"#;
    let done = Ferry::spawn_shell(script).wait(DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let stdout = String::from_utf8(done.stdout).unwrap();
    assert!(stdout.starts_with("abc\n"), "{stdout:?}");
    assert!(stdout.ends_with("def"), "{stdout:?}");
    let flags: Vec<u32> = stdout
        .lines()
        .chain(done.stderr.lines())
        .filter_map(|line| line.strip_prefix("flags:"))
        .map(|octal| u32::from_str_radix(octal.trim(), 8).unwrap())
        .collect();
    assert_eq!(flags.len(), 2, "{stdout:?} {}", done.stderr);
    assert!(
        flags.iter().all(|flags| flags & 0o4000 == 0),
        "left non-blocking: {flags:?}"
    );
}
