//! Endpoints: opening an [`Address`] as a reader, a writer, a two-way stream or a listener.

use std::fs::FileType;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use ferry::Bytes;

use crate::address::Address;
use crate::landed::LandedWriter;
use crate::messages::{describe, Failure};
use crate::stdio;

/// A stream that carries bytes both ways.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// An opened address.
pub enum Endpoint {
    /// A source only: stdin, `zero:`, or a file that is not a regular one
    /// (a FIFO, a device). Carries the total size when it is known, for the
    /// progress bar.
    Read(Box<dyn AsyncRead + Unpin + Send>, Option<u64>),
    /// A destination only: stdout, `null:`, or a file that is not a regular one.
    Write(Box<dyn AsyncWrite + Unpin + Send>),
    /// A two-way stream: stdin+stdout in a relay, or a socket copied
    /// through memory (which is drained before it is closed).
    Duplex {
        /// The stream.
        stream: Box<dyn Duplex>,
        /// Whether it is a socket.
        socket: bool,
    },
    /// A file or a socket: the kernel can move its bytes without copying
    /// them through memory.
    Kernel(Kernel),
}

/// An endpoint that is a kernel object, kept by type so the zero-copy paths can use it.
#[derive(Debug)]
pub enum Kernel {
    /// A regular file to read, with its size.
    FileIn(tokio::fs::File, Option<u64>),
    /// A regular file to write.
    FileOut(LandedWriter),
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-socket connection.
    Unix(UnixStream),
}

impl Kernel {
    /// Whether this is a TCP or Unix-socket connection.
    pub fn is_socket(&self) -> bool {
        matches!(self, Kernel::Tcp(_) | Kernel::Unix(_))
    }
}

impl Endpoint {
    /// The endpoint as a plain reader, writer or stream, for the buffered copy.
    pub fn erase(self) -> Endpoint {
        match self {
            Endpoint::Kernel(Kernel::FileIn(file, size)) => Endpoint::Read(Box::new(file), size),
            Endpoint::Kernel(Kernel::FileOut(writer)) => Endpoint::Write(Box::new(writer)),
            Endpoint::Kernel(Kernel::Tcp(stream)) => Endpoint::Duplex {
                stream: Box::new(stream),
                socket: true,
            },
            Endpoint::Kernel(Kernel::Unix(stream)) => Endpoint::Duplex {
                stream: Box::new(stream),
                socket: true,
            },
            other => other,
        }
    }

    /// The number of bytes a source will yield, when known (a regular file).
    pub fn known_size(&self) -> Option<u64> {
        match self {
            Endpoint::Read(_, size) | Endpoint::Kernel(Kernel::FileIn(_, size)) => *size,
            _ => None,
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Read(_, size) => f.debug_tuple("Read").field(size).finish(),
            Endpoint::Write(_) => f.write_str("Write"),
            Endpoint::Duplex { socket, .. } => {
                f.debug_struct("Duplex").field("socket", socket).finish()
            }
            Endpoint::Kernel(kernel) => kernel.fmt(f),
        }
    }
}

/// Which end of the copy an address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// SRC: read from it (and, in a relay, write back to it).
    Source,
    /// DST: write to it (and, in a relay, read back from it).
    Destination,
}

/// How to open a non-listening address.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// SRC or DST.
    pub role: Role,
    /// Whether the copy is a relay (so `-` is stdin+stdout).
    pub two_way: bool,
    /// Append to a destination file instead of truncating it.
    pub append: bool,
    /// How long connecting may take (`--idle-timeout`: nothing moves while
    /// a connection is pending).
    pub connect_timeout: Option<Duration>,
}

/// Opens a non-listening address.
///
/// # Errors
///
/// A [`Failure::Input`] naming the address and the reason: nothing has moved yet.
pub async fn open(address: &Address, options: OpenOptions) -> Result<Endpoint, Failure> {
    let fail =
        |error: io::Error| Failure::input(format!("cannot open {address}"), describe(&error));
    match (address, options.role) {
        (Address::Stdio, _) if options.two_way => Ok(Endpoint::Duplex {
            stream: Box::new(tokio::io::join(stdin()?, stdout()?)),
            socket: false,
        }),
        (Address::Stdio, Role::Source) => Ok(Endpoint::Read(Box::new(stdin()?), None)),
        (Address::Stdio, Role::Destination) => Ok(Endpoint::Write(Box::new(stdout()?))),
        (Address::File(path), Role::Source) => {
            let file = tokio::fs::File::open(path).await.map_err(fail)?;
            let metadata = file.metadata().await.map_err(fail)?;
            refuse_directory(address, metadata.file_type())?;
            // Only a regular file has offsets and a size; a FIFO or a device
            // is read like a stream.
            if metadata.is_file() {
                Ok(Endpoint::Kernel(Kernel::FileIn(file, Some(metadata.len()))))
            } else {
                Ok(Endpoint::Read(Box::new(file), None))
            }
        }
        (Address::File(path), Role::Destination) => {
            // Without a transfer to end it, the file is cut at once.
            let (endpoint, file) = open_destination(address, path, options.append).await?;
            file.finish(0, true)?;
            Ok(endpoint)
        }
        (Address::Zero, Role::Source) => Ok(Endpoint::Read(Box::new(tokio::io::repeat(0)), None)),
        (Address::Zero, Role::Destination) => Err(Failure::input(
            "bad address \"zero:\"",
            "zero: is a source only; use null: to discard",
        )),
        (Address::Null, Role::Destination) => Ok(Endpoint::Write(Box::new(tokio::io::sink()))),
        (Address::Null, Role::Source) => Err(Failure::input(
            "bad address \"null:\"",
            "null: is a destination only; use zero: for a source",
        )),
        (Address::Tcp { host, port }, _) => {
            let connecting = TcpStream::connect((host.as_str(), *port));
            let stream = within(options.connect_timeout, connecting)
                .await
                .map_err(|error| connect_failure(address, &error))?;
            Ok(Endpoint::Kernel(Kernel::Tcp(stream)))
        }
        (Address::Unix(path), _) => {
            let stream = within(options.connect_timeout, UnixStream::connect(path))
                .await
                .map_err(|error| connect_failure(address, &error))?;
            Ok(Endpoint::Kernel(Kernel::Unix(stream)))
        }
        (Address::TcpListen { .. } | Address::UnixListen(_), _) => Err(Failure::input(
            format!("cannot open {address}"),
            "a listening address must be bound, not opened",
        )),
    }
}

/// Runs `connecting`, failing with `TimedOut` after `limit` if one is given.
async fn within<T>(
    limit: Option<Duration>,
    connecting: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, connecting)
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
        None => connecting.await,
    }
}

/// stdin, unless the shell closed it.
fn stdin() -> Result<tokio::io::Stdin, Failure> {
    if stdio::stdin_closed() {
        return Err(Failure::input("cannot read from -", "stdin is closed"));
    }
    Ok(tokio::io::stdin())
}

/// stdout, unless the shell closed it, written so that counts are exact.
fn stdout() -> Result<LandedWriter, Failure> {
    let closed = || Failure::input("cannot write to -", "stdout is closed");
    if stdio::stdout_closed() {
        return Err(closed());
    }
    LandedWriter::stdout().map_err(|_| closed())
}

/// A destination file ferry opened. It is written from its start and cut
/// to the bytes written only when the transfer is over, so a transfer that
/// never starts or moves nothing (a refused connection, bad input found
/// late) leaves an existing file as it was, and removes one ferry created.
#[derive(Debug)]
pub struct DestinationFile {
    path: PathBuf,
    file: std::fs::File,
    created: bool,
    /// A regular file that is not appended to: cut to what was written.
    truncate: bool,
}

impl DestinationFile {
    /// Ends the file after a transfer that wrote `written` bytes and
    /// succeeded or not: the file holds exactly those bytes, unless nothing
    /// was written by a failed transfer.
    ///
    /// # Errors
    ///
    /// A [`Failure::Transfer`] when the file cannot be cut to its length.
    pub fn finish(self, written: u64, succeeded: bool) -> Result<(), Failure> {
        if !succeeded && written == 0 {
            self.abandon();
            return Ok(());
        }
        if !self.truncate {
            return Ok(());
        }
        self.file.set_len(written).map_err(|error| {
            Failure::Transfer(format!(
                "cannot cut {} to the {} written: {}",
                self.path.display(),
                Bytes(written),
                describe(&error)
            ))
        })
    }

    /// Removes the file if ferry created it; leaves it as it was otherwise.
    pub fn abandon(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Opens (creating if needed) a destination file without truncating it.
///
/// # Errors
///
/// A [`Failure::Input`]: a directory, no permission, and so on.
pub async fn open_destination(
    address: &Address,
    path: &Path,
    append: bool,
) -> Result<(Endpoint, DestinationFile), Failure> {
    let fail =
        |error: io::Error| Failure::input(format!("cannot open {address}"), describe(&error));
    if let Ok(metadata) = tokio::fs::metadata(path).await {
        refuse_directory(address, metadata.file_type())?;
    }
    let open = |create_new| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).append(append);
        if create_new {
            options.create_new(true);
        }
        let path = path.to_path_buf();
        // Opening a FIFO for writing blocks until a reader comes.
        async move {
            tokio::task::spawn_blocking(move || options.open(path))
                .await
                .unwrap_or_else(|join| Err(io::Error::other(join)))
        }
    };
    let (file, created) = match open(true).await {
        Ok(file) => (file, true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            (open(false).await.map_err(fail)?, false)
        }
        Err(error) => return Err(fail(error)),
    };
    let regular = file.metadata().map_err(fail)?.is_file();
    let kept = file.try_clone().map_err(fail)?;
    let writer = LandedWriter::new(file);
    let endpoint = if regular {
        Endpoint::Kernel(Kernel::FileOut(writer))
    } else {
        Endpoint::Write(Box::new(writer))
    };
    let file = DestinationFile {
        path: path.to_path_buf(),
        file: kept,
        created,
        truncate: regular && !append,
    };
    Ok((endpoint, file))
}

/// Refuses a copy whose destination is its own source (`ferry a a`,
/// `ferry - a < a`, `ferry a - >> a`): truncating would destroy the source,
/// appending to it would never end.
///
/// # Errors
///
/// A [`Failure::Input`] naming both addresses.
pub fn refuse_same_file(
    src: &Address,
    src_end: &Endpoint,
    dst: &Address,
    dst_end: &Endpoint,
) -> Result<(), Failure> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let src_fd = match (src, src_end) {
        (Address::Stdio, _) => Some(stdin.as_fd()),
        (_, Endpoint::Kernel(Kernel::FileIn(file, _))) => Some(file.as_fd()),
        _ => None,
    };
    let dst_fd = match (dst, dst_end) {
        (Address::Stdio, _) => Some(stdout.as_fd()),
        (_, Endpoint::Kernel(Kernel::FileOut(file))) => Some(file.as_fd()),
        _ => None,
    };
    match (
        src_fd.and_then(regular_file_id),
        dst_fd.and_then(regular_file_id),
    ) {
        (Some(a), Some(b)) if a == b => Err(Failure::input(
            format!("cannot copy {src} to {dst}"),
            "they are the same file",
        )),
        _ => Ok(()),
    }
}

/// The device and inode of a regular file.
fn regular_file_id(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    let metadata = std::fs::File::from(fd.try_clone_to_owned().ok()?)
        .metadata()
        .ok()?;
    metadata.is_file().then(|| (metadata.dev(), metadata.ino()))
}

fn refuse_directory(address: &Address, file_type: FileType) -> Result<(), Failure> {
    if file_type.is_dir() {
        return Err(Failure::input(
            format!("cannot use {address}"),
            "is a directory; expected a file",
        ));
    }
    Ok(())
}

fn connect_failure(address: &Address, error: &io::Error) -> Failure {
    let what = format!("cannot connect to {address}");
    if let Some(failure) = lookup_failure(address, &what, error) {
        return failure;
    }
    // connect(2) answers "refused" for a path that is not a socket at all.
    if let (Address::Unix(path), io::ErrorKind::ConnectionRefused) = (address, error.kind()) {
        if std::fs::metadata(path).is_ok_and(|metadata| !metadata.file_type().is_socket()) {
            return Failure::input(what, "not a socket");
        }
    }
    Failure::input(what, describe(error))
}

/// Name resolution failures come back as uncategorized errors whose text
/// says so; show them as such.
fn lookup_failure(address: &Address, what: &str, error: &io::Error) -> Option<Failure> {
    match address {
        Address::Tcp { host, .. } | Address::TcpListen { host, .. }
            if error.to_string().contains("lookup") =>
        {
            Some(Failure::input(
                what,
                format!("cannot resolve host {host:?}"),
            ))
        }
        _ => None,
    }
}

/// A bound listening socket.
#[derive(Debug)]
pub enum Listener {
    /// `tcp-listen:`.
    Tcp(TcpListener),
    /// `unix-listen:`; the socket file is removed when this is dropped.
    Unix(UnixListener, SocketFile),
}

/// A Unix socket file this process created, removed on drop.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Listener {
    /// Binds a listening address.
    ///
    /// For `unix-listen:`, an existing socket file is removed first only when
    /// nothing listens on it (a stale file left by a dead process).
    ///
    /// # Errors
    ///
    /// A [`Failure::Input`]: address in use, permission denied, and so on.
    pub async fn bind(address: &Address) -> Result<Listener, Failure> {
        let fail = |error: io::Error| {
            let what = format!("cannot listen on {address}");
            lookup_failure(address, &what, &error)
                .unwrap_or_else(|| Failure::input(what, describe(&error)))
        };
        match address {
            Address::TcpListen { host, port } => {
                let listener = TcpListener::bind((host.as_str(), *port))
                    .await
                    .map_err(fail)?;
                Ok(Listener::Tcp(listener))
            }
            Address::UnixListen(path) => {
                remove_stale_socket(address, path).await?;
                let listener = UnixListener::bind(path).map_err(fail)?;
                Ok(Listener::Unix(listener, SocketFile(path.clone())))
            }
            _ => Err(Failure::input(
                format!("cannot listen on {address}"),
                "expected tcp-listen: or unix-listen:",
            )),
        }
    }

    /// Waits for the next connection; returns it with the peer's address.
    ///
    /// # Errors
    ///
    /// What `accept` returned.
    pub async fn accept(&self) -> io::Result<(Endpoint, String)> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                Ok((Endpoint::Kernel(Kernel::Tcp(stream)), peer.to_string()))
            }
            Listener::Unix(listener, SocketFile(path)) => {
                let (stream, _) = listener.accept().await?;
                Ok((
                    Endpoint::Kernel(Kernel::Unix(stream)),
                    format!("unix:{}", path.display()),
                ))
            }
        }
    }

    /// The bound address, as an address string (shows the port the system chose for port 0).
    pub fn local_address(&self) -> String {
        match self {
            Listener::Tcp(listener) => match listener.local_addr() {
                Ok(local) => format!("tcp-listen:{local}"),
                Err(_) => "tcp-listen:?".to_string(),
            },
            Listener::Unix(_, SocketFile(path)) => format!("unix-listen:{}", path.display()),
        }
    }
}

async fn remove_stale_socket(address: &Address, path: &Path) -> Result<(), Failure> {
    let Ok(metadata) = tokio::fs::symlink_metadata(path).await else {
        return Ok(());
    };
    if !metadata.file_type().is_socket() {
        return Err(Failure::input(
            format!("cannot listen on {address}"),
            "the path exists and is not a socket",
        ));
    }
    let in_use = || {
        Failure::input(
            format!("cannot listen on {address}"),
            "address already in use (another process listens on it)",
        )
    };
    let remove = || async {
        tracing::info!(path = %path.display(), "removing stale socket file");
        tokio::fs::remove_file(path).await.map_err(|error| {
            Failure::input(
                format!("cannot remove stale socket {}", path.display()),
                describe(&error),
            )
        })
    };
    match unix_listener_at(path) {
        Some(true) => return Err(in_use()),
        Some(false) => return remove().await,
        None => {}
    }
    // Without /proc, connecting is the only test left (a live listener sees
    // one empty connection).
    match UnixStream::connect(path).await {
        Ok(_) => Err(in_use()),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => remove().await,
        Err(error) => Err(Failure::input(
            format!("cannot listen on {address}"),
            describe(&error),
        )),
    }
}

/// Whether a process listens on the Unix socket file at `path`, read from
/// `/proc/net/unix` rather than by connecting, which would hand a live
/// listener a connection it takes for a client. `None` when the table
/// cannot tell.
fn unix_listener_at(path: &Path) -> Option<bool> {
    /// `__SO_ACCEPTCON` in the Flags column: the socket listens.
    const LISTENING: u32 = 1 << 16;
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    let wanted = std::fs::canonicalize(path).ok()?;
    let live = table.lines().skip(1).any(|line| {
        // Num RefCount Protocol Flags Type St Inode Path
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(flags) = fields.get(3) else {
            return false;
        };
        if fields.len() < 8
            || !u32::from_str_radix(flags, 16).is_ok_and(|flags| flags & LISTENING != 0)
        {
            return false;
        }
        let listed = fields[7..].join(" ");
        let listed = Path::new(&listed);
        if listed.is_absolute() {
            std::fs::canonicalize(listed).is_ok_and(|listed| listed == wanted)
        } else {
            // Bound by a relative path from some other directory: a name
            // match counts as live, which at worst keeps a stale file.
            listed.file_name() == wanted.file_name()
        }
    });
    Some(live)
}
