//! The chart draws the copies and the relays in panels of their own, on
//! log axes: ratios from 0.07× to 20× all get bars one can read.

mod common;

use std::time::Duration;

use common::svg_texts;

use ferry_io_bench::bench_report::{Figures, ScenarioReport};
use ferry_io_bench::machine::Machine;
use ferry_io_bench::report::{Run, WorkloadReport};
use ferry_io_bench::serve::{Relay, ServeLoad, ServeReport, ServeRun};
use ferry_io_bench::{chart, BenchReport, Flavor, Implementation, Measurement, Preset, Scenario};
use ferry_io_bench::{Targets, Workload};

/// One second's measurement of `per_second`.
fn measured(per_second: f64) -> Measurement {
    Measurement {
        amount: per_second as u64,
        elapsed: Duration::from_secs(1),
        latency: None,
    }
}

fn copy(workload: Workload, ratios: &[(Implementation, f64)]) -> ScenarioReport {
    let mut runs = vec![Run::new(0, 0, Implementation::Tokio, &measured(1e9))];
    let mut implementations = vec![Implementation::Tokio];
    for &(imp, ratio) in ratios {
        runs.push(Run::new(0, runs.len(), imp, &measured(ratio * 1e9)));
        implementations.push(imp);
    }
    let report = WorkloadReport::new(workload, 1 << 30, implementations, runs, Targets::default());
    ScenarioReport {
        scenario: Scenario::Copy(workload),
        figures: Figures::Copy(report),
    }
}

fn serve(load: ServeLoad, ratios: &[(Relay, f64)]) -> ScenarioReport {
    let mut runs = vec![ServeRun::new(0, 0, Relay::Direct, &measured(1e9))];
    let mut relays = vec![Relay::Direct];
    for &(relay, ratio) in ratios {
        runs.push(ServeRun::new(0, runs.len(), relay, &measured(ratio * 1e9)));
        relays.push(relay);
    }
    ScenarioReport {
        scenario: Scenario::Serve(load),
        figures: Figures::Serve(ServeReport::new(load, 1 << 30, relays, runs, Vec::new())),
    }
}

/// The bars of the SVG: filled rectangles left of the legends, as
/// (y, width) in pixels. (Legend swatches are 16 px wide, at the right.)
fn bars(svg: &str) -> Vec<(f64, f64)> {
    let document = roxmltree::Document::parse(svg).expect("well-formed SVG");
    let number = |node: &roxmltree::Node, name: &str| -> f64 {
        node.attribute(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    document
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter(|n| !matches!(n.attribute("fill"), None | Some("#FFFFFF") | Some("none")))
        .filter(|n| number(n, "x") < 900.0)
        .map(|n| (number(&n, "y"), number(&n, "width")))
        .collect()
}

#[test]
fn ratios_far_apart_all_get_readable_bars_on_log_axes() {
    use Implementation::{Ferry, FerryZeroCopy, Std};
    let scenarios = vec![
        copy(Workload::MemFill, &[(Ferry, 0.97), (Std, 1.03)]),
        copy(
            Workload::FileTcp,
            &[(Ferry, 11.9), (FerryZeroCopy, 19.4), (Std, 5.4)],
        ),
        serve(
            ServeLoad::Flows(1),
            &[
                (Relay::Ferry, 0.31),
                (Relay::Socat, 0.07),
                (Relay::Haproxy, 0.13),
            ],
        ),
        serve(
            ServeLoad::PingPong,
            &[(Relay::Ferry, 0.43), (Relay::Nginx, 0.41)],
        ),
    ];
    let report = BenchReport::new(
        Machine::detect(),
        Preset::Quick,
        3,
        Flavor::default(),
        Duration::from_secs(20),
        scenarios,
    );
    let svg = chart::svg(&report).expect("svg");

    let texts = svg_texts(&svg);
    for caption in [
        "Copies in this process × tokio",
        "Relays in processes of their own × direct",
    ] {
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with(caption) && t.contains("log scale")),
            "a panel titled {caption:?}: {texts:?}"
        );
    }
    for label in ["1×", "0.05×", "10×"] {
        assert!(
            texts.iter().any(|t| t == label),
            "axis labelled {label}: {texts:?}"
        );
    }
    for value in ["0.97×", "19.40×", "0.07×", "0.41×"] {
        assert!(texts.iter().any(|t| t == value), "bar labelled {value}");
    }

    let bars = bars(&svg);
    assert_eq!(bars.len(), 10, "a bar per contender and scenario: {bars:?}");
    // The copies' five bars come first, above the relays' five.
    let (copies, relays) = bars.split_at(5);
    let lowest_copy = copies.iter().map(|b| b.0).fold(0.0, f64::max);
    assert!(relays.iter().all(|b| b.0 > lowest_copy), "{bars:?}");
    // No sliver: on a linear axis to 20×, 0.07× was under 4 px.
    for &(y, width) in &bars {
        assert!(width >= 40.0, "bar at y {y} only {width} px long");
    }
    // Longer for a larger ratio, within each panel.
    let by_ratio = |panel: &[(f64, f64)], ratios: &[f64]| {
        let mut pairs: Vec<(f64, f64)> = ratios
            .iter()
            .copied()
            .zip(panel.iter().map(|b| b.1))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        pairs.windows(2).all(|w| w[0].1 < w[1].1)
    };
    // Drawn contender by contender, in order of first appearance.
    assert!(
        by_ratio(copies, &[0.97, 11.9, 1.03, 5.4, 19.4]),
        "{copies:?}"
    );
    assert!(
        by_ratio(relays, &[0.31, 0.43, 0.07, 0.13, 0.41]),
        "{relays:?}"
    );
}
