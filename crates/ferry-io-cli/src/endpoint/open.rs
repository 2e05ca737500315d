//! Opening a non-listening address: files, the standard streams, `zero:`,
//! `null:`, connecting sockets (TCP, TLS, Unix) and programs.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::time::Duration;

use tokio::net::UnixStream;

use super::destination::{open_destination, refuse_directory};
use super::device::Device;
use super::exec::Program;
use super::stdio::{self, Null, Zero};
use super::{tcp, tls, Endpoint};
use crate::address::Address;
use crate::messages::{self, Failure};
use crate::tls::TlsClient;

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
pub struct OpenOptions<'a> {
    /// SRC or DST.
    pub role: Role,
    /// Whether the copy is a relay (so `-` is stdin+stdout).
    pub two_way: bool,
    /// Append to a destination file instead of truncating it.
    pub append: bool,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// The configuration a `tls:` address connects with.
    pub tls: Option<&'a TlsClient>,
}

/// Opens a non-listening address.
///
/// # Errors
///
/// A [`Failure::Input`] naming the address and the reason: nothing has moved yet.
pub async fn open(address: &Address, options: OpenOptions<'_>) -> Result<Endpoint, Failure> {
    let fail = |error: io::Error| messages::cannot_open(address, &error);
    match (address, options.role) {
        (Address::Stdio, _) if options.two_way => Ok(Endpoint::Stream(Box::new(stdio::both()?))),
        (Address::Stdio, Role::Source) => {
            let (stdin, size) = stdio::stdin()?;
            Ok(Endpoint::Source(stdin, size))
        }
        (Address::Stdio, Role::Destination) => Ok(Endpoint::Sink(stdio::stdout()?)),
        (Address::File(path), Role::Source) => {
            let file = tokio::fs::File::open(path).await.map_err(fail)?;
            let metadata = file.metadata().await.map_err(fail)?;
            refuse_directory(address, metadata.file_type())?;
            // Only a regular file has a size; a FIFO or a device is read
            // like a stream (the library sees it is not a regular file).
            let size = metadata.is_file().then_some(metadata.len());
            if metadata.file_type().is_char_device() {
                return Ok(match Device::new(file.into_std().await) {
                    Ok(device) => Endpoint::Source(Box::new(device), None),
                    Err(file) => Endpoint::Source(Box::new(tokio::fs::File::from_std(file)), None),
                });
            }
            Ok(Endpoint::Source(Box::new(file), size))
        }
        (Address::File(path), Role::Destination) => {
            // Without a transfer to end it, the file is cut at once.
            let (endpoint, file) = open_destination(address, path, options.append).await?;
            file.finish(0, true)?;
            Ok(endpoint)
        }
        (Address::Zero, Role::Source) => Ok(Endpoint::Source(
            Box::new(Zero::open().map_err(fail)?),
            None,
        )),
        (Address::Zero, Role::Destination) => Err(messages::zero_is_a_source()),
        (Address::Null, Role::Destination) => {
            Ok(Endpoint::Sink(Box::new(Null::open().map_err(fail)?)))
        }
        (Address::Null, Role::Source) => Err(messages::null_is_a_destination()),
        (Address::Tcp { host, port, bind }, _) => {
            let connecting = tcp::connect(host, *port, *bind);
            let stream = within(options.connect_timeout, connecting)
                .await
                .map_err(|error| connect_failure(address, &error))?;
            Ok(Endpoint::Stream(Box::new(stream)))
        }
        (Address::Tls { host, port, bind }, _) => {
            let Some(config) = options.tls.map(TlsClient::config) else {
                return Err(Failure::input(
                    format!("cannot connect to {address}"),
                    "no TLS settings loaded",
                ));
            };
            // One bound for the connection and the handshake together.
            let connecting = async {
                let tcp = tcp::connect(host, *port, *bind).await?;
                tls::connect(tcp, host, config, address.to_string()).await
            };
            let stream = within(options.connect_timeout, connecting)
                .await
                .map_err(|error| connect_failure(address, &error))?;
            Ok(Endpoint::Stream(Box::new(stream)))
        }
        (Address::Exec { argv, .. }, role) => spawn(address, argv, role, options.two_way),
        (Address::Sh(command), role) => {
            let argv = ["/bin/sh".to_string(), "-c".to_string(), command.clone()];
            spawn(address, &argv, role, options.two_way)
        }
        (Address::Udp { .. }, _) => Err(Failure::input(
            format!("cannot open {address}"),
            "a UDP address carries datagrams, not a byte stream",
        )),
        (Address::Unix(path), _) => {
            let stream = within(options.connect_timeout, UnixStream::connect(path))
                .await
                .map_err(|error| connect_failure(address, &error))?;
            Ok(Endpoint::Stream(Box::new(stream)))
        }
        (
            Address::TcpListen { .. }
            | Address::UnixListen(_)
            | Address::TlsListen { .. }
            | Address::UdpListen { .. }
            | Address::Fd(_),
            _,
        ) => Err(Failure::input(
            format!("cannot open {address}"),
            "a listening address must be bound, not opened",
        )),
    }
}

/// Starts a program: in a relay both its stdin and stdout are the end; in a
/// one-way copy only the one the copy uses (stdout of a SRC, stdin of a DST).
fn spawn(
    address: &Address,
    argv: &[String],
    role: Role,
    two_way: bool,
) -> Result<Endpoint, Failure> {
    let input = two_way || role == Role::Destination;
    let output = two_way || role == Role::Source;
    let program = Program::spawn(argv, input, output)
        .map_err(|error| Failure::refused(format!("cannot run {address}"), &error))?;
    Ok(Endpoint::Program(Box::new(program)))
}

/// Runs `connecting`, failing with `TimedOut` after `limit` (a limit too
/// long for the clock never passes).
async fn within<T>(
    limit: Duration,
    connecting: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(limit, connecting)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
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
    Failure::refused(what, error)
}

/// Name resolution failures come back as uncategorized errors whose text
/// says so; show them as such.
pub(super) fn lookup_failure(address: &Address, what: &str, error: &io::Error) -> Option<Failure> {
    match address {
        Address::Tcp { host, .. }
        | Address::TcpListen { host, .. }
        | Address::Tls { host, .. }
        | Address::TlsListen { host, .. }
        | Address::Udp { host, .. }
        | Address::UdpListen { host, .. }
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
