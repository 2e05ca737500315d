//! The scaling scenario's curves: throughput and round-trip latency against
//! concurrent connections, both on log axes of connections.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{colour, FONT};
use crate::ScalingReport;

/// The x range of the scaling charts: the levels, with room either side.
fn connections_range(scaling: &ScalingReport) -> std::ops::Range<f64> {
    let levels = scaling.levels.iter().map(|l| l.connections as f64);
    let low = levels.clone().fold(f64::INFINITY, f64::min);
    let high = levels.fold(1.0f64, f64::max);
    (low / 1.6)..(high * 1.6)
}

pub(super) fn draw_throughput<DB: DrawingBackend>(
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

pub(super) fn draw_latency<DB: DrawingBackend>(
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
