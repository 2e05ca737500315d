//! What ferry does to the files and streams it is given: it never destroys a
//! destination before the copy can start, never copies a file onto itself,
//! reads and writes FIFOs and devices as streams, and counts only what landed.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;

use common::*;

/// Runs `sh -c SCRIPT` with `$0` set to the ferry binary, for redirections
/// the test harness cannot express (`>&-`, `>> file`).
fn shell(script: &str) -> Finished {
    let started = std::time::Instant::now();
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ferry"))
        .stdin(Stdio::null())
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "ferry panicked:\n{stderr}");
    Finished {
        code: output.status.code(),
        stdout: output.stdout,
        stderr,
        elapsed: started.elapsed(),
    }
}

fn mkfifo(path: &str) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[test]
fn destination_is_untouched_until_the_source_is_there() {
    let dir = TempDir::new("untouched");
    let data = random_bytes(100_000, 3);
    std::fs::write(dir.path("keep"), &data).unwrap();
    let nobody = free_port();
    let done = run(&[&format!("tcp:127.0.0.1:{nobody}"), &dir.path("keep")]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("keep")).unwrap(), data);

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let done = run(&[&format!("tcp-listen:{port}"), &dir.path("keep")]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("keep")).unwrap(), data);

    // A file ferry created for a copy that never started is removed again.
    let done = run(&[&format!("tcp:127.0.0.1:{nobody}"), &dir.path("new")]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(!std::path::Path::new(&dir.path("new")).exists());
}

#[test]
fn a_file_is_never_copied_onto_itself() {
    let dir = TempDir::new("same-file");
    let data = random_bytes(50_000, 4);
    let file = dir.path("same");
    std::fs::write(&file, &data).unwrap();
    let link = dir.path("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for args in [
        vec![file.as_str(), file.as_str()],
        vec![file.as_str(), link.as_str()],
        vec![file.as_str(), file.as_str(), "--append"],
    ] {
        let done = run(&args);
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        assert!(
            done.stderr.contains("they are the same file"),
            "{}",
            done.stderr
        );
    }
    for script in [
        format!("exec \"$0\" - {file} < {file}"),
        format!("exec \"$0\" {file} - >> {file}"),
    ] {
        let done = shell(&script);
        assert_eq!(done.code, Some(2), "{script}: {}", done.stderr);
        assert!(
            done.stderr.contains("they are the same file"),
            "{}",
            done.stderr
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), data);
}

#[test]
fn fifos_are_read_and_written_as_streams() {
    let dir = TempDir::new("fifos");
    let data = random_bytes(3 << 20, 5);

    let source = dir.path("source.fifo");
    mkfifo(&source);
    let feeder = {
        let (source, data) = (source.clone(), data.clone());
        thread::spawn(move || std::fs::write(source, data).unwrap())
    };
    let done = run(&[&source, &dir.path("from-fifo")]);
    feeder.join().unwrap();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("from-fifo")).unwrap(), data);

    let sink = dir.path("sink.fifo");
    mkfifo(&sink);
    let reader = {
        let sink = sink.clone();
        thread::spawn(move || std::fs::read(sink).unwrap())
    };
    std::fs::write(dir.path("in"), &data).unwrap();
    let done = run(&[&dir.path("in"), &sink, "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(reader.join().unwrap(), data);
    assert!(
        done.stderr.contains("\"path\":\"buffered\""),
        "{}",
        done.stderr
    );
}

#[test]
fn dev_stdin_and_dev_stdout_work_like_dash() {
    let data = random_bytes(1 << 20, 6);
    let done = run_with_stdin(&["/dev/stdin", "/dev/stdout"], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stdout, data);
}

#[test]
fn a_full_device_fails_with_the_bytes_that_landed() {
    let done = run(&["zero:", "/dev/full", "-n", "1M", "--json"]);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let report = done.json();
    assert_eq!(report["src_to_dst"]["bytes"], 0, "{report}");
    assert!(
        done.stderr.contains("write to DST failed after 0 B"),
        "{}",
        done.stderr
    );
}

#[test]
fn dev_null_opened_read_write_is_a_real_dev_null() {
    // Python's subprocess.DEVNULL and daemon(3) open /dev/null read-write,
    // exactly as Rust's runtime reopens a closed fd 0-2: ferry cannot tell
    // them apart, so every /dev/null is taken for what it is.
    let dir = TempDir::new("dev-null");
    std::fs::write(dir.path("in"), b"data").unwrap();
    let dev_null = || {
        std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .unwrap()
    };
    let status = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .stdin(dev_null())
            .stdout(dev_null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    let out = dir.path("out");
    let (code, stderr) = status(&["-", &out, "--stats"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.starts_with("ferry: 0 B in "), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"");
    let (code, stderr) = status(&[&dir.path("in"), "-", "--stats"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.starts_with("ferry: 4 B in "), "{stderr}");
    let (code, stderr) = status(&["-", "null:"]);
    assert_eq!(code, Some(0), "{stderr}");

    // And so is a stream the shell closed.
    let done = shell(&format!("exec \"$0\" {} - >&-", dir.path("in")));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let done = shell(&format!("exec \"$0\" - {} <&-", out));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
}

#[test]
fn generated_texts_report_a_failed_write() {
    for script in [
        "exec \"$0\" completions zsh > /dev/full",
        "exec \"$0\" man > /dev/full",
    ] {
        let done = shell(script);
        assert_eq!(done.code, Some(1), "{script}: {}", done.stderr);
        assert!(
            done.stderr.starts_with("ferry: cannot write"),
            "{}",
            done.stderr
        );
    }
}

#[test]
fn progress_without_a_terminal_is_a_line_a_second() {
    let done = run(&["zero:", "null:", "-n", "3M", "-L", "1M", "-p"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let lines: Vec<&str> = done
        .stderr
        .lines()
        .filter(|line| line.contains("/s, "))
        .collect();
    assert!(lines.len() >= 2, "{}", done.stderr);
    assert!(
        lines[0].starts_with("ferry: ") && lines[0].contains('%'),
        "{}",
        lines[0]
    );
}

#[test]
fn stdout_pipe_closed_by_the_reader_is_a_failure() {
    let mut ferry = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["zero:", "-", "-n", "100M"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = ferry.stdout.take().unwrap();
    let mut first = [0; 10];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    ferry
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = ferry.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken pipe"), "{stderr}");
}

#[test]
fn a_kernel_refusal_leaves_the_destination_as_it_was() {
    let dir = TempDir::new("refusal");
    std::fs::write(dir.path("keep"), b"precious").unwrap();
    let done = run(&["/proc/version", &dir.path("keep"), "--zero-copy", "always"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(std::fs::read(dir.path("keep")).unwrap(), b"precious");
    let done = run(&["/proc/version", &dir.path("new"), "--zero-copy", "always"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(!std::path::Path::new(&dir.path("new")).exists());
}

#[test]
fn memory_devices_given_as_paths_are_read_and_written_exactly() {
    let dir = TempDir::new("devices");
    let out = dir.path("out");
    let done = run(&["/dev/zero", &out, "-n", "3M", "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.json()["bytes"], 3 << 20);
    let written = std::fs::read(&out).unwrap();
    assert!(written.len() == 3 << 20 && written.iter().all(|&b| b == 0));
    let done = run(&["/dev/urandom", "/dev/null", "-n", "1M", "--json"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.json()["bytes"], 1 << 20);
    // /dev/full refuses every byte: a failed write, counted as nothing.
    let done = run(&["zero:", "/dev/full", "-n", "1M"]);
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(
        done.stderr,
        "ferry: write to DST failed after 0 B: no space left on device\n"
    );
}

#[test]
fn a_pipe_reader_that_left_after_the_last_byte_is_no_failure() {
    // `head -c N` took every byte and exited before ferry found its
    // stdin's EOF: the EPIPE that splice gives first is not a failure.
    let (stdin, feeder) = rustix::pipe::pipe().unwrap();
    drop(feeder);
    let (reader, stdout) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["-", "-", "--json"])
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("\"path\":\"splice\""), "{stderr}");
}
