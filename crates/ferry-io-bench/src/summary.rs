//! The `ferry bench` report as tables: the copies (ratios to tokio), the
//! relays (ratios to direct) and the scaling curve, plain or in markdown.

use std::fmt::Write as _;

use crate::bench_report::{BenchReport, Figures};
use crate::grid::Grid;
use crate::ratio::READING;
use crate::report::WorkloadReport;
use crate::table::{latencies, latency_label, rate};
use crate::{Implementation, Preset, Relay, ScalingReport, ServeReport, Unit};

/// The report as plain-text tables.
pub fn text(report: &BenchReport) -> String {
    render(report, Grid::text)
}

/// The report as markdown tables.
pub fn markdown(report: &BenchReport) -> String {
    render(report, Grid::markdown)
}

fn render(report: &BenchReport, table: fn(&Grid) -> String) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n{READING}", headline(report));

    let copies: Vec<&WorkloadReport> = report
        .scenarios
        .iter()
        .filter_map(|s| match &s.figures {
            Figures::Copy(w) => Some(w),
            _ => None,
        })
        .collect();
    if !copies.is_empty() {
        let _ = writeln!(
            out,
            "\nCopies in this process: median per second, and its ratio to tokio.\n"
        );
        out.push_str(&table(&copy_grid(&copies)));
        for w in &copies {
            let contenders = w.summaries.iter().map(|s| {
                let latency = s.latency_median_us.zip(s.latency_p99_us);
                (s.implementation.to_string(), latency)
            });
            let what = latency_label(&w.workload.to_string(), w.unit);
            out.push_str(&latencies(&what, contenders, 0));
        }
    }

    let serves: Vec<&ServeReport> = report
        .scenarios
        .iter()
        .filter_map(|s| match &s.figures {
            Figures::Serve(r) => Some(r),
            _ => None,
        })
        .collect();
    if !serves.is_empty() {
        let _ = writeln!(
            out,
            "\nRelays in processes of their own: median per second, and its ratio to direct.\n"
        );
        out.push_str(&table(&serve_grid(&serves)));
        for r in &serves {
            let contenders = r.summaries.iter().map(|s| {
                let latency = s.latency_median_us.zip(s.latency_p99_us);
                (s.relay.to_string(), latency)
            });
            let what = latency_label(&r.load.to_string(), r.unit);
            out.push_str(&latencies(&what, contenders, 0));
        }
    }

    for s in &report.scenarios {
        if let Figures::Scaling(scaling) = &s.figures {
            let _ = writeln!(
                out,
                "\nScaling through one {} --serve: {} KiB messages echoed; GB/s counts both directions.\n",
                scaling.relay,
                scaling.message_len / 1024
            );
            out.push_str(&table(&scaling_grid(scaling)));
        }
    }

    if !report.notes.is_empty() {
        out.push('\n');
        for note in &report.notes {
            let _ = writeln!(out, "Note: {note}");
        }
    }
    out
}

/// One line: the preset, the machine, the rounds, the date and how long it took.
pub fn headline(report: &BenchReport) -> String {
    let preset = match report.preset {
        Preset::Tiny => "tiny run (counts only, figures meaningless)",
        Preset::Quick => "quick run",
        Preset::Full => "full run",
    };
    let load = report.machine.load_average.map_or(String::new(), |load| {
        format!("; load {load:.1} at the start")
    });
    format!(
        "ferry bench, {preset}: {}{load}; medians of {}, ratios round by round; {}; took {:.0} s",
        report.machine.summary(),
        rounds_text(report.rounds),
        report.machine.date,
        report.seconds,
    )
}

/// "1 round", "3 rounds".
pub(crate) fn rounds_text(rounds: usize) -> String {
    if rounds == 1 {
        "1 round".into()
    } else {
        format!("{rounds} rounds")
    }
}

fn copy_grid(copies: &[&WorkloadReport]) -> Grid {
    let columns: Vec<Implementation> = Implementation::ALL
        .into_iter()
        .filter(|imp| copies.iter().any(|w| w.summary(*imp).is_some()))
        .collect();
    let mut grid = Grid::new(
        ["scenario".to_string(), "unit".to_string()]
            .into_iter()
            .chain(columns.iter().map(|imp| imp.name().to_string())),
    );
    for w in copies {
        let mut row = vec![
            w.workload.name().to_string(),
            w.unit.rate_label().to_string(),
        ];
        for imp in &columns {
            row.push(w.summary(*imp).map_or("–".into(), |s| {
                figure(
                    w.unit,
                    s.spread.median,
                    s.to_tokio,
                    *imp == Implementation::Tokio,
                )
            }));
        }
        grid.row(row);
    }
    grid
}

fn serve_grid(serves: &[&ServeReport]) -> Grid {
    let columns: Vec<Relay> = Relay::ALL
        .into_iter()
        .filter(|relay| {
            serves
                .iter()
                .any(|s| s.relays.contains(relay) || s.skipped.iter().any(|k| k.relay == *relay))
        })
        .collect();
    let mut grid = Grid::new(
        ["scenario".to_string(), "unit".to_string()]
            .into_iter()
            .chain(columns.iter().map(|relay| relay.name().to_string())),
    );
    for s in serves {
        let mut row = vec![s.load.name(), s.unit.rate_label().to_string()];
        for relay in &columns {
            row.push(match s.summary(*relay) {
                Some(summary) => figure(
                    s.unit,
                    summary.spread.median,
                    summary.to_direct,
                    *relay == Relay::Direct,
                ),
                None if s.skipped.iter().any(|k| k.relay == *relay) => "skipped".into(),
                None => "–".into(),
            });
        }
        grid.row(row);
    }
    grid
}

fn scaling_grid(scaling: &ScalingReport) -> Grid {
    let mut grid = Grid::new([
        "connections",
        "GB/s",
        "p50 µs",
        "p99 µs",
        "RSS per connection",
        "CPU s per GB",
    ]);
    for level in &scaling.levels {
        grid.row(vec![
            level.connections.to_string(),
            rate(level.bytes_per_second.median / 1e9),
            format!("{:.0}", level.latency_p50_us),
            format!("{:.0}", level.latency_p99_us),
            level
                .rss_per_connection
                .map_or("–".into(), |bytes| format!("{:.1} KiB", bytes / 1024.0)),
            level
                .cpu_seconds_per_gb
                .map_or("–".into(), |seconds| format!("{seconds:.2}")),
        ]);
    }
    for skipped in &scaling.skipped {
        grid.row(vec![skipped.connections.to_string(), "skipped".into()]);
    }
    grid
}

/// A median in its unit, with its ratio to the baseline unless it is the baseline.
fn figure(unit: Unit, median: f64, ratio: Option<f64>, baseline: bool) -> String {
    let value = rate(unit.scale(median));
    match ratio {
        Some(ratio) if !baseline => format!("{value} ({ratio:.2}×)"),
        _ => value,
    }
}
