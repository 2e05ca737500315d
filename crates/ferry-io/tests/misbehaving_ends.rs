//! Ends that break the rules get errors, never panics, hangs or phantom counts.

mod support;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A writer whose `poll_write` result is decided by a closure.
struct Writer<F>(F);

impl<F: FnMut(&[u8]) -> io::Result<usize> + Unpin> AsyncWrite for Writer<F> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready((self.0)(buf))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A reader whose `poll_read` is decided by a closure.
struct Reader<F>(F);

impl<F: FnMut(&mut ReadBuf<'_>) -> io::Result<()> + Unpin> AsyncRead for Reader<F> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready((self.0)(buf))
    }
}

#[tokio::test]
async fn writer_reporting_more_than_it_was_given_is_an_error() {
    let mut reader: &[u8] = &[1; 100];
    let mut writer = Writer(|buf: &[u8]| Ok(buf.len() + 1));
    let mut engine = ferry_io::CopyBuffer::new();
    let err = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert_eq!(
        err.to_string(),
        "writer reported writing 101 bytes but was given only 100"
    );
    assert_eq!(engine.bytes_written(), 0, "no phantom bytes are counted");
    assert_eq!(engine.bytes_read(), 100);
}

#[tokio::test]
async fn copy_buf_rejects_an_over_reporting_writer() {
    let mut reader = tokio::io::BufReader::new(&[1u8; 10][..]);
    let mut writer = Writer(|buf: &[u8]| Ok(buf.len() * 2));
    let err = ferry_io::copy_buf(&mut reader, &mut writer)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
}

#[tokio::test]
async fn writer_accepting_nothing_is_write_zero() {
    let mut reader: &[u8] = b"abc";
    let mut writer = Writer(|_: &[u8]| Ok(0));
    let err = ferry_io::copy(&mut reader, &mut writer).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WriteZero);

    let mut reader = tokio::io::BufReader::new(&b"abc"[..]);
    let err = ferry_io::copy_buf(&mut reader, &mut writer)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WriteZero);
}

#[tokio::test]
async fn reader_filling_a_buffer_of_its_own_is_an_error() {
    let mut reader = Reader(|buf: &mut ReadBuf<'_>| {
        let other: &'static mut [u8] = Box::leak(vec![9u8; 16].into_boxed_slice());
        *buf = ReadBuf::new(other);
        buf.advance(16);
        Ok(())
    });
    let mut writer = Vec::new();
    let err = ferry_io::copy(&mut reader, &mut writer).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert!(writer.is_empty());
}

#[tokio::test]
async fn errors_from_either_end_pass_through_with_their_kind() {
    let mut reader = Reader(|_: &mut ReadBuf<'_>| Err(io::ErrorKind::PermissionDenied.into()));
    let err = ferry_io::copy(&mut reader, &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);

    let mut reader: &[u8] = b"x";
    let mut writer = Writer(|_: &[u8]| Err(io::ErrorKind::BrokenPipe.into()));
    let err = ferry_io::copy(&mut reader, &mut writer).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[tokio::test]
async fn empty_input_copies_nothing_and_still_flushes() {
    let mut reader: &[u8] = b"";
    let mut writer = support::ScriptedWriter::new(vec![], vec![]);
    assert_eq!(ferry_io::copy(&mut reader, &mut writer).await.unwrap(), 0);
    assert_eq!(writer.flushes, 1);
    assert!(writer.received.is_empty());
}

#[tokio::test]
async fn endless_interrupted_reader_does_not_hold_the_thread() {
    let mut reader = Reader(|_: &mut ReadBuf<'_>| Err(io::ErrorKind::Interrupted.into()));
    let mut writer = Vec::new();
    // The copy never finishes, but it yields, so the timer gets to fire.
    let outcome = tokio::time::timeout(
        Duration::from_millis(50),
        ferry_io::copy(&mut reader, &mut writer),
    )
    .await;
    assert!(outcome.is_err(), "the copy cannot finish: {outcome:?}");
}

#[tokio::test]
async fn counts_go_past_four_gib() {
    const TOTAL: u64 = 5 << 30;
    let mut left = TOTAL;
    let mut reader = Reader(move |buf: &mut ReadBuf<'_>| {
        // Initialized memory is lent to us; advancing skips a needless memcpy.
        let n = (buf.remaining() as u64).min(left) as usize;
        buf.advance(n);
        left -= n as u64;
        Ok(())
    });
    let mut seen = 0u64;
    let mut writer = Writer(|buf: &[u8]| {
        seen += buf.len() as u64;
        Ok(buf.len())
    });
    let mut engine = ferry_io::CopyBuffer::with_capacity(256 * 1024);
    let n = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut reader), Pin::new(&mut writer)))
        .await
        .unwrap();
    assert_eq!(n, TOTAL);
    assert_eq!(engine.bytes_read(), TOTAL);
    assert_eq!(seen, TOTAL);
}

#[test]
#[should_panic(expected = "capacity must be greater than zero")]
fn zero_capacity_is_rejected() {
    let _ = ferry_io::CopyBuffer::with_capacity(0);
}

#[test]
fn futures_are_send_and_unpin_when_their_ends_are() {
    fn send_unpin<T: Send + Unpin>(_: &T) {}
    let mut reader: &[u8] = b"";
    let mut writer = Vec::new();
    send_unpin(&ferry_io::copy(&mut reader, &mut writer));
    let mut buffered = tokio::io::BufReader::new(&b""[..]);
    send_unpin(&ferry_io::copy_buf(&mut buffered, &mut writer));
    let (mut a, mut b) = tokio::io::duplex(1);
    send_unpin(&ferry_io::copy_bidirectional(&mut a, &mut b));
    send_unpin(&ferry_io::CopyBuffer::new());
}

#[test]
fn futures_debug_shows_their_progress() {
    let mut reader: &[u8] = b"";
    let mut writer = Vec::new();
    let copy = ferry_io::copy(&mut reader, &mut writer);
    let shown = format!("{copy:?}");
    assert!(
        shown.starts_with("Copy { engine: CopyBuffer { capacity: 8192"),
        "{shown}"
    );
}
