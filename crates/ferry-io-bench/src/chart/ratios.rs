//! The ratio panels: one for the copies (× tokio), one for the relays
//! (× direct), each a bar per contender and scenario on a log axis.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{colour, FONT, WIDTH};
use crate::bench_report::{BenchReport, Figures};
use crate::summary::rounds_text;
use crate::{Implementation, Relay};

/// The height of one bar.
const BAR: u32 = 16;
/// The room between two scenarios' bars.
const GAP: u32 = 12;
/// The width of a panel's legend, right of it.
const LEGEND: u32 = 210;

/// One scenario's bars: each contender's ratio to the baseline.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    scenario: String,
    bars: Vec<(&'static str, f64)>,
}

/// The scenarios of one kind, measured against one baseline.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Panel {
    /// What the scenarios are: copies, or relays.
    what: &'static str,
    /// What the ratios are to: tokio, or direct.
    baseline: &'static str,
    groups: Vec<Group>,
}

/// The copies' panel and the relays', each if it has a scenario; every
/// scenario with its contenders' ratios, in run order. A ratio that is not
/// a positive number (a rate of zero) has no place on a log axis, and no bar.
pub(super) fn panels(report: &BenchReport) -> Vec<Panel> {
    let mut copies = Panel {
        what: "Copies in this process",
        baseline: "tokio",
        groups: Vec::new(),
    };
    let mut relays = Panel {
        what: "Relays in processes of their own",
        baseline: "direct",
        groups: Vec::new(),
    };
    for s in &report.scenarios {
        let (panel, bars): (&mut Panel, Vec<(&'static str, Option<f64>)>) = match &s.figures {
            Figures::Copy(w) => (
                &mut copies,
                w.summaries
                    .iter()
                    .filter(|s| s.implementation != Implementation::Tokio)
                    .map(|s| (s.implementation.name(), s.to_tokio))
                    .collect(),
            ),
            Figures::Serve(r) => (
                &mut relays,
                r.summaries
                    .iter()
                    .filter(|s| s.relay != Relay::Direct)
                    .map(|s| (s.relay.name(), s.to_direct))
                    .collect(),
            ),
            Figures::Scaling(_) => continue,
        };
        panel.groups.push(Group {
            scenario: s.scenario.name(),
            bars: bars
                .into_iter()
                .filter_map(|(name, ratio)| {
                    Some((name, ratio.filter(|r| r.is_finite() && *r > 0.0)?))
                })
                .collect(),
        });
    }
    [copies, relays]
        .into_iter()
        .filter(|panel| !panel.groups.is_empty())
        .collect()
}

/// The steps a log axis of ratios is labelled at: 1, 2 and 5 times the
/// powers of ten from 0.001 to 1,000.
fn steps() -> impl Iterator<Item = f64> {
    (-3..=3).flat_map(|exp: i32| {
        [1.0, 2.0, 5.0].map(|m: f64| {
            // Divided, not multiplied by 0.1…: 5 / 100 is the 0.05 one writes.
            if exp < 0 {
                m / 10f64.powi(-exp)
            } else {
                m * 10f64.powi(exp)
            }
        })
    })
}

/// A ratio as the axis labels it: `0.05×`, `1×`, `20×`.
fn times(ratio: &f64) -> String {
    format!("{ratio}×")
}

impl Panel {
    /// Its height in pixels.
    pub(super) fn height(&self) -> u32 {
        let bars: u32 = self.groups.iter().map(|g| g.bars.len().max(1) as u32).sum();
        110 + bars * BAR + self.groups.len() as u32 * GAP
    }

    /// The axis: from the step below the smallest ratio (and 1) to the
    /// step above the largest, with room right of it for its label; and
    /// the steps between, where the axis is labelled.
    fn axis(&self) -> (f64, f64, Vec<f64>) {
        let ratios = self.groups.iter().flat_map(|g| g.bars.iter().map(|b| b.1));
        let (min, max) = ratios.fold((1.0f64, 1.0f64), |(min, max), r| (min.min(r), max.max(r)));
        let low = steps()
            .filter(|&step| step <= min / 1.3)
            .last()
            .unwrap_or(min / 2.0);
        let high = steps().find(|&step| step >= max * 1.6).unwrap_or(max * 2.0);
        let ticks = steps().filter(|&s| low <= s && s <= high).collect();
        (low, high, ticks)
    }

    /// Draws the panel into `area`: its bars left, its legend right.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        rounds: usize,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let groups = &self.groups;
        // In units of y, a bar is 4 high with 1 between bars and 3 between
        // scenarios; the first scenario is at the top. (Integer units:
        // plotters labels only integer key points with a formatter of ours.)
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
        let label_of = |y: &i32| {
            centres
                .iter()
                .zip(groups)
                .min_by_key(|(centre, _)| (*centre - y).abs())
                .map(|(_, g)| g.scenario.clone())
                .unwrap_or_default()
        };
        let (low, high, ticks) = self.axis();

        let (area, legend) = area.split_horizontally(WIDTH - LEGEND);
        let mut chart = ChartBuilder::on(&area)
            .caption(
                format!(
                    "{} × {}: median of the per-round ratios ({}), log scale; right of 1× is faster",
                    self.what,
                    self.baseline,
                    rounds_text(rounds)
                ),
                (FONT, 16),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(120)
            .build_cartesian_2d(
                (low..high).log_scale().with_key_points(ticks),
                (0..total).with_key_points(centres.clone()),
            )?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(format!(
                "rate over {}'s in the same round (log scale)",
                self.baseline
            ))
            .x_label_formatter(&times)
            .y_label_formatter(&label_of)
            .label_style((FONT, 13))
            .draw()?;

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
                for (slot, (_, ratio)) in
                    group.bars.iter().enumerate().filter(|(_, b)| b.0 == *name)
                {
                    let y1 = top - 5 * slot as i32;
                    let y0 = y1 - 4;
                    rects.push(Rectangle::new([(low, y0), (*ratio, y1)], fill));
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
        // Over the bars, so it shows where they cross it.
        chart.draw_series(LineSeries::new(
            [(1.0, 0), (1.0, total)],
            BLACK.stroke_width(2),
        ))?;
        draw_legend(&legend, self.baseline, &contenders)
    }
}

/// A panel's legend, in its own area so no bar runs under it.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    baseline: &str,
    contenders: &[&'static str],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let (x, top) = (10, 60);
    area.draw(&PathElement::new(
        [(x, top), (x + 16, top)],
        BLACK.stroke_width(2),
    ))?;
    area.draw(&Text::new(
        format!("1× = {baseline}"),
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
