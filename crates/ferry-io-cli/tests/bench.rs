//! `ferry bench`: every scenario at the tiny size (`--size tiny`, hidden:
//! counts are checked, figures mean nothing) into the tables, the JSON and
//! the SVG; bad scenarios and output paths refused before anything runs.

mod common;

use std::time::Duration;

use common::*;
use ferry_io_bench::{Preset, Scenario, Sizes};

/// Generous: the tiny run takes a few seconds in a debug build.
const BENCH_DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn bench_runs_every_scenario_into_tables_json_and_svg() {
    let dir = TempDir::new("bench");
    let (json_path, svg_path) = (dir.path("bench.json"), dir.path("bench.svg"));
    let done = Ferry::spawn(&[
        "bench", "--size", "tiny", "--json", &json_path, "--svg", &svg_path,
    ])
    .wait(BENCH_DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let tables = String::from_utf8(done.stdout).expect("utf-8 tables");
    assert!(tables.starts_with("ferry bench, tiny run"), "{tables}");
    // The header says how a ratio is taken, and that it can differ from
    // the ratio of the medians beside it.
    let note = tables.lines().nth(1).expect("a second line");
    assert!(
        note.contains("median of the per-round ratios")
            && note.contains("can differ from the ratio of the medians"),
        "{tables}"
    );
    let last = format!("bench: [{0}/{0}] scaling", Scenario::ALL.len());
    assert!(done.stderr.contains(&last), "{}", done.stderr);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json file"))
            .expect("well-formed JSON");
    let scenarios = json["scenarios"].as_array().expect("scenarios");
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["scenario"].as_str().expect("name"))
        .collect();
    let expected: Vec<String> = Scenario::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names, expected);
    for (entry, scenario) in scenarios.iter().zip(Scenario::ALL) {
        let runs = entry["runs"].as_array().expect("runs");
        assert!(!runs.is_empty(), "{scenario}");
        match scenario {
            Scenario::Copy(workload) => {
                let amount = Sizes::tiny().amount(workload);
                assert_eq!(entry["amount"], amount, "{scenario}");
                assert!(runs.iter().all(|r| r["amount"] == amount), "{scenario}");
                assert!(tables.contains(&scenario.name()), "tables name {scenario}");
            }
            Scenario::Serve(load) => {
                let amount = load.amount(Preset::Tiny);
                assert!(runs.iter().all(|r| r["amount"] == amount), "{scenario}");
                let relays = entry["relays"].as_array().expect("relays");
                assert_eq!(relays[..2], ["direct", "ferry"], "{scenario}");
                for relay in ["socat", "haproxy", "nginx"] {
                    let ran = relays.iter().any(|r| r == relay);
                    let skipped = entry["skipped"]
                        .as_array()
                        .expect("skipped")
                        .iter()
                        .any(|s| s["relay"] == relay);
                    assert!(ran != skipped, "{scenario}: {relay} runs or is skipped");
                    if skipped {
                        assert!(
                            tables.contains(&format!("Note: {relay} skipped")),
                            "{tables}"
                        );
                    }
                }
                assert!(tables.contains(&scenario.name()), "tables name {scenario}");
            }
            Scenario::Scaling => {
                assert_eq!(entry["relay"], "ferry");
                for run in runs {
                    let bytes = run["bytes"].as_u64().expect("bytes");
                    let round_trips = run["round_trips"].as_u64().expect("round trips");
                    assert_eq!(bytes, 2 * round_trips * 16 * 1024, "{run}");
                    // Read from ferry's /proc entries while it ran.
                    assert!(run["rss_per_connection"].is_number(), "{run}");
                    assert!(run["cpu_seconds_per_gb"].is_number(), "{run}");
                }
                assert!(
                    tables.contains("Scaling through one ferry --serve"),
                    "{tables}"
                );
            }
        }
    }

    let svg = std::fs::read_to_string(&svg_path).expect("svg file");
    let document = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for name in &expected {
        assert!(
            texts
                .iter()
                .any(|t| t == name || t.starts_with(&format!("{name}:"))),
            "the chart names {name}"
        );
    }
}

#[test]
fn bench_runs_only_the_scenarios_named_in_order() {
    let dir = TempDir::new("bench-some");
    let json_path = dir.path("bench.json");
    let done = Ferry::spawn(&[
        "bench",
        "--size",
        "tiny",
        "--markdown",
        "--json",
        &json_path,
        "tcp-recv",
        "mem-fill",
    ])
    .wait(BENCH_DEADLINE);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("json file"))
            .expect("well-formed JSON");
    let names: Vec<&str> = json["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| s["scenario"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["tcp-recv", "mem-fill"]);
    let tables = String::from_utf8(done.stdout).expect("utf-8");
    assert!(tables.contains("| tcp-recv | GB/s |"), "{tables}");
    assert!(!tables.contains("serve-1"), "{tables}");
}

#[test]
fn bench_refuses_an_unknown_scenario_before_running() {
    let done = run(&["bench", "--quick", "tcp-recv", "fast"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    assert!(
        done.stderr
            .starts_with("ferry: unknown scenario \"fast\": expected one of mem-fill,"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("scaling"), "{}", done.stderr);
    assert!(done.stdout.is_empty());
}

#[test]
fn bench_refuses_an_output_file_it_cannot_create_before_running() {
    let dir = TempDir::new("bench-bad");
    for flag in ["--json", "--svg"] {
        let path = dir.path("missing/out");
        let done = run(&["bench", "--quick", flag, &path]);
        assert_eq!(done.code, Some(2), "{}", done.stderr);
        assert!(
            done.stderr.starts_with(&format!(
                "ferry: bad {flag} \"{path}\": no such file or directory"
            )),
            "{}",
            done.stderr
        );
        assert!(
            !done.stderr.contains("bench: ["),
            "nothing ran: {}",
            done.stderr
        );
    }
}

#[test]
fn bench_help_lists_every_scenario() {
    let done = run(&["bench", "--help"]);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let help = String::from_utf8(done.stdout).expect("utf-8");
    // Each scenario on a line of its own: its name, at least two spaces,
    // then what it measures, every description starting in one column.
    let mut columns = Vec::new();
    for scenario in Scenario::ALL {
        let name = scenario.name();
        let line = help
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("help lists {name} apart from its description:\n{help}"));
        let about = scenario.about();
        assert!(line.ends_with(about), "{line:?}");
        let between = &line[2 + name.len()..line.len() - about.len()];
        assert!(
            between.len() >= 2 && between.chars().all(|c| c == ' '),
            "{line:?}"
        );
        assert!(line.starts_with(&format!("  {name}")), "{line:?}");
        columns.push(line.len() - about.len());
    }
    columns.dedup();
    assert_eq!(columns.len(), 1, "descriptions aligned:\n{help}");
    assert!(
        help.contains("--quick") && help.contains("--svg <FILE>"),
        "{help}"
    );
    assert!(!help.contains("--size"), "--size is for tests: {help}");
}
