//! `Machine`: what the figures were measured on.

use std::process::Command;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The machine, toolchain and time of a run: figures from different machines
/// or days are not comparable, ratios within one run are.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name from `/proc/cpuinfo`.
    pub cpu_model: Option<String>,
    /// Threads this process may run in parallel.
    pub cores: usize,
    /// The kernel, as `uname -sr` prints it.
    pub kernel: Option<String>,
    /// The 1-minute load average when the run started (`/proc/loadavg`):
    /// on a machine busy with other work, figures swing more.
    pub load_average: Option<f64>,
    /// The compiler that built this harness.
    pub rustc: Option<String>,
    /// The tokio version in the workspace's lock file.
    pub tokio: Option<String>,
    /// When the report was made, RFC 3339 in UTC.
    pub date: String,
}

impl Machine {
    /// Looks the machine up, now; whatever cannot be found is `None`.
    pub fn detect() -> Machine {
        Machine {
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: kernel(),
            load_average: load_average(),
            rustc: option_env!("FERRY_BENCH_RUSTC").map(String::from),
            tokio: option_env!("FERRY_BENCH_TOKIO").map(String::from),
            date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// One line for the top of a table: CPU, cores, kernel.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} cores, {}",
            self.cpu_model.as_deref().unwrap_or("unknown CPU"),
            self.cores,
            self.kernel.as_deref().unwrap_or("unknown kernel"),
        )
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim() == "model name")
        .map(|(_, value)| value.trim().to_string())
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn kernel() -> Option<String> {
    Command::new("uname")
        .arg("-sr")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|release| format!("Linux {}", release.trim()))
        })
}
