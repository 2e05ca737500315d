//! Every workload, with every implementation that applies, moves exactly the
//! asked amount; the others are refused rather than run wrongly.

use std::io;

use ferry_io_bench::{Implementation, Sizes, Unit, Workload};

async fn every_pair_moves_the_asked_amount(sizes: Sizes) {
    for workload in Workload::ALL {
        let amount = sizes.amount(workload);
        let mut prepared = workload.prepare(amount).expect("prepare");
        for imp in Implementation::ALL {
            let result = prepared.run(imp).await;
            if workload.supports(imp) {
                let measured = result.unwrap_or_else(|err| panic!("{workload} with {imp}: {err}"));
                assert_eq!(measured.amount, amount, "{workload} with {imp}");
                assert_eq!(
                    measured.per_second() > 0.0,
                    amount > 0,
                    "{workload} with {imp}"
                );
                assert_eq!(
                    measured.latency.is_some(),
                    workload.unit() == Unit::RoundTrips,
                    "{workload} with {imp}: latency only for round trips"
                );
            } else {
                let err =
                    result.expect_err("an implementation that does not apply must be refused");
                assert_eq!(
                    err.kind(),
                    io::ErrorKind::Unsupported,
                    "{workload} with {imp}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_and_implementation_moves_exactly_the_asked_bytes() {
    every_pair_moves_the_asked_amount(Sizes::tiny()).await;
}

/// Amounts that end inside the first chunk, on a chunk boundary, and at
/// zero (one to three round trips).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_amounts_are_moved_exactly() {
    for amount in [1, ferry_io_bench::CHUNK as u64, 0] {
        let sizes = Sizes::from_fn(|w| match w.unit() {
            Unit::RoundTrips | Unit::Connections => amount.clamp(1, 3),
            Unit::Bytes => amount,
        });
        every_pair_moves_the_asked_amount(sizes).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_workload_runs_on_a_current_thread_runtime() {
    every_pair_moves_the_asked_amount(Sizes::tiny()).await;
}

/// The slice-vec destination is handed back and reused: a second run starts empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_runs_of_one_prepared_workload_stay_exact() {
    let mut prepared = Workload::SliceVec.prepare(300_001).expect("prepare");
    for imp in [
        Implementation::Tokio,
        Implementation::Std,
        Implementation::Ferry,
        Implementation::Tokio,
    ] {
        assert_eq!(prepared.run(imp).await.expect("run").amount, 300_001);
    }
}
