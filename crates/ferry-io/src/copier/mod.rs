//! `Copier`: the builder for copies with limits, progress, timeouts and
//! errors that keep their counts, and everything its copies run on: the
//! read gate, the rate limiter, the watch, the one-way job and the relay.

mod clock;
mod gate;
mod job;
mod progress;
mod rate;
mod relay;
mod stop;
mod transfer;
mod watch;

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::engine::LentCopy;
#[cfg(doc)]
use crate::DEFAULT_MAX_BUF_SIZE;
use crate::{BufferPolicy, CopyBuffer, CopyError, Counts, MemoryBudget};
pub(crate) use clock::Clock;
use gate::LimitSettings;
use watch::{ProgressCallback, WatchSettings};

pub use job::CopyJob;
pub(crate) use job::{Job, Outcome};
pub use progress::Progress;
pub use rate::RateLimiter;
pub(crate) use relay::Relay;
pub use stop::StopSignal;
pub use transfer::{DirectionTransfer, Transfer};

/// How long a direction may sit idle before its buffer is given back.
pub const DEFAULT_RELEASE_AFTER: Duration = Duration::from_secs(1);

/// A reusable recipe for copies: buffer policy, byte and rate limits, idle
/// timeout, half-close linger, progress reporting and a graceful stop.
///
/// A `Copier` is cheap to clone and can be shared: a server can keep one for
/// all its connections. Every copy it runs drives the same engine as
/// [`copy`](crate::copy); options that are not set cost nothing.
///
/// By default a `Copier` uses the adaptive buffer of [`CopyBuffer::new`]
/// (8 KiB, growing up to [`DEFAULT_MAX_BUF_SIZE`] where that saves system
/// calls), allocates it only
/// when the first byte arrives, and gives it back after a direction has been
/// idle for [`DEFAULT_RELEASE_AFTER`]. Its timers use tokio's time driver, so
/// the runtime needs it (`enable_time`, or `#[tokio::main]`). With the
/// `futures-io` feature, `Copier::futures` runs the same copies over
/// futures-io ends, with timers that need no tokio runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ferry_io::{Copier, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry_io::CopyError> {
/// let copier = Copier::new()
///     .limit(1 << 20)
///     .rate_limit(RateLimiter::new(100 << 20))
///     .idle_timeout(Duration::from_secs(30));
///
/// let mut reader = tokio::io::repeat(b'x');
/// let copied = copier.copy(&mut reader, &mut tokio::io::sink()).await?;
/// assert_eq!(copied, 1 << 20);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Copier {
    policy: BufferPolicy,
    /// Where buffers grow into, if bounded.
    memory: Option<MemoryBudget>,
    /// What each direction's gate enforces.
    limits: LimitSettings,
    /// What each copy's watch times and reports; shared, since a relay
    /// holds it for as long as it runs.
    watch: Arc<WatchSettings>,
    /// Whether a failed copy resets its sockets rather than closing them.
    resets: bool,
}

impl Copier {
    /// A copier with the defaults: adaptive buffer, no limits, no timeouts.
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new();
    /// ```
    pub fn new() -> Self {
        Self {
            policy: BufferPolicy::default(),
            memory: None,
            limits: LimitSettings::default(),
            watch: Arc::new(WatchSettings {
                release_after: Some(DEFAULT_RELEASE_AFTER),
                ..WatchSettings::default()
            }),
            resets: false,
        }
    }

    /// Uses a fixed buffer of `bytes` per direction.
    ///
    /// # Panics
    ///
    /// Panics if `bytes` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new().buffer_size(64 * 1024);
    /// ```
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        assert!(bytes > 0, "buffer size must be greater than zero");
        self.policy = BufferPolicy::Fixed(bytes);
        self
    }

    /// Uses an adaptive buffer from `initial` to `max` bytes (see
    /// [`BufferPolicy::Adaptive`]): say, a smaller `max` to bound a server's
    /// memory.
    ///
    /// # Panics
    ///
    /// Panics if `initial` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new().adaptive_buffer(4096, 1 << 20);
    /// ```
    pub fn adaptive_buffer(mut self, initial: usize, max: usize) -> Self {
        assert!(initial > 0, "buffer size must be greater than zero");
        self.policy = BufferPolicy::Adaptive { initial, max };
        self
    }

    /// Takes the memory buffers grow into from `budget`, shared with every
    /// copy given the same budget; see [`MemoryBudget`].
    ///
    /// # Examples
    ///
    /// ```
    /// let server_wide = ferry_io::MemoryBudget::new(256 << 20);
    /// let copier = ferry_io::Copier::new().memory_budget(server_wide);
    /// ```
    pub fn memory_budget(mut self, budget: MemoryBudget) -> Self {
        self.memory = Some(budget);
        self
    }

    /// A buffer engine with this copier's policy and memory budget.
    pub(crate) fn engine(&self) -> CopyBuffer {
        let engine = CopyBuffer::with_policy(self.policy);
        match &self.memory {
            Some(budget) => engine.memory_budget(budget.clone()),
            None => engine,
        }
    }

    /// Copies at most `bytes` in each direction, and never reads past them:
    /// the rest of the stream stays in the reader for the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferry_io::CopyError> {
    /// let mut reader: &[u8] = b"header|body";
    /// let mut header = Vec::new();
    /// ferry_io::Copier::new().limit(6).copy(&mut reader, &mut header).await?;
    /// assert_eq!((header.as_slice(), reader), (&b"header"[..], &b"|body"[..]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn limit(mut self, bytes: u64) -> Self {
        self.limits.limit = Some(bytes);
        self
    }

    /// Holds every read to `limiter`'s rate. Call it again to add another
    /// limiter (say one for the whole server and one for this connection);
    /// every one of them applies. In a bidirectional copy both directions
    /// draw on the same limiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let server_wide = ferry_io::RateLimiter::new(100 << 20);
    /// let copier = ferry_io::Copier::new().rate_limit(server_wide);
    /// let per_connection = copier.clone().rate_limit(ferry_io::RateLimiter::new(10 << 20));
    /// ```
    pub fn rate_limit(mut self, limiter: RateLimiter) -> Self {
        self.limits.limiters.push(limiter);
        self
    }

    /// Fails the copy with [`Step::IdleTimeout`](crate::Step::IdleTimeout)
    /// (kind `TimedOut`) when no byte has moved, in either direction, for `timeout`.
    ///
    /// A timeout of more than about 30 years (up to [`Duration::MAX`]) never
    /// expires.
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new().idle_timeout(std::time::Duration::from_secs(30));
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.watch).idle_timeout = Some(timeout);
        self
    }

    /// In a bidirectional copy, once one direction has finished, lets the
    /// other run for at most `linger` before failing with
    /// [`Step::LingerTimeout`](crate::Step::LingerTimeout). Without it the
    /// other direction may run as long as its peer keeps it open. A linger of
    /// more than about 30 years (up to [`Duration::MAX`]) never expires.
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new().linger(std::time::Duration::from_secs(5));
    /// ```
    pub fn linger(mut self, linger: Duration) -> Self {
        Arc::make_mut(&mut self.watch).linger = Some(linger);
        self
    }

    /// Gives an idle direction's buffer back after `after` (default
    /// [`DEFAULT_RELEASE_AFTER`]), or never with `None` (or a duration of
    /// more than about 30 years).
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new().release_idle_buffers(None);
    /// ```
    pub fn release_idle_buffers(mut self, after: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.watch).release_after = after;
        self
    }

    /// Adds the bytes moved to `progress`, which any task can read.
    ///
    /// # Examples
    ///
    /// ```
    /// let progress = ferry_io::Progress::new();
    /// let copier = ferry_io::Copier::new().progress(progress.clone());
    /// ```
    pub fn progress(mut self, progress: Progress) -> Self {
        Arc::make_mut(&mut self.watch).progress = Some(progress);
        self
    }

    /// Calls `report` with the copy's counts at most once per `every` while
    /// bytes move, and once more at the end.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let copier = ferry_io::Copier::new().on_progress(Duration::from_millis(500), |counts| {
    ///     eprintln!("{} bytes so far", counts.a_to_b.written);
    /// });
    /// ```
    pub fn on_progress(
        mut self,
        every: Duration,
        report: impl Fn(Counts) + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.watch).on_progress = Some(ProgressCallback {
            every,
            report: Arc::new(report),
        });
        self
    }

    /// Ends copies gracefully once `signal` is given: they read no more,
    /// write and flush what they have read, and return `Ok` with exact
    /// counts, as on reaching the [`limit`](Self::limit). Each direction of
    /// a bidirectional copy then shuts down its write half as at EOF. See
    /// [`StopSignal`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ferry_io::CopyError> {
    /// let stop = ferry_io::StopSignal::new();
    /// let copier = ferry_io::Copier::new().stop_on(stop.clone());
    /// stop.stop();
    /// // A copy told to stop before it starts reads nothing.
    /// let mut reader: &[u8] = b"never read";
    /// assert_eq!(copier.copy(&mut reader, &mut Vec::new()).await?, 0);
    /// assert_eq!(reader, b"never read");
    /// # Ok(())
    /// # }
    /// ```
    pub fn stop_on(mut self, signal: StopSignal) -> Self {
        self.limits.stop = Some(signal.clone());
        Arc::make_mut(&mut self.watch).stop = Some(signal);
        self
    }

    /// This copier with `moved` bytes fewer to go: for a copy that carries
    /// on, through memory, one that another route began. Its progress
    /// callback counts the `moved` bytes too, so what it reports goes on
    /// from where the other route stopped instead of starting over.
    pub(crate) fn less(&self, moved: u64) -> Copier {
        let mut copier = self.clone();
        if let Some(limit) = &mut copier.limits.limit {
            *limit = limit.saturating_sub(moved);
        }
        if moved == 0 {
            return copier;
        }
        if let Some(callback) = &mut Arc::make_mut(&mut copier.watch).on_progress {
            let report = Arc::clone(&callback.report);
            callback.report = Arc::new(move |mut counts: Counts| {
                counts.a_to_b.read += moved;
                counts.a_to_b.written += moved;
                report(counts);
            });
        }
        copier
    }

    /// Makes a copy that does not end well pass that on as an abort: the
    /// sockets among its ends close with a reset (`SO_LINGER` 0) instead of
    /// an orderly end of stream, so their peers cannot take a truncated
    /// stream for a complete one. Applies to the zero-copy entry points
    /// ([`zero_copy`](Self::zero_copy)), which see the ends' sockets.
    ///
    /// The sockets are set to reset when a copy fails, times out, or is
    /// dropped before it ends (a server cutting relays off at shutdown), so
    /// closing them then resets the connection; a copy that ends well
    /// leaves them as they were. Before a failure is
    /// reported, the bytes read before it are written out, as far as the
    /// other side takes them, so a reset from one peer reaches the other
    /// after everything that peer sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let relay = ferry_io::Copier::new().propagate_resets(true);
    /// ```
    pub fn propagate_resets(mut self, resets: bool) -> Self {
        self.resets = resets;
        self
    }

    pub(crate) fn resets(&self) -> bool {
        self.resets
    }

    /// A resumable one-way copy with this copier's settings; see [`CopyJob`].
    ///
    /// # Examples
    ///
    /// ```
    /// let job = ferry_io::Copier::new().job();
    /// assert_eq!(job.counts().a_to_b.written, 0);
    /// ```
    pub fn job(&self) -> CopyJob {
        CopyJob::new(self)
    }

    /// Copies all of `reader` into `writer` (up to the limit), then flushes
    /// `writer`, and returns the number of bytes copied.
    ///
    /// Dropping the future loses the bytes read but not yet written; use
    /// [`job`](Self::job) to be able to resume instead.
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
    /// let mut reader: &[u8] = b"hello";
    /// let mut writer = Vec::new();
    /// assert_eq!(ferry_io::Copier::new().copy(&mut reader, &mut writer).await?, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn copy<R, W>(&self, reader: &mut R, writer: &mut W) -> Result<u64, CopyError>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        self.job().run(reader, writer).await
    }

    /// Like [`copy`](Self::copy), but writes straight out of a buffered
    /// reader's buffer, as [`copy_buf`](crate::copy_buf) does.
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
    /// let mut reader = tokio::io::BufReader::new(&b"hello"[..]);
    /// let mut writer = Vec::new();
    /// assert_eq!(ferry_io::Copier::new().limit(4).copy_buf(&mut reader, &mut writer).await?, 4);
    /// assert_eq!(writer, b"hell");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn copy_buf<R, W>(&self, reader: &mut R, writer: &mut W) -> Result<u64, CopyError>
    where
        R: AsyncBufRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut job = Job::new(LentCopy::default(), self, Clock::Tokio);
        poll_fn(|cx| job.poll_run(cx, Pin::new(&mut *reader), Pin::new(&mut *writer)))
            .await
            .into_result()
    }

    /// Copies both ways between `a` and `b` until both directions reach EOF,
    /// shutting down each write half once the other side has finished.
    ///
    /// Each direction has its own buffer and byte limit; rate limits and the
    /// idle timeout apply to both together.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] naming the direction and step that failed, with the
    /// counts of both directions so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, mut a) = tokio::io::duplex(1024);
    /// let (mut b, mut server) = tokio::io::duplex(1024);
    /// let relay = tokio::spawn(async move { ferry_io::Copier::new().bidirectional(&mut a, &mut b).await });
    ///
    /// client.write_all(b"ping").await?;
    /// client.shutdown().await?;
    /// server.write_all(b"pong!").await?;
    /// server.shutdown().await?;
    /// let mut got = Vec::new();
    /// server.read_to_end(&mut got).await?;
    /// client.read_to_end(&mut got).await?;
    ///
    /// let transfer = relay.await??;
    /// assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (4, 5));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bidirectional<A, B>(&self, a: &mut A, b: &mut B) -> Result<Transfer, CopyError>
    where
        A: AsyncRead + AsyncWrite + Unpin + ?Sized,
        B: AsyncRead + AsyncWrite + Unpin + ?Sized,
    {
        let mut relay = Relay::new(self.engine(), self.engine(), self, Clock::Tokio);
        poll_fn(|cx| relay.poll_relay(cx, Pin::new(&mut *a), Pin::new(&mut *b)))
            .await
            .into_result()
    }
}

impl Default for Copier {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Copier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Copier")
            .field("policy", &self.policy)
            .field("memory", &self.memory)
            .field("limits", &self.limits)
            .field("watch", &self.watch)
            .field("resets", &self.resets)
            .finish()
    }
}
