//! Linux zero-copy paths: `copy_file_range`, `sendfile` and `splice`, with
//! automatic fallback to the buffered engine.
//!
//! [`Copier::zero_copy`] gives a [`ZeroCopier`], whose
//! [`copy`](ZeroCopier::copy) and [`bidirectional`](ZeroCopier::bidirectional)
//! take ends that are kernel objects ([`ZeroCopySource`], [`ZeroCopySink`]):
//! tokio's `TcpStream`, `UnixStream`, `unix::pipe::{Sender, Receiver}`,
//! `fs::File`, and `std::fs::File`. The route is chosen per pair of ends:
//!
//! | source          | sink                   | route |
//! |-----------------|------------------------|-------|
//! | file            | file                   | [`Route::CopyFileRange`] (on tokio's blocking pool, 1 MiB per call, 16 MiB per trip) |
//! | file            | socket or pipe         | [`Route::Sendfile`] |
//! | socket or pipe  | socket, pipe or file   | [`Route::Splice`] through a pipe per direction |
//!
//! When the kernel refuses a pair before any byte has moved (`EINVAL`,
//! `ENOSYS`, `EXDEV`, `EOPNOTSUPP`, `EPERM`, `EBADF` on `O_APPEND`, or
//! `copy_file_range` answering 0 at once as procfs and overlayfs do) the copy
//! runs on the buffered engine instead, and the result says so. A syscall
//! found missing (`ENOSYS`, or `EPERM` from seccomp) is remembered for the
//! whole process.
//!
//! The `Copier`'s byte limit, rate limits (a rate limit caps each syscall's
//! length), progress, idle timeout, linger, [stop signal](crate::StopSignal)
//! and [`CopyError`] counts work as on the buffered path (a stopped
//! `copy_file_range` first lets its call in flight land, and counts it). For
//! a splice, `read` counts bytes into the pipe and `written` bytes out of it:
//! after a failure their difference is what was left in the pipe.
//!
//! # What is faster here
//!
//! Measured on a shared, busy 2-vCPU machine (`cargo bench -p ferry --bench
//! zero_copy`, one run, ratios within it):
//!
//! | pair | ferry route | throughput | CPU per GB |
//! |------|-------------|------------|------------|
//! | file → file, 1 GiB cached | `copy_file_range` | 0.95× `std::io::copy`, 9.6× `tokio::io::copy` | 1.26× std, 0.07× tokio |
//! | file → loopback TCP | `sendfile` | 1.00× a plain sendfile loop, 9.6× `tokio::io::copy` | 1.05× plain, 0.14× tokio |
//! | TCP → TCP relay | `splice`, 1 MiB pipes | 1.30× `Copier::bidirectional` | 0.51× |
//!
//! On an idle machine BASELINES.md found splice no faster than a 256 KiB
//! user-space relay over loopback (loopback TCP is the limit); its lasting
//! gain is CPU per byte. No route lost to its alternative in the bench, so
//! [`ZeroCopyMode::Auto`] takes the kernel route for every pair the table
//! serves.
//!
//! # Examples
//!
//! ```
//! use ferry::zero_copy::{Route, ZeroCopyMode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("ferry-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("from"), b"zero-copy")?;
//!
//! let mut from = tokio::fs::File::open(dir.join("from")).await?;
//! let mut to = tokio::fs::File::create(dir.join("to")).await?;
//! let copied = ferry::Copier::new()
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

mod fd;
mod file_range;
mod one_way;
mod pipe;
mod relay;
mod sendfile;
mod splice;
mod step;
mod table;

use std::future::poll_fn;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

pub use fd::{FdKind, ZeroCopySink, ZeroCopySource};
pub use pipe::DEFAULT_PIPE_SIZE;
pub use table::Route;

use crate::{Copier, CopyError, Counts, Direction, Step, Transfer};
use one_way::{Ending, ZeroCopyJob};
use relay::SpliceRelay;

/// Whether a [`ZeroCopier`] may, must or must not use the kernel routes.
///
/// # Examples
///
/// ```
/// assert_eq!(ferry::zero_copy::ZeroCopyMode::default(), ferry::zero_copy::ZeroCopyMode::Auto);
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
/// let copied = ferry::zero_copy::Copied { bytes: 3, route: ferry::zero_copy::Route::Splice };
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
/// let relayed = ferry::zero_copy::Relayed {
///     transfer: ferry::Transfer::default(),
///     route: ferry::zero_copy::Route::Buffered,
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
/// use ferry::zero_copy::ZeroCopyMode;
///
/// let copier = ferry::Copier::new().limit(1 << 30);
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
    /// use ferry::zero_copy::ZeroCopyMode;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut tx, mut rx) = tokio::net::unix::pipe::pipe()?;
    /// let mut file = std::fs::File::open("/proc/self/cmdline")?;
    /// let reading = tokio::spawn(async move {
    ///     let mut got = Vec::new();
    ///     tokio::io::AsyncReadExt::read_to_end(&mut rx, &mut got).await.map(|_| got)
    /// });
    /// let copied = ferry::Copier::new().zero_copy(ZeroCopyMode::Auto).copy(&mut file, &mut tx).await?;
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
    /// let copier = ferry::Copier::new();
    /// let zero_copy = copier.zero_copy(ferry::zero_copy::ZeroCopyMode::Always).pipe_size(64 * 1024);
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
    /// use ferry::zero_copy::{Route, ZeroCopyMode};
    ///
    /// let from = std::fs::File::open("/dev/null").unwrap();
    /// let to = std::fs::File::options().write(true).open("/dev/null").unwrap();
    /// let copier = ferry::Copier::new();
    /// assert_eq!(copier.zero_copy(ZeroCopyMode::Auto).route(&from, &to), Route::CopyFileRange);
    /// assert_eq!(copier.zero_copy(ZeroCopyMode::Never).route(&from, &to), Route::Buffered);
    /// ```
    pub fn route<S, D>(&self, source: &S, sink: &D) -> Route
    where
        S: ZeroCopySource + ?Sized,
        D: ZeroCopySink + ?Sized,
    {
        let route = table::route_for(source.source_kind(), sink.sink_kind(), self.mode);
        if table::sink_refuses(route, sink.as_fd()) {
            Route::Buffered
        } else {
            route
        }
    }

    /// Copies all of `source` into `sink` (up to the copier's limit) on the
    /// route the table picks, falling back to the buffered engine when the
    /// kernel refuses before a byte moved.
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
    /// use ferry::zero_copy::{Route, ZeroCopyMode};
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
    ///     ferry::Copier::new().zero_copy(ZeroCopyMode::Auto).copy(&mut server, &mut tx).await
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
        let refusal = if route.is_zero_copy() {
            match ZeroCopyJob::new(self.copier, route, self.pipe_size) {
                Ok(mut job) => match poll_fn(|cx| job.poll_run(cx, &*source, &*sink)).await {
                    Ending::Done(bytes) => return Ok(Copied { bytes, route }),
                    Ending::Failed(err) => return Err(err),
                    Ending::Refused(err) => err,
                },
                // No pipe to splice through (out of fds or of pipe memory):
                // memory can still carry the bytes.
                Err(err) => err,
            }
        } else {
            unavailable(self.mode)
        };
        if self.mode == ZeroCopyMode::Always {
            return Err(failed(Step::Read, unsupported(refusal)));
        }
        let mut reader = source.reader().map_err(|err| failed(Step::Read, err))?;
        let mut writer = sink.writer().map_err(|err| failed(Step::Write, err))?;
        let bytes = self.copier.copy(&mut reader, &mut writer).await?;
        Ok(Copied {
            bytes,
            route: Route::Buffered,
        })
    }

    /// Copies both ways between two streams, splicing each direction through
    /// its own pipe, and shutting down each write half once the other side
    /// has finished, as [`Copier::bidirectional`] does.
    ///
    /// Falls back to [`Copier::bidirectional`] when splice is unavailable,
    /// when its pipes cannot be made (out of file descriptors or of pipe
    /// memory), or when it is refused before either direction moved a byte.
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
    /// use ferry::zero_copy::{Route, ZeroCopyMode};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use tokio::net::UnixStream;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, mut a) = UnixStream::pair()?;
    /// let (mut b, mut server) = UnixStream::pair()?;
    /// let relay = tokio::spawn(async move {
    ///     ferry::Copier::new().zero_copy(ZeroCopyMode::Always).bidirectional(&mut a, &mut b).await
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
        A: ZeroCopySource + ZeroCopySink + AsyncRead + AsyncWrite + Unpin + ?Sized,
        B: ZeroCopySource + ZeroCopySink + AsyncRead + AsyncWrite + Unpin + ?Sized,
    {
        let failed =
            |step, err| CopyError::new(Direction::AToB, step, err, Counts::default(), false);
        let kinds = [a.source_kind(), b.source_kind()];
        let streams = kinds.iter().all(|kind| *kind == FdKind::Stream);
        let route = if streams {
            table::route_for(FdKind::Stream, FdKind::Stream, self.mode)
        } else {
            // Two-way copies between files are not a thing the table serves.
            Route::Buffered
        };
        let refusal = if route == Route::Splice {
            match SpliceRelay::new(self.copier, self.pipe_size) {
                Ok(mut relay) => match poll_fn(|cx| relay.poll_relay(cx, &mut *a, &mut *b)).await {
                    Ending::Done(transfer) => return Ok(Relayed { transfer, route }),
                    Ending::Failed(err) => return Err(err),
                    Ending::Refused(err) => err,
                },
                // No pipes (out of fds or of pipe memory): relay through memory.
                Err(err) => err,
            }
        } else {
            unavailable(self.mode)
        };
        if self.mode == ZeroCopyMode::Always {
            return Err(failed(Step::Read, unsupported(refusal)));
        }
        let transfer = self.copier.bidirectional(a, b).await?;
        Ok(Relayed {
            transfer,
            route: Route::Buffered,
        })
    }
}

/// Why no kernel route was tried.
fn unavailable(mode: ZeroCopyMode) -> io::Error {
    io::Error::other(match mode {
        ZeroCopyMode::Never => "zero-copy is turned off",
        _ => "no zero-copy route for this pair of ends on this system",
    })
}

/// The error `Always` fails with when the kernel route was refused.
fn unsupported(cause: io::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("zero-copy route unavailable: {cause}"),
    )
}
