//! ferry against tokio between in-memory ends that never touch tokio's
//! cooperative budget: what a user copying from a `&[u8]`, a `Cursor` or an
//! in-memory decoder sees.
//!
//! `benches/copy.rs` uses `tokio::io::repeat` and `sink`, which spend the
//! budget themselves, so tokio yields there as often as ferry and the cost of
//! ferry's yields and buffer growth does not show. These groups use the
//! budget-free ends of `ferry-io-bench` (the same ones `bench-matrix` runs):
//!
//! - `mem_fill`: a reader that fills the buffer it is given, into a sink
//!   that only counts (cache-resident);
//! - `mem_pattern`: a 1 MiB cyclic pattern (a real `memcpy` from L2) into a
//!   sink that reads one byte per cache line;
//! - `slice_vec`: a `&[u8]` of 512 MiB into a `Vec<u8>` with room (DRAM-bound).
//!
//! Run with `cargo bench -p ferry-io --bench budget_free`, then
//! `scripts/bench-ratios` for the ratios to tokio.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferry_io_bench::ends::{
    pattern, sampled_sum, CountingSink, FillReader, PatternReader, ReadingSink,
};
use ferry_io_bench::Implementation;
use tokio::runtime::Runtime;

const FILL_SIZE: u64 = 4 << 30;
const PATTERN_SIZE: u64 = 1 << 30;
const SLICE_SIZE: usize = 512 << 20;

/// tokio, ferry's default, and ferry's engine at tokio's 8 KiB.
const IMPLEMENTATIONS: [(Implementation, &str); 3] = [
    (Implementation::Tokio, "tokio"),
    (Implementation::Ferry, "ferry"),
    (Implementation::Ferry8K, "ferry_8k"),
];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
    bytes: u64,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group
}

fn mem_fill(c: &mut Criterion) {
    let rt = runtime();
    let mut group = group(c, "mem_fill", FILL_SIZE);
    for (imp, name) in IMPLEMENTATIONS {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| async move {
                let mut reader = FillReader::new(FILL_SIZE);
                let mut sink = CountingSink::new();
                assert_eq!(imp.copy(&mut reader, &mut sink).await.unwrap(), FILL_SIZE);
                assert_eq!(sink.count(), FILL_SIZE);
            })
        });
    }
    group.finish();
}

fn mem_pattern(c: &mut Criterion) {
    let rt = runtime();
    let source = pattern();
    let expected = sampled_sum(&source, PATTERN_SIZE);
    let mut group = group(c, "mem_pattern", PATTERN_SIZE);
    for (imp, name) in IMPLEMENTATIONS {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| {
                let mut reader = PatternReader::new(source.clone(), PATTERN_SIZE);
                async move {
                    let mut sink = ReadingSink::new();
                    assert_eq!(
                        imp.copy(&mut reader, &mut sink).await.unwrap(),
                        PATTERN_SIZE
                    );
                    assert_eq!(sink.sum(), expected);
                }
            })
        });
    }
    group.finish();
}

fn slice_vec(c: &mut Criterion) {
    let rt = runtime();
    // Allocated once; only the copy is timed.
    let source: Vec<u8> = pattern().iter().copied().cycle().take(SLICE_SIZE).collect();
    let source = &source[..];
    let mut group = group(c, "slice_vec", SLICE_SIZE as u64);
    for (imp, name) in IMPLEMENTATIONS {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter_custom(|iters| async move {
                // Room reserved and its pages touched before the clock starts.
                let mut destination = vec![1u8; SLICE_SIZE];
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    destination.clear();
                    let started = Instant::now();
                    let n = imp.copy(&mut &source[..], &mut destination).await.unwrap();
                    took += started.elapsed();
                    assert_eq!(n, SLICE_SIZE as u64);
                }
                assert!(destination == source);
                took
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mem_fill, mem_pattern, slice_vec);
criterion_main!(benches);
