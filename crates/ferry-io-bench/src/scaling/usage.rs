//! `Usage`: a process's resident memory and CPU time, read from /proc.

use std::io;
use std::time::Duration;

/// What a process holds and has spent so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Resident memory (`VmRSS` of `/proc/PID/status`), in bytes.
    pub rss: u64,
    /// CPU time of all its threads: the sum of their `/proc/PID/task/*/schedstat`
    /// (nanoseconds; threads that have exited are not in it), or where that
    /// is missing `utime + stime` of `/proc/PID/stat` (clock ticks, 10 ms
    /// on most kernels: too coarse for a quick run).
    pub cpu: Duration,
}

impl Usage {
    /// The usage of process `pid` now.
    ///
    /// # Errors
    ///
    /// The process's /proc files cannot be read or parsed (it has exited).
    ///
    /// # Examples
    ///
    /// ```
    /// let usage = ferry_io_bench::Usage::of(std::process::id())?;
    /// assert!(usage.rss > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn of(pid: u32) -> io::Result<Usage> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse::<u64>().ok())
            .ok_or_else(|| unreadable(pid, "status", "no VmRSS"))?;

        Ok(Usage {
            rss: rss_kib * 1024,
            cpu: match scheduled(pid) {
                Some(cpu) => cpu,
                None => ticks(pid)?,
            },
        })
    }
}

/// The time on CPU of every thread of `pid`, from the scheduler's
/// statistics; `None` where the kernel does not keep them.
fn scheduled(pid: u32) -> Option<Duration> {
    let mut nanos = 0u64;
    let mut threads = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        // A thread that exits while we look is simply not counted.
        let Ok(task) = task else { continue };
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        threads += 1;
    }
    (threads > 0).then(|| Duration::from_nanos(nanos))
}

/// `utime + stime` of `/proc/PID/stat`.
fn ticks(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields are counted
    // from after its closing parenthesis (field 3, the state).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |field: usize| fields.get(field - 3).and_then(|v| v.parse::<u64>().ok());
    let (Some(utime), Some(stime)) = (ticks(14), ticks(15)) else {
        return Err(unreadable(pid, "stat", "no utime and stime"));
    };
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    let cpu = utime + stime;
    Ok(Duration::from_secs(cpu / per_second)
        + Duration::from_secs_f64((cpu % per_second) as f64 / per_second as f64))
}

fn unreadable(pid: u32, file: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("/proc/{pid}/{file}: {why}"),
    )
}
