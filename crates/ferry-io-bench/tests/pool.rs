//! Saved runs of the matrix pool into one report: rounds one after another,
//! every run kept, ratios taken again; runs that are not alike, and files
//! that are not saved runs, are refused with one line.

use std::path::Path;
use std::process::Command;

use ferry_io_bench::pool::{pool, Saved};
use ferry_io_bench::{Implementation, Report, Runner, Sizes, Workload};

fn tiny_run(workloads: Vec<Workload>, rounds: usize) -> Report {
    let mut runner = Runner::new(workloads, Implementation::MATRIX.to_vec());
    runner.sizes = Sizes::tiny();
    runner.rounds = rounds;
    runner.run(|_| {}).expect("run")
}

fn saved(report: &Report) -> Saved {
    Saved::from_json(&report.to_json().to_string()).expect("saved run reads back")
}

#[test]
fn pooled_rounds_follow_each_other_and_keep_every_run() {
    let (first, second) = (
        tiny_run(vec![Workload::MemFill, Workload::Duplex], 2),
        tiny_run(vec![Workload::MemFill, Workload::Duplex], 3),
    );
    let pooled = pool(&[saved(&first), saved(&second)]).expect("alike runs pool");
    assert_eq!(pooled.rounds, 5);
    assert_eq!(
        pooled.machine.date,
        format!("{}, {}", first.machine.date, second.machine.date)
    );
    for (index, workload) in pooled.workloads.iter().enumerate() {
        let (a, b) = (&first.workloads[index].runs, &second.workloads[index].runs);
        assert_eq!(workload.runs.len(), a.len() + b.len());
        // The first run's rounds as they were, the second's after them,
        // each run's rate unchanged.
        for (pooled_run, run) in workload.runs.iter().zip(a.iter().chain(b)) {
            let offset = if pooled_run.round < 2 { 0 } else { 2 };
            assert_eq!(pooled_run.round, run.round + offset);
            assert_eq!(pooled_run.implementation, run.implementation);
            assert_eq!(pooled_run.per_second, run.per_second);
        }
        for imp in Implementation::MATRIX {
            let rounds: Vec<usize> = workload
                .runs
                .iter()
                .filter(|r| r.implementation == imp)
                .map(|r| r.round)
                .collect();
            assert_eq!(rounds, [0, 1, 2, 3, 4], "{imp} in {}", workload.workload);
        }
        let comparison = workload.comparison.expect("the default and tokio ran");
        assert_eq!(comparison.default_to_tokio.rounds, 5);
    }
}

#[test]
fn runs_that_are_not_alike_do_not_pool() {
    let one = saved(&tiny_run(vec![Workload::MemFill], 1));
    let other = saved(&tiny_run(vec![Workload::Duplex], 1));
    let err = pool(&[one.clone(), other]).unwrap_err();
    assert!(err.contains("run 2 differs from run 1"), "{err}");

    let mut smaller = one.clone();
    smaller.workloads[0].amount /= 2;
    assert!(pool(&[one.clone(), smaller]).is_err());

    let mut single = one.clone();
    single.runtime = ferry_io_bench::Flavor::CurrentThread;
    assert!(pool(&[one, single]).unwrap_err().contains("runtime"));

    assert!(pool(&[]).is_err());
}

/// Implementations and workloads are saved by name and read back by name;
/// a name this harness does not know is refused, naming it and the known ones.
#[test]
fn saved_names_read_back_and_unknown_ones_are_refused() {
    let report = tiny_run(vec![Workload::MemFill], 1);
    let json = report.to_json();
    assert_eq!(json["workloads"][0]["workload"], "mem-fill");
    assert_eq!(json["workloads"][0]["implementations"][0], "tokio");
    let back = saved(&report);
    assert_eq!(back.workloads[0].workload, Workload::MemFill);
    assert_eq!(back.workloads[0].implementations, Implementation::MATRIX);

    let text = json.to_string();
    let unknown_imp = text.replace("\"ferry-8k\"", "\"ferry-2m\"");
    let err = Saved::from_json(&unknown_imp).unwrap_err();
    assert!(
        err.contains("unknown implementation `ferry-2m`: expected one of tokio, ferry-8k,"),
        "{err}"
    );
    let unknown_workload = text.replace("\"mem-fill\"", "\"mem-copy\"");
    let err = Saved::from_json(&unknown_workload).unwrap_err();
    assert!(
        err.contains("unknown workload `mem-copy`: expected one of mem-fill,"),
        "{err}"
    );
}

fn bench_matrix(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bench-matrix"))
        .args(args)
        .output()
        .expect("bench-matrix runs")
}

fn write(dir: &Path, name: &str, report: &Report) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, report.to_json().to_string()).expect("write");
    path
}

#[test]
fn the_command_pools_saved_files_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.json", &tiny_run(vec![Workload::MemFill], 2));
    let b = write(dir.path(), "b.json", &tiny_run(vec![Workload::MemFill], 2));
    let out = dir.path().join("pooled.json");

    let pooled = bench_matrix(&[
        "--pool".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--markdown".as_ref(),
        "--json".as_ref(),
        out.as_os_str(),
    ]);
    assert!(pooled.status.success(), "{pooled:?}");
    let table = String::from_utf8(pooled.stdout).unwrap();
    assert!(table.contains("medians of 4 rounds"), "{table}");
    assert!(table.contains("| mem-fill |"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["rounds"], 4);
    assert_eq!(
        json["workloads"][0]["runs"].as_array().unwrap().len(),
        4 * Implementation::MATRIX.len()
    );

    let not_a_run = dir.path().join("not-a-run.json");
    std::fs::write(&not_a_run, "{\"rounds\": 1}").unwrap();
    for bad in [dir.path().join("missing.json"), not_a_run] {
        let refused = bench_matrix(&["--pool".as_ref(), a.as_os_str(), bad.as_os_str()]);
        assert_eq!(refused.status.code(), Some(1));
        let stderr = String::from_utf8(refused.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("bench-matrix: "), "{stderr}");
        assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
        assert!(refused.stdout.is_empty());
    }
}
