//! The scaling scenario opens every level's connections, echoes exactly
//! its round trips, and reports each level once per round.

use std::path::Path;

use ferry_io_bench::scaling::{self, LEVELS, MESSAGE_LEN};
use ferry_io_bench::serve::Relay;
use ferry_io_bench::{raise_fd_limit, Preset};

#[test]
fn every_level_makes_exactly_its_round_trips() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let limit = raise_fd_limit();
    let mut seen = Vec::new();
    // Direct: no relay process here, so no memory or CPU figures.
    let report = scaling::run(
        Relay::Direct,
        Preset::Tiny,
        2,
        Path::new("/nonexistent/ferry"),
        limit,
        &runtime,
        |round, connections| seen.push((round, connections)),
    )
    .expect("run");

    let ran: Vec<usize> = report.levels.iter().map(|l| l.connections).collect();
    let skipped: Vec<usize> = report.skipped.iter().map(|s| s.connections).collect();
    let mut all = [ran.clone(), skipped].concat();
    all.sort_unstable();
    assert_eq!(all, LEVELS, "every level runs or is skipped with a reason");
    assert_eq!(report.message_len, MESSAGE_LEN);
    assert_eq!(report.runs.len(), 2 * ran.len());
    assert_eq!(seen.len(), report.runs.len());
    for run in &report.runs {
        let each = (scaling::round_trips(Preset::Tiny) / run.connections as u64).max(1);
        assert_eq!(run.round_trips, each * run.connections as u64, "{run:?}");
        assert_eq!(
            run.bytes,
            2 * run.round_trips * MESSAGE_LEN as u64,
            "{run:?}"
        );
        assert!(run.latency_p50_us <= run.latency_p99_us, "{run:?}");
        assert!(run.bytes_per_second > 0.0, "{run:?}");
        assert_eq!(run.rss_per_connection, None, "{run:?}");
        assert_eq!(run.cpu_seconds_per_gb, None, "{run:?}");
    }
    for level in &report.levels {
        assert_eq!(level.runs, 2);
    }
}

/// A process that keeps a core busy shows memory and a CPU time that grows.
#[test]
fn usage_reads_a_processes_memory_and_cpu() {
    let mut busy = std::process::Command::new("yes")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn yes");
    let pid = busy.id();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let before = ferry_io_bench::Usage::of(pid);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let after = ferry_io_bench::Usage::of(pid);
    let _ = busy.kill();
    let _ = busy.wait();
    let (before, after) = (before.expect("usage"), after.expect("usage"));
    assert!(before.rss > 0);
    assert!(after.cpu > before.cpu, "{before:?} then {after:?}");
}
