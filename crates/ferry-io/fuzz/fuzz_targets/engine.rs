//! Fuzzes a one-way copy through `AsyncRead`: `ferry_io::copy`, `CopyBuffer::poll_copy`
//! (default or fixed size) and `Copier::copy` (with or without a byte limit),
//! between scripted ends built from the input; see `tests/fuzz_harness`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_harness/mod.rs"]
mod fuzz_harness;

fuzz_target!(|input: &[u8]| {
    if let Err(why) = fuzz_harness::run_engine(input) {
        panic!("{why}");
    }
});
