//! The report as a plain-text table and as a markdown table.

use std::fmt::Write as _;

use crate::ratio::READING;
use crate::report::{Report, WorkloadReport};
use crate::{Implementation, Unit};

/// The report as plain text: per workload, each implementation's median,
/// min–max and ratio to tokio; then one line per workload with ferry's
/// default against the best and against tokio, flagged when below target.
/// Every ratio is taken round by round ([`Ratio`](crate::ratio::Ratio)).
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    for workload in &report.workloads {
        let unit = workload.unit;
        let latency = workload
            .summaries
            .iter()
            .any(|s| s.latency_median_us.is_some());
        let _ = write!(
            out,
            "\n{}: {} per run, {}\n  {:<13}{:>9}{:>9}{:>9}{:>9}",
            workload.workload,
            amount(unit, workload.amount),
            unit.rate_label(),
            "impl",
            "median",
            "min",
            "max",
            "×tokio",
        );
        if latency {
            let _ = write!(out, "{:>9}{:>9}", "p50 µs", "p99 µs");
        }
        out.push('\n');
        for s in &workload.summaries {
            let _ = write!(
                out,
                "  {:<13}{:>9}{:>9}{:>9}{:>9}",
                s.implementation.name(),
                rate(unit.scale(s.spread.median)),
                rate(unit.scale(s.spread.min)),
                rate(unit.scale(s.spread.max)),
                s.to_tokio.map_or("–".into(), |r| format!("{r:.2}")),
            );
            if latency {
                let micros = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.1}"));
                let _ = write!(
                    out,
                    "{:>9}{:>9}",
                    micros(s.latency_median_us),
                    micros(s.latency_p99_us)
                );
            }
            out.push('\n');
        }
    }
    let compared: Vec<&WorkloadReport> = report
        .workloads
        .iter()
        .filter(|w| w.comparison.is_some())
        .collect();
    if !compared.is_empty() {
        let _ = writeln!(
            out,
            "\nferry default against the best and tokio, round by round: median [95% interval]\n  {:<13}{:>19}  {:<12}{:>19}",
            "workload", "default/best", "best", "default/tokio"
        );
        for w in compared {
            let Some(c) = w.comparison else { continue };
            let _ = writeln!(
                out,
                "  {:<13}{:>19}  {:<12}{:>19}{}",
                w.workload.name(),
                c.default_to_best.to_string(),
                c.best.name(),
                c.default_to_tokio.to_string(),
                if c.meets_targets {
                    ""
                } else {
                    "  BELOW TARGET"
                },
            );
        }
    }
    out
}

/// The report as a markdown table: workload × implementation, each cell the
/// median and its ratio to tokio, then ferry's default against the best and
/// against tokio with their 95% intervals, in bold when below target;
/// round-trip latencies follow the table. Every ratio is taken round by
/// round ([`Ratio`](crate::ratio::Ratio)).
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    header(&mut out, report);
    let columns: Vec<Implementation> = Implementation::ALL
        .into_iter()
        .filter(|imp| report.workloads.iter().any(|w| w.summary(*imp).is_some()))
        .collect();
    let compared = report.workloads.iter().any(|w| w.comparison.is_some());

    out.push_str("\n| workload | unit |");
    for imp in &columns {
        let _ = write!(out, " {imp} |");
    }
    if compared {
        out.push_str(" default / best | default / tokio |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(columns.len() + if compared { 2 } else { 0 }));
    out.push('\n');

    for w in &report.workloads {
        let _ = write!(out, "| {} | {} |", w.workload, w.unit.rate_label());
        for imp in &columns {
            match w.summary(*imp) {
                Some(s) => {
                    let _ = write!(out, " {}", rate(w.unit.scale(s.spread.median)));
                    if let Some(r) = s.to_tokio {
                        let _ = write!(out, " ({r:.2}×)");
                    }
                    out.push_str(" |");
                }
                None => out.push_str(" – |"),
            }
        }
        if compared {
            match w.comparison {
                Some(c) => {
                    let bold = |below: bool| if below { "**" } else { "" };
                    let to_best = bold(c.default_to_best.median < report.targets.to_best);
                    let to_tokio = bold(c.default_to_tokio.median < report.targets.to_tokio);
                    let (best, tokio) = (c.default_to_best, c.default_to_tokio);
                    let _ = write!(
                        out,
                        " {to_best}{:.2}×{to_best} [{:.2}–{:.2}] ({}) | {to_tokio}{:.2}×{to_tokio} [{:.2}–{:.2}] |",
                        best.median, best.low, best.high, c.best, tokio.median, tokio.low, tokio.high
                    );
                }
                None => out.push_str(" – | – |"),
            }
        }
        out.push('\n');
    }
    for w in &report.workloads {
        let contenders = w.summaries.iter().map(|s| {
            let latency = s.latency_median_us.zip(s.latency_p99_us);
            (s.implementation.to_string(), latency)
        });
        out.push_str(&latencies(
            &latency_label(&w.workload.to_string(), w.unit),
            contenders,
            1,
        ));
    }
    out
}

/// What a latency sample of `scenario` times, in its unit: a round trip,
/// or a whole connection.
pub(crate) fn latency_label(scenario: &str, unit: Unit) -> String {
    match unit {
        Unit::Connections => format!("{scenario} connection, connect to close"),
        Unit::Bytes | Unit::RoundTrips => format!("{scenario} round trip"),
    }
}

/// The line "\n<what>, median / p99 µs: a 20 / 35, b 21 / 36.\n" for the
/// contenders that timed samples (median and p99 in µs, with `decimals`
/// places), or nothing when none did.
pub(crate) fn latencies(
    what: &str,
    contenders: impl Iterator<Item = (String, Option<(f64, f64)>)>,
    decimals: usize,
) -> String {
    let latencies: Vec<String> = contenders
        .filter_map(|(name, latency)| {
            let (p50, p99) = latency?;
            Some(format!("{name} {p50:.decimals$} / {p99:.decimals$}"))
        })
        .collect();
    if latencies.is_empty() {
        return String::new();
    }
    format!("\n{what}, median / p99 µs: {}.\n", latencies.join(", "))
}

fn header(out: &mut String, report: &Report) {
    let runtime = match report.runtime {
        crate::Flavor::MultiThread { workers } => {
            format!("multi-thread runtime, {workers} workers")
        }
        crate::Flavor::CurrentThread => "current-thread runtime".into(),
    };
    let _ = writeln!(
        out,
        "{}; {runtime}; medians of {} rounds, ratios taken round by round; {}\n{READING}",
        report.machine.summary(),
        report.rounds,
        report.machine.date,
    );
    let contenders: Vec<&str> = Implementation::CONTENDERS
        .iter()
        .map(|i| i.name())
        .collect();
    let _ = writeln!(
        out,
        "Targets: ferry's default ≥ {:.2}× the best of {{{}}} and ≥ {:.2}× tokio.",
        report.targets.to_best,
        contenders.join(", "),
        report.targets.to_tokio,
    );
}

/// A rate with about three significant digits.
pub(crate) fn rate(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// An amount per run in its unit: binary sizes for bytes.
fn amount(unit: Unit, amount: u64) -> String {
    match unit {
        Unit::RoundTrips => format!("{amount} round trips"),
        Unit::Connections => format!("{amount} connections"),
        Unit::Bytes => {
            let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
            units.iter().find(|(size, _)| amount >= *size).map_or(
                format!("{amount} B"),
                |(size, name)| {
                    let value = amount as f64 / *size as f64;
                    if amount % size == 0 {
                        format!("{value:.0} {name}")
                    } else {
                        format!("{value:.1} {name}")
                    }
                },
            )
        }
    }
}
