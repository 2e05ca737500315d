//! `CopyJob`: a one-way `Copier` copy that owns its state, so it can be
//! paused and resumed without losing a byte.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::copier::Copier;
use crate::gate::Limits;
use crate::watch::Watch;
use crate::{CopyBuffer, CopyError, Counts, Direction, DirectionCounts};

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
/// # async fn main() -> Result<(), ferry::CopyError> {
/// let (mut tx, mut rx) = tokio::io::duplex(16);
/// let mut job = ferry::Copier::new().job();
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
    engine: CopyBuffer,
    limits: Limits,
    watch: Watch,
}

impl CopyJob {
    pub(crate) fn new(copier: &Copier) -> Self {
        Self {
            engine: CopyBuffer::with_policy(copier.policy),
            limits: Limits::new(copier),
            watch: Watch::new(copier),
        }
    }

    /// Bytes read and written so far (in `a_to_b`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferry::Copier::new().job().counts(), ferry::Counts::default());
    /// ```
    pub fn counts(&self) -> Counts {
        Counts {
            a_to_b: DirectionCounts {
                read: self.engine.bytes_read(),
                written: self.engine.bytes_written(),
            },
            ..Counts::default()
        }
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
    /// # async fn main() -> Result<(), ferry::CopyError> {
    /// let mut job = ferry::Copier::new().job();
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
    /// # async fn main() -> Result<(), ferry::CopyError> {
    /// let mut job = ferry::Copier::new().job();
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
        let result = self
            .engine
            .poll_copy_gated(cx, reader, writer, &mut self.limits);
        let counts = self.counts();
        if let Poll::Ready(done) = result {
            self.watch.finish(&counts);
            return Poll::Ready(
                done.map_err(|(step, err)| {
                    CopyError::new(Direction::AToB, step, err, counts, true)
                }),
            );
        }
        let engine = &mut self.engine;
        self.watch
            .poll_one_way(cx, counts, || {
                engine.release();
            })
            .map(Err)
    }

    /// Bytes of buffer memory the job holds right now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferry::Copier::new().job().allocated(), 0);
    /// ```
    pub fn allocated(&self) -> usize {
        self.engine.allocated()
    }
}
