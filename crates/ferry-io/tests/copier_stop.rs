//! `Copier::stop_on`: a stop ends copies cleanly with exact counts, on every
//! front end and zero-copy route, however many copies share the signal.

// The zero-copy routes exist on Linux only; elsewhere their tests and helpers are left out.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

mod support;
mod zero_copy_support;

use std::future::{poll_fn, Future};
use std::io::{self, Seek};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ferry_io::zero_copy::{Route, ZeroCopyMode, ZeroCopySink};
use ferry_io::{Copier, DirectionCounts, Progress, StopSignal};
use proptest::prelude::*;
use support::{run, runtime, script, ScriptedReader, ScriptedWriter};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{timeout, Instant};
use zero_copy_support::{bytes, hash_file, receive, tcp_pair, write_file, Received, TempDir};

fn data() -> impl Strategy<Value = Vec<u8>> {
    (0usize..40_000, any::<u64>()).prop_map(|(len, seed)| support::pattern(len, seed))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 500,
        ..ProptestConfig::default()
    }
}

/// Polls `copy`, giving `stop` just before poll number `stop_before`.
async fn stopping_before_poll<F: Future>(
    copy: F,
    stop: &StopSignal,
    stop_before: usize,
) -> F::Output {
    let mut copy = pin!(copy);
    let mut polls = 0;
    poll_fn(|cx| {
        if polls == stop_before {
            stop.stop();
        }
        polls += 1;
        copy.as_mut().poll(cx)
    })
    .await
}

/// A reader that fails the copy if it is read after the stop: a stopped
/// copy takes nothing more from its source.
struct Guarded<R> {
    inner: R,
    stop: StopSignal,
}

impl<R> Guarded<R> {
    fn new(inner: R, stop: &StopSignal) -> Self {
        Self {
            inner,
            stop: stop.clone(),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Guarded<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.stop.is_stopped() {
            return Poll::Ready(Err(io::Error::other("read after the stop")));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// A writer that gives the stop from inside the copy's poll, once it has
/// received `at` bytes: the stop comes after the copy's gate last looked.
struct StoppingWriter {
    inner: ScriptedWriter,
    stop: StopSignal,
    at: usize,
}

impl AsyncWrite for StoppingWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if this.inner.received.len() >= this.at {
            this.stop.stop();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

proptest! {
    #![proptest_config(config())]

    /// Stopped between any two polls, a copy ends `Ok` having written and
    /// flushed exactly what it read, and read nothing more.
    #[test]
    fn copy_stopped_between_polls_writes_exactly_what_it_read(
        data in data(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        flushes in script(),
        stop_before in 0usize..40,
    ) {
        let rt = runtime();
        let stop = StopSignal::new();
        let mut job = Copier::new().buffer_size(capacity).stop_on(stop.clone()).job();
        let mut reader = Guarded::new(ScriptedReader::new(data.clone(), reads), &stop);
        let mut writer = ScriptedWriter::new(writes, flushes);
        let copy = poll_fn(|cx| job.poll_run(cx, Pin::new(&mut reader), Pin::new(&mut writer)));
        let n = run(&rt, stopping_before_poll(copy, &stop, stop_before)).unwrap();
        prop_assert_eq!(n, writer.received.len() as u64);
        prop_assert_eq!(reader.inner.position() as u64, n);
        prop_assert_eq!(&writer.received[..], &data[..n as usize]);
        prop_assert_eq!(writer.flushed as u64, n);
        prop_assert_eq!(job.counts().a_to_b, DirectionCounts { read: n, written: n });
    }

    /// Stopped from inside its own poll (by the writer, after any number of
    /// bytes), a copy still ends with exactly what it read written.
    #[test]
    fn copy_stopped_mid_poll_writes_exactly_what_it_read(
        data in data(),
        at in any::<prop::sample::Index>(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        flushes in script(),
    ) {
        let at = at.index(data.len() + 1);
        let rt = runtime();
        let stop = StopSignal::new();
        let copier = Copier::new().buffer_size(capacity).stop_on(stop.clone());
        let mut reader = Guarded::new(ScriptedReader::new(data.clone(), reads), &stop);
        let inner = ScriptedWriter::new(writes, flushes);
        let mut writer = StoppingWriter { inner, stop, at };
        let n = run(&rt, copier.copy(&mut reader, &mut writer)).unwrap();
        let received = &writer.inner.received;
        prop_assert!(n >= at as u64, "stopped at {} but copied only {}", at, n);
        prop_assert_eq!(n, received.len() as u64);
        prop_assert_eq!(reader.inner.position() as u64, n);
        prop_assert_eq!(&received[..], &data[..n as usize]);
        prop_assert_eq!(writer.inner.flushed as u64, n);
    }

    /// `copy_buf` stopped at any point leaves every byte it did not write
    /// in the reader.
    #[test]
    fn copy_buf_stopped_leaves_the_rest_in_the_reader(
        data in data(),
        capacity in 1usize..20_000,
        reads in script(),
        writes in script(),
        flushes in script(),
        stop_before in 0usize..40,
    ) {
        let rt = runtime();
        let stop = StopSignal::new();
        let copier = Copier::new().stop_on(stop.clone());
        let scripted = Guarded::new(ScriptedReader::new(data.clone(), reads), &stop);
        let mut reader = BufReader::with_capacity(capacity, scripted);
        let mut writer = ScriptedWriter::new(writes, flushes);
        let copy = copier.copy_buf(&mut reader, &mut writer);
        let n = run(&rt, stopping_before_poll(copy, &stop, stop_before)).unwrap();
        prop_assert_eq!(n, writer.received.len() as u64);
        prop_assert_eq!(writer.flushed as u64, n);
        // What the copy did not write is in the reader's buffer or unread.
        let mut rest = reader.buffer().to_vec();
        run(&rt, reader.into_inner().inner.read_to_end(&mut rest)).unwrap();
        prop_assert_eq!([&writer.received[..], &rest[..]].concat(), data);
    }

    /// A relay stopped at any point ends `Ok`; each direction wrote exactly
    /// what it read, then shut its writer down.
    #[test]
    fn relay_stopped_shuts_down_each_direction_with_exact_counts(
        a_data in data(),
        b_data in data(),
        a_reads in script(),
        b_reads in script(),
        a_writes in script(),
        b_writes in script(),
        stop_before in 0usize..40,
    ) {
        let rt = runtime();
        let stop = StopSignal::new();
        let copier = Copier::new().stop_on(stop.clone());
        let mut a = tokio::io::join(
            Guarded::new(ScriptedReader::new(a_data.clone(), a_reads), &stop),
            ScriptedWriter::new(a_writes, vec![]),
        );
        let mut b = tokio::io::join(
            Guarded::new(ScriptedReader::new(b_data.clone(), b_reads), &stop),
            ScriptedWriter::new(b_writes, vec![]),
        );
        let relay = copier.bidirectional(&mut a, &mut b);
        let transfer = run(&rt, stopping_before_poll(relay, &stop, stop_before)).unwrap();
        let ((a_reader, a_writer), (b_reader, b_writer)) = (a.into_inner(), b.into_inner());
        let (to_b, to_a) = (transfer.a_to_b.bytes, transfer.b_to_a.bytes);
        prop_assert_eq!(a_reader.inner.position() as u64, to_b);
        prop_assert_eq!(&b_writer.received[..], &a_data[..to_b as usize]);
        prop_assert_eq!(b_reader.inner.position() as u64, to_a);
        prop_assert_eq!(&a_writer.received[..], &b_data[..to_a as usize]);
        prop_assert_eq!((a_writer.shutdowns, b_writer.shutdowns), (1, 1));
    }
}

/// The reader has nothing more and its peer never closes: before stop
/// signals existed, only dropping the copy (and its counts) ended it.
#[tokio::test(start_paused = true)]
async fn stop_ends_a_copy_waiting_on_a_silent_reader() {
    let stop = StopSignal::new();
    let copier = Copier::new().stop_on(stop.clone());
    let (mut input, mut reader) = tokio::io::duplex(1024);
    input.write_all(b"hello").await.unwrap();
    let started = Instant::now();
    let stopping = tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            stop.stop();
        }
    });

    let mut received = Vec::new();
    let copy = copier.copy(&mut reader, &mut received);
    let copied = timeout(Duration::from_secs(60), copy).await;
    assert_eq!(copied.expect("the copy missed the stop").unwrap(), 5);
    assert_eq!(received, b"hello");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    stopping.await.unwrap();

    // The read the copy was waiting on took nothing: later bytes are there.
    input.write_all(b"after").await.unwrap();
    let mut after = [0; 5];
    reader.read_exact(&mut after).await.unwrap();
    assert_eq!(&after, b"after");

    // A copy started once the signal is given reads nothing.
    assert_eq!(copier.copy(&mut reader, &mut received).await.unwrap(), 0);
    input.write_all(b"still there").await.unwrap();
    let mut buffered = BufReader::new(&mut reader);
    assert_eq!(
        copier.copy_buf(&mut buffered, &mut received).await.unwrap(),
        0
    );
    let mut still = [0; 11];
    buffered.read_exact(&mut still).await.unwrap();
    assert_eq!(&still, b"still there");
}

#[tokio::test(start_paused = true)]
async fn stop_ends_copy_buf_waiting_on_a_silent_reader() {
    let stop = StopSignal::new();
    let copier = Copier::new().stop_on(stop.clone());
    let (mut input, reader) = tokio::io::duplex(1024);
    let mut reader = BufReader::new(reader);
    input.write_all(b"hello").await.unwrap();
    let stopping = tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            stop.stop();
        }
    });
    let started = Instant::now();
    let mut received = Vec::new();
    let copy = copier.copy_buf(&mut reader, &mut received);
    let copied = timeout(Duration::from_secs(60), copy).await;
    assert_eq!(copied.expect("the copy missed the stop").unwrap(), 5);
    assert_eq!(received, b"hello");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    stopping.await.unwrap();
}

/// A stop given inside the copy's own poll, after its gate looked (here by
/// the progress callback), still wakes it, though nothing else ever will.
#[tokio::test(start_paused = true)]
async fn stop_given_during_the_copys_own_poll_is_not_missed() {
    let stop = StopSignal::new();
    let copier = Copier::new()
        .stop_on(stop.clone())
        // No timer may wake the copy either.
        .release_idle_buffers(None)
        .on_progress(Duration::ZERO, {
            let stop = stop.clone();
            move |counts| {
                if counts.a_to_b.written > 0 {
                    stop.stop();
                }
            }
        });
    let (mut input, mut reader) = tokio::io::duplex(1024);
    input.write_all(b"hello").await.unwrap();
    // A task of its own: a timeout around the copy would poll it again.
    let copy = tokio::spawn(async move {
        let mut received = Vec::new();
        let copied = copier.copy(&mut reader, &mut received).await;
        copied.map(|n| (n, received))
    });
    let copied = timeout(Duration::from_secs(60), copy).await;
    let (n, received) = copied.expect("the copy missed the stop").unwrap().unwrap();
    assert_eq!((n, received.as_slice()), (5, &b"hello"[..]));
}

/// Everything read before the stop is written, even if the writer takes
/// its time: the stopped copy waits for it rather than dropping bytes.
#[tokio::test(start_paused = true)]
async fn a_stopped_copy_still_writes_what_it_read() {
    let stop = StopSignal::new();
    let copier = Copier::new().stop_on(stop.clone());
    let (mut input, mut reader) = tokio::io::duplex(1024);
    let (mut writer, mut output) = tokio::io::duplex(16);
    input.write_all(&[7; 100]).await.unwrap();
    let copy = tokio::spawn(async move { copier.copy(&mut reader, &mut writer).await });
    // Let the copy read the 100 bytes; the writer takes 16 of them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.stop();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!copy.is_finished(), "the copy gave up on 84 bytes");
    let mut moved = [0; 100];
    output.read_exact(&mut moved).await.unwrap();
    assert_eq!(moved, [7; 100]);
    let copied = timeout(Duration::from_secs(60), copy).await;
    assert_eq!(copied.expect("the copy hung").unwrap().unwrap(), 100);
}

#[tokio::test(start_paused = true)]
async fn one_signal_stops_fifty_copies() {
    let stop = StopSignal::new();
    let copier = Copier::new().stop_on(stop.clone());
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut copies = Vec::new();
    for i in 0..50u8 {
        let (mut input, reader) = tokio::io::duplex(1024);
        let (mut writer, output) = tokio::io::duplex(1024);
        input.write_all(&vec![i; usize::from(i) + 1]).await.unwrap();
        let copier = copier.clone();
        copies.push(tokio::spawn(async move {
            // Half of them through copy_buf, whose reader is asked first.
            if i % 2 == 0 {
                let mut reader = reader;
                copier.copy(&mut reader, &mut writer).await
            } else {
                let mut reader = BufReader::new(reader);
                copier.copy_buf(&mut reader, &mut writer).await
            }
        }));
        inputs.push(input);
        outputs.push(output);
    }
    for (i, output) in (0..50u8).zip(&mut outputs) {
        let mut moved = vec![0; usize::from(i) + 1];
        output.read_exact(&mut moved).await.unwrap();
        assert!(moved.iter().all(|byte| *byte == i));
    }
    // Every copy now waits on a silent reader.
    stop.stop();
    for (i, copy) in (0..50u64).zip(copies) {
        let copied = timeout(Duration::from_secs(1), copy)
            .await
            .expect("a copy missed the stop")
            .unwrap()
            .unwrap();
        assert_eq!(copied, i + 1);
    }
}

/// Both relays, buffered and spliced: after the stop each direction shuts
/// its write half down, so both peers read EOF while every socket is still
/// open, and bytes sent after the stop stay in the relay's socket.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_relay_half_closes_both_ways() {
    for mode in [ZeroCopyMode::Never, ZeroCopyMode::Always] {
        let (mut client, mut a) = tcp_pair().await;
        let (mut b, mut server) = tcp_pair().await;
        let stop = StopSignal::new();
        let copier = Copier::new().stop_on(stop.clone());
        let relay = tokio::spawn(async move {
            let relayed = copier.zero_copy(mode).bidirectional(&mut a, &mut b).await;
            (relayed, a, b)
        });
        client.write_all(b"hello").await.unwrap();
        let mut hello = [0; 5];
        server.read_exact(&mut hello).await.unwrap();
        server.write_all(b"world!").await.unwrap();
        let mut world = [0; 6];
        client.read_exact(&mut world).await.unwrap();

        stop.stop();
        let (relayed, mut a, _b) = timeout(Duration::from_secs(10), relay)
            .await
            .expect("the relay missed the stop")
            .unwrap();
        let relayed = relayed.unwrap();
        let expected_route = match mode {
            ZeroCopyMode::Never => Route::Buffered,
            _ => Route::Splice,
        };
        assert_eq!(relayed.route, expected_route);
        let transfer = relayed.transfer;
        assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (5, 6));
        assert_eq!(client.read(&mut [0; 16]).await.unwrap(), 0, "{mode:?}");
        assert_eq!(server.read(&mut [0; 16]).await.unwrap(), 0, "{mode:?}");
        client.write_all(b"late").await.unwrap();
        let mut late = [0; 4];
        a.read_exact(&mut late).await.unwrap();
        assert_eq!(&late, b"late");
    }
}

/// Splice asks its gate only once the source is readable; a stop must end
/// it while the source has nothing to give.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_splice_whose_source_is_idle() {
    let (mut feeder, mut source) = tcp_pair().await;
    let (mut sink, mut peer) = tcp_pair().await;
    let stop = StopSignal::new();
    let copier = Copier::new().stop_on(stop.clone());
    let copy = tokio::spawn(async move {
        let copied = copier
            .zero_copy(ZeroCopyMode::Always)
            .copy(&mut source, &mut sink)
            .await;
        (copied, source)
    });
    let sent = bytes(0, 100_000);
    feeder.write_all(&sent).await.unwrap();
    let mut got = vec![0; sent.len()];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(got, sent);

    stop.stop();
    let (copied, mut source) = timeout(Duration::from_secs(10), copy)
        .await
        .expect("the splice missed the stop")
        .unwrap();
    let copied = copied.unwrap();
    assert_eq!((copied.bytes, copied.route), (100_000, Route::Splice));
    // The sink was dropped with the task: the peer got nothing more.
    assert_eq!(peer.read(&mut [0; 16]).await.unwrap(), 0);
    feeder.write_all(b"late").await.unwrap();
    let mut late = [0; 4];
    source.read_exact(&mut late).await.unwrap();
    assert_eq!(&late, b"late");
}

/// The copy_file_range call in flight at the stop lands and is counted; no
/// other is made, even before the copy is polled again.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_copy_file_range_counts_what_the_file_holds() {
    const CALL: u64 = 1 << 20;
    let len: u64 = 64 << 20;
    let dir = TempDir::new("stop-file-range");
    let (from, to) = (dir.path("from"), dir.path("to"));
    write_file(&from, len);
    let mut source = std::fs::File::open(&from).unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let stop = StopSignal::new();
    // The file's size right after the stop: what landed by then, and maybe
    // part of the call in flight.
    let size_at_stop = Arc::new(AtomicU64::new(0));
    let copier = Copier::new()
        .stop_on(stop.clone())
        .on_progress(Duration::ZERO, {
            let (stop, size_at_stop, to) = (stop.clone(), Arc::clone(&size_at_stop), to.clone());
            move |counts| {
                if counts.a_to_b.written > 0 && !stop.is_stopped() {
                    stop.stop();
                    let size = std::fs::metadata(&to).unwrap().len();
                    size_at_stop.store(size, Ordering::SeqCst);
                }
            }
        });
    let copy = copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink);
    let copied = timeout(Duration::from_secs(30), copy)
        .await
        .expect("copy_file_range missed the stop")
        .unwrap();
    let landed = std::fs::metadata(&to).unwrap().len();
    let size_at_stop = size_at_stop.load(Ordering::SeqCst);
    assert_eq!(copied.route, Route::CopyFileRange);
    assert!(
        size_at_stop > 0 && landed < len,
        "{size_at_stop} then {landed}"
    );
    assert!(
        landed <= size_at_stop + CALL,
        "{size_at_stop} then {landed}"
    );
    assert_eq!(copied.bytes, landed);
    assert_eq!(source.stream_position().unwrap(), landed);
    assert_eq!(hash_file(&to), Received::expect(landed));
}

/// A connected loopback pair whose buffers hold a few hundred KiB at most,
/// so a sender that nobody reads from blocks soon.
async fn small_buffered_tcp_pair() -> (TcpStream, TcpStream) {
    let listening = TcpSocket::new_v4().unwrap();
    listening.set_recv_buffer_size(64 * 1024).unwrap();
    listening.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = listening.listen(1).unwrap();
    let connecting = TcpSocket::new_v4().unwrap();
    connecting.set_send_buffer_size(64 * 1024).unwrap();
    let (connected, accepted) = tokio::join!(
        connecting.connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    (connected.unwrap(), accepted.unwrap().0)
}

/// Copies a 64 MiB file into `sink` with sendfile while nobody reads
/// `peer`, stops the copy once it waits on the full sink, and checks that
/// the peer then gets exactly the bytes the copy counts.
async fn stop_a_sendfile_into_a_full_sink<D, P>(name: &str, mut sink: D, peer: P)
where
    D: ZeroCopySink,
    P: AsyncRead + Unpin,
{
    let len: u64 = 64 << 20;
    let dir = TempDir::new(name);
    let from = dir.path("from");
    write_file(&from, len);
    let mut source = std::fs::File::open(&from).unwrap();
    let stop = StopSignal::new();
    let progress = Progress::new();
    let copier = Copier::new()
        .stop_on(stop.clone())
        .progress(progress.clone());
    let copy = copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink);
    let stopping = async {
        // Wait until the copy has stopped moving (the sink is full), so that
        // only the stop can end it. The wait is a heuristic; the test holds
        // whenever the stop comes.
        let mut sent = 0;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = progress.snapshot().a_to_b.written;
            if now > 0 && now == sent {
                break;
            }
            sent = now;
        }
        stop.stop();
    };
    let (copied, ()) = timeout(Duration::from_secs(30), async {
        tokio::join!(copy, stopping)
    })
    .await
    .expect("sendfile missed the stop");
    drop(sink);
    let copied = copied.unwrap();
    assert_eq!(copied.route, Route::Sendfile, "{name}");
    assert!(copied.bytes > 0 && copied.bytes < len, "{name}: {copied:?}");
    assert_eq!(
        receive(peer).await.unwrap(),
        Received::expect(copied.bytes),
        "{name}"
    );
    assert_eq!(source.stream_position().unwrap(), copied.bytes, "{name}");
}

/// sendfile holds no bytes between calls, so a stop ends it at once even
/// while the sink takes nothing: a socket, and a pipe (which, once full,
/// sends no readiness event at all until it is read).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_sendfile_counts_what_the_peer_receives() {
    let (sink, peer) = small_buffered_tcp_pair().await;
    stop_a_sendfile_into_a_full_sink("stop-sendfile-tcp", sink, peer).await;
    let (sink, peer) = tokio::net::unix::pipe::pipe().unwrap();
    stop_a_sendfile_into_a_full_sink("stop-sendfile-pipe", sink, peer).await;
}
