//! Zero-copy paths: `copy_file_range`, `sendfile` and `splice` (Linux),
//! chosen per pair of ends, with the buffered engine wherever the kernel
//! cannot or should not carry the bytes.
//!
//! [`Copier::zero_copy`] gives a [`ZeroCopier`], whose
//! [`copy`](ZeroCopier::copy) and [`bidirectional`](ZeroCopier::bidirectional)
//! take ends that are kernel objects ([`ZeroCopySource`], [`ZeroCopySink`],
//! [`ZeroCopyStream`]): tokio's `TcpStream`, `UnixStream`,
//! `unix::pipe::{Sender, Receiver}`, `fs::File`, `std::fs::File` and
//! [`LandedWriter`](crate::LandedWriter), or trait objects of any of them.
//! The [`Route`] is chosen per pair of ends: `copy_file_range` from file to
//! file, `sendfile` from a file to a socket or pipe, `splice` where a pipe
//! or a file is an end, memory for everything else, and between two sockets
//! memory for messages and splice for streams (a relay moves each direction
//! to a pipe once it streams). Off Linux every route is memory.
//!
//! When the kernel refuses a pair before any byte has moved (`EINVAL`,
//! `ENOSYS`, `EXDEV`, `EOPNOTSUPP`, `EPERM`, `EBADF` on `O_APPEND`, or
//! `copy_file_range` answering 0 at once as procfs and overlayfs do) the copy
//! runs on the buffered engine instead, and the result says so. A syscall
//! found missing (`ENOSYS`, or `EPERM` that a probe shows comes from a
//! seccomp filter rather than from one file) is remembered for the whole
//! process. The decision table is one file, `table.rs`.
//!
//! The `Copier`'s byte limit, rate limits (a rate limit caps each syscall's
//! length), progress, idle timeout, linger, [stop signal](crate::StopSignal)
//! and [`CopyError`] counts work as on the buffered path (a stopped
//! `copy_file_range` first lets its call in flight land, and counts it). For
//! a splice, `read` counts bytes into the pipe and `written` bytes out of it:
//! after a failure their difference is what was left in the pipe.
//!
//! # Examples
//!
//! ```
//! use ferry_io::zero_copy::{Route, ZeroCopyMode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("ferry-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("from"), b"zero-copy")?;
//!
//! let mut from = tokio::fs::File::open(dir.join("from")).await?;
//! let mut to = tokio::fs::File::create(dir.join("to")).await?;
//! let copied = ferry_io::Copier::new()
//!     .zero_copy(ZeroCopyMode::Auto)
//!     .copy(&mut from, &mut to)
//!     .await?;
//! assert_eq!(copied.bytes, 9);
//! assert!(matches!(copied.route, Route::CopyFileRange | Route::Buffered));
//! assert_eq!(std::fs::read(dir.join("to"))?, b"zero-copy");
//! std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

#[cfg(target_os = "linux")]
mod call;
mod end;
#[cfg(target_os = "linux")]
mod mover;
#[cfg(target_os = "linux")]
mod off_task;
#[cfg(target_os = "linux")]
mod on_task;
#[cfg(target_os = "linux")]
mod pipe;
#[cfg(target_os = "linux")]
mod switching;
mod table;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

pub use end::{FdKind, Prepare, ZeroCopySink, ZeroCopySource, ZeroCopyStream};
pub use table::Route;

use crate::copier::{Clock, Job, Outcome, Relay};
use crate::engine::PollMove;
use crate::{Copier, CopyError, Counts, Direction, Step, Transfer};

/// The pipe size a splice copy asks for: 1 MiB, the largest an unprivileged
/// process gets by default (`/proc/sys/fs/pipe-max-size`).
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::{ZeroCopyMode, DEFAULT_PIPE_SIZE};
///
/// let copier = ferry_io::Copier::new();
/// // Smaller pipes for a server with many idle spliced relays.
/// let zero_copy = copier.zero_copy(ZeroCopyMode::Always).pipe_size(DEFAULT_PIPE_SIZE / 16);
/// ```
pub const DEFAULT_PIPE_SIZE: usize = 1 << 20;

/// The most empty splice pipes each thread keeps for the next splice
/// there (two file descriptors each): a splice direction that ends with
/// its pipe empty gives it back instead of closing it, sparing the next
/// one `pipe2`, two `fcntl`s and, at its end, two `close`s. A pipe that may
/// hold bytes is always closed.
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::POOLED_PIPES;
///
/// // The descriptors a server of 4 threads and 1,000 relays of two
/// // sockets and two pipes each may hold open at once.
/// let threads = 4;
/// let most = 1_000 * 4 + threads * POOLED_PIPES * 2;
/// assert_eq!(most, 4_064);
/// ```
pub const POOLED_PIPES: usize = 8;

/// Whether a [`ZeroCopier`] may, must or must not use the kernel routes.
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::ZeroCopyMode;
///
/// // Compare the kernel routes with memory on your own pair of ends.
/// let copier = ferry_io::Copier::new();
/// let (kernel, memory) = (copier.zero_copy(ZeroCopyMode::Auto), copier.zero_copy(ZeroCopyMode::Never));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ZeroCopyMode {
    /// The kernel route where the table has one, the buffered engine when
    /// the kernel refuses or the pair has no route.
    #[default]
    Auto,
    /// Always the buffered engine (for comparison, or to rule the kernel out).
    Never,
    /// The kernel route or an error: a refusal fails the copy with
    /// `ErrorKind::Unsupported` instead of falling back.
    Always,
}

/// A one-way zero-copy result: the bytes copied and the route they took.
///
/// # Examples
///
/// ```
/// let copied = ferry_io::zero_copy::Copied { bytes: 3, route: ferry_io::zero_copy::Route::Splice };
/// assert!(copied.route.is_zero_copy());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copied {
    /// Bytes the sink accepted.
    pub bytes: u64,
    /// How they moved.
    pub route: Route,
}

/// A two-way zero-copy result: per-direction bytes and times, and the route.
///
/// # Examples
///
/// ```
/// let relayed = ferry_io::zero_copy::Relayed {
///     transfer: ferry_io::Transfer::default(),
///     route: ferry_io::zero_copy::Route::Buffered,
/// };
/// assert_eq!(relayed.transfer.a_to_b.bytes, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relayed {
    /// Bytes and duration of each direction.
    pub transfer: Transfer,
    /// How they moved.
    pub route: Route,
}

/// A [`Copier`]'s settings plus a [`ZeroCopyMode`]: runs copies between
/// kernel objects on the zero-copy routes. Made by [`Copier::zero_copy`].
///
/// # Examples
///
/// ```
/// use ferry_io::zero_copy::ZeroCopyMode;
///
/// let copier = ferry_io::Copier::new().limit(1 << 30);
/// let zero_copy = copier.zero_copy(ZeroCopyMode::Auto).pipe_size(256 * 1024);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ZeroCopier<'c> {
    copier: &'c Copier,
    mode: ZeroCopyMode,
    pipe_size: usize,
}

impl Copier {
    /// This copier's settings, for copies between kernel objects on the
    /// zero-copy routes (Linux only); see [`zero_copy`](crate::zero_copy).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::zero_copy::ZeroCopyMode;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut tx, mut rx) = tokio::net::unix::pipe::pipe()?;
    /// let mut file = std::fs::File::open("/proc/self/cmdline")?;
    /// let reading = tokio::spawn(async move {
    ///     let mut got = Vec::new();
    ///     tokio::io::AsyncReadExt::read_to_end(&mut rx, &mut got).await.map(|_| got)
    /// });
    /// let copied = ferry_io::Copier::new().zero_copy(ZeroCopyMode::Auto).copy(&mut file, &mut tx).await?;
    /// drop(tx);
    /// assert_eq!(reading.await??.len() as u64, copied.bytes);
    /// # Ok(())
    /// # }
    /// ```
    pub fn zero_copy(&self, mode: ZeroCopyMode) -> ZeroCopier<'_> {
        ZeroCopier {
            copier: self,
            mode,
            pipe_size: DEFAULT_PIPE_SIZE,
        }
    }
}

impl ZeroCopier<'_> {
    /// Asks for splice pipes of `bytes` (default [`DEFAULT_PIPE_SIZE`]); the
    /// kernel rounds up to a power-of-two of pages and may give less.
    ///
    /// # Examples
    ///
    /// ```
    /// let copier = ferry_io::Copier::new();
    /// let zero_copy = copier.zero_copy(ferry_io::zero_copy::ZeroCopyMode::Always).pipe_size(64 * 1024);
    /// ```
    pub fn pipe_size(mut self, bytes: usize) -> Self {
        self.pipe_size = bytes;
        self
    }

    /// The route [`copy`](Self::copy) will try first for `source` and `sink`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::zero_copy::{Route, ZeroCopyMode};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let file = std::fs::File::open("/proc/self/stat")?;
    /// let (socket, _peer) = tokio::net::UnixStream::pair()?;
    /// let (pipe, _reader) = tokio::net::unix::pipe::pipe()?;
    /// let copier = ferry_io::Copier::new();
    /// let auto = copier.zero_copy(ZeroCopyMode::Auto);
    /// assert_eq!(auto.route(&file, &pipe), Route::Sendfile);
    /// // Two sockets start in memory unless splice is asked for.
    /// assert_eq!(auto.route(&socket, &socket), Route::Buffered);
    /// assert_eq!(copier.zero_copy(ZeroCopyMode::Always).route(&socket, &socket), Route::Splice);
    /// assert_eq!(copier.zero_copy(ZeroCopyMode::Never).route(&file, &pipe), Route::Buffered);
    /// # Ok(())
    /// # }
    /// ```
    pub fn route<S, D>(&self, source: &S, sink: &D) -> Route
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let route = table::route(source.source_kind(), sink.sink_kind(), self.mode);
        if table::sink_refuses(route, sink.as_fd()) {
            Route::Buffered
        } else {
            route
        }
    }

    /// The route [`bidirectional`](Self::bidirectional) will try first for a
    /// relay between `a` and `b`: splice only when both directions can
    /// (each through a pipe of its own), memory otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::zero_copy::{Route, ZeroCopyMode};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (a, _peer_a) = tokio::net::UnixStream::pair()?;
    /// let (b, _peer_b) = tokio::net::UnixStream::pair()?;
    /// let copier = ferry_io::Copier::new();
    /// assert_eq!(copier.zero_copy(ZeroCopyMode::Always).relay_route(&a, &b), Route::Splice);
    /// assert_eq!(copier.zero_copy(ZeroCopyMode::Auto).relay_route(&a, &b), Route::Buffered);
    /// # Ok(())
    /// # }
    /// ```
    pub fn relay_route<A, B>(&self, a: &A, b: &B) -> Route
    where
        A: ZeroCopyStream + ?Sized,
        B: ZeroCopyStream + ?Sized,
    {
        table::relay_route(a.source_kind(), b.source_kind(), self.mode)
    }

    /// Copies all of `source` into `sink` (up to the copier's limit) on the
    /// route the table picks, going on through memory when the kernel
    /// refuses the pair (see [`Route`] for when it may).
    ///
    /// Files are used from their current offsets, and the offsets move on
    /// as with `read`/`write`. A `tokio::fs::File` has its pending writes
    /// flushed and its read-ahead discarded first.
    ///
    /// `copy_file_range` runs on tokio's blocking pool in calls of at most
    /// 1 MiB, and each call's bytes count (for progress and the idle timeout)
    /// as soon as it returns. Dropping the future mid-copy lets the call
    /// running then finish, and makes no other: the sink then holds at most
    /// 1 MiB more than the copier's [`Progress`](crate::Progress) reports.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] with the step that failed and the counts so far; in
    /// [`ZeroCopyMode::Always`], one of kind `Unsupported` when the kernel
    /// route is unavailable for this pair.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::zero_copy::{Route, ZeroCopyMode};
    /// use tokio::io::AsyncReadExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// let (mut tx, mut rx) = tokio::net::unix::pipe::pipe()?;
    ///
    /// let relay = tokio::spawn(async move {
    ///     ferry_io::Copier::new().zero_copy(ZeroCopyMode::Auto).copy(&mut server, &mut tx).await
    /// });
    /// tokio::io::AsyncWriteExt::write_all(&mut client, b"through a pipe").await?;
    /// drop(client);
    /// let copied = relay.await??;
    /// assert_eq!((copied.bytes, copied.route), (14, Route::Splice));
    /// let mut got = Vec::new();
    /// rx.read_to_end(&mut got).await?;
    /// assert_eq!(got, b"through a pipe");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn copy<S, D>(self, source: &mut S, sink: &mut D) -> Result<Copied, CopyError>
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let failed =
            |step, err| CopyError::new(Direction::AToB, step, err, Counts::default(), true);
        source
            .prepare_read()
            .await
            .map_err(|err| failed(Step::Read, err))?;
        sink.prepare_write()
            .await
            .map_err(|err| failed(Step::Write, err))?;
        let route = self.route(&*source, &*sink);
        self.resetting(source, sink, async |source, sink| {
            self.copy_on(route, source, sink).await
        })
        .await
    }

    /// [`copy`](Self::copy) once the ends are ready and the route chosen.
    async fn copy_on<S, D>(
        &self,
        route: Route,
        source: &mut S,
        sink: &mut D,
    ) -> Result<Copied, CopyError>
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let (refusal, moved) = match self.kernel_copy(route, source, sink).await {
            (Outcome::Done(bytes), _) => return Ok(Copied { bytes, route }),
            (Outcome::Failed(err), _) => return Err(err),
            (Outcome::Refused(refusal), moved) => (refusal, moved),
        };
        self.may_fall_back(refusal, moved, true)?;
        let failed = |step, err| {
            CopyError::new(Direction::AToB, step, err, Counts::default(), true).after(moved)
        };
        let mut reader = source.reader().map_err(|err| failed(Step::Read, err))?;
        let mut writer = sink.writer().map_err(|err| failed(Step::Write, err))?;
        let rest = self
            .copier
            .less(moved)
            .copy(&mut reader, &mut writer)
            .await
            .map_err(|err| err.after(moved))?;
        Ok(Copied {
            bytes: moved + rest,
            route: if moved > 0 { route } else { Route::Buffered },
        })
    }

    /// Runs a one-way copy on `route`'s syscall; a refusal comes with the
    /// bytes that moved (and landed) before it.
    async fn kernel_copy<S, D>(
        &self,
        route: Route,
        source: &mut S,
        sink: &mut D,
    ) -> (Outcome<u64>, u64)
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        #[cfg(target_os = "linux")]
        if let Some(take) = table::taking(route, source.source_kind(), sink.sink_kind()) {
            return match mover::KernelMover::new(take, self.pipe_size) {
                Ok(mover) => self.run(mover, source, sink).await,
                // No pipe to splice through (out of fds or of pipe memory):
                // memory can still carry the bytes.
                Err(err) => (Outcome::Refused(err), 0),
            };
        }
        let _ = (route, source, sink);
        (Outcome::Refused(unavailable(self.mode)), 0)
    }

    /// Runs `mover` as a one-way job from `source` to `sink`.
    async fn run<M, S, D>(&self, mover: M, source: &mut S, sink: &mut D) -> (Outcome<u64>, u64)
    where
        M: PollMove<S, D>,
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let mut job = Job::new(mover, self.copier, Clock::Tokio);
        let outcome =
            poll_fn(|cx| job.poll_run(cx, Pin::new(&mut *source), Pin::new(&mut *sink))).await;
        (outcome, job.counts().a_to_b.written)
    }

    /// Copies both ways between two streams, shutting down each write half
    /// once the other side has finished, as [`Copier::bidirectional`] does;
    /// where the table says splice, each direction goes through a pipe of
    /// its own.
    ///
    /// Between two sockets under [`ZeroCopyMode::Auto`] each direction
    /// starts in memory, with the copier's buffers, and moves to a pipe of
    /// its own once it streams (reads that fill what they ask for, of 8 KiB
    /// and more); the route returned is [`Route::Splice`] if either
    /// direction did. A direction that cannot have a pipe of at least
    /// 64 KiB stays in memory.
    ///
    /// Runs [`Copier::bidirectional`] instead when the table says memory,
    /// when splice is unavailable, when its pipes cannot be made (out of
    /// file descriptors or of pipe memory), or when it is refused before
    /// either direction moved a byte.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] naming the direction and step that failed, with the
    /// counts of both directions (for each, `read - written` bytes were left
    /// in its pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferry_io::zero_copy::{Route, ZeroCopyMode};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use tokio::net::UnixStream;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, mut a) = UnixStream::pair()?;
    /// let (mut b, mut server) = UnixStream::pair()?;
    /// let relay = tokio::spawn(async move {
    ///     ferry_io::Copier::new().zero_copy(ZeroCopyMode::Always).bidirectional(&mut a, &mut b).await
    /// });
    ///
    /// client.write_all(b"ping").await?;
    /// client.shutdown().await?;
    /// server.write_all(b"pong!").await?;
    /// server.shutdown().await?;
    /// let mut got = Vec::new();
    /// server.read_to_end(&mut got).await?;
    /// client.read_to_end(&mut got).await?;
    /// assert_eq!(got, b"pingpong!");
    ///
    /// let relayed = relay.await??;
    /// assert_eq!(relayed.route, Route::Splice);
    /// assert_eq!((relayed.transfer.a_to_b.bytes, relayed.transfer.b_to_a.bytes), (4, 5));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bidirectional<A, B>(self, a: &mut A, b: &mut B) -> Result<Relayed, CopyError>
    where
        A: ZeroCopyStream + ?Sized,
        B: ZeroCopyStream + ?Sized,
    {
        let route = self.relay_route(&*a, &*b);
        self.resetting(a, b, async |a, b| self.relay_on(route, a, b).await)
            .await
    }

    /// [`bidirectional`](Self::bidirectional) once the route is chosen.
    async fn relay_on<A, B>(&self, route: Route, a: &mut A, b: &mut B) -> Result<Relayed, CopyError>
    where
        A: ZeroCopyStream + ?Sized,
        B: ZeroCopyStream + ?Sized,
    {
        #[cfg(target_os = "linux")]
        if table::switches(a.source_kind(), b.source_kind(), self.mode) {
            return self.switching_relay(a, b).await;
        }
        let refusal = match self.kernel_relay(route, a, b).await {
            Outcome::Done(transfer) => return Ok(Relayed { transfer, route }),
            Outcome::Failed(err) => return Err(err),
            Outcome::Refused(refusal) => refusal,
        };
        self.may_fall_back(refusal, 0, false)?;
        let transfer = self.copier.bidirectional(a, b).await?;
        Ok(Relayed {
            transfer,
            route: Route::Buffered,
        })
    }

    /// A relay between two sockets whose directions go through memory until
    /// they stream, then each through a pipe of its own (see `switching`).
    #[cfg(target_os = "linux")]
    async fn switching_relay<A, B>(&self, a: &mut A, b: &mut B) -> Result<Relayed, CopyError>
    where
        A: ZeroCopyStream + ?Sized,
        B: ZeroCopyStream + ?Sized,
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let spliced = Arc::new(AtomicBool::new(false));
        let way = || {
            switching::SwitchingMover::new(self.copier.engine(), self.pipe_size, spliced.clone())
        };
        let mut relay = Relay::new(way(), way(), self.copier, Clock::Tokio);
        let transfer = poll_fn(|cx| relay.poll_relay(cx, Pin::new(&mut *a), Pin::new(&mut *b)))
            .await
            .into_result()?;
        let route = if spliced.load(Ordering::Relaxed) {
            Route::Splice
        } else {
            Route::Buffered
        };
        Ok(Relayed { transfer, route })
    }

    /// Runs a relay on `route`, each direction splicing through a pipe of its own.
    async fn kernel_relay<A, B>(&self, route: Route, a: &mut A, b: &mut B) -> Outcome<Transfer>
    where
        A: ZeroCopyStream + ?Sized,
        B: ZeroCopyStream + ?Sized,
    {
        #[cfg(target_os = "linux")]
        if route == Route::Splice {
            let way = || mover::KernelMover::new(call::Call::SpliceIn, self.pipe_size);
            let pipes = way().and_then(|a_to_b| Ok((a_to_b, way()?)));
            return match pipes {
                Ok((a_to_b, b_to_a)) => {
                    let mut relay = Relay::new(a_to_b, b_to_a, self.copier, Clock::Tokio);
                    poll_fn(|cx| relay.poll_relay(cx, Pin::new(&mut *a), Pin::new(&mut *b))).await
                }
                // No pipes (out of fds or of pipe memory): relay through memory.
                Err(err) => Outcome::Refused(err),
            };
        }
        let _ = (route, a, b);
        Outcome::Refused(unavailable(self.mode))
    }

    /// Runs `copy` between `source` and `sink`. With
    /// [`Copier::propagate_resets`], the sockets among them reset their
    /// connections when closed unless the copy succeeds: a copy that fails,
    /// or is dropped, passes the failure on to the peers.
    async fn resetting<S, D, T>(
        &self,
        source: &mut S,
        sink: &mut D,
        copy: impl AsyncFnOnce(&mut S, &mut D) -> Result<T, CopyError>,
    ) -> Result<T, CopyError>
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let mut ends = ResetUnlessDone {
            source,
            sink,
            armed: self.copier.resets(),
        };
        let copied = copy(&mut *ends.source, &mut *ends.sink).await;
        ends.armed &= copied.is_err();
        copied
    }

    /// Whether the copy may go on through memory after the kernel route was
    /// refused (or never tried): always, except in [`ZeroCopyMode::Always`],
    /// which fails instead with `ErrorKind::Unsupported` and the `moved`
    /// bytes in its counts.
    fn may_fall_back(
        &self,
        refusal: io::Error,
        moved: u64,
        one_way: bool,
    ) -> Result<(), CopyError> {
        if self.mode != ZeroCopyMode::Always {
            return Ok(());
        }
        let unsupported = io::Error::new(
            io::ErrorKind::Unsupported,
            format!("zero-copy route unavailable: {refusal}"),
        );
        Err(CopyError::new(
            Direction::AToB,
            Step::Read,
            unsupported,
            Counts::default(),
            one_way,
        )
        .after(moved))
    }
}

/// A copy's ends whose sockets are made to reset their connections when
/// dropped while `armed`: set only for a copy that failed or was dropped
/// before it ended, so a copy that ends well costs no system call for it.
struct ResetUnlessDone<'a, S, D>
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    source: &'a mut S,
    sink: &'a mut D,
    armed: bool,
}

impl<S, D> Drop for ResetUnlessDone<'_, S, D>
where
    S: ZeroCopySource + ?Sized,
    D: ZeroCopySink + ?Sized,
{
    fn drop(&mut self) {
        if self.armed {
            end::reset_on_close(self.source.source_kind(), self.source.as_fd());
            end::reset_on_close(self.sink.sink_kind(), self.sink.as_fd());
        }
    }
}

/// Why no kernel route was tried.
fn unavailable(mode: ZeroCopyMode) -> io::Error {
    io::Error::other(match mode {
        ZeroCopyMode::Never => "zero-copy is turned off",
        _ => "no zero-copy route for this pair of ends on this system",
    })
}
