//! Progress as a person sees it: the bar rendered into a real
//! pseudo-terminal shows the current rate, 0 B/s while the source stalls,
//! and is never drawn among data going to the same terminal; lines and
//! numbers where there is no terminal.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Guard, TempDir, DEADLINE};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcsetwinsize, Winsize};

/// A pseudo-terminal: what the program writes to `terminal` is read from
/// the controller side into `screen`, on a thread.
struct Pty {
    terminal: Option<OwnedFd>,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Pty {
    fn open() -> Pty {
        let controller =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&controller).expect("grantpt");
        unlockpt(&controller).expect("unlockpt");
        let name = ptsname(&controller, Vec::new()).expect("ptsname");
        let terminal: OwnedFd = File::options()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .expect("open the terminal side")
            .into();
        let size = Winsize {
            ws_row: 24,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&terminal, size).expect("set the window size");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let seen = screen.clone();
        let mut controller = File::from(controller);
        // Reads until every terminal fd is closed (EIO) .
        let reader = thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n) = controller.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Pty {
            terminal: Some(terminal),
            screen,
            reader: Some(reader),
        }
    }

    fn stdio(&self) -> Stdio {
        Stdio::from(self.terminal.as_ref().unwrap().try_clone().unwrap())
    }

    /// Everything shown so far, with escape sequences.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Closes this side's terminal fd and waits for the reader to see the
    /// last byte (once the child has exited too).
    fn finish(mut self) -> String {
        self.terminal.take();
        self.reader.take().unwrap().join().unwrap();
        self.shown()
    }

    /// Waits until what is shown after `from` satisfies `done`.
    fn wait_for(&self, from: usize, what: &str, done: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            let shown = self.shown();
            let tail = shown.get(from..).unwrap_or("").to_string();
            if done(&tail) {
                return tail;
            }
            assert!(
                Instant::now() < until,
                "never saw {what}; shown:\n{shown:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A TCP source that sends 1 MiB, reports that it stalls, waits until told
/// to go on, then sends 1 MiB more and closes.
fn stalling_source() -> (u16, Receiver<()>, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stalled, stall) = channel();
    let (resume, resumed) = channel::<()>();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(&vec![7; 1 << 20]).unwrap();
        let _ = stalled.send(());
        let _ = resumed.recv_timeout(DEADLINE);
        let _ = stream.write_all(&vec![7; 1 << 20]);
    });
    (port, stall, resume)
}

#[test]
fn the_bar_shows_zero_bytes_per_second_while_the_source_stalls() {
    let (port, stall, resume) = stalling_source();
    let pty = Pty::open();
    let child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([&format!("tcp:127.0.0.1:{port}"), "null:", "--size", "2M"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(pty.stdio())
        .spawn()
        .expect("spawn ferry");
    let mut child = Guard(child);
    stall
        .recv_timeout(DEADLINE)
        .expect("the source sent its first MiB");
    // The bar moved: it showed a rate in KiB/s or MiB/s.
    pty.wait_for(0, "a moving rate", |shown| shown.contains("iB/s"));
    let mark = pty.shown().len();
    // Within an interval (1 s) of the stall the current rate is 0 and no
    // ETA is claimed, while the bytes stay.
    let stalled = pty.wait_for(mark, "0 B/s", |shown| shown.contains(" 0 B/s, ETA --"));
    let line = stalled
        .split(['\r', '\n'])
        .rfind(|line| line.contains(" 0 B/s"))
        .unwrap()
        .to_string();
    eprintln!("progress during the stall: {line:?}");
    assert!(line.contains("1.00 MiB"), "{line:?}");
    resume.send(()).unwrap();
    let status = wait(&mut child.0);
    assert_eq!(status, Some(0));
    let shown = pty.finish();
    // At the end: the average, and 100%.
    assert!(shown.contains("average "), "{shown:?}");
    assert!(shown.contains("100%"), "{shown:?}");
}

#[test]
fn no_bar_is_drawn_among_data_going_to_the_same_terminal() {
    let dir = TempDir::new("progress-same-terminal");
    let small = dir.path("small.txt");
    std::fs::write(&small, "data for the terminal, no newline").unwrap();
    let pty = Pty::open();
    let child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args([small.as_str(), "-"])
        .stdin(Stdio::null())
        .stdout(pty.stdio())
        .stderr(pty.stdio())
        .spawn()
        .expect("spawn ferry");
    let mut child = Guard(child);
    assert_eq!(wait(&mut child.0), Some(0));
    // Exactly the data: no bar, no escape sequence.
    assert_eq!(pty.finish(), "data for the terminal, no newline");
}

#[test]
fn without_a_terminal_progress_comes_as_lines_and_a_last_line() {
    let done = common::run(&[
        "zero:",
        "null:",
        "-n",
        "1M",
        "-L",
        "4M",
        "-p",
        "--interval",
        "100ms",
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert!(lines.len() >= 2, "{}", done.stderr);
    for line in &lines[..lines.len() - 1] {
        assert!(
            line.starts_with("ferry: ") && line.contains("/s, ETA "),
            "{line:?}"
        );
    }
    let last = lines[lines.len() - 1];
    assert!(last.starts_with("ferry: 1.0 MiB (100%) in "), "{last:?}");
    assert!(last.contains(", average "), "{last:?}");
}

#[test]
fn numeric_progress_is_one_percentage_a_line_ending_at_100() {
    let done = common::run(&[
        "zero:",
        "null:",
        "-n",
        "1M",
        "-L",
        "4M",
        "--numeric",
        "--interval",
        "100ms",
    ]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let numbers: Vec<u64> = done
        .stderr
        .lines()
        .map(|line| {
            line.parse()
                .unwrap_or_else(|_| panic!("not a number: {line:?}"))
        })
        .collect();
    assert!(numbers.len() >= 2, "{}", done.stderr);
    assert!(
        numbers.windows(2).all(|pair| pair[0] <= pair[1]),
        "{numbers:?}"
    );
    assert_eq!(numbers.last(), Some(&100));
}

#[test]
fn numeric_progress_without_a_size_counts_bytes() {
    let data = common::random_bytes(100_000, 3);
    let done = common::run_with_stdin(&["-", "null:", "--numeric"], &data);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(done.stderr.lines().last(), Some("100000"));
}

/// Waits for the child's exit, at most [`DEADLINE`].
fn wait(child: &mut std::process::Child) -> Option<i32> {
    let until = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < until, "ferry did not exit");
        thread::sleep(Duration::from_millis(10));
    }
}
