//! The default buffer grows on real sockets while another thread hammers
//! memory, on both of tokio's runtimes: the policy judges each size by the
//! copy's own costs, so a machine whose memory copies are slow, or busy,
//! cannot make a socket look like an in-memory end.
//!
//! The hammer copies 8 KiB at a distance of 16 bytes modulo 4096, the
//! placement at which glibc's `memcpy` runs 30–50 times slower on AMD Zen:
//! the very copy that once served as the yardstick, now slow and loading
//! the caches and memory bus while the copies run.

use std::future::{poll_fn, Future};
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ferry_io::{CopyBuffer, DEFAULT_BUF_SIZE};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

/// Bytes each copy moves: enough for the climb to try every size up to
/// what the socket's reads fill (a trial of two sizes past 64 KiB moves
/// 8 to 16 MiB).
const TOTAL: usize = 256 << 20;

/// The smallest buffer a copy over a socket must reach: sixteen times the
/// initial size. A Unix socket's reads fill about 200 KiB; TCP's more.
const GROWN: usize = 16 * DEFAULT_BUF_SIZE;

/// A thread copying memory at the slow distance until dropped.
struct Hammer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Hammer {
    fn start() -> Hammer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut arena = vec![1u8; 1 << 20];
            let (from, to) = arena.split_at_mut(64 * 1024);
            // `to` starts 64 KiB after `from`: 16 more bytes put it 16 mod 4096 past.
            let (from, to) = (&from[..8192], &mut to[16..16 + 8192]);
            let mut copies = 0u64;
            while !flag.load(Ordering::Relaxed) {
                to.copy_from_slice(black_box(from));
                black_box(&mut *to);
                copies += 1;
            }
            copies
        });
        Hammer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Hammer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let copies = thread.join().expect("the hammer thread panicked");
            assert!(copies > 0, "the hammer never ran");
        }
    }
}

/// Runs `test` on a current-thread runtime, then on a two-worker one, each
/// time with the hammer going, failing if either takes over a minute.
fn on_both_runtimes<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtimes = [
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    ];
    for rt in runtimes {
        let _hammer = Hammer::start();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), tokio::spawn(test()))
                .await
                .expect("the copy hung")
                .expect("the copy panicked");
        });
    }
}

/// Writes `TOTAL` bytes of a pattern into `tx` from a task of its own, then
/// shuts it down.
fn send<W: AsyncWrite + Unpin + Send + 'static>(mut tx: W) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let chunk: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        for _ in 0..TOTAL >> 20 {
            tx.write_all(&chunk).await.unwrap();
        }
        tx.shutdown().await.unwrap();
    })
}

/// Copies `rx` to `sink` with a default engine and checks that every byte
/// arrived and the buffer grew.
async fn copy_and_check<R, W>(mut rx: R, mut sink: W, what: &str) -> CopyBuffer
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut engine = CopyBuffer::new();
    let copied = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut rx), Pin::new(&mut sink)))
        .await
        .unwrap();
    assert_eq!(copied, TOTAL as u64, "{what}");
    assert!(
        engine.capacity() >= GROWN,
        "{what}: the buffer stayed at {} bytes",
        engine.capacity()
    );
    engine
}

#[test]
fn a_unix_socket_receiver_grows_while_memory_is_hammered() {
    on_both_runtimes(|| async {
        let (tx, rx) = UnixStream::pair().unwrap();
        let sending = send(tx);
        copy_and_check(rx, tokio::io::sink(), "unix").await;
        sending.await.unwrap();
    });
}

/// A connected pair of loopback TCP sockets.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let near = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (far, _) = listener.accept().await.unwrap();
    (near, far)
}

#[test]
fn a_tcp_receiver_grows_while_memory_is_hammered() {
    on_both_runtimes(|| async {
        let (tx, rx) = tcp_pair().await;
        let sending = send(tx);
        copy_and_check(rx, tokio::io::sink(), "tcp").await;
        sending.await.unwrap();
    });
}

#[test]
fn a_tcp_relay_grows_while_memory_is_hammered() {
    on_both_runtimes(|| async {
        // client → (relay_in ⇒ relay_out) → server, the relay's direction
        // being the copy under test.
        let (client, relay_in) = tcp_pair().await;
        let (relay_out, mut server) = tcp_pair().await;
        let sending = send(client);
        let receiving = tokio::spawn(async move {
            let mut received = 0u64;
            let mut check = (0..1 << 20).map(|i| (i % 251) as u8).cycle();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = tokio::io::AsyncReadExt::read(&mut server, &mut buf)
                    .await
                    .unwrap();
                if n == 0 {
                    break received;
                }
                assert!(buf[..n].iter().all(|&b| Some(b) == check.next()));
                received += n as u64;
            }
        });
        let mut relay_out = relay_out;
        copy_and_check(relay_in, &mut relay_out, "relay").await;
        relay_out.shutdown().await.unwrap();
        sending.await.unwrap();
        assert_eq!(receiving.await.unwrap(), TOTAL as u64);
    });
}
