//! `CopyError`: a failed copy, with where it failed and how far it got, and
//! `Counts`, what both directions moved.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

use crate::{DirectionCounts, Step};

/// Which way bytes were moving.
///
/// ```
/// assert_ne!(ferry_io::Direction::AToB, ferry_io::Direction::BToA);
/// ```
///
/// In a one-way copy ([`Copier::copy`](crate::Copier::copy)) the reader is
/// `a` and the writer is `b`, so every failure is [`Direction::AToB`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From `a` (or the reader) to `b` (or the writer).
    AToB,
    /// From `b` to `a`, in a bidirectional copy.
    BToA,
}

impl Direction {
    fn ends(self) -> (&'static str, &'static str) {
        match self {
            Direction::AToB => ("a", "b"),
            Direction::BToA => ("b", "a"),
        }
    }
}

/// Bytes read and written in each direction.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry_io::CopyError> {
/// let mut job = ferry_io::Copier::new().job();
/// job.run(&mut &b"abc"[..], &mut Vec::new()).await?;
/// let counts: ferry_io::Counts = job.counts();
/// assert_eq!((counts.a_to_b.read, counts.a_to_b.written), (3, 3));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// From `a` (or the reader) to `b` (or the writer).
    pub a_to_b: DirectionCounts,
    /// From `b` to `a`; zero in a one-way copy.
    pub b_to_a: DirectionCounts,
}

impl Counts {
    /// The counts of one direction.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::{Counts, Direction};
    ///
    /// let counts = Counts::default();
    /// assert_eq!(counts.direction(Direction::BToA).written, 0);
    /// ```
    pub fn direction(&self, direction: Direction) -> DirectionCounts {
        match direction {
            Direction::AToB => self.a_to_b,
            Direction::BToA => self.b_to_a,
        }
    }

    pub(crate) fn direction_mut(&mut self, direction: Direction) -> &mut DirectionCounts {
        match direction {
            Direction::AToB => &mut self.a_to_b,
            Direction::BToA => &mut self.b_to_a,
        }
    }

    /// Bytes written in both directions together.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferry_io::CopyError> {
    /// let mut a = tokio::io::join(&b"ping"[..], tokio::io::sink());
    /// let mut b = tokio::io::join(&b"pong!"[..], tokio::io::sink());
    /// let progress = ferry_io::Progress::new();
    /// ferry_io::Copier::new().progress(progress.clone()).bidirectional(&mut a, &mut b).await?;
    /// assert_eq!(progress.snapshot().total_written(), 9);
    /// # Ok(())
    /// # }
    /// ```
    pub fn total_written(&self) -> u64 {
        self.a_to_b.written + self.b_to_a.written
    }
}

/// A copy that failed: which direction and step, the I/O error, and the
/// bytes read and written in each direction up to the failure.
///
/// Converts into an [`io::Error`] of the same kind, so `?` works in functions
/// that return `io::Result`.
///
/// # Examples
///
/// ```
/// use std::io;
/// use ferry_io::{Copier, Step};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// struct Broken;
/// impl tokio::io::AsyncWrite for Broken {
///     fn poll_write(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>, _: &[u8])
///         -> std::task::Poll<io::Result<usize>> {
///         std::task::Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
///     }
///     fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
///         -> std::task::Poll<io::Result<()>> { std::task::Poll::Ready(Ok(())) }
///     fn poll_shutdown(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>)
///         -> std::task::Poll<io::Result<()>> { std::task::Poll::Ready(Ok(())) }
/// }
///
/// let mut reader: &[u8] = b"lost";
/// let err = Copier::new().copy(&mut reader, &mut Broken).await.unwrap_err();
/// assert_eq!(err.step(), Step::Write);
/// assert_eq!(err.counts().a_to_b.read, 4);
/// assert_eq!(err.counts().a_to_b.written, 0);
/// assert_eq!(err.to_string(), "write to the writer failed after 0 B: broken pipe");
/// assert_eq!(io::Error::from(err).kind(), io::ErrorKind::BrokenPipe);
/// # }
/// ```
#[derive(Debug)]
pub struct CopyError {
    direction: Option<Direction>,
    step: Step,
    source: io::Error,
    counts: Counts,
    one_way: bool,
}

impl CopyError {
    pub(crate) fn new(
        direction: Direction,
        step: Step,
        source: io::Error,
        counts: Counts,
        one_way: bool,
    ) -> Self {
        Self {
            direction: Some(direction),
            step,
            source,
            counts,
            one_way,
        }
    }

    pub(crate) fn idle(timeout: Duration, counts: Counts, one_way: bool) -> Self {
        Self {
            direction: None,
            step: Step::IdleTimeout,
            source: io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no bytes moved for {timeout:?}"),
            ),
            counts,
            one_way,
        }
    }

    pub(crate) fn linger(still_running: Direction, linger: Duration, counts: Counts) -> Self {
        let (from, to) = still_running.ends();
        Self {
            direction: Some(still_running),
            step: Step::LingerTimeout,
            source: io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{from} to {to} still open {linger:?} after {to} to {from} finished"),
            ),
            counts,
            one_way: false,
        }
    }

    /// The same failure, after `moved` more bytes went from a to b before
    /// the copy that failed began (the zero-copy route that preceded it).
    pub(crate) fn after(mut self, moved: u64) -> Self {
        self.counts.a_to_b.read += moved;
        self.counts.a_to_b.written += moved;
        self
    }

    /// The direction that failed; `None` for an idle timeout, which is about both.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut reader: &[u8] = b"abc";
    /// let mut two_bytes = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut two_bytes[..]);
    /// let err = ferry_io::Copier::new().copy(&mut reader, &mut full).await.unwrap_err();
    /// assert_eq!(err.direction(), Some(ferry_io::Direction::AToB));
    /// # }
    /// ```
    pub fn direction(&self) -> Option<Direction> {
        self.direction
    }

    /// The step that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut reader: &[u8] = b"abc";
    /// let mut two_bytes = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut two_bytes[..]);
    /// let err = ferry_io::Copier::new().copy(&mut reader, &mut full).await.unwrap_err();
    /// assert_eq!(err.step(), ferry_io::Step::Write);
    /// # }
    /// ```
    pub fn step(&self) -> Step {
        self.step
    }

    /// Bytes read and written in each direction up to the failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut reader: &[u8] = b"abc";
    /// let mut two_bytes = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut two_bytes[..]);
    /// let err = ferry_io::Copier::new().copy(&mut reader, &mut full).await.unwrap_err();
    /// assert_eq!(err.counts().a_to_b.written, 2);
    /// # }
    /// ```
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The kind of the underlying I/O error (`TimedOut` for the timeouts).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut reader: &[u8] = b"abc";
    /// let mut two_bytes = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut two_bytes[..]);
    /// let err = ferry_io::Copier::new().copy(&mut reader, &mut full).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WriteZero);
    /// # }
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The underlying I/O error.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut reader: &[u8] = b"abc";
    /// let mut two_bytes = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut two_bytes[..]);
    /// let err = ferry_io::Copier::new().copy(&mut reader, &mut full).await.unwrap_err();
    /// assert_eq!(err.io_error().kind(), std::io::ErrorKind::WriteZero);
    /// # }
    /// ```
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The underlying I/O error, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut reader: &[u8] = b"abc";
    /// let mut two_bytes = [0u8; 2];
    /// let mut full = std::io::Cursor::new(&mut two_bytes[..]);
    /// let err = ferry_io::Copier::new().copy(&mut reader, &mut full).await.unwrap_err();
    /// let io_error: std::io::Error = err.into_io_error();
    /// assert_eq!(io_error.kind(), std::io::ErrorKind::WriteZero);
    /// # }
    /// ```
    pub fn into_io_error(self) -> io::Error {
        self.source
    }

    fn ends(&self) -> (&'static str, &'static str) {
        match (self.one_way, self.direction) {
            (true, _) => ("the reader", "the writer"),
            (false, Some(direction)) => direction.ends(),
            (false, None) => ("a", "b"),
        }
    }
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to) = self.ends();
        let counts = self
            .counts
            .direction(self.direction.unwrap_or(Direction::AToB));
        let what = match self.step {
            Step::Read => {
                return write!(
                    f,
                    "read from {from} failed after {}: {}",
                    Bytes(counts.read),
                    self.source
                )
            }
            Step::Write => "write to",
            Step::Flush => "flush of",
            Step::Shutdown => "shutdown of",
            Step::IdleTimeout => {
                return write!(
                    f,
                    "idle timeout after {}: {}",
                    Bytes(self.counts.total_written()),
                    self.source
                )
            }
            Step::LingerTimeout => {
                return write!(
                    f,
                    "linger timeout after {}: {}",
                    Bytes(counts.written),
                    self.source
                )
            }
        };
        write!(
            f,
            "{what} {to} failed after {}: {}",
            Bytes(counts.written),
            self.source
        )
    }
}

impl Error for CopyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

impl From<CopyError> for io::Error {
    fn from(err: CopyError) -> io::Error {
        io::Error::new(err.kind(), err)
    }
}

/// A byte count for people, in powers of 1024: `512 B`, `12.4 MiB`.
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}
