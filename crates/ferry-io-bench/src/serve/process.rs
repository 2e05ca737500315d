//! `RelayProcess`: a relay running in a process of its own, stopped and
//! reaped when dropped.

use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{
    kill_process, kill_process_group, waitid, Pid, Signal, WaitId, WaitIdOptions,
};

use super::config_dir::ConfigDir;
use super::listening::listening_ports;
use super::Relay;

/// How long a relay may take to start listening.
const START: Duration = Duration::from_secs(10);

/// How long a relay may take to stop when asked, before it is killed.
const STOP: Duration = Duration::from_secs(2);

/// How much of a relay's stderr is kept for error messages.
const STDERR_KEPT: usize = 2000;

/// A relay process listening on a loopback port. Dropping it asks it to
/// stop (SIGTERM: nginx's master then stops and reaps its worker), then
/// kills what is left of its process group (socat forks a process per
/// connection) and reaps it.
pub struct RelayProcess {
    relay: Relay,
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    /// The configuration the process reads (HAProxy's, nginx's), removed
    /// after it.
    _config: Option<ConfigDir>,
}

impl RelayProcess {
    /// Starts `command` as `relay` (reading `config`) in a process group of its own, with
    /// stdin and stdout on `/dev/null` and stderr kept for messages, and
    /// waits until it listens on a TCP port.
    ///
    /// # Errors
    ///
    /// The spawn's error ([`io::ErrorKind::NotFound`]: the program is not
    /// installed); the process exiting, or not listening within 10 s, with
    /// the end of its stderr.
    pub(super) fn start(
        relay: Relay,
        mut command: Command,
        config: Option<ConfigDir>,
    ) -> io::Result<RelayProcess> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn()?;
        let stderr = keep_stderr(child.stderr.take());
        let mut process = RelayProcess {
            relay,
            child,
            port: 0,
            stderr,
            _config: config,
        };
        process.port = process.wait_listening()?;
        Ok(process)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Which relay it is.
    pub fn relay(&self) -> Relay {
        self.relay
    }

    /// Fails with the end of its stderr if it has exited.
    ///
    /// # Errors
    ///
    /// The process is no longer running.
    pub fn check_running(&mut self) -> io::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(self.failure(format!("exited ({status})"))),
        }
    }

    fn wait_listening(&mut self) -> io::Result<u16> {
        let until = Instant::now() + START;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(self.failure(format!("exited ({status}) before listening")));
            }
            // Unreadable fds mean it is exiting: the next try_wait says so.
            if let Some(&port) = listening_ports(self.pid()).unwrap_or_default().first() {
                return Ok(port);
            }
            if Instant::now() > until {
                return Err(self.failure(format!("did not listen within {START:?}")));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// An error saying `what` happened, with the line of its stderr most
    /// likely to say why: the first alert or error, else the last line.
    fn failure(&self, what: String) -> io::Error {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let lines: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let why = lines
            .iter()
            .find(|line| {
                let line = line.to_ascii_lowercase();
                line.contains("alert") || line.contains("error")
            })
            .or(lines.last());
        match why {
            Some(why) => io::Error::other(format!("{} {what}: {why}", self.relay)),
            None => io::Error::other(format!("{} {what}", self.relay)),
        }
    }
}

impl fmt::Debug for RelayProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayProcess")
            .field("relay", &self.relay)
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if let Some(leader) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            // Asked first: killed at once, nginx's master would leave its
            // worker to be reparented, and nobody might reap it.
            if kill_process(leader, Signal::TERM).is_ok() {
                let until = Instant::now() + STOP;
                while !exited(leader) && Instant::now() < until {
                    thread::sleep(Duration::from_millis(5));
                }
            }
            // Then the rest of the group, while its leader (exited, not yet
            // reaped) keeps its id from being reused.
            let _ = kill_process_group(leader, Signal::KILL);
        }
        // The leader itself, in case that failed; then reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether our child `pid` has exited, leaving it to be reaped (`WNOWAIT`).
fn exited(pid: Pid) -> bool {
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    matches!(waitid(WaitId::Pid(pid), options), Ok(Some(_)))
}

/// Collects the last [`STDERR_KEPT`] bytes of `pipe` on a thread of its own
/// (which ends when the process and its forks have closed it).
fn keep_stderr(pipe: Option<ChildStderr>) -> Arc<Mutex<String>> {
    let kept = Arc::new(Mutex::new(String::new()));
    if let Some(pipe) = pipe {
        let kept = kept.clone();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let Ok(mut kept) = kept.lock() else { break };
                kept.push_str(&line);
                kept.push('\n');
                if kept.len() > STDERR_KEPT {
                    let cut = kept.len() - STDERR_KEPT;
                    let cut = (cut..kept.len())
                        .find(|&i| kept.is_char_boundary(i))
                        .unwrap_or(0);
                    kept.drain(..cut);
                }
            }
        });
    }
    kept
}
