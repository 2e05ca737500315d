//! `LandedWriter`: writes to a file, pipe or terminal on tokio's blocking
//! pool, and reports a write only once the kernel has taken it.
//!
//! tokio's `File` and `Stdout` copy the bytes into a buffer of their own and
//! report them written before the `write` system call runs; a full disk or a
//! closed pipe then fails a later call, and the count a user sees includes
//! bytes that never landed. ferry's counts must be what the destination
//! holds, so its file and stdout writers wait for the system call.

use std::fs::File;
use std::future::Future;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::AsyncWrite;
use tokio::task::JoinHandle;

/// The most one write hands to the kernel, like tokio's `File`: a larger
/// buffer is written in several calls.
const MAX_WRITE: usize = 2 << 20;

/// A write in flight returns its buffer for reuse, and what the kernel said.
type Landing = JoinHandle<(Vec<u8>, io::Result<usize>)>;

/// An [`AsyncWrite`] over a blocking fd whose counts are exact.
///
/// A write that returned `Pending` is already in flight: like tokio's
/// sockets, it expects to be called again with the same bytes (ferry's
/// engine always does), and then reports how many of them landed.
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("ferry-landed-doc-{}", std::process::id()));
/// let mut file = ferry_io::LandedWriter::new(std::fs::File::create(&path)?);
/// let mut reader: &[u8] = b"every byte counted";
/// let copied = ferry_io::copy(&mut reader, &mut file).await?;
/// file.shutdown().await?;
/// assert_eq!(std::fs::read(&path)?.len() as u64, copied);
/// std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LandedWriter {
    file: Arc<File>,
    state: State,
}

#[derive(Debug)]
enum State {
    Idle(Vec<u8>),
    Writing(Landing),
    /// A write that a flush waited for: the next `poll_write` reports it.
    Landed(Vec<u8>, io::Result<usize>),
}

impl LandedWriter {
    /// Writes to `file` (a regular file, a FIFO, a character device...).
    ///
    /// # Examples
    ///
    /// ```
    /// let null = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
    /// let writer = ferry_io::LandedWriter::new(null);
    /// ```
    pub fn new(file: File) -> LandedWriter {
        LandedWriter {
            file: Arc::new(file),
            state: State::Idle(Vec::new()),
        }
    }

    /// Writes to a duplicate of the process's stdout: it shares the offset
    /// and flags with the shell's, and closing it leaves stdout open.
    ///
    /// # Errors
    ///
    /// When fd 1 cannot be duplicated (it is closed).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut stdout = ferry_io::LandedWriter::stdout()?;
    /// ferry_io::copy(&mut &b""[..], &mut stdout).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stdout() -> io::Result<LandedWriter> {
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        Ok(LandedWriter::new(File::from(fd)))
    }

    /// Waits for the write in flight, if any, and keeps what it returned for
    /// the next `poll_write`.
    fn poll_land(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let State::Writing(landing) = &mut self.state {
            let (buffer, result) = ready!(Pin::new(landing).poll(cx))
                .unwrap_or_else(|join| (Vec::new(), Err(io::Error::other(join))));
            self.state = State::Landed(buffer, result);
        }
        Poll::Ready(())
    }

    /// Waits for the write in flight; a failure it had is returned here
    /// (its bytes were never counted), a success is kept for `poll_write`.
    pub(crate) fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_land(cx));
        match std::mem::replace(&mut self.state, State::Idle(Vec::new())) {
            State::Landed(buffer, Err(error)) => {
                self.state = State::Idle(buffer);
                Poll::Ready(Err(error))
            }
            state => {
                self.state = state;
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl AsFd for LandedWriter {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsyncWrite for LandedWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.state, State::Idle(Vec::new())) {
                State::Idle(mut buffer) => {
                    if buf.is_empty() {
                        this.state = State::Idle(buffer);
                        return Poll::Ready(Ok(0));
                    }
                    buffer.clear();
                    buffer.extend_from_slice(&buf[..buf.len().min(MAX_WRITE)]);
                    let file = Arc::clone(&this.file);
                    this.state = State::Writing(tokio::task::spawn_blocking(move || {
                        let result = write_once(&file, &buffer);
                        (buffer, result)
                    }));
                }
                State::Writing(landing) => {
                    this.state = State::Writing(landing);
                    ready!(this.poll_land(cx));
                }
                State::Landed(buffer, result) => {
                    this.state = State::Idle(buffer);
                    return Poll::Ready(result);
                }
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Nothing is buffered here: a write either landed or failed.
        self.poll_settle(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// One `write`, retried only when a signal interrupted it.
fn write_once(mut file: &File, bytes: &[u8]) -> io::Result<usize> {
    loop {
        match file.write(bytes) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn counts_only_what_landed() {
        let dir = std::env::temp_dir().join(format!("ferry-landed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out");
        let mut writer = LandedWriter::new(File::create(&path).unwrap());
        let data: Vec<u8> = (0..(5 << 20)).map(|i| (i % 251) as u8).collect();
        writer.write_all(&data).await.unwrap();
        writer.shutdown().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_full_device_fails_the_write_that_did_not_land() {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let mut writer = LandedWriter::new(full);
        let error = writer.write(&[7; 1024]).await.unwrap_err();
        assert_eq!(error.raw_os_error(), Some(28), "ENOSPC: {error}");
    }
}
