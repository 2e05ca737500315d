//! Fuzzes a two-way copy: `ferry_io::copy_bidirectional`,
//! `copy_bidirectional_with_sizes` and `Copier::bidirectional`,
//! between scripted ends built from the input; see `tests/fuzz_harness`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

fuzz_target!(|input: &[u8]| {
    if let Err(why) = fuzz_harness::run_relay(input) {
        panic!("{why}");
    }
});
