//! The runner moves each implementation through every place in the round,
//! and
//! its report (tables and JSON) covers every workload and every run.

use ferry_io_bench::{round_order, table, Flavor, Implementation, Runner, Sizes, Workload};

#[test]
fn runner_moves_every_implementation_through_every_place() {
    let given = [
        Implementation::Tokio,
        Implementation::Ferry8K,
        Implementation::Ferry,
    ];
    let mut runner = Runner::new(vec![Workload::MemFill], given.to_vec());
    runner.sizes = Sizes::tiny();
    runner.rounds = 6;
    let mut seen = Vec::new();
    let report = runner
        .run(|step| seen.push((step.round, step.implementation)))
        .expect("run");

    use Implementation::{Ferry, Ferry8K, Tokio};
    let expected = [
        [Tokio, Ferry8K, Ferry],
        [Ferry, Ferry8K, Tokio],
        [Ferry8K, Ferry, Tokio],
        [Tokio, Ferry, Ferry8K],
        [Ferry, Tokio, Ferry8K],
        [Ferry8K, Tokio, Ferry],
    ];
    let runs = &report.workloads[0].runs;
    assert_eq!(runs.len(), 6 * given.len());
    for (round, expected) in expected.iter().enumerate() {
        let order: Vec<_> = runs
            .iter()
            .filter(|r| r.round == round)
            .map(|r| r.implementation)
            .collect();
        assert_eq!(&order, expected, "round {round}");
        assert_eq!(order, round_order(&given, round));
        let positions: Vec<_> = runs
            .iter()
            .filter(|r| r.round == round)
            .map(|r| r.position)
            .collect();
        assert_eq!(positions, [0, 1, 2]);
    }
    // Each implementation ran twice in each place.
    for implementation in given {
        let mut places = [0; 3];
        for run in runs.iter().filter(|r| r.implementation == implementation) {
            places[run.position] += 1;
        }
        assert_eq!(places, [2, 2, 2], "{implementation:?}");
    }
    // Progress was told about every run, in the order made.
    let made: Vec<_> = runs.iter().map(|r| (r.round, r.implementation)).collect();
    assert_eq!(seen, made);
}

#[test]
fn json_has_every_workload_with_its_runs_summaries_and_comparison() {
    let mut runner = Runner::new(
        Workload::ALL.to_vec(),
        vec![
            Implementation::Tokio,
            Implementation::Ferry8K,
            Implementation::Ferry,
            Implementation::Std,
        ],
    );
    runner.sizes = Sizes::tiny();
    runner.rounds = 2;
    runner.flavor = Flavor::CurrentThread;
    let report = runner.run(|_| {}).expect("run");
    let json = report.to_json();

    let workloads = json["workloads"].as_array().expect("workloads");
    let names: Vec<_> = workloads
        .iter()
        .map(|w| w["workload"].as_str().expect("name"))
        .collect();
    let expected: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
    assert_eq!(names, expected);
    for (w, workload) in workloads.iter().zip(Workload::ALL) {
        let applicable = runner
            .implementations
            .iter()
            .filter(|&&i| workload.supports(i))
            .count();
        assert_eq!(
            w["runs"].as_array().expect("runs").len(),
            2 * applicable,
            "{workload}"
        );
        assert_eq!(w["amount"], Sizes::tiny().amount(workload), "{workload}");
        for run in w["runs"].as_array().expect("runs") {
            assert!(
                run["per_second"].as_f64().expect("rate") > 0.0,
                "{workload}"
            );
        }
        let summaries = w["summaries"].as_array().expect("summaries");
        assert_eq!(summaries.len(), applicable, "{workload}");
        for s in summaries {
            assert!(s["spread"]["median"].as_f64().is_some(), "{workload}");
            assert!(s["to_tokio"].as_f64().is_some(), "{workload}");
        }
        let comparison = &w["comparison"];
        for ratio in ["default_to_best", "default_to_tokio"] {
            let ratio = &comparison[ratio];
            let median = ratio["median"].as_f64().expect("median");
            let (low, high) = (ratio["low"].as_f64(), ratio["high"].as_f64());
            assert!(
                low.expect("low") <= median && median <= high.expect("high"),
                "{workload}: {ratio}"
            );
            assert_eq!(ratio["rounds"], 2, "{workload}");
        }
        assert!(comparison["meets_targets"].is_boolean(), "{workload}");
    }
    assert_eq!(json["workloads"][7]["unit"], "round-trips");
    assert!(json["workloads"][7]["summaries"][0]["latency_p99_us"]
        .as_f64()
        .is_some());
    assert_eq!(json["runtime"], "current-thread");
    assert_eq!(json["rounds"], 2);
    assert!(json["machine"]["cores"].as_u64().expect("cores") >= 1);
    assert!(json["machine"]["date"].is_string());

    let text = table::text(&report);
    let markdown = table::markdown(&report);
    for tables in [&text, &markdown] {
        assert!(
            tables.contains(ferry_io_bench::ratio::READING),
            "bench-matrix says how to read a ratio"
        );
    }
    for workload in Workload::ALL {
        assert!(text.contains(workload.name()), "text names {workload}");
        assert!(
            markdown.contains(&format!("| {workload} |")),
            "markdown names {workload}"
        );
    }
}
