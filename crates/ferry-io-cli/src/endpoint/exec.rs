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
//! ends the input direction: what still comes for it is read and dropped,
//! as a shell pipeline drops it, and not counted as delivered
//! ([`Program::discarded`]); the other direction goes on. After
//! the transfer ferry closes both pipes and waits for the program to exit:
//! once its output ended, for at most the drain time (then it is killed);
//! a program whose output ferry never read (a one-way destination) is
//! waited for as long as it works. A program that is dropped, because the
//! transfer failed or was cut off, is killed, and tokio reaps it: never a
//! zombie.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use ferry_io::zero_copy::{FdKind, ZeroCopySource};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use super::memory::memory_sink;

/// A running program: its stdin, its stdout, or both.
#[derive(Debug)]
pub struct Program {
    child: Child,
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
        let mut child = Command::new(program)
            .args(args)
            .stdin(pipe_if(input))
            .stdout(pipe_if(output))
            .kill_on_drop(true)
            .spawn()?;
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
            piped_input: stdin.is_some(),
            stdin,
            piped_output: stdout.is_some(),
            stdout,
            output_ended: false,
            input_refused: false,
            discarded: 0,
        })
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
            return Ok(self.exit(status));
        }
        let status = self.kill().await?;
        let mut exit = self.exit(status);
        exit.ok |= status.signal() == Some(SIGKILL);
        Ok(exit)
    }

    async fn kill(&mut self) -> io::Result<ExitStatus> {
        // Kill fails only when the child was reaped already; wait then
        // returns the status it had.
        let _ = self.child.start_kill();
        self.child.wait().await
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
        let before = buf.filled().len();
        let output = match self.output() {
            Ok(output) => output,
            Err(error) => return Poll::Ready(Err(error)),
        };
        let read = Pin::new(output).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() == before {
            self.output_ended = true;
        }
        read
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
