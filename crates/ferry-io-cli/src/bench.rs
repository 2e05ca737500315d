//! `ferry bench`: the flags of the subcommand turned into a run of the
//! `ferry-io-bench` harness, and its report written where they ask.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use ferry_io_bench::progress::ProgressLine;
use ferry_io_bench::{chart, summary, Bench, Preset, Scenario};

use crate::flags::BenchFlags;
use crate::messages::{describe, Failure};

/// Runs the scenarios `flags` name (all by default) and prints the tables
/// on stdout, the JSON and the chart into their files.
///
/// # Errors
///
/// An unknown scenario, or an output file that cannot be created, before
/// anything runs (exit 2); a run that failed or moved the wrong amount, or
/// output that cannot be written (exit 1).
pub fn run(flags: BenchFlags) -> Result<(), Failure> {
    let scenarios = flags
        .scenarios
        .iter()
        .map(|name| {
            name.parse::<Scenario>()
                .map_err(|why| Failure::input(format!("unknown scenario {name:?}"), why))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Created before the run, so a typo in a path costs nothing.
    let json = create(flags.json.as_deref(), "--json")?;
    let svg = create(flags.svg.as_deref(), "--svg")?;
    let ferry = std::env::current_exe()
        .map_err(|err| Failure::input("cannot find the ferry binary", describe(&err)))?;

    let preset = flags.size.unwrap_or(if flags.quick {
        Preset::Quick
    } else {
        Preset::Full
    });
    let mut bench = Bench::new(ferry, preset);
    if !scenarios.is_empty() {
        bench.scenarios = scenarios;
    }
    let mut progress = ProgressLine::stderr();
    let report = bench.run(|place| progress.show(place));
    progress.finish();
    let report = report.map_err(|err| Failure::Transfer(format!("bench: {err}")))?;

    let tables = if flags.markdown {
        summary::markdown(&report)
    } else {
        summary::text(&report)
    };
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(tables.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| Failure::Transfer(format!("cannot write the tables: {}", describe(&err))))?;
    if let Some((path, file)) = json {
        let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default() + "\n";
        write(path, file, &text)?;
    }
    if let Some((path, file)) = svg {
        let drawing = chart::svg(&report)
            .map_err(|err| Failure::Transfer(format!("cannot draw the chart: {err}")))?;
        write(path, file, &drawing)?;
    }
    Ok(())
}

/// Creates the file `flag` names, if it names one.
fn create<'a>(path: Option<&'a Path>, flag: &str) -> Result<Option<(&'a Path, File)>, Failure> {
    path.map(|path| {
        File::create(path).map(|file| (path, file)).map_err(|err| {
            Failure::input(
                format!("bad {flag} {:?}", path.display().to_string()),
                describe(&err),
            )
        })
    })
    .transpose()
}

fn write(path: &Path, mut file: File, text: &str) -> Result<(), Failure> {
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| {
            Failure::Transfer(format!(
                "cannot write {}: {}",
                path.display(),
                describe(&err)
            ))
        })
}
