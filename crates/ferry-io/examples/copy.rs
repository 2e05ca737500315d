//! Copies SRC to DST with `ferry_io::copy` and reports the byte count on stderr.
//!
//! `-` means stdin (as SRC) or stdout (as DST):
//!
//! ```text
//! cargo run --release --example copy -- Cargo.toml -
//! ```

use std::process::ExitCode;

use tokio::io::{AsyncRead, AsyncWrite};

async fn open_source(path: &str) -> std::io::Result<Box<dyn AsyncRead + Unpin>> {
    Ok(match path {
        "-" => Box::new(tokio::io::stdin()),
        path => Box::new(tokio::fs::File::open(path).await?),
    })
}

async fn open_destination(path: &str) -> std::io::Result<Box<dyn AsyncWrite + Unpin>> {
    Ok(match path {
        "-" => Box::new(tokio::io::stdout()),
        path => Box::new(tokio::fs::File::create(path).await?),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: copy SRC DST   (\"-\" is stdin or stdout)");
        return ExitCode::from(2);
    };
    let mut reader = match open_source(src).await {
        Ok(reader) => reader,
        Err(err) => {
            eprintln!("copy: cannot open {src:?}: {err}");
            return ExitCode::from(2);
        }
    };
    let mut writer = match open_destination(dst).await {
        Ok(writer) => writer,
        Err(err) => {
            eprintln!("copy: cannot create {dst:?}: {err}");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    match ferry_io::copy(&mut reader, &mut writer).await {
        Ok(n) => {
            eprintln!("copy: {n} bytes in {:.3?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("copy: {src} -> {dst} failed: {err}");
            ExitCode::FAILURE
        }
    }
}
