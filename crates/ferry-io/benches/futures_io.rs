//! ferry's futures-io front end against `futures::io::copy`, same scenario,
//! same run, on smol (no tokio runtime):
//!
//! - `futures_mem`: the budget-free in-memory ends of `ferry-io-bench` (a
//!   reader that fills the buffer it is given, into a sink that only
//!   counts), behind futures' `AllowStdIo`;
//! - `futures_pattern`: a 1 MiB cyclic pattern (a real `memcpy` from L2)
//!   into a sink that reads one byte per cache line;
//! - `futures_tcp_receiver`: a loopback TCP connection (async-net) into a
//!   sink, the load generated in 256 KiB writes on smol's executor thread.
//!
//! Run with `cargo bench -p ferry-io --features futures-io --bench futures_io`,
//! then `scripts/bench-ratios` for the ratios to `futures::io::copy`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::io;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferry_io_bench::ends::{
    pattern, sampled_sum, CountingSink, FillReader, PatternReader, ReadingSink,
};
use futures::io::{AllowStdIo, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};

const MEM_SIZE: u64 = 4 << 30;
const PATTERN_SIZE: u64 = 1 << 30;
const TCP_SIZE: u64 = 256 << 20;
const CHUNK: usize = 256 * 1024;

/// The copy under test.
#[derive(Clone, Copy)]
enum Impl {
    /// `futures::io::copy`: `copy_buf` over an 8 KiB `BufReader`.
    Futures,
    /// `ferry_io::futures::copy` (adaptive buffer, the default).
    Ferry,
}

impl Impl {
    const ALL: [Impl; 2] = [Impl::Futures, Impl::Ferry];

    fn name(self) -> &'static str {
        match self {
            Impl::Futures => "futures",
            Impl::Ferry => "ferry",
        }
    }

    async fn copy<R, W>(self, reader: &mut R, writer: &mut W) -> io::Result<u64>
    where
        R: AsyncRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        match self {
            Impl::Futures => futures::io::copy(reader, writer).await,
            Impl::Ferry => ferry_io::futures::copy(reader, writer).await,
        }
    }
}

fn scenario<F, Fut>(c: &mut Criterion, group: &str, size: u64, run: F)
where
    F: Fn(Impl) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for imp in Impl::ALL {
        group.bench_function(BenchmarkId::from_parameter(imp.name()), |b| {
            b.iter(|| smol::block_on(run(imp)))
        });
    }
    group.finish();
}

fn mem(c: &mut Criterion) {
    scenario(c, "futures_mem", MEM_SIZE, |imp| async move {
        let mut reader = AllowStdIo::new(FillReader::new(MEM_SIZE));
        let mut sink = AllowStdIo::new(CountingSink::new());
        assert_eq!(imp.copy(&mut reader, &mut sink).await.unwrap(), MEM_SIZE);
        assert_eq!(sink.get_ref().count(), MEM_SIZE);
    });
}

fn mem_pattern(c: &mut Criterion) {
    let source = pattern();
    let expected = sampled_sum(&source, PATTERN_SIZE);
    scenario(c, "futures_pattern", PATTERN_SIZE, |imp| {
        let mut reader = AllowStdIo::new(PatternReader::new(source.clone(), PATTERN_SIZE));
        async move {
            let mut sink = AllowStdIo::new(ReadingSink::new());
            let copied = imp.copy(&mut reader, &mut sink).await.unwrap();
            assert_eq!(copied, PATTERN_SIZE);
            assert_eq!(sink.get_ref().sum(), expected);
        }
    });
}

/// Writes `TCP_SIZE` bytes in `CHUNK`s, then closes the writer.
async fn generate(mut writer: TcpStream) {
    let chunk = vec![0xa5u8; CHUNK];
    let mut left = TCP_SIZE;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        writer
            .write_all(&chunk[..n])
            .await
            .expect("generator write");
        left -= n as u64;
    }
    writer.close().await.expect("generator close");
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let connected = TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (accepted, _) = listener.accept().await.expect("accept");
    (connected, accepted)
}

fn tcp_receiver(c: &mut Criterion) {
    scenario(c, "futures_tcp_receiver", TCP_SIZE, |imp| async move {
        let (tx, mut rx) = tcp_pair().await;
        // On smol's executor thread, while this one copies.
        let generator = smol::spawn(generate(tx));
        let mut sink = futures::io::sink();
        assert_eq!(imp.copy(&mut rx, &mut sink).await.unwrap(), TCP_SIZE);
        generator.await;
        // Nothing is left behind the EOF.
        assert_eq!(rx.read(&mut [0; 1]).await.unwrap(), 0);
    });
}

criterion_group!(benches, mem, mem_pattern, tcp_receiver);
criterion_main!(benches);
