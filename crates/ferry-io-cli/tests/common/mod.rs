//! Helpers shared by the end-to-end tests: spawning the real `ferry` binary
//! under a kill-on-drop guard, with every wait bounded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any single wait may take before the test fails instead of hanging.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running `ferry`, killed when dropped.
pub struct Ferry {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    stdout_thread: Option<JoinHandle<Vec<u8>>>,
}

/// How a `ferry` ended.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Ferry {
    /// Starts `ferry ARGS` with stdin from `/dev/null`.
    pub fn spawn(args: &[&str]) -> Ferry {
        Ferry::spawn_with_stdin(args, None)
    }

    /// Starts `ferry ARGS`, feeding `input` on stdin (then closing it) when given.
    pub fn spawn_with_stdin(args: &[&str], input: Option<Vec<u8>>) -> Ferry {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
        command.args(args);
        Ferry::spawn_command(command, input)
    }

    /// Starts `bash -c SCRIPT` with `$0` set to the ferry binary, for limits
    /// and redirections (`ulimit -n 14; exec "$0" ...`). bash rather than
    /// sh: dash cannot redirect from a descriptor above 9, and a test
    /// running beside others may well hold one.
    pub fn spawn_shell(script: &str) -> Ferry {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_ferry"));
        Ferry::spawn_command(command, None)
    }

    fn spawn_command(mut command: Command, input: Option<Vec<u8>>) -> Ferry {
        let mut child = command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ferry");
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("stdin");
            thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let (send, lines) = channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_pipe = child.stderr.take().expect("stderr");
        let all = stderr.clone();
        let stderr_thread = thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = send.send(line);
            }
        });
        let mut stdout_pipe = child.stdout.take().expect("stdout");
        let stdout_thread = thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout_pipe.read_to_end(&mut out);
            out
        });
        Ferry {
            child,
            lines,
            stderr,
            stderr_thread: Some(stderr_thread),
            stdout_thread: Some(stdout_thread),
        }
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub fn wait_for_line(&self, needle: &str) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "no stderr line with {needle:?}; stderr so far:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// With `-v` and a `tcp-listen:` address, waits until ferry listens and returns its port.
    pub fn port(&self) -> u16 {
        let line = self.wait_for_line("listening");
        let digits: String = line
            .rsplit(':')
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("no port in {line:?}"))
    }

    /// With `-v` and `--metrics`, waits until the metrics are served and
    /// returns their port. It looks through all of stderr, since the line
    /// may come before or after the one [`Ferry::port`] waits for.
    pub fn metrics_port(&self) -> u16 {
        let until = Instant::now() + DEADLINE;
        loop {
            let stderr = self.stderr_so_far();
            if let Some(line) = stderr.lines().find(|line| line.contains("metrics on")) {
                return line
                    .rsplit(':')
                    .next()
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|port| port.parse().ok())
                    .unwrap_or_else(|| panic!("no metrics port in {line:?}"));
            }
            assert!(Instant::now() < until, "no metrics line; stderr:\n{stderr}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal (`"INT"`, `"TERM"`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit, at most `timeout` (then kills and fails the test).
    pub fn wait(mut self, timeout: Duration) -> Finished {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let stdout = self.stdout_thread.take().unwrap().join().unwrap();
                self.stderr_thread.take().unwrap().join().unwrap();
                let stderr = self.stderr.lock().unwrap().clone();
                assert!(
                    !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
                    "ferry panicked:\n{stderr}"
                );
                return Finished {
                    code: status.code(),
                    stdout,
                    stderr,
                    elapsed: started.elapsed(),
                };
            }
            if started.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "ferry did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything ferry wrote to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Ferry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Finished {
    /// The `--json` object ferry printed on stderr.
    pub fn json(&self) -> serde_json::Value {
        let line = self
            .stderr
            .lines()
            .find(|line| line.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON on stderr:\n{}", self.stderr));
        serde_json::from_str(line).expect("valid JSON")
    }
}

/// Runs `ferry ARGS` to completion (at most [`DEADLINE`]).
pub fn run(args: &[&str]) -> Finished {
    Ferry::spawn(args).wait(DEADLINE)
}

/// Runs `ferry ARGS` with `input` on stdin.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Finished {
    Ferry::spawn_with_stdin(args, Some(input.to_vec())).wait(DEADLINE)
}

/// Deterministic pseudo-random bytes (xorshift), different for each seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Connects with a bounded timeout on every read and write.
pub fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to ferry");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// Sends `data`, half-closes, and reads everything until EOF.
pub fn exchange(stream: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    let mut reader = stream.try_clone().unwrap();
    let reading = thread::spawn(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read until EOF");
        out
    });
    stream.write_all(data).expect("write");
    stream.shutdown(Shutdown::Write).unwrap();
    reading.join().unwrap()
}

/// A loopback TCP server on its own thread that calls `handle` for each
/// connection (each on its own thread). The listener lives as long as the test.
pub fn backend<F>(handle: F) -> u16
where
    F: Fn(TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = Arc::new(handle);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            stream.set_read_timeout(Some(DEADLINE)).unwrap();
            stream.set_write_timeout(Some(DEADLINE)).unwrap();
            let handle = handle.clone();
            thread::spawn(move || handle(stream));
        }
    });
    port
}

/// Reads until EOF, then writes each byte XOR 0x5a back and closes: a reply
/// that proves the bytes went through and came back from the far side.
pub fn xor_after_eof(mut stream: TcpStream) {
    let mut data = Vec::new();
    if stream.read_to_end(&mut data).is_err() {
        return;
    }
    let reply: Vec<u8> = data.iter().map(|b| b ^ 0x5a).collect();
    let _ = stream.write_all(&reply);
    let _ = stream.shutdown(Shutdown::Write);
}

/// A port nobody listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("ferry-io-cli-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Any child process, killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connects to 127.0.0.1:`port` from `source` (any 127/8 address on Linux),
/// so one test can stand for clients on several hosts; every read and
/// write bounded.
pub fn connect_from(source: [u8; 4], port: u16) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    let local = std::net::SocketAddr::from((source, 0));
    rustix::net::bind(&fd, &local).unwrap_or_else(|error| panic!("bind {local}: {error}"));
    let ferry = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    rustix::net::connect(&fd, &ferry).unwrap_or_else(|error| panic!("connect to {ferry}: {error}"));
    let stream = TcpStream::from(fd);
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    stream
}

/// The value of the metric `series` (`name` or `name{labels}`) that
/// ferry serves on `port`, now.
pub fn metric(port: u16, series: &str) -> f64 {
    let mut stream = connect(port);
    stream.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {text}"))
}

/// Waits until the metric `series` on `port` reaches `value`.
pub fn wait_for_metric(port: u16, series: &str, value: f64) {
    let until = Instant::now() + DEADLINE;
    while metric(port, series) < value {
        assert!(Instant::now() < until, "{series} stayed below {value}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A UDP server answering every datagram with its bytes XOR 0x5a, and
/// reporting each datagram it got (it stops when the report is dropped).
pub fn udp_echo() -> (u16, Receiver<Vec<u8>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let (send, received) = channel();
    thread::spawn(move || {
        let mut datagram = vec![0; 1 << 16];
        while let Ok((length, peer)) = socket.recv_from(&mut datagram) {
            let got = datagram[..length].to_vec();
            let reply: Vec<u8> = got.iter().map(|b| b ^ 0x5a).collect();
            let _ = socket.send_to(&reply, peer);
            if send.send(got).is_err() {
                break;
            }
        }
    });
    (port, received)
}

/// A slowloris: clients of 127.0.0.1:`port`, from 127.0.0.2, that send
/// the start of what the server waits for (`start`), a byte each `every`
/// to every client, then nothing; they hang up when it is dropped.
pub struct Slowloris {
    clients: usize,
    stop: Arc<AtomicBool>,
    sending: Option<JoinHandle<()>>,
}

impl Slowloris {
    /// Connects the clients and starts sending.
    pub fn start(port: u16, clients: usize, start: Vec<u8>, every: Duration) -> Slowloris {
        let mut slow: Vec<TcpStream> = (0..clients)
            .map(|_| connect_from([127, 0, 0, 2], port))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let sending = thread::spawn(move || {
            let mut bytes = start.into_iter();
            while !stopping.load(Ordering::SeqCst) {
                if let Some(byte) = bytes.next() {
                    for client in &mut slow {
                        client.write_all(&[byte]).unwrap();
                    }
                }
                thread::sleep(every);
            }
        });
        Slowloris {
            clients,
            stop,
            sending: Some(sending),
        }
    }

    /// Has five well-behaved clients served a tenth of a second apart
    /// beside the slow ones (`served` serves one and says how long it
    /// took), and checks that each took less than a second (the aim is
    /// 100 ms; the bound is loose for a busy machine, and a client that had
    /// to wait for slow ones to give up would take seconds), and that the
    /// server, whose metrics are on `metrics`, took every slow client in
    /// and holds it still. Returns the times.
    pub fn assert_others_served(
        &self,
        metrics: u16,
        mut served: impl FnMut(u64) -> Duration,
    ) -> Vec<Duration> {
        // Time for the slow clients' first bytes to arrive.
        thread::sleep(Duration::from_millis(300));
        let delays: Vec<Duration> = (0..5)
            .map(|n| {
                thread::sleep(Duration::from_millis(100));
                served(n)
            })
            .collect();
        for delay in &delays {
            assert!(*delay < Duration::from_secs(1), "{delays:?}");
        }
        let accepted = metric(metrics, "ferry_connections_accepted_total");
        assert_eq!(accepted, (self.clients + delays.len()) as f64);
        // A client may have its reply before the server counted the close.
        wait_for_metric(
            metrics,
            "ferry_connections_closed_total",
            delays.len() as f64,
        );
        let closed = metric(metrics, "ferry_connections_closed_total");
        assert_eq!(closed, delays.len() as f64);
        delays
    }
}

impl Drop for Slowloris {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(sending) = self.sending.take() {
            let _ = sending.join();
        }
    }
}
