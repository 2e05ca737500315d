//! Every way a Copier copy can fail names its direction and step and keeps
//! exact counts; the progress handle agrees with the final counts.

mod support;

use std::io;

use ferry_io::{Copier, Direction, Progress, Step};
use proptest::prelude::*;
use support::{run, runtime, script, ScriptedReader, ScriptedWriter};
use tokio::io::Join;

type Side = Join<ScriptedReader, ScriptedWriter>;

/// The one failure injected into a relay.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// A side's reader fails at this fraction of its data.
    Read(Direction, f64),
    /// The destination's writer fails at this fraction of the data.
    Write(Direction, f64),
    Flush(Direction),
    Shutdown(Direction),
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::AToB), Just(Direction::BToA)]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (direction(), 0.0..1.0f64).prop_map(|(d, at)| Fault::Read(d, at)),
        (direction(), 0.0..1.0f64).prop_map(|(d, at)| Fault::Write(d, at)),
        direction().prop_map(Fault::Flush),
        direction().prop_map(Fault::Shutdown),
    ]
}

fn side(
    data: Vec<u8>,
    reads: Vec<support::Step>,
    writes: Vec<support::Step>,
) -> (ScriptedReader, ScriptedWriter) {
    (
        ScriptedReader::new(data, reads),
        ScriptedWriter::new(writes, vec![]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn relay_failures_name_their_step_and_keep_exact_counts(
        (len_a, seed_a) in (1usize..20_000, any::<u64>()),
        (len_b, seed_b) in (1usize..20_000, any::<u64>()),
        fault in fault(),
        reads in script(),
        writes in script(),
    ) {
        let data_a = support::pattern(len_a, seed_a);
        let data_b = support::pattern(len_b, seed_b);
        let (mut reader_a, mut writer_a) = side(data_a.clone(), reads.clone(), writes.clone());
        let (mut reader_b, mut writer_b) = side(data_b.clone(), reads, writes);
        // A direction's source is its reader; its destination is the other side's writer.
        let (expected_direction, expected_step) = match fault {
            Fault::Read(Direction::AToB, at) => { reader_a = reader_a.failing_at((len_a as f64 * at) as usize); (Direction::AToB, Step::Read) }
            Fault::Read(Direction::BToA, at) => { reader_b = reader_b.failing_at((len_b as f64 * at) as usize); (Direction::BToA, Step::Read) }
            Fault::Write(Direction::AToB, at) => { writer_b = writer_b.failing_at((len_a as f64 * at) as usize); (Direction::AToB, Step::Write) }
            Fault::Write(Direction::BToA, at) => { writer_a = writer_a.failing_at((len_b as f64 * at) as usize); (Direction::BToA, Step::Write) }
            Fault::Flush(Direction::AToB) => { writer_b = writer_b.failing_flush(); (Direction::AToB, Step::Flush) }
            Fault::Flush(Direction::BToA) => { writer_a = writer_a.failing_flush(); (Direction::BToA, Step::Flush) }
            Fault::Shutdown(Direction::AToB) => { writer_b = writer_b.failing_shutdown(); (Direction::AToB, Step::Shutdown) }
            Fault::Shutdown(Direction::BToA) => { writer_a = writer_a.failing_shutdown(); (Direction::BToA, Step::Shutdown) }
        };
        let mut a: Side = tokio::io::join(reader_a, writer_a);
        let mut b: Side = tokio::io::join(reader_b, writer_b);
        let progress = Progress::new();
        let copier = Copier::new().adaptive_buffer(512, 1 << 14).progress(progress.clone());
        let rt = runtime();
        let err = run(&rt, copier.bidirectional(&mut a, &mut b)).unwrap_err();
        prop_assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        prop_assert_eq!((err.direction(), err.step()), (Some(expected_direction), expected_step));

        let (reader_a, writer_a) = a.into_inner();
        let (reader_b, writer_b) = b.into_inner();
        let counts = err.counts();
        prop_assert_eq!(counts.a_to_b.read, reader_a.position() as u64);
        prop_assert_eq!(counts.a_to_b.written, writer_b.received.len() as u64);
        prop_assert_eq!(counts.b_to_a.read, reader_b.position() as u64);
        prop_assert_eq!(counts.b_to_a.written, writer_a.received.len() as u64);
        prop_assert_eq!(&writer_b.received[..], &data_a[..writer_b.received.len()]);
        prop_assert_eq!(&writer_a.received[..], &data_b[..writer_a.received.len()]);
        prop_assert_eq!(progress.snapshot(), counts);
        if let Fault::Write(_, _) | Fault::Flush(_) | Fault::Shutdown(_) = fault {
            prop_assert!(err.to_string().contains("failed after"), "{}", err);
        }
    }

    #[test]
    fn progress_equals_the_final_counts(
        (len_a, seed_a) in (0usize..30_000, any::<u64>()),
        (len_b, seed_b) in (0usize..30_000, any::<u64>()),
        reads in script(),
        writes in script(),
    ) {
        let data_a = support::pattern(len_a, seed_a);
        let data_b = support::pattern(len_b, seed_b);
        let (reader_a, writer_a) = side(data_a.clone(), reads.clone(), writes.clone());
        let (reader_b, writer_b) = side(data_b.clone(), reads, writes);
        let mut a = tokio::io::join(reader_a, writer_a);
        let mut b = tokio::io::join(reader_b, writer_b);
        let progress = Progress::new();
        let rt = runtime();
        let transfer = run(&rt, Copier::new().progress(progress.clone()).bidirectional(&mut a, &mut b)).unwrap();
        prop_assert_eq!((transfer.a_to_b.bytes, transfer.b_to_a.bytes), (len_a as u64, len_b as u64));
        let seen = progress.snapshot();
        prop_assert_eq!((seen.a_to_b.read, seen.a_to_b.written), (len_a as u64, len_a as u64));
        prop_assert_eq!((seen.b_to_a.read, seen.b_to_a.written), (len_b as u64, len_b as u64));
        let (_, writer_a) = a.into_inner();
        let (_, writer_b) = b.into_inner();
        prop_assert_eq!(&writer_b.received, &data_a);
        prop_assert_eq!(&writer_a.received, &data_b);
        prop_assert_eq!((writer_a.shutdowns, writer_b.shutdowns), (1, 1));
    }

    #[test]
    fn one_way_failures_keep_exact_counts(
        (len, seed) in (1usize..30_000, any::<u64>()),
        at in 0.0..1.0f64,
        fail_reader in any::<bool>(),
        reads in script(),
        writes in script(),
    ) {
        let data = support::pattern(len, seed);
        let offset = (len as f64 * at) as usize;
        let (mut reader, mut writer) = side(data.clone(), reads, writes);
        if fail_reader { reader = reader.failing_at(offset) } else { writer = writer.failing_at(offset) }
        let rt = runtime();
        let err = run(&rt, Copier::new().copy(&mut reader, &mut writer)).unwrap_err();
        prop_assert_eq!(err.step(), if fail_reader { Step::Read } else { Step::Write });
        prop_assert_eq!(err.direction(), Some(Direction::AToB));
        prop_assert_eq!(err.counts().a_to_b.read, reader.position() as u64);
        prop_assert_eq!(err.counts().a_to_b.written, writer.received.len() as u64);
        prop_assert_eq!(&writer.received[..], &data[..writer.received.len()]);
        if !fail_reader {
            prop_assert_eq!(writer.received.len(), offset);
        }
        let converted = io::Error::from(err);
        prop_assert_eq!(converted.kind(), io::ErrorKind::ConnectionReset);
    }
}
