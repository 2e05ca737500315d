//! `bench-matrix`: issue 9's matrix, every workload × {tokio, ferry at 8 KiB,
//! 64 KiB, 256 KiB, 1 MiB, ferry's default}, with the default's ratio to the
//! best and to tokio, flagged when below target.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ferry_io_bench::pool::{pool, Saved};
use ferry_io_bench::progress::ProgressLine;
use ferry_io_bench::{table, Flavor, Implementation, Preset, Report, Runner, Sizes, Workload};

/// Runs every workload with tokio, ferry at fixed sizes and ferry's default,
/// interleaved round by round, and prints medians and ratios.
///
/// Figures are only comparable within one run: run it on a quiet machine.
#[derive(Debug, Parser)]
#[command(name = "bench-matrix", version)]
struct Args {
    /// Runs of tens of milliseconds instead of 0.3–1 s: a smoke run.
    #[arg(long)]
    quick: bool,

    /// Rounds per workload; every implementation runs once per round.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,

    /// Runs the copies on a current-thread runtime instead of a multi-thread one.
    #[arg(long, conflicts_with = "workers")]
    current_thread: bool,

    /// Worker threads of the multi-thread runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    workers: u64,

    /// Prints a markdown table instead of the plain-text one.
    #[arg(long)]
    markdown: bool,

    /// Writes every figure (each run, medians, ratios, machine) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Bytes the slice-vec source holds (default: 512 MiB, or 64 MiB with --quick).
    #[arg(long, value_name = "BYTES")]
    slice_size: Option<u64>,

    /// Runs these implementations too (where they apply): std, ferry-copier,
    /// ferry-zero-copy, ferry-splice.
    #[arg(long, value_name = "IMPL", value_delimiter = ',')]
    also: Vec<Implementation>,

    /// Exits with status 3 when ferry's default misses a target in any workload.
    #[arg(long)]
    strict: bool,

    /// Runs nothing: reads runs saved with --json and reports them as one,
    /// their rounds pooled (each ratio is still taken within a round).
    #[arg(
        long,
        value_name = "FILE",
        num_args = 1..,
        conflicts_with_all = ["quick", "rounds", "current_thread", "workers", "slice_size", "also", "workloads"]
    )]
    pool: Vec<PathBuf>,

    /// The workloads to run (default: issue 9's eight): mem-fill,
    /// mem-pattern, slice-vec, duplex, unix-recv, tcp-recv, tcp-relay,
    /// ping-pong; also file-file, file-tcp.
    #[arg(value_name = "WORKLOAD")]
    workloads: Vec<Workload>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let report = if args.pool.is_empty() {
        run(&args)
    } else {
        pooled(&args.pool)
    };
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            eprintln!("bench-matrix: {err}");
            return ExitCode::from(1);
        }
    };

    if args.markdown {
        print!("{}", table::markdown(&report));
    } else {
        print!("{}", table::text(&report));
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
        if let Err(err) = std::fs::write(path, json + "\n") {
            eprintln!("bench-matrix: cannot write {}: {err}", path.display());
            return ExitCode::from(1);
        }
    }
    if args.strict && !report.meets_targets() {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}

/// Runs the matrix as `args` say.
fn run(args: &Args) -> Result<Report, String> {
    let workloads = if args.workloads.is_empty() {
        Workload::MATRIX.to_vec()
    } else {
        args.workloads.clone()
    };
    let mut implementations = Implementation::MATRIX.to_vec();
    for imp in &args.also {
        if !implementations.contains(imp) {
            implementations.push(*imp);
        }
    }
    let mut sizes = Sizes::preset(if args.quick {
        Preset::Quick
    } else {
        Preset::Full
    });
    if let Some(bytes) = args.slice_size {
        sizes = sizes.with(Workload::SliceVec, bytes);
    }

    let mut runner = Runner::new(workloads, implementations);
    runner.rounds = args.rounds as usize;
    runner.sizes = sizes;
    runner.flavor = if args.current_thread {
        Flavor::CurrentThread
    } else {
        Flavor::MultiThread {
            workers: args.workers as usize,
        }
    };

    let mut progress = ProgressLine::stderr();
    let report = runner.run(|step| progress.show(&step.into()));
    progress.finish();
    report.map_err(|err| err.to_string())
}

/// Reads the runs saved in `paths` and pools them.
fn pooled(paths: &[PathBuf]) -> Result<Report, String> {
    let saved = paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map_err(|err| err.to_string())
                .and_then(|json| Saved::from_json(&json))
                .map_err(|err| format!("{}: {err}", path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    pool(&saved)
}
