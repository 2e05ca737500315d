//! ferry against tokio, same scenario, same run: in-memory, duplex, loopback
//! TCP receiver, Unix-socket receiver and a loopback TCP relay.
//!
//! Each scenario moves `SIZE` bytes per iteration. The load generator and the
//! final receiver always use 256 KiB chunks; only the copy in the middle
//! changes. Run with `cargo bench -p ferry-io --bench copy`, then
//! `scripts/bench-ratios` for the ferry/tokio ratios.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::runtime::Runtime;

const SIZE: u64 = 256 << 20;
/// The in-memory copy is ~50× faster than the socket ones; move more so an
/// iteration lasts long enough to measure.
const MEM_SIZE: u64 = 4 << 30;
const CHUNK: usize = 256 * 1024;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The copy under test: one-way (`copy`) and the relay (`bidirectional`).
#[derive(Clone, Copy)]
enum Impl {
    /// `tokio::io::copy` / `copy_bidirectional`.
    Tokio,
    /// `ferry_io::copy` / `copy_bidirectional` (adaptive buffer, the default).
    Ferry,
    /// ferry's engine at tokio's fixed 8 KiB: `CopyBuffer::with_capacity`
    /// and `copy_bidirectional_with_sizes`.
    Ferry8K,
    /// A default `Copier` (adaptive buffer).
    Copier,
    /// A `Copier` with every option set, none of them binding.
    CopierAllOptions,
}

impl Impl {
    const ALL: [Impl; 5] = [
        Impl::Tokio,
        Impl::Ferry,
        Impl::Ferry8K,
        Impl::Copier,
        Impl::CopierAllOptions,
    ];

    fn name(self) -> &'static str {
        match self {
            Impl::Tokio => "tokio",
            Impl::Ferry => "ferry",
            Impl::Ferry8K => "ferry_8k",
            Impl::Copier => "copier",
            Impl::CopierAllOptions => "copier_all_options",
        }
    }

    fn copier(self) -> ferry_io::Copier {
        match self {
            Impl::CopierAllOptions => ferry_io::Copier::new()
                .limit(u64::MAX)
                .rate_limit(ferry_io::RateLimiter::new(u64::MAX / 2))
                .idle_timeout(Duration::from_secs(3600))
                .linger(Duration::from_secs(3600))
                .progress(ferry_io::Progress::new())
                .on_progress(Duration::from_millis(100), |counts| {
                    std::hint::black_box(counts);
                }),
            _ => ferry_io::Copier::new(),
        }
    }

    async fn copy<R, W>(self, reader: &mut R, writer: &mut W) -> io::Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        match self {
            Impl::Tokio => tokio::io::copy(reader, writer).await,
            Impl::Ferry => ferry_io::copy(reader, writer).await,
            Impl::Ferry8K => {
                let mut engine = ferry_io::CopyBuffer::with_capacity(ferry_io::DEFAULT_BUF_SIZE);
                std::future::poll_fn(|cx| {
                    engine.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))
                })
                .await
            }
            Impl::Copier | Impl::CopierAllOptions => Ok(self.copier().copy(reader, writer).await?),
        }
    }

    async fn bidirectional(self, a: &mut TcpStream, b: &mut TcpStream) -> io::Result<(u64, u64)> {
        match self {
            Impl::Tokio => tokio::io::copy_bidirectional(a, b).await,
            Impl::Ferry => ferry_io::copy_bidirectional(a, b).await,
            Impl::Ferry8K => {
                ferry_io::copy_bidirectional_with_sizes(
                    a,
                    b,
                    ferry_io::DEFAULT_BUF_SIZE,
                    ferry_io::DEFAULT_BUF_SIZE,
                )
                .await
            }
            Impl::Copier | Impl::CopierAllOptions => {
                let transfer = self.copier().bidirectional(a, b).await?;
                Ok((transfer.a_to_b.bytes, transfer.b_to_a.bytes))
            }
        }
    }
}

/// Writes `SIZE` bytes in `CHUNK`s, then shuts the writer down.
async fn generate<W: AsyncWrite + Unpin>(mut writer: W) {
    let chunk = vec![0xa5u8; CHUNK];
    let mut left = SIZE;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        writer
            .write_all(&chunk[..n])
            .await
            .expect("generator write");
        left -= n as u64;
    }
    writer.shutdown().await.expect("generator shutdown");
}

/// Reads to EOF in `CHUNK`s and returns the byte count.
async fn absorb<R: AsyncRead + Unpin>(mut reader: R) -> u64 {
    let mut chunk = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        match reader.read(&mut chunk).await.expect("receiver read") {
            0 => return total,
            n => total += n as u64,
        }
    }
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (connected, accepted) = tokio::join!(
        TcpStream::connect(listener.local_addr().expect("addr")),
        listener.accept()
    );
    (connected.expect("connect"), accepted.expect("accept").0)
}

fn scenario<F, Fut>(c: &mut Criterion, group: &str, size: u64, run: F)
where
    F: Fn(Impl) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = runtime();
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for imp in Impl::ALL {
        group.bench_function(BenchmarkId::from_parameter(imp.name()), |b| {
            b.to_async(&rt).iter(|| run(imp))
        });
    }
    group.finish();
}

fn mem(c: &mut Criterion) {
    scenario(c, "mem", MEM_SIZE, |imp| async move {
        let mut reader = tokio::io::repeat(0).take(MEM_SIZE);
        let mut writer = tokio::io::sink();
        assert_eq!(imp.copy(&mut reader, &mut writer).await.unwrap(), MEM_SIZE);
    });
}

fn duplex(c: &mut Criterion) {
    scenario(c, "duplex", SIZE, |imp| async move {
        let (tx, mut rx) = tokio::io::duplex(64 * 1024);
        let generator = tokio::spawn(generate(tx));
        assert_eq!(
            imp.copy(&mut rx, &mut tokio::io::sink()).await.unwrap(),
            SIZE
        );
        generator.await.unwrap();
    });
}

fn tcp_receiver(c: &mut Criterion) {
    scenario(c, "tcp_receiver", SIZE, |imp| async move {
        let (tx, mut rx) = tcp_pair().await;
        let generator = tokio::spawn(generate(tx));
        assert_eq!(
            imp.copy(&mut rx, &mut tokio::io::sink()).await.unwrap(),
            SIZE
        );
        generator.await.unwrap();
    });
}

fn unix_receiver(c: &mut Criterion) {
    scenario(c, "unix_receiver", SIZE, |imp| async move {
        let (tx, mut rx) = UnixStream::pair().expect("socketpair");
        let generator = tokio::spawn(generate(tx));
        assert_eq!(
            imp.copy(&mut rx, &mut tokio::io::sink()).await.unwrap(),
            SIZE
        );
        generator.await.unwrap();
    });
}

fn tcp_relay(c: &mut Criterion) {
    scenario(c, "tcp_relay", SIZE, |imp| async move {
        let (client, mut relay_a) = tcp_pair().await;
        let (mut relay_b, server) = tcp_pair().await;
        let relay =
            tokio::spawn(async move { imp.bidirectional(&mut relay_a, &mut relay_b).await });
        let (client_rx, client_tx) = client.into_split();
        let generator = tokio::spawn(generate(client_tx));
        let (server_rx, server_tx) = server.into_split();
        // The server closes its side at once, so the relay's b→a direction ends early.
        drop(server_tx);
        assert_eq!(absorb(server_rx).await, SIZE);
        assert_eq!(absorb(client_rx).await, 0);
        generator.await.unwrap();
        assert_eq!(relay.await.unwrap().unwrap(), (SIZE, 0));
    });
}

/// 100 request/response round trips of 100 bytes through a relay: latency,
/// where a bigger buffer must not cost anything.
fn small_messages(c: &mut Criterion) {
    const ROUNDS: usize = 100;
    let rt = runtime();
    let mut group = c.benchmark_group("small_messages");
    group.throughput(Throughput::Elements(ROUNDS as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for imp in Impl::ALL {
        group.bench_function(BenchmarkId::from_parameter(imp.name()), |b| {
            b.to_async(&rt).iter(|| async move {
                let (mut client, mut relay_a) = tcp_pair().await;
                let (mut relay_b, mut server) = tcp_pair().await;
                client.set_nodelay(true).unwrap();
                server.set_nodelay(true).unwrap();
                let relay =
                    tokio::spawn(
                        async move { imp.bidirectional(&mut relay_a, &mut relay_b).await },
                    );
                let echo = tokio::spawn(async move {
                    let mut message = [0u8; 100];
                    for _ in 0..ROUNDS {
                        server.read_exact(&mut message).await.unwrap();
                        server.write_all(&message).await.unwrap();
                    }
                    server
                });
                let mut message = [7u8; 100];
                for _ in 0..ROUNDS {
                    client.write_all(&message).await.unwrap();
                    client.read_exact(&mut message).await.unwrap();
                }
                client.shutdown().await.unwrap();
                let mut server = echo.await.unwrap();
                server.shutdown().await.unwrap();
                let mut rest = Vec::new();
                client.read_to_end(&mut rest).await.unwrap();
                let expected = (ROUNDS as u64) * 100;
                assert_eq!(relay.await.unwrap().unwrap(), (expected, expected));
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    mem,
    duplex,
    tcp_receiver,
    unix_receiver,
    tcp_relay,
    small_messages
);
criterion_main!(benches);
