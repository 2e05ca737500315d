//! The one-way job loop every `Copier` copy runs, whatever moves its bytes,
//! and `CopyJob`, the buffered one that can be paused and resumed.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use super::clock::Clock;
use super::gate::Limits;
use super::watch::Watch;
use super::Copier;
use crate::engine::{Fault, Mover, PollMove};
use crate::{CopyBuffer, CopyError, Counts, Direction};

/// How a job or a relay ended.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    Done(T),
    /// The mover could not serve these ends; what it moved has landed (see
    /// [`Fault::Refused`]), and the caller may go on another way.
    Refused(io::Error),
    Failed(CopyError),
}

impl<T> Outcome<T> {
    /// For jobs whose mover never refuses (the buffered engine): a refusal
    /// would still be reported, as a read failure.
    pub(crate) fn into_result(self) -> Result<T, CopyError> {
        match self {
            Outcome::Done(done) => Ok(done),
            Outcome::Failed(err) => Err(err),
            Outcome::Refused(err) => Err(CopyError::new(
                Direction::AToB,
                crate::Step::Read,
                err,
                Counts::default(),
                true,
            )),
        }
    }
}

/// A one-way copy: a mover, its gate and its watch. Polling it moves bytes,
/// reports progress, keeps the idle timeout and turns a failure into a
/// [`CopyError`] with the counts reached.
#[derive(Debug)]
pub(crate) struct Job<M: Mover> {
    mover: M,
    limits: Limits,
    watch: Watch,
}

impl<M: Mover> Job<M> {
    /// A job with `copier`'s settings whose timers run on `clock`.
    pub(crate) fn new(mover: M, copier: &Copier, clock: Clock) -> Self {
        Self {
            mover,
            limits: Limits::new(&copier.limits, clock),
            watch: Watch::new(&copier.watch, clock),
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            a_to_b: self.mover.counts(),
            ..Counts::default()
        }
    }

    pub(crate) fn poll_run<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
    ) -> Poll<Outcome<u64>>
    where
        R: ?Sized,
        W: ?Sized,
        M: PollMove<R, W>,
    {
        let result = self.mover.poll_move(cx, reader, writer, &mut self.limits);
        let counts = self.counts();
        let fault = match result {
            Poll::Pending => {
                let mover = &mut self.mover;
                let throttled = self.limits.is_throttled();
                return self
                    .watch
                    .poll_one_way(cx, counts, throttled, || mover.release())
                    .map(Outcome::Failed);
            }
            Poll::Ready(Ok(())) => {
                self.watch.finish(&counts);
                return Poll::Ready(Outcome::Done(counts.a_to_b.written));
            }
            Poll::Ready(Err(fault)) => fault,
        };
        Poll::Ready(match fault {
            Fault::Refused(err) => Outcome::Refused(err),
            Fault::Failed(step, err) => {
                self.watch.finish(&counts);
                Outcome::Failed(CopyError::new(Direction::AToB, step, err, counts, true))
            }
        })
    }

    pub(crate) fn mover(&self) -> &M {
        &self.mover
    }
}

impl<M: Mover> Drop for Job<M> {
    fn drop(&mut self) {
        // Work off the task (a copy_file_range call) may have landed bytes
        // since the last poll. Halt it first and count after, so that only
        // the call running now can land uncounted, and report the rest.
        self.mover.halt();
        let counts = self.counts();
        self.watch.observe(&counts);
    }
}

/// A one-way copy with a [`Copier`]'s settings that keeps its buffer and
/// counts between runs.
///
/// Dropping the future of [`Copier::copy`] drops the bytes it had read but
/// not yet written. A `CopyJob` keeps them: when the future of
/// [`run`](Self::run) is dropped (say, the other branch of a
/// `tokio::select!` won), call `run` again with the same reader and writer
/// and the copy resumes where it stopped, losing and repeating nothing.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tokio::io::AsyncReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry_io::CopyError> {
/// let (mut tx, mut rx) = tokio::io::duplex(16);
/// let mut job = ferry_io::Copier::new().job();
/// let mut reader: &[u8] = &[7; 100];
///
/// // Run until the duplex is full, then stop to do something else.
/// tokio::select! {
///     _ = job.run(&mut reader, &mut tx) => unreachable!("nobody reads yet"),
///     _ = tokio::time::sleep(Duration::from_millis(10)) => {}
/// }
/// let mut first = [0; 16];
/// rx.read_exact(&mut first).await.unwrap();
///
/// // Resume: the bytes already read into the job's buffer are not lost.
/// let reading = tokio::spawn(async move {
///     let mut rest = Vec::new();
///     rx.read_to_end(&mut rest).await.map(|_| rest.len())
/// });
/// assert_eq!(job.run(&mut reader, &mut tx).await?, 100);
/// drop(tx);
/// assert_eq!(reading.await.unwrap().unwrap(), 84);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CopyJob {
    job: Job<CopyBuffer>,
}

impl CopyJob {
    pub(crate) fn new(copier: &Copier) -> Self {
        Self {
            job: Job::new(copier.engine(), copier, Clock::Tokio),
        }
    }

    /// Bytes read and written so far (in `a_to_b`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut job = ferry_io::Copier::new().job();
    /// let mut reader: &[u8] = b"abc";
    /// let mut room = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut room[..]);
    /// assert!(job.run(&mut reader, &mut full).await.is_err());
    /// let counts = job.counts();
    /// assert_eq!((counts.a_to_b.read, counts.a_to_b.written), (3, 2));
    /// # }
    /// ```
    pub fn counts(&self) -> Counts {
        self.job.counts()
    }

    /// Copies from `reader` to `writer` until EOF (or the limit), flushes,
    /// and returns the total bytes this job has copied.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] with the step that failed and the counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferry_io::CopyError> {
    /// let mut job = ferry_io::Copier::new().job();
    /// let mut reader: &[u8] = b"abc";
    /// assert_eq!(job.run(&mut reader, &mut Vec::new()).await?, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<R, W>(&mut self, reader: &mut R, writer: &mut W) -> Result<u64, CopyError>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        poll_fn(|cx| self.poll_run(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))).await
    }

    /// The poll behind [`run`](Self::run), for hand-written futures.
    ///
    /// # Errors
    ///
    /// As for [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferry_io::CopyError> {
    /// let mut job = ferry_io::Copier::new().job();
    /// let (mut reader, mut writer) = (&b"abc"[..], Vec::new());
    /// let n = poll_fn(|cx| job.poll_run(cx, Pin::new(&mut reader), Pin::new(&mut writer))).await?;
    /// assert_eq!(n, 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_run<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
        writer: Pin<&mut W>,
    ) -> Poll<Result<u64, CopyError>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        self.job
            .poll_run(cx, reader, writer)
            .map(Outcome::into_result)
    }

    /// Bytes of buffer memory the job holds right now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferry_io::Copier::new().job().allocated(), 0);
    /// ```
    pub fn allocated(&self) -> usize {
        self.job.mover().allocated()
    }
}
