//! Listening addresses: binding, accepting (and, for TLS, the handshake
//! that follows), and the Unix socket file.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixSocket, UnixStream};
use tokio_rustls::TlsAcceptor;

use super::activation::{self, Inherited};
use super::open::lookup_failure;
use super::{socket, tls, Endpoint};
use crate::address::Address;
use crate::flags::AcceptProxy;
use crate::messages::{describe, Failure};
use crate::proxy;
use crate::tls::TlsServer;

/// A bound listening socket.
pub enum Listener {
    /// `tcp-listen:`.
    Tcp(TcpListener),
    /// `unix-listen:`; the socket file is removed when the last listener
    /// on it is dropped.
    Unix(UnixListener, Arc<SocketFile>),
    /// `tls-listen:`: TCP, and a handshake on every connection.
    Tls(TcpListener, TlsAcceptor),
}

/// Whom a TCP listener shares its port with (`SO_REUSEPORT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// No one.
    Alone,
    /// The server's own listeners, one per thread (see
    /// [`Listener::shards`]): a port another process listens on is still
    /// refused as in use.
    Threads,
    /// Other processes too (`--reuse-port`).
    Processes,
}

/// A listener taken off the runtime it was bound on, for a thread to serve
/// on its own runtime (see [`Listener::shards`] and [`Shard::listen`]).
pub struct Shard {
    socket: ShardSocket,
    tls: Option<TlsAcceptor>,
}

enum ShardSocket {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener, Arc<SocketFile>),
}

impl Shard {
    /// The listener, on the calling thread's runtime.
    ///
    /// # Errors
    ///
    /// Registering it with the runtime failed.
    pub fn listen(self) -> io::Result<Listener> {
        Ok(match (self.socket, self.tls) {
            (ShardSocket::Tcp(tcp), None) => Listener::Tcp(TcpListener::from_std(tcp)?),
            (ShardSocket::Tcp(tcp), Some(tls)) => Listener::Tls(TcpListener::from_std(tcp)?, tls),
            (ShardSocket::Unix(unix, file), _) => {
                Listener::Unix(UnixListener::from_std(unix)?, file)
            }
        })
    }
}

/// An accepted connection, not yet ready to carry bytes: a PROXY header
/// may have to be read first ([`Incoming::receive_proxy`]) and TLS to shake
/// hands ([`Incoming::establish`]), which a server does in the connection's
/// own task, so it accepts the next connection while a slow client takes
/// its time.
pub struct Incoming {
    socket: Accepted,
    tls: Option<TlsAcceptor>,
}

/// The socket `accept` returned, with the client's address for TCP.
enum Accepted {
    Tcp(TcpStream, SocketAddr),
    Unix(UnixStream),
}

impl Incoming {
    /// The client's address, for a TCP connection (as `accept` gave it).
    pub fn client(&self) -> Option<SocketAddr> {
        match &self.socket {
            Accepted::Tcp(_, client) => Some(*client),
            Accepted::Unix(_) => None,
        }
    }

    /// The client's address and the address it connected to, for a TCP
    /// connection (a system call: only `--send-proxy` needs the second).
    pub fn addresses(&self) -> Option<proxy::Addresses> {
        match &self.socket {
            Accepted::Tcp(tcp, client) => Some((*client, tcp.local_addr().ok()?)),
            Accepted::Unix(_) => None,
        }
    }

    /// Reads the PROXY header `accept` asks for (see [`proxy::receive`]).
    ///
    /// # Errors
    ///
    /// Why the header was refused.
    pub async fn receive_proxy(
        &mut self,
        accept: AcceptProxy,
        timeout: Duration,
    ) -> Result<Option<proxy::Addresses>, String> {
        match &mut self.socket {
            Accepted::Tcp(tcp, _) => proxy::receive(tcp, accept, timeout).await,
            Accepted::Unix(unix) => proxy::receive(unix, accept, timeout).await,
        }
    }

    /// Sets the options of a relayed TCP socket its listener did not pass
    /// on (see [`socket::accepted`]); nothing for a Unix socket.
    pub fn tune(&self, keepalive: Option<Duration>) {
        if let Accepted::Tcp(tcp, _) = &self.socket {
            socket::accepted(tcp.as_fd(), keepalive);
        }
    }

    /// Makes closing this connection reset it (see [`Endpoint::abort`]).
    pub fn abort(&self) {
        let fd = match &self.socket {
            Accepted::Tcp(tcp, _) => tcp.as_fd(),
            Accepted::Unix(unix) => unix.as_fd(),
        };
        socket::abort(fd);
    }

    /// Completes the connection: shakes hands if it speaks TLS, for at most
    /// `timeout` (`--connect-timeout`).
    ///
    /// # Errors
    ///
    /// A failed or timed-out handshake.
    pub async fn establish(self, timeout: Duration) -> io::Result<Endpoint> {
        match (self.socket, self.tls) {
            (Accepted::Tcp(tcp, _), Some(acceptor)) => {
                let handshake = tls::accept(tcp, &acceptor);
                let stream = tokio::time::timeout(timeout, handshake)
                    .await
                    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))?;
                Ok(Endpoint::Stream(Box::new(stream)))
            }
            (Accepted::Tcp(tcp, _), None) => Ok(Endpoint::Stream(Box::new(tcp))),
            (Accepted::Unix(unix), _) => Ok(Endpoint::Stream(Box::new(unix))),
        }
    }
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let socket: &dyn std::fmt::Debug = match &self.socket {
            Accepted::Tcp(tcp, _) => tcp,
            Accepted::Unix(unix) => unix,
        };
        f.debug_struct("Incoming")
            .field("socket", socket)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Listener")
            .field(&self.local_address())
            .finish()
    }
}

/// A Unix socket file this process created, removed on drop, unless
/// something else took its place meanwhile (same device and inode, or it is
/// left alone).
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl SocketFile {
    fn created(path: &Path) -> SocketFile {
        SocketFile {
            path: path.to_path_buf(),
            id: file_id(path),
        }
    }

    /// A socket file someone else made (systemd): never removed.
    fn borrowed(path: PathBuf) -> SocketFile {
        SocketFile { path, id: None }
    }
}

/// The device and inode of the socket at `path`, if one is there.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    metadata
        .file_type()
        .is_socket()
        .then(|| (metadata.dev(), metadata.ino()))
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if self.id.is_some() && file_id(&self.path) == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `listener` was bound with `SO_REUSEPORT`, so that siblings may
/// bind its address.
fn reuses_port(listener: &std::net::TcpListener) -> bool {
    rustix::net::sockopt::socket_reuseport(listener).unwrap_or(false)
}

/// The most connections that may wait to be accepted: enough for a burst
/// of `--max-connections` clients (the kernel caps it at `somaxconn`).
fn backlog(max_connections: usize) -> u32 {
    u32::try_from(max_connections.max(1024)).unwrap_or(u32::MAX)
}

/// A TCP listener on the first of `host`'s addresses that binds, sharing
/// its port as `sharing` says.
async fn listen_tcp(
    host: &str,
    port: u16,
    backlog: u32,
    sharing: Sharing,
) -> io::Result<TcpListener> {
    let mut last = None;
    for address in tokio::net::lookup_host((host, port)).await? {
        let bound = if sharing == Sharing::Threads && address.port() != 0 {
            // The threads' listeners share the port with SO_REUSEPORT,
            // which would let them join another process's listeners
            // unnoticed: a socket without it is refused where one listens.
            tcp_socket(address).and_then(|probe| probe.bind(address))
        } else {
            Ok(())
        };
        let bound = bound.and_then(|()| bind_tcp(address, backlog, sharing));
        match bound {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no addresses for the host")))
}

/// A TCP socket for `address`'s family that may bind where old connections
/// linger in TIME_WAIT, as std's listeners do (a restarted server).
fn tcp_socket(address: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }?;
    socket.set_reuseaddr(true)?;
    Ok(socket)
}

/// A TCP listener bound to `address`, with `SO_REUSEPORT` unless `sharing`
/// is [`Sharing::Alone`], whose connections come without Nagle's delay
/// (see [`socket::tune_listener`]).
fn bind_tcp(address: SocketAddr, backlog: u32, sharing: Sharing) -> io::Result<TcpListener> {
    let socket = tcp_socket(address)?;
    if sharing != Sharing::Alone {
        socket.set_reuseport(true)?;
    }
    socket::tune_listener(socket.as_fd())?;
    socket.bind(address)?;
    socket.listen(backlog)
}

fn listen_unix(path: &Path, backlog: u32) -> io::Result<UnixListener> {
    let socket = UnixSocket::new_stream()?;
    socket.bind(path)?;
    socket.listen(backlog)
}

impl Listener {
    /// Binds a listening address.
    ///
    /// For `unix-listen:`, an existing socket file is removed first only when
    /// nothing listens on it (a stale file left by a dead process). The
    /// listen queue holds at least `max_connections` connections. A TCP
    /// port is shared as `sharing` says. `tls-listen:` accepts with
    /// `tls_server`. `fd:N` takes the socket systemd
    /// passed as descriptor N.
    ///
    /// # Errors
    ///
    /// A [`Failure::Input`]: address in use, permission denied, and so on.
    pub async fn bind(
        address: &Address,
        max_connections: usize,
        sharing: Sharing,
        tls_server: Option<&TlsServer>,
    ) -> Result<Listener, Failure> {
        let fail = |error: io::Error| {
            let what = format!("cannot listen on {address}");
            lookup_failure(address, &what, &error).unwrap_or_else(|| Failure::refused(what, &error))
        };
        match address {
            Address::TcpListen { host, port } => {
                let listener = listen_tcp(host, *port, backlog(max_connections), sharing)
                    .await
                    .map_err(fail)?;
                Ok(Listener::Tcp(listener))
            }
            Address::UnixListen(path) => {
                remove_stale_socket(address, path).await?;
                let listener = listen_unix(path, backlog(max_connections)).map_err(fail)?;
                Ok(Listener::Unix(
                    listener,
                    Arc::new(SocketFile::created(path)),
                ))
            }
            Address::TlsListen { host, port } => {
                let Some(config) = tls_server.map(TlsServer::config) else {
                    return Err(Failure::input(
                        format!("cannot listen on {address}"),
                        "no TLS certificate loaded",
                    ));
                };
                let listener = listen_tcp(host, *port, backlog(max_connections), sharing)
                    .await
                    .map_err(fail)?;
                Ok(Listener::Tls(listener, tls::acceptor(config)))
            }
            Address::Fd(fd) => {
                let what = || format!("cannot listen on {address}");
                let inherited = activation::take(*fd).map_err(|why| Failure::input(what(), why))?;
                let fail = |error: io::Error| Failure::input(what(), describe(&error));
                match inherited {
                    Inherited::Tcp(listener) => {
                        listener.set_nonblocking(true).map_err(fail)?;
                        socket::tune_listener(listener.as_fd()).map_err(fail)?;
                        Ok(Listener::Tcp(
                            TcpListener::from_std(listener).map_err(fail)?,
                        ))
                    }
                    Inherited::Unix(listener) => {
                        listener.set_nonblocking(true).map_err(fail)?;
                        let path = listener
                            .local_addr()
                            .ok()
                            .and_then(|local| local.as_pathname().map(Path::to_path_buf))
                            .unwrap_or_else(|| PathBuf::from(address.to_string()));
                        let listener = UnixListener::from_std(listener).map_err(fail)?;
                        Ok(Listener::Unix(
                            listener,
                            Arc::new(SocketFile::borrowed(path)),
                        ))
                    }
                }
            }
            _ => Err(Failure::input(
                format!("cannot listen on {address}"),
                "expected tcp-listen:, tls-listen: or unix-listen:",
            )),
        }
    }

    /// Waits for the next connection; returns it with the peer's address.
    ///
    /// # Errors
    ///
    /// What `accept` returned.
    pub async fn accept(&self) -> io::Result<(Incoming, String)> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                let incoming = Incoming {
                    socket: Accepted::Tcp(stream, peer),
                    tls: None,
                };
                Ok((incoming, peer.to_string()))
            }
            Listener::Unix(listener, file) => {
                let (stream, _) = listener.accept().await?;
                let incoming = Incoming {
                    socket: Accepted::Unix(stream),
                    tls: None,
                };
                Ok((incoming, format!("unix:{}", file.path.display())))
            }
            Listener::Tls(listener, acceptor) => {
                let (stream, peer) = listener.accept().await?;
                let incoming = Incoming {
                    socket: Accepted::Tcp(stream, peer),
                    tls: Some(acceptor.clone()),
                };
                Ok((incoming, peer.to_string()))
            }
        }
    }

    /// This listener as `count` listeners, one for each thread of a server
    /// to accept on. A TCP listener that shares its port (see [`Sharing`])
    /// gets siblings bound to the same address, and the kernel spreads
    /// connections over them; any other (a Unix socket, one systemd passed)
    /// is shared: every thread waits on the same socket, and one of those
    /// woken takes each connection. Siblings' listen queues hold
    /// `max_connections` connections, as [`bind`](Self::bind)'s.
    ///
    /// # Errors
    ///
    /// Taking the socket off its runtime, or binding a sibling, failed.
    pub fn shards(self, count: usize, max_connections: usize) -> io::Result<Vec<Shard>> {
        let count = count.max(1);
        let (socket, tls) = match self {
            Listener::Tcp(tcp) => (ShardSocket::Tcp(tcp.into_std()?), None),
            Listener::Tls(tcp, tls) => (ShardSocket::Tcp(tcp.into_std()?), Some(tls)),
            Listener::Unix(unix, file) => (ShardSocket::Unix(unix.into_std()?, file), None),
        };
        let mut shards = Vec::with_capacity(count);
        for _ in 1..count {
            let socket = match &socket {
                ShardSocket::Tcp(tcp) if reuses_port(tcp) => {
                    let sibling = bind_tcp(
                        tcp.local_addr()?,
                        backlog(max_connections),
                        Sharing::Threads,
                    )?;
                    ShardSocket::Tcp(sibling.into_std()?)
                }
                ShardSocket::Tcp(tcp) => ShardSocket::Tcp(tcp.try_clone()?),
                ShardSocket::Unix(unix, file) => ShardSocket::Unix(unix.try_clone()?, file.clone()),
            };
            shards.push(Shard {
                socket,
                tls: tls.clone(),
            });
        }
        shards.push(Shard { socket, tls });
        Ok(shards)
    }

    /// The bound address, as an address string (shows the port the system chose for port 0).
    pub fn local_address(&self) -> String {
        match self {
            Listener::Tcp(listener) => match listener.local_addr() {
                Ok(local) => format!("tcp-listen:{local}"),
                Err(_) => "tcp-listen:?".to_string(),
            },
            Listener::Tls(listener, _) => match listener.local_addr() {
                Ok(local) => format!("tls-listen:{local}"),
                Err(_) => "tls-listen:?".to_string(),
            },
            Listener::Unix(_, file) => format!("unix-listen:{}", file.path.display()),
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

#[cfg(test)]
mod tests {
    use rustix::net::sockopt::tcp_nodelay;

    use super::*;

    async fn bound(sharing: Sharing) -> Listener {
        let address = Address::parse("tcp-listen:127.0.0.1:0").unwrap();
        Listener::bind(&address, 16, sharing, None).await.unwrap()
    }

    #[tokio::test]
    async fn accepted_connections_inherit_no_nagle_delay_from_the_listener() {
        let listener = bound(Sharing::Alone).await;
        let Listener::Tcp(tcp) = &listener else {
            panic!("a TCP listener, got {listener:?}");
        };
        let client = TcpStream::connect(tcp.local_addr().unwrap()).await.unwrap();
        let (incoming, _) = listener.accept().await.unwrap();
        let Accepted::Tcp(accepted, _) = &incoming.socket else {
            panic!("a TCP connection, got {incoming:?}");
        };
        // No call of ferry's own set it on the accepted socket, and a
        // socket that did not inherit it has it off.
        assert!(tcp_nodelay(accepted).unwrap());
        assert!(!tcp_nodelay(&client).unwrap());
    }

    #[tokio::test]
    async fn every_threads_listener_passes_no_nagle_delay_on() {
        let listener = bound(Sharing::Threads).await;
        let shards = listener.shards(3, 16).unwrap();
        assert_eq!(shards.len(), 3);
        for shard in shards {
            let ShardSocket::Tcp(tcp) = &shard.socket else {
                panic!("a TCP listener");
            };
            assert!(tcp_nodelay(tcp).unwrap());
        }
    }
}
