//! The `ferry bench` report as an SVG: the ratios per scenario as bars, the
//! scaling curves as lines, the machine and the preset in the title.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::bench_report::{BenchReport, Figures};
use crate::summary::{headline, rounds_text};
use crate::{Implementation, Relay, ScalingReport};

/// The chart's width in pixels.
const WIDTH: u32 = 1200;
/// The height of one bar.
const BAR: u32 = 16;
/// The room between two scenarios' bars.
const GAP: u32 = 12;
/// The height of the scaling charts.
const CURVES: u32 = 420;
/// The width of the bar chart's legend, right of it.
const LEGEND: u32 = 210;
const FONT: &str = "sans-serif";

/// One scenario's bars: each contender's median over the baseline's.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    scenario: String,
    bars: Vec<(&'static str, f64)>,
}

/// The report as an SVG document: a bar per contender and scenario (its
/// ratio to tokio for the copies, to direct for the relays), then, when the
/// scaling scenario ran, throughput and round-trip latency against
/// connections. The title names the machine, the preset and the date.
///
/// # Errors
///
/// Drawing failed (plotters' error, as text).
pub fn svg(report: &BenchReport) -> io::Result<String> {
    let groups = groups(report);
    let scaling = report.scenarios.iter().find_map(|s| match &s.figures {
        Figures::Scaling(scaling) if !scaling.levels.is_empty() => Some(scaling),
        _ => None,
    });
    let bars: u32 = groups.iter().map(|g| g.bars.len().max(1) as u32).sum();
    let bars_height = if groups.is_empty() {
        0
    } else {
        110 + bars * BAR + groups.len() as u32 * GAP
    };
    let curves_height = if scaling.is_some() { CURVES } else { 0 };
    let height = 70 + bars_height + curves_height;

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        draw(&root, report, &groups, bars_height, scaling)
            .map_err(|err| io::Error::other(err.to_string()))?;
        root.present()
            .map_err(|err| io::Error::other(err.to_string()))?;
    }
    Ok(out)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &BenchReport,
    groups: &[Group],
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
    let (top, bottom) = area.split_vertically(bars_height);
    if !groups.is_empty() {
        draw_bars(&top, groups, report.rounds)?;
    }
    if let Some(scaling) = scaling {
        let (left, right) = bottom.split_horizontally(WIDTH / 2);
        draw_throughput(&left, scaling)?;
        draw_latency(&right, scaling)?;
    }
    Ok(())
}

/// Every copy and serve scenario with its contenders' ratios, in run order.
fn groups(report: &BenchReport) -> Vec<Group> {
    report
        .scenarios
        .iter()
        .filter_map(|s| {
            let bars: Vec<(&'static str, f64)> = match &s.figures {
                Figures::Copy(w) => w
                    .summaries
                    .iter()
                    .filter(|s| s.implementation != Implementation::Tokio)
                    .filter_map(|s| Some((s.implementation.name(), s.to_tokio?)))
                    .collect(),
                Figures::Serve(r) => r
                    .summaries
                    .iter()
                    .filter(|s| s.relay != Relay::Direct)
                    .filter_map(|s| Some((s.relay.name(), s.to_direct?)))
                    .collect(),
                Figures::Scaling(_) => return None,
            };
            Some(Group {
                scenario: s.scenario.name(),
                bars,
            })
        })
        .collect()
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

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    groups: &[Group],
    rounds: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    // In units of y, a bar is 4 high with 1 between bars and 3 between
    // scenarios; the first scenario is at the top. (Integer units: plotters
    // labels only integer key points with a formatter of ours.)
    let units = |g: &Group| 5 * g.bars.len().max(1) as i32 + 3;
    let total: i32 = groups.iter().map(units).sum();
    let mut tops = Vec::with_capacity(groups.len());
    let mut top = total;
    for group in groups {
        tops.push(top);
        top -= units(group);
    }
    let centres: Vec<i32> = groups
        .iter()
        .zip(&tops)
        .map(|(g, top)| top - (5 * g.bars.len().max(1) as i32) / 2)
        .collect();
    let max = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.1))
        .fold(1.0f64, f64::max)
        * 1.18;

    let label_of = |y: &i32| {
        centres
            .iter()
            .zip(groups)
            .min_by_key(|(centre, _)| (*centre - y).abs())
            .map(|(_, g)| g.scenario.clone())
            .unwrap_or_default()
    };
    let (area, legend) = area.split_horizontally(WIDTH - LEGEND);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!(
                "Median throughput ratio per scenario ({}): copies × tokio, relays × direct; higher is faster",
                rounds_text(rounds)
            ),
            (FONT, 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(120)
        .build_cartesian_2d(0f64..max, (0..total).with_key_points(centres.clone()))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("ratio to the baseline (tokio for copies, direct for relays)")
        .y_label_formatter(&label_of)
        .label_style((FONT, 13))
        .draw()?;

    chart.draw_series(LineSeries::new(
        [(1.0, 0), (1.0, total)],
        BLACK.stroke_width(2),
    ))?;

    let mut contenders: Vec<&'static str> = Vec::new();
    for group in groups {
        for (name, _) in &group.bars {
            if !contenders.contains(name) {
                contenders.push(name);
            }
        }
    }
    let value_style =
        TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for name in &contenders {
        let fill = colour(name).filled();
        let mut rects = Vec::new();
        let mut values = Vec::new();
        for (group, top) in groups.iter().zip(&tops) {
            for (slot, (_, ratio)) in group.bars.iter().enumerate().filter(|(_, b)| b.0 == *name) {
                let y1 = top - 5 * slot as i32;
                let y0 = y1 - 4;
                rects.push(Rectangle::new([(0.0, y0), (*ratio, y1)], fill));
                values.push(Text::new(
                    format!(" {ratio:.2}×"),
                    (*ratio, y1 - 2),
                    value_style.clone(),
                ));
            }
        }
        chart.draw_series(rects)?;
        chart.draw_series(values)?;
    }
    draw_legend(&legend, &contenders)
}

/// The bar chart's legend, in its own area so no bar runs under it.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    contenders: &[&'static str],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let (x, top) = (10, 60);
    area.draw(&PathElement::new(
        [(x, top), (x + 16, top)],
        BLACK.stroke_width(2),
    ))?;
    area.draw(&Text::new(
        "baseline = 1 (tokio / direct)",
        (x + 24, top),
        style.clone(),
    ))?;
    for (i, name) in contenders.iter().enumerate() {
        let y = top + 24 * (i as i32 + 1);
        area.draw(&Rectangle::new(
            [(x, y - 6), (x + 16, y + 6)],
            colour(name).filled(),
        ))?;
        area.draw(&Text::new(*name, (x + 24, y), style.clone()))?;
    }
    Ok(())
}

/// The x range of the scaling charts: the levels, with room either side.
fn connections_range(scaling: &ScalingReport) -> std::ops::Range<f64> {
    let levels = scaling.levels.iter().map(|l| l.connections as f64);
    let low = levels.clone().fold(f64::INFINITY, f64::min);
    let high = levels.fold(1.0f64, f64::max);
    (low / 1.6)..(high * 1.6)
}

fn draw_throughput<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scaling: &ScalingReport,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let points: Vec<(f64, f64)> = scaling
        .levels
        .iter()
        .map(|l| (l.connections as f64, l.bytes_per_second.median / 1e9))
        .collect();
    let top = points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-3) * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("scaling: throughput through one {} --serve", scaling.relay),
            (FONT, 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(connections_range(scaling).log_scale(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("concurrent connections")
        .y_desc("GB/s, both directions")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style((FONT, 13))
        .draw()?;
    let line = colour("ferry");
    chart.draw_series(LineSeries::new(points.clone(), line.stroke_width(2)))?;
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, line.filled())))?;
    let style = TextStyle::from((FONT, 11).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(
        points
            .iter()
            .map(|&(x, y)| Text::new(format!("{y:.2}"), (x, y + top * 0.03), style.clone())),
    )?;
    Ok(())
}

fn draw_latency<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scaling: &ScalingReport,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let p50: Vec<(f64, f64)> = scaling
        .levels
        .iter()
        .map(|l| (l.connections as f64, l.latency_p50_us.max(1.0)))
        .collect();
    let p99: Vec<(f64, f64)> = scaling
        .levels
        .iter()
        .map(|l| (l.connections as f64, l.latency_p99_us.max(1.0)))
        .collect();
    let low = p50.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) / 2.0;
    let high = p99.iter().map(|p| p.1).fold(1.0f64, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "scaling: round trip of {} KiB each way",
                scaling.message_len / 1024
            ),
            (FONT, 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            connections_range(scaling).log_scale(),
            (low.max(0.5)..high).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("concurrent connections")
        .y_desc("round trip (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|&y| {
            if y >= 1000.0 {
                format!("{} ms", y / 1000.0)
            } else {
                format!("{y} µs")
            }
        })
        .label_style((FONT, 13))
        .draw()?;
    for (name, points, colour) in [
        ("p99", p99, RGBColor(0xd6, 0x27, 0x28)),
        ("p50", p50, RGBColor(0x1f, 0x77, 0xb4)),
    ] {
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}
