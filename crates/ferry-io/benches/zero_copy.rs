//! The zero-copy routes against std, tokio and ferry's buffered engine, in
//! one run: throughput (criterion) and CPU seconds per GB (printed at the end).
//!
//! - file → file (page cache): ferry `copy_file_range` vs `std::io::copy`
//!   (std `File`s) vs `tokio::io::copy` (`tokio::fs::File`s).
//! - file → loopback TCP: ferry `sendfile` vs a plain sendfile loop vs
//!   `tokio::io::copy` from a `tokio::fs::File`.
//! - TCP → TCP relay: ferry splice vs `ferry_io::Copier::new().bidirectional`.
//!   The relay runs alone on its own thread (a current-thread runtime), and
//!   its CPU is that thread's; the load generator and receiver run elsewhere.
//!   For the file benches the CPU is the whole process's (receiver included).
//!
//! Run with `cargo bench -p ferry-io --bench zero_copy`.

#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use ferry_io::zero_copy::{Route, ZeroCopyMode};
use ferry_io::Copier;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const GIB: u64 = 1 << 30;
/// tokio's file copies run at ~0.2-0.4 GB/s; a quarter of the bytes keeps
/// an iteration near a second. Throughput is per byte, so ratios hold.
const SLOW: u64 = 256 << 20;
const CHUNK: usize = 256 * 1024;

/// CPU seconds and bytes per benchmark, for the CPU/GB table.
static CPU: Mutex<BTreeMap<String, (f64, u64)>> = Mutex::new(BTreeMap::new());

fn record(name: &str, cpu: Duration, bytes: u64) {
    let mut table = CPU.lock().unwrap();
    let entry = table.entry(name.to_owned()).or_default();
    entry.0 += cpu.as_secs_f64();
    entry.1 += bytes;
}

/// user + system CPU time of `/proc/<which>/stat` (`self` or `thread-self`).
fn cpu(which: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn data_file(len: u64) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ferry-zc-bench-{}-{len}", std::process::id()));
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(len) {
        use std::io::Write;
        let mut file = std::fs::File::create(&path).unwrap();
        let block: Vec<u8> = (0..CHUNK).map(|i| (i * 7 + i / 4096) as u8).collect();
        let mut left = len;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            file.write_all(&block[..n]).unwrap();
            left -= n as u64;
        }
    }
    // Warm the page cache.
    io::copy(&mut std::fs::File::open(&path).unwrap(), &mut io::sink()).unwrap();
    path
}

fn file_to_file(c: &mut Criterion, rt: &Runtime) {
    let big = data_file(GIB);
    let small = data_file(SLOW);
    let out = std::env::temp_dir().join(format!("ferry-zc-bench-{}-out", std::process::id()));
    let mut group = c.benchmark_group("file_to_file");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    let cases: [(&str, &PathBuf, u64); 3] = [
        ("ferry_copy_file_range", &big, GIB),
        ("std_io_copy", &big, GIB),
        ("tokio_io_copy", &small, SLOW),
    ];
    for (name, path, len) in cases {
        group.throughput(Throughput::Bytes(len));
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cpu_before = cpu("self");
                    let started = Instant::now();
                    rt.block_on(async {
                        match name {
                            "ferry_copy_file_range" => {
                                let mut from = tokio::fs::File::open(path).await.unwrap();
                                let mut to = tokio::fs::File::create(&out).await.unwrap();
                                let copied = Copier::new()
                                    .zero_copy(ZeroCopyMode::Auto)
                                    .copy(&mut from, &mut to)
                                    .await
                                    .unwrap();
                                assert_eq!(
                                    (copied.bytes, copied.route),
                                    (len, Route::CopyFileRange)
                                );
                            }
                            "std_io_copy" => {
                                let mut from = std::fs::File::open(path).unwrap();
                                let mut to = std::fs::File::create(&out).unwrap();
                                assert_eq!(io::copy(&mut from, &mut to).unwrap(), len);
                            }
                            _ => {
                                let mut from = tokio::fs::File::open(path).await.unwrap();
                                let mut to = tokio::fs::File::create(&out).await.unwrap();
                                assert_eq!(tokio::io::copy(&mut from, &mut to).await.unwrap(), len);
                                to.flush().await.unwrap();
                            }
                        }
                    });
                    total += started.elapsed();
                    record(
                        &format!("file_to_file/{name}"),
                        cpu("self") - cpu_before,
                        len,
                    );
                }
                total
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_file(out);
}

/// A loopback connection whose far end reads and discards everything.
async fn drained_tcp() -> (TcpStream, tokio::task::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let draining = tokio::spawn(async move {
        let mut buf = vec![0; CHUNK];
        let mut total = 0;
        loop {
            match server.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    (client, draining)
}

/// The reference: sendfile in a loop, readiness from tokio, nothing else.
async fn plain_sendfile(file: &std::fs::File, socket: &TcpStream, len: u64) -> io::Result<u64> {
    let mut sent = 0;
    while sent < len {
        socket.writable().await?;
        match socket.try_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(socket, file, None, (len - sent) as usize).map_err(io::Error::from)
        }) {
            Ok(0) => break,
            Ok(n) => sent += n as u64,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            Err(err) => return Err(err),
        }
    }
    Ok(sent)
}

fn file_to_tcp(c: &mut Criterion, rt: &Runtime) {
    let big = data_file(GIB);
    let small = data_file(SLOW);
    let mut group = c.benchmark_group("file_to_tcp");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    let cases: [(&str, &PathBuf, u64); 3] = [
        ("ferry_sendfile", &big, GIB),
        ("plain_sendfile", &big, GIB),
        ("tokio_io_copy", &small, SLOW),
    ];
    for (name, path, len) in cases {
        group.throughput(Throughput::Bytes(len));
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (elapsed, spent) = rt.block_on(async {
                        let (mut socket, draining) = drained_tcp().await;
                        let cpu_before = cpu("self");
                        let started = Instant::now();
                        match name {
                            "ferry_sendfile" => {
                                let mut file = std::fs::File::open(path).unwrap();
                                let copied = Copier::new()
                                    .zero_copy(ZeroCopyMode::Auto)
                                    .copy(&mut file, &mut socket)
                                    .await
                                    .unwrap();
                                assert_eq!((copied.bytes, copied.route), (len, Route::Sendfile));
                            }
                            "plain_sendfile" => {
                                let file = std::fs::File::open(path).unwrap();
                                assert_eq!(plain_sendfile(&file, &socket, len).await.unwrap(), len);
                            }
                            _ => {
                                let mut file = tokio::fs::File::open(path).await.unwrap();
                                assert_eq!(
                                    tokio::io::copy(&mut file, &mut socket).await.unwrap(),
                                    len
                                );
                            }
                        }
                        drop(socket);
                        assert_eq!(draining.await.unwrap(), len);
                        (started.elapsed(), cpu("self") - cpu_before)
                    });
                    total += elapsed;
                    record(&format!("file_to_tcp/{name}"), spent, len);
                }
                total
            })
        });
    }
    group.finish();
}

/// One relay of `len` bytes client → relay → server; returns the wall time
/// and the relay thread's CPU time.
fn relay_once(rt: &Runtime, splice: bool, len: u64) -> (Duration, Duration) {
    rt.block_on(async {
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let back = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let back_addr = back.local_addr().unwrap();
        let client = TcpStream::connect(front.local_addr().unwrap())
            .await
            .unwrap();
        let (a, _) = front.accept().await.unwrap();
        let (a, b) = {
            let b = TcpStream::connect(back_addr);
            let (b, server) = tokio::join!(b, back.accept());
            let (mut server, _) = server.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0; CHUNK];
                let mut total = 0u64;
                while let Ok(n @ 1..) = server.read(&mut buf).await {
                    total += n as u64;
                }
                assert_eq!(total, len);
            });
            (a.into_std().unwrap(), b.unwrap().into_std().unwrap())
        };
        let relay = std::thread::spawn(move || {
            let local = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            local.block_on(async move {
                let mut a = TcpStream::from_std(a).unwrap();
                let mut b = TcpStream::from_std(b).unwrap();
                let cpu_before = cpu("thread-self");
                if splice {
                    let relayed = Copier::new()
                        .zero_copy(ZeroCopyMode::Always)
                        .bidirectional(&mut a, &mut b)
                        .await
                        .unwrap();
                    assert_eq!(relayed.transfer.a_to_b.bytes, len);
                } else {
                    let transfer = Copier::new().bidirectional(&mut a, &mut b).await.unwrap();
                    assert_eq!(transfer.a_to_b.bytes, len);
                }
                cpu("thread-self") - cpu_before
            })
        });
        let started = Instant::now();
        let mut client = client;
        let block = vec![7u8; CHUNK];
        let mut sent = 0;
        while sent < len {
            let n = (len - sent).min(CHUNK as u64) as usize;
            client.write_all(&block[..n]).await.unwrap();
            sent += n as u64;
        }
        client.shutdown().await.unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        let cpu = tokio::task::spawn_blocking(move || relay.join().unwrap())
            .await
            .unwrap();
        (started.elapsed(), cpu)
    })
}

fn tcp_relay(c: &mut Criterion, rt: &Runtime) {
    let mut group = c.benchmark_group("tcp_relay");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(GIB));
    for (name, splice) in [("ferry_splice", true), ("ferry_buffered", false)] {
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (elapsed, spent) = relay_once(rt, splice, GIB);
                    total += elapsed;
                    record(&format!("tcp_relay/{name}"), spent, GIB);
                }
                total
            })
        });
    }
    group.finish();
}

fn main() {
    let rt = runtime();
    let mut criterion = Criterion::default().configure_from_args();
    file_to_file(&mut criterion, &rt);
    file_to_tcp(&mut criterion, &rt);
    tcp_relay(&mut criterion, &rt);
    criterion.final_summary();
    println!("\nCPU seconds per GB (decimal) of payload:");
    for (name, (cpu, bytes)) in CPU.lock().unwrap().iter() {
        if *bytes > 0 {
            println!("  {name:40} {:.3}", cpu / (*bytes as f64 / 1e9));
        }
    }
    for len in [GIB, SLOW] {
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("ferry-zc-bench-{}-{len}", std::process::id())),
        );
    }
}
