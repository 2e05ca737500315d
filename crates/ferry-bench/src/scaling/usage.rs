//! `Usage`: a process's resident memory and CPU time, read from /proc.

use std::io;
use std::time::Duration;

/// What a process holds and has spent so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Resident memory (`VmRSS` of `/proc/PID/status`), in bytes.
    pub rss: u64,
    /// User plus system CPU time of all its threads (`utime + stime` of
    /// `/proc/PID/stat`), at the kernel's clock-tick resolution.
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
    /// let usage = ferry_bench::Usage::of(std::process::id())?;
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

        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name may hold spaces and parentheses: fields are
        // counted from after its closing parenthesis (field 3, the state).
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
        Ok(Usage {
            rss: rss_kib * 1024,
            cpu: Duration::from_secs(cpu / per_second)
                + Duration::from_secs_f64((cpu % per_second) as f64 / per_second as f64),
        })
    }
}

fn unreadable(pid: u32, file: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("/proc/{pid}/{file}: {why}"),
    )
}
