//! How the zero-copy paths behave beyond the happy path: forced fallbacks,
//! the mode switch, the Copier's limits, progress and timeouts, failures
//! mid-splice, and not spinning while idle.

#![cfg(target_os = "linux")]

mod zero_copy_support;

use std::future::{poll_fn, Future};
use std::io::{self, ErrorKind, Seek};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ferry_io::zero_copy::{Copied, FdKind, Route, ZeroCopyMode, ZeroCopySink};
use ferry_io::{
    Copier, CopyError, Counts, Direction, DirectionCounts, Progress, RateLimiter, Step,
};
use rustix::io::Errno;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use zero_copy_support::*;

const LEN: u64 = 3 * PIPE + 17;

/// The most one `copy_file_range` call moves: 1 MiB.
const CALL: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_destination_falls_back_to_buffered() {
    let dir = TempDir::new("append");
    let (from, to) = (dir.path("from"), dir.path("to"));
    write_file(&from, LEN);
    std::fs::write(&to, b"").unwrap();
    let open_append = || std::fs::File::options().append(true).open(&to).unwrap();

    // file -> file: copy_file_range would fail with EBADF.
    let mut source = std::fs::File::open(&from).unwrap();
    let copied = Copier::new()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut open_append())
        .await
        .unwrap();
    assert_eq!((copied.bytes, copied.route), (LEN, Route::Buffered));
    assert_eq!(hash_file(&to), Received::expect(LEN));

    // TCP -> file: splice would fail with EINVAL with bytes already in its pipe.
    std::fs::write(&to, b"").unwrap();
    let (feeder, mut source) = tcp_pair().await;
    let feeding = tokio::spawn(send(feeder, LEN));
    let copied = Copier::new()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut open_append())
        .await
        .unwrap();
    feeding.await.unwrap().unwrap();
    assert_eq!((copied.bytes, copied.route), (LEN, Route::Buffered));
    assert_eq!(hash_file(&to), Received::expect(LEN));

    // Always refuses instead of falling back.
    let mut source = std::fs::File::open(&from).unwrap();
    let err = Copier::new()
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut open_append())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(err.counts().a_to_b.written, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proc_source_falls_back_to_buffered() {
    let dir = TempDir::new("proc");
    let to = dir.path("to");
    let expected = std::fs::read("/proc/version").unwrap();
    assert!(!expected.is_empty());

    let mut source = tokio::fs::File::open("/proc/version").await.unwrap();
    let mut sink = tokio::fs::File::create(&to).await.unwrap();
    let copied = Copier::new()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    drop(sink);
    assert_eq!(copied.route, Route::Buffered);
    assert_eq!(copied.bytes, expected.len() as u64);
    assert_eq!(std::fs::read(&to).unwrap(), expected);

    let mut source = std::fs::File::open("/proc/version").unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let err = Copier::new()
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_on_another_filesystem_falls_back_to_buffered() {
    let shm = std::path::Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("skipped: no /dev/shm on this machine");
        return;
    }
    let other = TempDir::under(shm, "xdev");
    let here = TempDir::new("xdev");
    let same_fs = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&other.0).unwrap().dev() == std::fs::metadata(&here.0).unwrap().dev()
    };
    if same_fs {
        eprintln!("skipped: /dev/shm and the temp dir are one filesystem here");
        return;
    }
    let (from, to) = (other.path("from"), here.path("to"));
    write_file(&from, LEN);
    let mut source = std::fs::File::open(&from).unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let copied = Copier::new()
        .zero_copy(ZeroCopyMode::Auto)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    // tmpfs to ext4: EXDEV (Linux 5.19+) or EOPNOTSUPP, both refusals.
    assert_eq!((copied.bytes, copied.route), (LEN, Route::Buffered));
    assert_eq!(hash_file(&to), Received::expect(LEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_mode_uses_the_buffered_engine() {
    let dir = TempDir::new("never");
    let (from, to) = (dir.path("from"), dir.path("to"));
    write_file(&from, LEN);
    let mut source = std::fs::File::open(&from).unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let zero_copy = Copier::new();
    let zero_copy = zero_copy.zero_copy(ZeroCopyMode::Never);
    assert_eq!(zero_copy.route(&source, &sink), Route::Buffered);
    let copied = zero_copy.copy(&mut source, &mut sink).await.unwrap();
    assert_eq!((copied.bytes, copied.route), (LEN, Route::Buffered));
    assert_eq!(hash_file(&to), Received::expect(LEN));

    let (client, mut a) = tcp_pair().await;
    let (mut b, server) = tcp_pair().await;
    let up = tokio::spawn(send(client, LEN));
    let down = tokio::spawn(receive(server));
    let copier = Copier::new();
    let relay = copier
        .zero_copy(ZeroCopyMode::Never)
        .bidirectional(&mut a, &mut b);
    let (relayed, sent, received) = tokio::join!(relay, up, down);
    let relayed = relayed.unwrap();
    assert_eq!(relayed.route, Route::Buffered);
    assert_eq!(relayed.transfer.a_to_b.bytes, LEN);
    assert_eq!(received.unwrap().unwrap(), Received::expect(LEN));
    sent.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_limit_stops_each_route_exactly() {
    let dir = TempDir::new("limit");
    let (from, to) = (dir.path("from"), dir.path("to"));
    write_file(&from, LEN);
    let limit = PIPE + 5;
    let copier = Copier::new().limit(limit);

    let mut source = std::fs::File::open(&from).unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let copied = copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    assert_eq!((copied.bytes, copied.route), (limit, Route::CopyFileRange));
    assert_eq!(hash_file(&to), Received::expect(limit));

    let mut source = std::fs::File::open(&from).unwrap();
    let (mut sink, peer) = tcp_pair().await;
    let receiving = tokio::spawn(receive(peer));
    let copied = copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    drop(sink);
    assert_eq!((copied.bytes, copied.route), (limit, Route::Sendfile));
    assert_eq!(receiving.await.unwrap().unwrap(), Received::expect(limit));

    // Splice never takes more than the limit from the source: the rest stays.
    let (feeder, mut source) = tcp_pair().await;
    let (mut sink, peer) = tcp_pair().await;
    let feeding = tokio::spawn(send(feeder, LEN));
    let receiving = tokio::spawn(receive(peer));
    let copied = copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    drop(sink);
    assert_eq!((copied.bytes, copied.route), (limit, Route::Splice));
    assert_eq!(receiving.await.unwrap().unwrap(), Received::expect(limit));
    let mut rest = Vec::new();
    source.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest.len() as u64, LEN - limit);
    assert_eq!(rest, bytes(limit, rest.len()));
    feeding.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_caps_each_splice() {
    let len: u64 = 2 << 20;
    let rate = 8 << 20;
    let copier = Copier::new().rate_limit(RateLimiter::new(rate));
    let (feeder, mut source) = tcp_pair().await;
    let (mut sink, peer) = tcp_pair().await;
    let feeding = tokio::spawn(send(feeder, len));
    let receiving = tokio::spawn(receive(peer));
    let started = Instant::now();
    let copied = copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    drop(sink);
    assert_eq!((copied.bytes, copied.route), (len, Route::Splice));
    assert_eq!(receiving.await.unwrap().unwrap(), Received::expect(len));
    feeding.await.unwrap().unwrap();
    // 2 MiB at 8 MiB/s is 250 ms, less the 100 ms burst the bucket allows.
    assert!(elapsed >= Duration::from_millis(140), "took {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_counts_zero_copy_bytes() {
    let dir = TempDir::new("progress");
    let from = dir.path("from");
    write_file(&from, LEN);
    let progress = Progress::new();
    let copier = Copier::new().progress(progress.clone());
    let mut source = std::fs::File::open(&from).unwrap();
    let (mut sink, peer) = tcp_pair().await;
    let receiving = tokio::spawn(receive(peer));
    copier
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap();
    drop(sink);
    receiving.await.unwrap().unwrap();
    assert_eq!(progress.snapshot().a_to_b.written, LEN);
    assert_eq!(progress.snapshot().a_to_b.read, LEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_ends_a_silent_splice_relay() {
    let (_client, mut a) = tcp_pair().await;
    let (mut b, _server) = tcp_pair().await;
    let copier = Copier::new().idle_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = copier
        .zero_copy(ZeroCopyMode::Always)
        .bidirectional(&mut a, &mut b)
        .await
        .unwrap_err();
    assert_eq!(err.step(), Step::IdleTimeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The client sends, then resets its connection. The relay fails reading
/// from it, and what it reports as written is exactly what the server got:
/// the pipe is always drained before the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_reset_reports_what_the_peer_received() {
    let (mut client, mut a) = tcp_pair().await;
    let (mut b, server) = tcp_pair().await;
    let receiving = tokio::spawn(receive(server));
    let relay = tokio::spawn(async move {
        let copier = Copier::new();
        let result = copier
            .zero_copy(ZeroCopyMode::Always)
            .bidirectional(&mut a, &mut b)
            .await;
        drop(b);
        result
    });
    client.write_all(&bytes(0, 5 << 20)).await.unwrap();
    client.set_zero_linger().unwrap();
    drop(client);
    let err = relay.await.unwrap().unwrap_err();
    let got = receiving.await.unwrap();
    let counts = err.counts().a_to_b;
    assert_eq!(err.direction(), Some(Direction::AToB), "{err}");
    assert_eq!(err.step(), Step::Read, "{err}");
    assert_eq!(counts.read, counts.written, "nothing may stay in the pipe");
    // The server got every byte the relay says it wrote (it may have seen
    // a reset itself after them, when the relay dropped its socket).
    if let Ok(got) = got {
        assert_eq!(got.bytes, counts.written);
        assert_eq!(got, Received::expect(counts.written));
    }
}

/// The server reads a little, then resets. The relay fails writing; the
/// bytes it had read into the pipe but not written show as read - written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_reset_reports_bytes_left_in_the_pipe() {
    let (client, mut a) = tcp_pair().await;
    let (mut b, mut server) = tcp_pair().await;
    let feeding = tokio::spawn(send(client, 64 << 20));
    let relay = tokio::spawn(async move {
        let copier = Copier::new();
        copier
            .zero_copy(ZeroCopyMode::Always)
            .bidirectional(&mut a, &mut b)
            .await
    });
    let mut got = vec![0; 100_000];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, slice(0, got.len()));
    server.set_zero_linger().unwrap();
    drop(server);
    let err = tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .expect("the relay notices the reset")
        .unwrap()
        .unwrap_err();
    let counts = err.counts().a_to_b;
    // Either direction may see the reset first: writing to b, or reading
    // from it (the b to a direction). The a to b counts hold either way.
    let seen = (err.direction(), err.step());
    assert!(
        seen == (Some(Direction::AToB), Step::Write) || seen == (Some(Direction::BToA), Step::Read),
        "{err}"
    );
    assert!(counts.written >= got.len() as u64, "{counts:?}");
    assert!(counts.read >= counts.written, "{counts:?}");
    assert!(counts.read - counts.written <= PIPE, "{counts:?}");
    feeding.abort();
}

/// The idle timer used to see no byte move while a 16 MiB copy_file_range
/// call ran on the blocking pool, so `--idle-timeout 5ms` failed a copy that
/// was busy ("no byte moved after 0 B").
///
/// The clock is paused, so the 1 ms idle timer fires only when the test
/// moves the clock, and it does so only once the sink has grown more than
/// one call (1 MiB) past the count the copy last reported: by then a whole
/// call has landed and been counted, so the copy must see a byte moved.
#[tokio::test(start_paused = true)]
async fn file_range_counts_each_call_for_the_idle_timeout() {
    let len: u64 = 64 << 20;
    let dir = TempDir::new("file-range-idle");
    let (from, to) = (dir.path("from"), dir.path("to"));
    write_file(&from, len);
    let reported = Arc::new(AtomicU64::new(0));
    let copier = Copier::new()
        .idle_timeout(Duration::from_millis(1))
        .on_progress(Duration::ZERO, {
            let reported = Arc::clone(&reported);
            move |counts| reported.store(counts.a_to_b.written, Ordering::SeqCst)
        });
    let mut source = std::fs::File::open(&from).unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let copy = tokio::spawn(async move {
        copier
            .zero_copy(ZeroCopyMode::Always)
            .copy(&mut source, &mut sink)
            .await
    });
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut timer_fired = 0;
    while !copy.is_finished() {
        assert!(Instant::now() < give_up, "the copy hung");
        let landed = std::fs::metadata(&to).unwrap().len();
        if landed > reported.load(Ordering::SeqCst) + CALL {
            tokio::time::advance(Duration::from_millis(2)).await;
            timer_fired += 1;
        } else {
            // Let the copy run, and the blocking pool move more bytes.
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let copied = copy.await.unwrap().unwrap();
    assert_eq!((copied.bytes, copied.route), (len, Route::CopyFileRange));
    assert_eq!(hash_file(&to), Received::expect(len));
    assert!(timer_fired > 0, "the idle timer never fired mid-copy");
}

/// A copy_file_range copy dropped mid-way used to let its 16 MiB call run
/// on uncounted. Now the call running at the drop is the only one that
/// lands after it: the sink holds what the progress reports plus at most
/// one call, and the source's offset is exactly where the sink ends.
#[test]
fn dropped_file_range_copy_lands_at_most_one_call_past_its_progress() {
    let len: u64 = 64 << 20;
    let dir = TempDir::new("file-range-drop");
    let (from, to) = (dir.path("from"), dir.path("to"));
    write_file(&from, len);
    let progress = Progress::new();
    let copier = Copier::new().progress(progress.clone());
    let mut source = std::fs::File::open(&from).unwrap();
    let mut sink = std::fs::File::create(&to).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut copy = pin!(copier
            .zero_copy(ZeroCopyMode::Always)
            .copy(&mut source, &mut sink));
        // Poll until some bytes are counted (the first 16 MiB trip is done
        // and the next is on the blocking pool), then drop the copy.
        poll_fn(|cx| match copy.as_mut().poll(cx) {
            Poll::Ready(result) => panic!("a 64 MiB copy ended at once: {result:?}"),
            Poll::Pending if progress.snapshot().a_to_b.written > 0 => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        })
        .await;
    });
    // Dropping the runtime waits for its blocking pool: whatever was still
    // running has landed by now.
    drop(runtime);
    let counted = progress.snapshot().a_to_b.written;
    let landed = std::fs::metadata(&to).unwrap().len();
    assert!(
        counted > 0 && landed < len,
        "{counted} of {landed} of {len}"
    );
    assert!(
        counted <= landed && landed <= counted + CALL,
        "counted {counted}, landed {landed}"
    );
    assert_eq!(source.stream_position().unwrap(), landed);
    assert_eq!(hash_file(&to), Received::expect(landed));
}

/// A TCP sink whose kernel calls fail with `errno` once `after` bytes have
/// gone through them, as a kernel that gives up mid-stream would. The
/// buffered engine writes to the socket as usual.
struct FailingSink {
    socket: TcpStream,
    errno: Errno,
    after: u64,
    /// Bytes the kernel calls moved into the socket.
    moved: AtomicU64,
}

impl FailingSink {
    /// A sink on a fresh loopback connection, and the task that receives
    /// what reaches its peer.
    async fn connect(errno: Errno, after: u64) -> (Self, JoinHandle<io::Result<Received>>) {
        let (socket, peer) = tcp_pair().await;
        let sink = Self {
            socket,
            errno,
            after,
            moved: AtomicU64::new(0),
        };
        (sink, tokio::spawn(receive(peer)))
    }

    fn moved(&self) -> u64 {
        self.moved.load(Ordering::SeqCst)
    }
}

impl AsFd for FailingSink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl ZeroCopySink for FailingSink {
    fn sink_kind(&self) -> FdKind {
        FdKind::Socket
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket.poll_write_ready(cx)
    }

    fn try_write_io(&self, op: &mut dyn FnMut() -> io::Result<usize>) -> io::Result<usize> {
        if self.moved() >= self.after {
            return Err(self.errno.into());
        }
        let n = self.socket.try_io(Interest::WRITABLE, op)?;
        self.moved.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }

    fn writer(&mut self) -> io::Result<Box<dyn AsyncWrite + Unpin + Send + '_>> {
        Ok(Box::new(&mut self.socket))
    }
}

/// `n` bytes read and written: none held between the ends.
fn landed(n: u64) -> DirectionCounts {
    DirectionCounts {
        read: n,
        written: n,
    }
}

/// What a copy of the file `from` into a sink whose sendfile calls answer
/// `EOVERFLOW` after the first did.
struct RefusedMidStream {
    copied: Result<Copied, CopyError>,
    /// Bytes sendfile moved before the refusal.
    moved: u64,
    /// What the sink's peer received.
    received: Received,
    /// The source file's offset afterwards.
    offset: u64,
}

async fn copy_refused_mid_stream(
    from: &Path,
    copier: &Copier,
    mode: ZeroCopyMode,
) -> RefusedMidStream {
    let (mut sink, receiving) = FailingSink::connect(Errno::OVERFLOW, 1).await;
    let mut source = std::fs::File::open(from).unwrap();
    let copied = copier.zero_copy(mode).copy(&mut source, &mut sink).await;
    let moved = sink.moved();
    drop(sink);
    RefusedMidStream {
        copied,
        moved,
        received: receiving.await.unwrap().unwrap(),
        offset: source.stream_position().unwrap(),
    }
}

/// `EOVERFLOW` from sendfile after its first call says only that call's
/// range was too large: everything before it landed, and memory carries on
/// from the very next byte, within the byte limit, with counts that add the
/// two routes up (the progress handle's and the callback's alike).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_mid_stream_goes_on_through_memory_with_exact_counts() {
    let len: u64 = 16 << 20;
    let dir = TempDir::new("refused-mid-stream");
    let from = dir.path("from");
    write_file(&from, len);
    for limit in [None, Some(len - 17)] {
        let want = limit.unwrap_or(len);
        let progress = Progress::new();
        let reported = Arc::new(Mutex::new(Vec::new()));
        let mut copier = Copier::new()
            .progress(progress.clone())
            .on_progress(Duration::ZERO, {
                let reported = Arc::clone(&reported);
                move |counts: Counts| reported.lock().unwrap().push(counts.a_to_b)
            });
        if let Some(limit) = limit {
            copier = copier.limit(limit);
        }
        let refused = copy_refused_mid_stream(&from, &copier, ZeroCopyMode::Auto).await;
        let (copied, moved) = (refused.copied.unwrap(), refused.moved);
        assert!(
            moved > 0 && moved < want,
            "sendfile moved {moved} of {want}"
        );
        assert_eq!((copied.bytes, copied.route), (want, Route::Sendfile));
        assert_eq!(
            (refused.received, refused.offset),
            (Received::expect(want), want)
        );
        assert_eq!(progress.snapshot().a_to_b, landed(want));
        let reported = reported.lock().unwrap();
        assert_eq!(reported.last(), Some(&landed(want)), "{limit:?}");
        assert!(
            reported
                .windows(2)
                .all(|pair| pair[0].written <= pair[1].written),
            "the reported counts went back: {reported:?}"
        );
    }

    // Always fails instead, with the bytes sendfile moved, every one landed.
    let refused = copy_refused_mid_stream(&from, &Copier::new(), ZeroCopyMode::Always).await;
    let (err, moved) = (refused.copied.unwrap_err(), refused.moved);
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(moved > 0 && moved < len, "sendfile moved {moved} of {len}");
    assert_eq!(err.counts().a_to_b, landed(moved));
    assert_eq!(
        (refused.received, refused.offset),
        (Received::expect(moved), moved)
    );
}

/// The sink fails (a reset) with bytes in the splice pipe: the peer got
/// exactly `written` bytes, the pipe held `read - written`, and the source
/// still has everything after `read`. No byte is lost unaccounted for or
/// counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_mid_splice_accounts_for_every_byte() {
    let (feeder, mut source) = tcp_pair().await;
    let (mut sink, receiving) = FailingSink::connect(Errno::CONNRESET, 100_000).await;
    let feeding = tokio::spawn(send(feeder, LEN));
    let err = Copier::new()
        .zero_copy(ZeroCopyMode::Always)
        .copy(&mut source, &mut sink)
        .await
        .unwrap_err();
    let moved = sink.moved();
    drop(sink);
    let counts = err.counts().a_to_b;
    assert_eq!(
        (err.direction(), err.step()),
        (Some(Direction::AToB), Step::Write),
        "{err}"
    );
    assert_eq!(
        err.io_error().raw_os_error(),
        Some(Errno::CONNRESET.raw_os_error()),
        "{err}"
    );
    assert_eq!(counts.written, moved);
    assert!(
        counts.read > counts.written,
        "the pipe held nothing: {counts:?}"
    );
    assert!(counts.read - counts.written <= PIPE, "{counts:?}");
    assert_eq!(receiving.await.unwrap().unwrap(), Received::expect(moved));
    let mut rest = Vec::new();
    source.read_to_end(&mut rest).await.unwrap();
    feeding.await.unwrap().unwrap();
    assert_eq!(rest.len() as u64, LEN - counts.read);
    assert_eq!(rest, bytes(counts.read, rest.len()));
}

/// Splice from pipe to pipe answers `EPIPE` when the sink's reader went
/// away: with bytes still in the source, the copy fails on the write, with
/// every byte it moved counted once. (With the source at its end, that is
/// no failure: see `zero_copy_paths.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_to_pipe_reader_gone_with_bytes_left_fails_the_write() {
    use tokio::net::unix::pipe;
    let len = 65_537;
    let (mut feeder, mut source) = pipe::pipe().unwrap();
    let (mut sink, mut peer) = pipe::pipe().unwrap();
    let copy = tokio::spawn(async move {
        Copier::new()
            .zero_copy(ZeroCopyMode::Auto)
            .copy(&mut source, &mut sink)
            .await
    });
    feeder.write_all(&bytes(0, len)).await.unwrap();
    let mut got = vec![0; len];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(got, bytes(0, len));
    // The reader goes; the source has one more byte, and stays open.
    drop(peer);
    feeder.write_all(&bytes(len as u64, 1)).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), copy)
        .await
        .expect("the copy hung")
        .unwrap()
        .unwrap_err();
    drop(feeder);
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    assert_eq!(
        (err.direction(), err.step()),
        (Some(Direction::AToB), Step::Write),
        "{err}"
    );
    assert_eq!(err.counts().a_to_b, landed(len as u64));
}
