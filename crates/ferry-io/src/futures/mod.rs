//! The same copies for futures-io's traits: smol, async-std and `futures` users.
//!
//! With the `futures-io` feature, this module offers [`copy`], [`copy_buf`],
//! [`copy_bidirectional`] and [`copy_bidirectional_with_sizes`] over
//! `futures_io`'s [`AsyncRead`](futures_io::AsyncRead),
//! [`AsyncBufRead`](futures_io::AsyncBufRead) and
//! [`AsyncWrite`](futures_io::AsyncWrite), and [`Copier::futures`] runs a
//! [`Copier`]'s copies over them. They drive the very engine of the tokio
//! functions (not a second copy loop), so they behave the same:
//!
//! - the writer is flushed whenever the reader stalls, not only at EOF, so
//!   a writer that buffers (a `BufWriter`, TLS) cannot deadlock a
//!   request/response exchange, as it can with `futures::io::copy`;
//! - a two-way copy closes each side (`poll_close`, a half-close for a
//!   socket) only once the other direction has ended, and runs until both
//!   have: racing two one-way copies cuts the slower one off;
//! - a poll does a bounded amount of work ([`MAX_OPS_PER_POLL`] reads and
//!   writes or [`MAX_BYTES_PER_POLL`] bytes), then wakes its task and
//!   yields, so a copy between always-ready ends leaves the other tasks of
//!   a single-threaded executor their turn;
//! - the buffer sizes itself by what the ends do (see [`CopyBuffer::new`]),
//!   a writer that claims more bytes than it was given is an error, and a
//!   [`Copier`]'s errors keep their counts.
//!
//! No tokio runtime is needed. The engine still counts one unit of tokio's
//! cooperative budget per poll where there is one, and outside tokio there is
//! none to count. A [`Copier`]'s timers (idle timeout, linger, rate limits,
//! progress callbacks) run on async-io's timer here, which works under any
//! executor, rather than on tokio's, which needs a tokio runtime.
//!
//! # With smol
//!
//! A relay between a client and a server that reads a whole request (up to
//! the client's half-close) before it answers:
//!
//! ```
//! use std::net::Shutdown;
//! use smol::io::{AsyncReadExt, AsyncWriteExt};
//! use smol::net::{TcpListener, TcpStream};
//!
//! # smol::block_on(async {
//! let upstream = TcpListener::bind("127.0.0.1:0").await?;
//! let upstream_addr = upstream.local_addr()?;
//! let server = smol::spawn(async move {
//!     let (mut stream, _) = upstream.accept().await?;
//!     let mut request = Vec::new();
//!     stream.read_to_end(&mut request).await?;
//!     stream.write_all(b"got ").await?;
//!     stream.write_all(&request).await
//! });
//!
//! let front = TcpListener::bind("127.0.0.1:0").await?;
//! let front_addr = front.local_addr()?;
//! let relay = smol::spawn(async move {
//!     let (mut client, _) = front.accept().await?;
//!     let mut server = TcpStream::connect(upstream_addr).await?;
//!     ferry_io::futures::copy_bidirectional(&mut client, &mut server).await
//! });
//!
//! let mut client = TcpStream::connect(front_addr).await?;
//! client.write_all(b"hello").await?;
//! client.shutdown(Shutdown::Write)?;
//! let mut reply = Vec::new();
//! client.read_to_end(&mut reply).await?;
//! assert_eq!(reply, b"got hello");
//! server.await?;
//! assert_eq!(relay.await?, (5, 9));
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! # With `futures::executor` (or async-std)
//!
//! Any executor will do, and async-std's streams implement futures-io's
//! traits, so the same calls work there.
//!
//! ```
//! use std::time::Duration;
//! use futures::io::{BufReader, Cursor};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! futures::executor::block_on(async {
//!     let mut reader = Cursor::new(vec![42u8; 1 << 20]);
//!     let mut writer = Cursor::new(Vec::new());
//!     let n = ferry_io::futures::copy(&mut reader, &mut writer).await?;
//!     assert_eq!(n, 1 << 20);
//!
//!     // A Copier: the first 1000 bytes, with an idle timeout, no runtime needed.
//!     let copier = ferry_io::Copier::new()
//!         .limit(1000)
//!         .idle_timeout(Duration::from_secs(10));
//!     let mut reader = BufReader::new(&writer.get_ref()[..]);
//!     let mut head = Vec::new();
//!     assert_eq!(copier.futures().copy_buf(&mut reader, &mut head).await?, 1000);
//!     Ok(())
//! })
//! # }
//! ```

mod copier;
mod copy;
mod copy_bidirectional;
mod copy_buf;
mod end;

pub use copier::FuturesCopier;
pub use copy::{copy, Copy};
pub use copy_bidirectional::{
    copy_bidirectional, copy_bidirectional_with_sizes, CopyBidirectional,
};
pub use copy_buf::{copy_buf, CopyBuf};

#[cfg(doc)]
use crate::{Copier, CopyBuffer, MAX_BYTES_PER_POLL, MAX_OPS_PER_POLL};
