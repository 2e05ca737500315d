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
fn tcp_relay_splices_only_when_told_to() {
    // Under auto, socket pairs relay through 1 MiB buffers (faster than
    // splice for one flow on loopback); always splices them.
    let backend = backend(xor_after_eof);
    for (mode, path) in [("always", "splice"), ("auto", "buffered")] {
        let ferry = Ferry::spawn(&[
            "-v",
            "tcp-listen:0",
            &format!("tcp:127.0.0.1:{backend}"),
            "--json",
            "--zero-copy",
            mode,
        ]);
        let data = random_bytes((2 << 20) + 7, 42);
        let reply = exchange(&mut connect(ferry.port()), &data);
        assert!(reply.iter().zip(&data).all(|(r, d)| *r == d ^ 0x5a) && reply.len() == data.len());
        let done = ferry.wait(DEADLINE);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        let report = done.json();
        assert_eq!(report["path"], path, "{mode}");
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
