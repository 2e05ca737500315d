//! `Scenario`: what `ferry bench` can run, by name — a copy workload, a
//! serve load through relay processes, or the scaling curves.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::{ServeLoad, Workload};

/// One scenario of `ferry bench`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// A copy in this process, implementation against implementation
    /// (ratios to tokio).
    Copy(Workload),
    /// Clients through relay processes against direct (ratios to direct).
    Serve(ServeLoad),
    /// 1 to 1,000 connections through one `ferry --serve`.
    Scaling,
}

impl Scenario {
    /// Every scenario, in run and table order.
    pub const ALL: [Scenario; 17] = [
        Scenario::Copy(Workload::MemFill),
        Scenario::Copy(Workload::MemPattern),
        Scenario::Copy(Workload::SliceVec),
        Scenario::Copy(Workload::Duplex),
        Scenario::Copy(Workload::UnixRecv),
        Scenario::Copy(Workload::TcpRecv),
        Scenario::Copy(Workload::TcpRelay),
        Scenario::Copy(Workload::PingPong),
        Scenario::Copy(Workload::FileFile),
        Scenario::Copy(Workload::FileTcp),
        Scenario::Serve(ServeLoad::Flows(1)),
        Scenario::Serve(ServeLoad::Flows(4)),
        Scenario::Serve(ServeLoad::Flows(16)),
        Scenario::Serve(ServeLoad::ShortConnections),
        Scenario::Serve(ServeLoad::Http),
        Scenario::Serve(ServeLoad::PingPong),
        Scenario::Scaling,
    ];

    /// The name on the command line, in tables, JSON and the chart.
    pub fn name(self) -> String {
        match self {
            Scenario::Copy(workload) => workload.name().into(),
            Scenario::Serve(load) => load.name(),
            Scenario::Scaling => "scaling".into(),
        }
    }

    /// What it measures, in one line.
    pub fn about(self) -> &'static str {
        match self {
            Scenario::Copy(workload) => match workload {
                Workload::MemFill => "memory: a filling reader into a counting writer, cache-resident",
                Workload::MemPattern => "memory: a 1 MiB pattern into a sink that reads what it gets",
                Workload::SliceVec => "memory: a &[u8] into a Vec<u8>",
                Workload::Duplex => "tokio::io::duplex(64 KiB) into a counting sink",
                Workload::UnixRecv => "a Unix socket into a counting sink",
                Workload::TcpRecv => "a loopback TCP connection into a counting sink",
                Workload::TcpRelay => "a relay between two loopback TCP connections, in this process",
                Workload::PingPong => "100-byte round trips through that relay",
                Workload::FileFile => "a file in the page cache into a new file",
                Workload::FileTcp => "a file in the page cache into a loopback TCP connection",
            },
            Scenario::Serve(ServeLoad::Flows(1)) => {
                "1 flow through ferry --serve, socat, HAProxy and nginx, against direct"
            }
            Scenario::Serve(ServeLoad::Flows(4)) => "4 parallel flows through the same",
            Scenario::Serve(ServeLoad::Flows(_)) => "16 parallel flows through the same",
            Scenario::Serve(ServeLoad::ShortConnections) => {
                "connections per second through the same (1 KiB each way, then close)"
            }
            Scenario::Serve(ServeLoad::Http) => {
                "HTTP/1.1-shaped connections per second through the same (94-byte request, 1 KiB body, Connection: close, 16 clients)"
            }
            Scenario::Serve(ServeLoad::PingPong) => {
                "100-byte round trips on one connection through the same (latency)"
            }
            Scenario::Scaling => {
                "1, 10, 100, 1000 connections through one ferry --serve: throughput, latency, memory, CPU"
            }
        }
    }

    /// Every scenario with what it measures, a line each, for `--help`:
    /// the descriptions in one column, two spaces past the longest name.
    pub fn help() -> String {
        let width = Scenario::ALL
            .iter()
            .map(|s| s.name().len())
            .max()
            .unwrap_or(0);
        let mut help = String::from("Scenarios (default: all):\n");
        for scenario in Scenario::ALL {
            let name = scenario.name();
            help.push_str(&format!("  {name:<width$}  {}\n", scenario.about()));
        }
        help
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    /// Parses a scenario's name; the error lists them all.
    ///
    /// ```
    /// use ferry_io_bench::Scenario;
    ///
    /// assert_eq!("scaling".parse::<Scenario>(), Ok(Scenario::Scaling));
    /// assert!("fast".parse::<Scenario>().unwrap_err().contains("serve-cps"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == s)
            .ok_or_else(|| {
                let names: Vec<String> = Scenario::ALL.iter().map(|s| s.name()).collect();
                format!("expected one of {}", names.join(", "))
            })
    }
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}
