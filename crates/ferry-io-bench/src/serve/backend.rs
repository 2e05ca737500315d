//! `Backend`: the server behind the relays, in this process: a sink that
//! counts each connection's bytes, an echo, or an HTTP server that answers
//! one request and closes.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::http;
use crate::workload::CHUNK;

/// A loopback server that reports, per connection, the bytes it received
/// before the peer half-closed (then it closes its side), or before the
/// peer closed after an HTTP answer.
#[derive(Debug)]
pub struct Backend {
    addr: SocketAddr,
    reports: mpsc::UnboundedReceiver<io::Result<u64>>,
    accepting: JoinHandle<()>,
}

/// What a [`Backend`] does with each connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Reads to EOF in [`CHUNK`]s and sends nothing.
    Sink,
    /// Sends every message of this many bytes back as soon as it is whole.
    Echo(usize),
    /// Reads one request head, answers with
    /// [`http_response`](super::http_response) and closes its side first,
    /// as an HTTP server does for `Connection: close`.
    Http,
}

impl Backend {
    /// Listens on a loopback port of the current runtime.
    ///
    /// # Errors
    ///
    /// The bind's error.
    pub async fn start(service: Service) -> io::Result<Backend> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (report, reports) = mpsc::unbounded_channel();
        let accepting = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let report = report.clone();
                tokio::spawn(async move {
                    let _ = report.send(serve(socket, service).await);
                });
            }
        });
        Ok(Backend {
            addr,
            reports,
            accepting,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the next `connections` connections to end and returns
    /// the bytes each received, in the order they ended.
    ///
    /// # Errors
    ///
    /// The first connection that failed.
    pub async fn ended(&mut self, connections: usize) -> io::Result<Vec<u64>> {
        let mut received = Vec::with_capacity(connections);
        while received.len() < connections {
            let report = self.reports.recv().await.ok_or_else(|| {
                io::Error::other("the backend stopped before its connections ended")
            })?;
            received.push(report?);
        }
        Ok(received)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn serve(mut socket: TcpStream, service: Service) -> io::Result<u64> {
    let received = match service {
        Service::Sink => {
            let mut chunk = vec![0u8; CHUNK];
            let mut total = 0;
            loop {
                match socket.read(&mut chunk).await? {
                    0 => break total,
                    n => total += n as u64,
                }
            }
        }
        Service::Echo(len) => {
            socket.set_nodelay(true)?;
            let mut message = vec![0u8; len];
            let mut total = 0;
            loop {
                match socket.read_exact(&mut message).await {
                    Ok(_) => total += len as u64,
                    Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => break total,
                    Err(err) => return Err(err),
                }
                socket.write_all(&message).await?;
            }
        }
        // It closes its side itself, before the client does.
        Service::Http => return http::respond(socket).await,
    };
    socket.shutdown().await?;
    Ok(received)
}
