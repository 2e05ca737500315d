//! `Bench` runs every scenario at the tiny size into one report whose
//! JSON, tables and SVG name every scenario and carry exact amounts.

mod common;

use std::path::Path;

use common::svg_texts;

use ferry_io_bench::serve::Relay;
use ferry_io_bench::{chart, summary, Bench, Preset, Scenario, Sizes, Workload};

#[test]
fn every_scenario_reaches_the_json_tables_and_chart() {
    let mut bench = Bench::new(Path::new("/nonexistent/ferry").into(), Preset::Tiny);
    // Without a ferry binary: every relay but ferry's, scaling direct.
    bench.relays = vec![Relay::Direct, Relay::Socat, Relay::Haproxy, Relay::Nginx];
    bench.scaling_through = Relay::Direct;
    let mut places = Vec::new();
    let report = bench.run(|place| places.push(place.clone())).expect("run");

    assert_eq!(report.scenarios.len(), Scenario::ALL.len());
    assert!(places.iter().all(|p| p.count == Scenario::ALL.len()));
    let json = report.to_json();
    assert_eq!(json["preset"], "tiny");
    assert_eq!(json["rounds"], 1);
    let scenarios = json["scenarios"].as_array().expect("scenarios");
    for (entry, scenario) in scenarios.iter().zip(Scenario::ALL) {
        assert_eq!(entry["scenario"], scenario.name());
        match scenario {
            Scenario::Copy(workload) => {
                assert_eq!(entry["kind"], "copy");
                assert_eq!(
                    entry["amount"],
                    Sizes::tiny().amount(workload),
                    "{scenario}"
                );
                for run in entry["runs"].as_array().expect("runs") {
                    assert_eq!(run["amount"], Sizes::tiny().amount(workload), "{scenario}");
                }
            }
            Scenario::Serve(load) => {
                assert_eq!(entry["kind"], "serve");
                for run in entry["runs"].as_array().expect("runs") {
                    assert_eq!(run["amount"], load.amount(Preset::Tiny), "{scenario}");
                }
            }
            Scenario::Scaling => {
                assert_eq!(entry["kind"], "scaling");
                assert!(!entry["runs"].as_array().expect("runs").is_empty());
            }
        }
    }
    // The file workloads ran zero-copy and std too.
    let file_file = &scenarios[8];
    assert_eq!(file_file["scenario"], Workload::FileFile.name());
    let ran: Vec<&str> = file_file["implementations"]
        .as_array()
        .expect("implementations")
        .iter()
        .map(|i| i.as_str().expect("name"))
        .collect();
    assert_eq!(ran, ["tokio", "ferry", "ferry-zero-copy", "std"]);

    let text = summary::text(&report);
    let markdown = summary::markdown(&report);
    // Under the headline, how to read a ratio.
    for tables in [&text, &markdown] {
        assert_eq!(tables.lines().nth(1), Some(ferry_io_bench::ratio::READING));
    }
    for scenario in Scenario::ALL {
        if scenario != Scenario::Scaling {
            assert!(text.contains(&scenario.name()), "text names {scenario}");
            assert!(
                markdown.contains(&format!("| {scenario} |")),
                "markdown names {scenario}"
            );
        }
    }
    assert!(text.contains("Scaling through one direct"), "{text}");
    // Latencies, named by what was timed.
    assert!(
        text.contains("\nserve-ping-pong round trip, median / p99 µs: direct "),
        "{text}"
    );
    assert!(
        text.contains("\nserve-http connection, connect to close, median / p99 µs: direct "),
        "{text}"
    );
    for connections in ["| 1 |", "| 10 |", "| 100 |"] {
        assert!(markdown.contains(connections), "{markdown}");
    }

    let texts = svg_texts(&chart::svg(&report).expect("svg"));
    for scenario in Scenario::ALL {
        let name = scenario.name();
        assert!(
            texts
                .iter()
                .any(|t| t == &name || t.starts_with(&format!("{name}:"))),
            "the chart names {name}"
        );
    }
}
