//! The futures-io front ends (`ferry_io::futures`, `Copier::futures`), run on
//! smol's executor with no tokio runtime anywhere: one file per behaviour
//! family, in one test binary.

#[path = "../support/mod.rs"]
mod support;

mod cooperation;
mod copier;
mod flush_on_stall;
mod half_close;
mod properties;
