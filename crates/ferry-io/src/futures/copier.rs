//! `FuturesCopier`: a [`Copier`]'s copies over futures-io ends, with timers
//! that need no tokio runtime.

use std::future::poll_fn;
use std::pin::Pin;

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::end::FuturesIo;
use crate::copier::{Clock, Job, Relay};
use crate::engine::LentCopy;
use crate::{Copier, CopyError, Transfer};

impl Copier {
    /// This copier's copies over futures-io ends (smol, async-std,
    /// `futures`): the same settings and engine, for
    /// [`ferry_io::futures`](crate::futures) users.
    ///
    /// # Examples
    ///
    /// ```
    /// # smol::block_on(async {
    /// let copier = ferry_io::Copier::new().limit(5);
    /// let mut reader: &[u8] = b"hello, ferry";
    /// let mut writer = Vec::new();
    /// assert_eq!(copier.futures().copy(&mut reader, &mut writer).await?, 5);
    /// assert_eq!(writer, b"hello");
    /// # Ok::<(), ferry_io::CopyError>(())
    /// # }).unwrap();
    /// ```
    pub fn futures(&self) -> FuturesCopier<'_> {
        FuturesCopier { copier: self }
    }
}

/// A [`Copier`]'s copies over futures-io ends, from [`Copier::futures`].
///
/// Every option of the copier applies: the byte limit, rate limits,
/// progress, the idle timeout, the linger, the stop signal, and errors that
/// keep their counts. Its timers (the idle timeout, the linger, rate limits,
/// progress callbacks) are async-io's, so they work under any executor,
/// with or without a tokio runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ferry_io::{Copier, Step};
///
/// # smol::block_on(async {
/// // A reader that never sends anything: the idle timeout ends the copy.
/// let (_quiet, mut reader) = smol::net::unix::UnixStream::pair()?;
/// let copier = Copier::new().idle_timeout(Duration::from_millis(50));
/// let err = copier.futures().copy(&mut reader, &mut Vec::new()).await.unwrap_err();
/// assert_eq!(err.step(), Step::IdleTimeout);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug)]
pub struct FuturesCopier<'a> {
    copier: &'a Copier,
}

impl FuturesCopier<'_> {
    /// Copies all of `reader` into `writer` (up to the limit), then flushes
    /// `writer`, and returns the number of bytes copied: [`Copier::copy`]
    /// for futures-io ends.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] with the step that failed and the counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let progress = ferry_io::Progress::new();
    /// let copier = ferry_io::Copier::new().progress(progress.clone());
    /// let mut reader: &[u8] = &[7; 5000];
    /// copier.futures().copy(&mut reader, &mut futures::io::sink()).await?;
    /// assert_eq!(progress.snapshot().a_to_b.written, 5000);
    /// # Ok::<(), ferry_io::CopyError>(())
    /// # }).unwrap();
    /// ```
    pub async fn copy<R, W>(self, reader: &mut R, writer: &mut W) -> Result<u64, CopyError>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        let (mut reader, mut writer) = (FuturesIo(reader), FuturesIo(writer));
        let mut job = Job::new(self.copier.engine(), self.copier, Clock::AsyncIo);
        poll_fn(|cx| job.poll_run(cx, Pin::new(&mut reader), Pin::new(&mut writer)))
            .await
            .into_result()
    }

    /// Like [`copy`](Self::copy), but writes straight out of a buffered
    /// reader's buffer: [`Copier::copy_buf`] for futures-io ends.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] with the step that failed and the counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let mut reader = futures::io::BufReader::new(&b"hello"[..]);
    /// let mut writer = Vec::new();
    /// let copier = ferry_io::Copier::new().limit(4);
    /// assert_eq!(copier.futures().copy_buf(&mut reader, &mut writer).await?, 4);
    /// assert_eq!(writer, b"hell");
    /// # Ok::<(), ferry_io::CopyError>(())
    /// # }).unwrap();
    /// ```
    pub async fn copy_buf<R, W>(self, reader: &mut R, writer: &mut W) -> Result<u64, CopyError>
    where
        R: AsyncBufRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        let (mut reader, mut writer) = (FuturesIo(reader), FuturesIo(writer));
        let mut job = Job::new(LentCopy::default(), self.copier, Clock::AsyncIo);
        poll_fn(|cx| job.poll_run(cx, Pin::new(&mut reader), Pin::new(&mut writer)))
            .await
            .into_result()
    }

    /// Copies both ways between `a` and `b` until both directions reach EOF,
    /// closing each side (`poll_close`: a half-close for a socket) once the
    /// other side has finished: [`Copier::bidirectional`] for futures-io ends.
    ///
    /// # Errors
    ///
    /// A [`CopyError`] naming the direction and step that failed, with the
    /// counts of both directions so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use smol::io::{AsyncReadExt, AsyncWriteExt};
    /// use smol::net::unix::UnixStream;
    ///
    /// # smol::block_on(async {
    /// let (mut client, mut a) = UnixStream::pair()?;
    /// let (mut b, mut server) = UnixStream::pair()?;
    /// let relay = smol::spawn(async move {
    ///     ferry_io::Copier::new().futures().bidirectional(&mut a, &mut b).await
    /// });
    ///
    /// client.write_all(b"ping").await?;
    /// client.shutdown(std::net::Shutdown::Write)?;
    /// server.write_all(b"pong!").await?;
    /// server.shutdown(std::net::Shutdown::Write)?;
    /// let mut got = Vec::new();
    /// server.read_to_end(&mut got).await?;
    /// client.read_to_end(&mut got).await?;
    /// assert_eq!(got, b"pingpong!");
    ///
    /// let transfer = relay.await.unwrap();
    /// assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (4, 5));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn bidirectional<A, B>(self, a: &mut A, b: &mut B) -> Result<Transfer, CopyError>
    where
        A: AsyncRead + AsyncWrite + Unpin + ?Sized,
        B: AsyncRead + AsyncWrite + Unpin + ?Sized,
    {
        let (mut a, mut b) = (FuturesIo(a), FuturesIo(b));
        let copier = self.copier;
        let mut relay = Relay::new(copier.engine(), copier.engine(), copier, Clock::AsyncIo);
        poll_fn(|cx| relay.poll_relay(cx, Pin::new(&mut a), Pin::new(&mut b)))
            .await
            .into_result()
    }
}
