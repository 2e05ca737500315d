//! Program ends (`exec:`, `sh:`): a child process whose stdin and stdout
//! are the end, and how it ended.
//!
//! In a relay both are piped. In a one-way copy only the one that carries
//! bytes is: a program that is only read keeps ferry's stdin, one that is
//! only written keeps ferry's stdout, as in a shell pipeline. A program
//! that is only read is a plain pipe, so the kernel routes (splice) can
//! serve it; both piped, the end is two fds, which a kernel route cannot
//! treat as one. Writes always go through memory, where a program that
//! stopped reading can be told from a failure (below).
//!
//! Shutting the end down closes the program's stdin (it sees EOF). A
//! program that stops reading (exits, or closes its stdin, as `head` does)
//! ends the input direction: in a relay, what still comes for it is read
//! and dropped, as a shell pipeline drops it, and not counted as delivered
//! ([`Program::discarded`]), and the other direction goes on; in a one-way
//! copy, which has nothing else to do, the copy ends ([`stopped_reading`]),
//! as `cat /dev/zero | head -c 5` does.
//!
//! The end of a program's output read through memory is an end of stream
//! only once the program exited well: until its status is known (at most
//! the time [`Program::exit_within`] gives, then it is killed), the read
//! waits, and a status that is a failure is a read error
//! ([`failed_program`]), so that a relay resets its client rather than pass
//! a truncated response on as complete.
//!
//! Each program runs in a process group of its own, so that what it
//! started (a shell's children) is stopped with it: a transfer that fails,
//! times out or is cut off kills the whole group. A program that shares
//! ferry's terminal as its stdin stays in ferry's group instead, where it
//! may read the terminal and Ctrl-C reaches it. After a transfer that went
//! well ferry waits for the program to exit: once its output ended, for at
//! most the drain time (then it is killed); a program whose output ferry
//! never read (a one-way destination) is waited for as long as it works.
//! Every program is reaped by tokio: never a zombie.

use std::fmt;
use std::future::Future;
use std::io::{self, IsTerminal};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::pin::{pin, Pin};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use ferry_io::zero_copy::{FdKind, ZeroCopySource};
use rustix::process::{kill_process_group, Pid, Signal};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::time::Sleep;

use super::memory::memory_sink;

/// A running program: its stdin, its stdout, or both.
#[derive(Debug)]
pub struct Program {
    child: Child,
    /// Its process group, when it has one of its own: it and every process
    /// it started.
    group: Option<Pid>,
    /// How long it may take to exit once its output ended.
    exit_within: Duration,
    /// Runs out `exit_within` after the output ended; then it is killed.
    exit_deadline: Option<Pin<Box<Sleep>>>,
    /// Its group was killed (or the transfer ended well and it was waited
    /// for): dropping it leaves its group alone.
    settled: bool,
    stdin: Option<pipe::Sender>,
    stdout: Option<pipe::Receiver>,
    /// ferry writes the program's stdin (it may have closed it since).
    piped_input: bool,
    /// ferry reads the program's stdout (it may have closed it since).
    piped_output: bool,
    /// The program closed its stdout and ferry read it to the end.
    output_ended: bool,
    /// The program stopped reading its stdin (a write met a broken pipe).
    input_refused: bool,
    /// Bytes the copy handed over after that, dropped.
    discarded: u64,
}

/// How a program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// Whether that is a success: status 0, or killed by SIGPIPE after
    /// ferry stopped reading its output on purpose (`--limit`), as `head`
    /// stops `yes`.
    pub ok: bool,
}

/// Why a program end failed the transfer: its read error, once the
/// program exited with a status other than success (see the module docs).
#[derive(Debug)]
struct Failed(Exit);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the program ended with {}", self.0.status)
    }
}

impl std::error::Error for Failed {}

/// How the program ended, when `error` is the read error of a program
/// that exited with a failure.
pub fn failed_program(error: &io::Error) -> Option<Exit> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Failed>())
        .map(|failed| failed.0)
}

/// The write error of a program, only written, that stopped reading.
#[derive(Debug)]
struct StoppedReading;

impl fmt::Display for StoppedReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the program stopped reading")
    }
}

impl std::error::Error for StoppedReading {}

/// Whether `error` is the write error of a program, only written, that
/// stopped reading: the end of a one-way copy into it, not a failure.
pub fn stopped_reading(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<StoppedReading>())
}

/// How long a program may take to exit once its output ended, unless the
/// transfer says otherwise ([`Program::exit_within`]).
const EXIT_WITHIN: Duration = Duration::from_secs(10);

impl Program {
    /// Starts `argv` with its stdin piped when `input` and its stdout piped
    /// when `output` (each inherited from ferry otherwise); stderr is ferry's.
    ///
    /// # Errors
    ///
    /// When the program cannot be started (not found, not executable).
    pub fn spawn(argv: &[String], input: bool, output: bool) -> io::Result<Program> {
        let Some((program, args)) = argv.split_first() else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let pipe_if = |piped| {
            if piped {
                Stdio::piped()
            } else {
                Stdio::inherit()
            }
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(pipe_if(input))
            .stdout(pipe_if(output))
            .kill_on_drop(true);
        // In a group of its own a program reading the terminal would be a
        // background job, stopped at its first read.
        let own_group = input || !io::stdin().is_terminal();
        if own_group {
            command.process_group(0);
        }
        let mut child = command.spawn()?;
        let group = child
            .id()
            .filter(|_| own_group)
            .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?));
        let stdin = match child.stdin.take() {
            Some(stdin) => Some(pipe::Sender::from_owned_fd(stdin.into_owned_fd()?)?),
            None => None,
        };
        let stdout = match child.stdout.take() {
            Some(stdout) => Some(pipe::Receiver::from_owned_fd(stdout.into_owned_fd()?)?),
            None => None,
        };
        Ok(Program {
            child,
            group,
            exit_within: EXIT_WITHIN,
            exit_deadline: None,
            settled: false,
            piped_input: stdin.is_some(),
            stdin,
            piped_output: stdout.is_some(),
            stdout,
            output_ended: false,
            input_refused: false,
            discarded: 0,
        })
    }

    /// Gives the program `within` to exit once its output ended (the
    /// transfer's drain time, `--linger`), before it is killed.
    pub fn exit_within(&mut self, within: Duration) {
        self.exit_within = within;
    }

    /// Bytes the copy gave the program after it had stopped reading: they
    /// were dropped, and are not part of what it took.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Whether ferry writes to the program's stdin.
    pub fn is_written(&self) -> bool {
        self.piped_input
    }

    /// Whether ferry reads the program's stdout.
    pub fn is_read(&self) -> bool {
        self.piped_output
    }

    /// Closes both pipes and waits for the program to exit: for at most
    /// `drain_for` once its output ended (then it is killed), for as long as
    /// it runs otherwise.
    ///
    /// # Errors
    ///
    /// When waiting fails.
    pub async fn wait(&mut self, drain_for: Duration) -> io::Result<Exit> {
        self.stdin = None;
        self.stdout = None;
        let status = if self.output_ended {
            match tokio::time::timeout(drain_for, self.child.wait()).await {
                Ok(status) => status?,
                Err(_) => self.kill().await?,
            }
        } else {
            self.child.wait().await?
        };
        // What it left running in its group after a good end is its own
        // affair, as in a shell.
        self.settled = true;
        Ok(self.exit(status))
    }

    /// Kills the program (unless it has exited already) and returns how it
    /// ended, for a transfer that failed. Dying of that kill is not the
    /// program's failure.
    ///
    /// # Errors
    ///
    /// When waiting fails.
    pub async fn stop(&mut self) -> io::Result<Exit> {
        const SIGKILL: i32 = 9;
        self.stdin = None;
        self.stdout = None;
        if let Some(status) = self.child.try_wait()? {
            // What it started may still run.
            self.kill_group();
            self.settled = true;
            return Ok(self.exit(status));
        }
        let status = self.kill().await?;
        self.settled = true;
        let mut exit = self.exit(status);
        exit.ok |= status.signal() == Some(SIGKILL);
        Ok(exit)
    }

    async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.kill_group();
        // Kill fails only when the child was reaped already; wait then
        // returns the status it had.
        let _ = self.child.start_kill();
        self.child.wait().await
    }

    /// Kills every process of the program's group, when it has one.
    fn kill_group(&self) {
        if let Some(group) = self.group {
            // Only a group with no process left refuses.
            let _ = kill_process_group(group, Signal::KILL);
        }
    }

    /// Once the output ended: the exit status, when the program has
    /// exited; killed (its group too) once `exit_within` ran out.
    fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let within = self.exit_within;
        let deadline = self
            .exit_deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(within)));
        if deadline.as_mut().poll(cx).is_ready() && !self.settled {
            self.kill_group();
            let _ = self.child.start_kill();
            self.settled = true;
        }
        // Waiting is cancel-safe: a fresh wait each poll resumes it.
        pin!(self.child.wait()).poll(cx)
    }

    /// The end of the program's output as a read: an end of stream once it
    /// exited well, the error [`failed_program`] knows otherwise.
    fn poll_verdict(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let status = ready!(self.poll_exit(cx))?;
        let exit = self.exit(status);
        Poll::Ready(match exit.ok {
            true => Ok(()),
            false => Err(io::Error::other(Failed(exit))),
        })
    }

    fn exit(&self, status: ExitStatus) -> Exit {
        const SIGPIPE: i32 = 13;
        let stopped_reading = status.signal() == Some(SIGPIPE) && !self.output_ended;
        Exit {
            status,
            ok: status.success() || (self.piped_output && stopped_reading),
        }
    }

    fn input(&mut self) -> io::Result<&mut pipe::Sender> {
        if self.input_refused {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.stdin.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the program's stdin is closed")
        })
    }

    fn output(&mut self) -> io::Result<&mut pipe::Receiver> {
        self.stdout.as_mut().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the program's stdout is not read",
            )
        })
    }
}

impl AsFd for Program {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match (&self.stdout, &self.stdin) {
            (Some(stdout), _) => stdout.as_fd(),
            (None, Some(stdin)) => stdin.as_fd(),
            // Both closed: the transfer is over and no route asks any more,
            // but the trait wants an open fd. fd 0 is open for the process's
            // lifetime (Rust reopens a closed one on /dev/null before main).
            (None, None) => {
                static STDIN: OnceLock<std::io::Stdin> = OnceLock::new();
                STDIN.get_or_init(std::io::stdin).as_fd()
            }
        }
    }
}

impl ZeroCopySource for Program {
    /// A kernel route may read the one pipe of a program that is only
    /// read; a program with two pipes is two fds and goes through memory.
    fn source_kind(&self) -> FdKind {
        if self.piped_output && !self.piped_input {
            FdKind::Pipe
        } else {
            FdKind::Other
        }
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &self.stdout {
            Some(stdout) => stdout.poll_read_ready(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn try_read_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        match &self.stdout {
            Some(stdout) => stdout.try_io(op),
            None => op(),
        }
    }

    fn reader(&mut self) -> io::Result<Box<dyn AsyncRead + Unpin + Send + '_>> {
        self.output()?;
        Ok(Box::new(self))
    }
}

// Through memory, so that a broken pipe ends the input instead of failing
// the copy (see the module's docs).
memory_sink!(Program, |this| this);

impl AsyncRead for Program {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.output_ended {
            return self.poll_verdict(cx);
        }
        let before = buf.filled().len();
        let output = match self.output() {
            Ok(output) => output,
            Err(error) => return Poll::Ready(Err(error)),
        };
        ready!(Pin::new(output).poll_read(cx, buf))?;
        if buf.filled().len() == before {
            self.output_ended = true;
            return self.poll_verdict(cx);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Program {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.input_refused {
            let written = match self.input() {
                Ok(input) => ready!(Pin::new(input).poll_write(cx, buf)),
                Err(error) => Err(error),
            };
            match written {
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                    self.input_refused = true;
                    self.stdin = None;
                }
                written => return Poll::Ready(written),
            }
        }
        if !self.piped_output {
            // Only written: nothing else to do, the copy ends here.
            let stopped = io::Error::new(io::ErrorKind::BrokenPipe, StoppedReading);
            return Poll::Ready(Err(stopped));
        }
        self.discarded += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe holds nothing in user space.
        Poll::Ready(Ok(()))
    }

    /// Closes the program's stdin: it reads EOF.
    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stdin = None;
        Poll::Ready(Ok(()))
    }
}

impl Drop for Program {
    /// A program dropped before its transfer settled (cut off by a
    /// shutdown) takes its group with it; tokio kills and reaps the
    /// program itself.
    fn drop(&mut self) {
        if !self.settled {
            self.kill_group();
        }
    }
}
