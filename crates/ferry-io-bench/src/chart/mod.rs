//! The `ferry bench` report as an SVG: the ratios per scenario as bars on
//! log axes, a panel for the copies and one for the relays; the scaling
//! curves as lines; the machine and the preset in the title.

mod curves;
mod ratios;

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::bench_report::BenchReport;
use crate::summary::headline;
use crate::ScalingReport;

use ratios::Panel;

/// The chart's width in pixels.
const WIDTH: u32 = 1200;
/// The height of the scaling charts.
const CURVES: u32 = 420;
const FONT: &str = "sans-serif";

/// The report as an SVG document: for the copies (ratios to tokio) and for
/// the relays (ratios to direct), a panel of bars, one per contender and
/// scenario, each on a log axis of its own; then, when the scaling scenario
/// ran, throughput and round-trip latency against connections. The title
/// names the machine, the preset and the date.
///
/// A log axis shows 0.3× and 20× alike, and every bar starts at the
/// panel's left edge, so a ratio near 1 is a bar as long as its
/// neighbours, the line at 1× telling faster from slower.
///
/// # Errors
///
/// Drawing failed (plotters' error, as text).
pub fn svg(report: &BenchReport) -> io::Result<String> {
    let panels = ratios::panels(report);
    let scaling = report.scenarios.iter().find_map(|s| match &s.figures {
        crate::bench_report::Figures::Scaling(scaling) if !scaling.levels.is_empty() => {
            Some(scaling)
        }
        _ => None,
    });
    let bars_height: u32 = panels.iter().map(Panel::height).sum();
    let curves_height = if scaling.is_some() { CURVES } else { 0 };
    let height = 70 + bars_height + curves_height;

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        draw(&root, report, &panels, bars_height, scaling)
            .map_err(|err| io::Error::other(err.to_string()))?;
        root.present()
            .map_err(|err| io::Error::other(err.to_string()))?;
    }
    Ok(out)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &BenchReport,
    panels: &[Panel],
    bars_height: u32,
    scaling: Option<&ScalingReport>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (title, detail) = match headline(report).split_once(": ") {
        Some((title, detail)) => (title.to_string(), detail.to_string()),
        None => (headline(report), String::new()),
    };
    let area = root.titled(&title, (FONT, 22))?;
    let area = area.titled(&detail, (FONT, 14))?;
    let (mut rest, bottom) = area.split_vertically(bars_height);
    for panel in panels {
        let (top, below) = rest.split_vertically(panel.height());
        panel.draw(&top, report.rounds)?;
        rest = below;
    }
    if let Some(scaling) = scaling {
        let (left, right) = bottom.split_horizontally(WIDTH / 2);
        curves::draw_throughput(&left, scaling)?;
        curves::draw_latency(&right, scaling)?;
    }
    Ok(())
}

/// The colour of a contender, the same in every scenario.
fn colour(name: &str) -> RGBColor {
    match name {
        "ferry" => RGBColor(0x1f, 0x77, 0xb4),
        "ferry-zero-copy" => RGBColor(0x17, 0xa2, 0xb8),
        "ferry-splice" => RGBColor(0x94, 0x67, 0xbd),
        "std" => RGBColor(0xff, 0x7f, 0x0e),
        "socat" => RGBColor(0x2c, 0xa0, 0x2c),
        "haproxy" => RGBColor(0xd6, 0x27, 0x28),
        "nginx" => RGBColor(0x8c, 0x56, 0x4b),
        _ => RGBColor(0x7f, 0x7f, 0x7f),
    }
}
