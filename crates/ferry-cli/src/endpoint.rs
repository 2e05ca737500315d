//! Endpoints: opening an [`Address`] as a reader, a writer, a two-way stream or a listener.

use std::fs::FileType;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::address::Address;
use crate::messages::{describe, Failure};

/// A stream that carries bytes both ways.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// An opened address.
pub enum Endpoint {
    /// A source only: a file, stdin or `zero:`. Carries the total size when
    /// it is known (a regular file), for the progress bar.
    Read(Box<dyn AsyncRead + Unpin + Send>, Option<u64>),
    /// A destination only: a file, stdout or `null:`.
    Write(Box<dyn AsyncWrite + Unpin + Send>),
    /// stdin+stdout in a relay.
    Duplex(Box<dyn Duplex>),
    /// A file or a socket: the kernel can move its bytes without copying
    /// them through memory.
    Kernel(Kernel),
}

/// An endpoint that is a kernel object, kept by type so the zero-copy paths can use it.
#[derive(Debug)]
pub enum Kernel {
    /// A file to read, with its size when it is a regular file.
    FileIn(tokio::fs::File, Option<u64>),
    /// A file to write.
    FileOut(tokio::fs::File),
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix-socket connection.
    Unix(UnixStream),
}

impl Endpoint {
    /// The endpoint as a plain reader, writer or stream, for the buffered copy.
    pub fn erase(self) -> Endpoint {
        match self {
            Endpoint::Kernel(Kernel::FileIn(file, size)) => Endpoint::Read(Box::new(file), size),
            Endpoint::Kernel(Kernel::FileOut(file)) => Endpoint::Write(Box::new(file)),
            Endpoint::Kernel(Kernel::Tcp(stream)) => Endpoint::Duplex(Box::new(stream)),
            Endpoint::Kernel(Kernel::Unix(stream)) => Endpoint::Duplex(Box::new(stream)),
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
            Endpoint::Duplex(_) => f.write_str("Duplex"),
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
        (Address::Stdio, _) if options.two_way => Ok(Endpoint::Duplex(Box::new(tokio::io::join(
            tokio::io::stdin(),
            tokio::io::stdout(),
        )))),
        (Address::Stdio, Role::Source) => Ok(Endpoint::Read(Box::new(tokio::io::stdin()), None)),
        (Address::Stdio, Role::Destination) => Ok(Endpoint::Write(Box::new(tokio::io::stdout()))),
        (Address::File(path), Role::Source) => {
            let file = tokio::fs::File::open(path).await.map_err(fail)?;
            let metadata = file.metadata().await.map_err(fail)?;
            refuse_directory(address, metadata.file_type())?;
            let size = metadata.is_file().then_some(metadata.len());
            Ok(Endpoint::Kernel(Kernel::FileIn(file, size)))
        }
        (Address::File(path), Role::Destination) => {
            if let Ok(metadata) = tokio::fs::metadata(path).await {
                refuse_directory(address, metadata.file_type())?;
            }
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .append(options.append)
                .truncate(!options.append)
                .open(path)
                .await
                .map_err(fail)?;
            Ok(Endpoint::Kernel(Kernel::FileOut(file)))
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
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|error| connect_failure(address, &error))?;
            Ok(Endpoint::Kernel(Kernel::Tcp(stream)))
        }
        (Address::Unix(path), _) => {
            let stream = UnixStream::connect(path)
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
    // Name resolution failures come back as uncategorized errors whose text
    // says so; show them as such.
    if let (Address::Tcp { host, .. }, true) = (address, error.to_string().contains("lookup")) {
        return Failure::input(
            format!("cannot connect to {address}"),
            format!("cannot resolve host {host:?}"),
        );
    }
    Failure::input(format!("cannot connect to {address}"), describe(error))
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
            Failure::input(format!("cannot listen on {address}"), describe(&error))
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
    match UnixStream::connect(path).await {
        Ok(_) => Err(Failure::input(
            format!("cannot listen on {address}"),
            "address already in use (another process listens on it)",
        )),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing stale socket file");
            tokio::fs::remove_file(path).await.map_err(|error| {
                Failure::input(
                    format!("cannot remove stale socket {}", path.display()),
                    describe(&error),
                )
            })
        }
        Err(error) => Err(Failure::input(
            format!("cannot listen on {address}"),
            describe(&error),
        )),
    }
}
