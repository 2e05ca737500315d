//! The engine's fuzz harness: scripted ends, a poll loop that catches hangs,
//! and the invariants every copy keeps, whatever its ends do.
//!
//! Shared by the fuzz targets in `crates/ferry-io/fuzz` (which include this
//! directory with `#[path]`) and by the corpus replay in
//! `tests/fuzz_replay.rs`, so a case the fuzzer found is checked by the
//! same code in CI. Each `run_*` function decodes the fuzzer's bytes into a
//! case (a front end, a script for each end; see [`input`]), runs it to the
//! end and checks it; `Err` says what broke, followed by the case.
//!
//! What is checked, for every direction of every front end:
//!
//! - the writer received a byte-exact prefix of the input, never more than
//!   was read and never past a `Copier` limit;
//! - on success the count equals the bytes read and written, the reader
//!   returned EOF (or the limit was reached), the writer was flushed after
//!   its last byte and, in a two-way copy, shut down after it;
//! - on failure the error is one an end returned (the kind; for a
//!   `CopyError` also its step and direction), and the counts reported
//!   (`CopyError::counts`, `CopyBuffer::bytes_read`/`bytes_written`) are
//!   exactly what the ends gave and took: a writer that claims more than it
//!   was given, or returns `Ok(0)`, is an error and adds nothing;
//! - a copy succeeds only if no end failed;
//! - no end is misused: no read after EOF, no read into an empty buffer, no
//!   empty write, no write or flush after shutdown, no shutdown of
//!   unflushed bytes, no consuming more of a buffered reader than it showed;
//! - without a cooperative budget, a poll that ends because the reader
//!   stalls with nothing buffered has flushed the writer (or is flushing it);
//! - no poll returns `Pending` without a wake-up or without progress, and
//!   the copy ends within a bound of polls; nothing panics.
#![allow(dead_code)]

pub mod check;
pub mod drive;
pub mod ends;
pub mod input;

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;

use check::{check_copy_error, check_error_kind, check_no_breaches, check_no_failure, Way};
use drive::drive;
use ends::{End, Side, Sink, Source, World};
use input::{Input, SinkScript, SourceScript};

/// Decodes and runs a case of the `engine` target: a one-way copy through `AsyncRead`.
pub fn run_engine(bytes: &[u8]) -> Result<(), String> {
    let case = EngineCase::decode(bytes);
    case.run().map_err(|why| format!("{why}\n{case:?}"))
}

/// Decodes and runs a case of the `copy_buf` target: a one-way copy out of an `AsyncBufRead`.
pub fn run_copy_buf(bytes: &[u8]) -> Result<(), String> {
    let case = BufCase::decode(bytes);
    case.run().map_err(|why| format!("{why}\n{case:?}"))
}

/// Decodes and runs a case of the `relay` target: a two-way copy.
pub fn run_relay(bytes: &[u8]) -> Result<(), String> {
    let case = RelayCase::decode(bytes);
    case.run().map_err(|why| format!("{why}\n{case:?}"))
}

/// Which front end drives a one-way copy through `AsyncRead`.
#[derive(Clone, Copy, Debug)]
pub enum EngineFront {
    /// `ferry_io::copy`.
    Copy,
    /// `CopyBuffer::new()` and `poll_copy`.
    Engine,
    /// `CopyBuffer::with_capacity(n)` and `poll_copy`.
    EngineWithCapacity(usize),
    /// `Copier::new()`, with a byte limit or not, and `copy`.
    Copier {
        /// The limit, if any.
        limit: Option<u64>,
    },
}

/// A one-way copy through `AsyncRead`.
#[derive(Debug)]
pub struct EngineCase {
    /// The front end.
    pub front: EngineFront,
    /// Whether each poll runs under tokio's cooperative budget.
    pub budgeted: bool,
    /// The reader.
    pub source: SourceScript,
    /// The writer.
    pub sink: SinkScript,
}

/// Which front end drives a one-way copy out of an `AsyncBufRead`.
#[derive(Clone, Copy, Debug)]
pub enum BufFront {
    /// `ferry_io::copy_buf`.
    CopyBuf,
    /// `Copier::new()`, with a byte limit or not, and `copy_buf`.
    Copier {
        /// The limit, if any.
        limit: Option<u64>,
    },
}

/// A one-way copy out of an `AsyncBufRead`.
#[derive(Debug)]
pub struct BufCase {
    /// The front end.
    pub front: BufFront,
    /// Whether each poll runs under tokio's cooperative budget.
    pub budgeted: bool,
    /// The buffered reader: each `Data(n)` is the size of a chunk it shows.
    pub source: SourceScript,
    /// The writer.
    pub sink: SinkScript,
}

/// Which front end drives a two-way copy.
#[derive(Clone, Copy, Debug)]
pub enum RelayFront {
    /// `ferry_io::copy_bidirectional`.
    Bidirectional,
    /// `ferry_io::copy_bidirectional_with_sizes(a_to_b, b_to_a)`.
    WithSizes(usize, usize),
    /// `Copier::new()`, with a byte limit per direction or not, and `bidirectional`.
    Copier {
        /// The limit, if any.
        limit: Option<u64>,
    },
}

/// A two-way copy between two scripted ends.
#[derive(Debug)]
pub struct RelayCase {
    /// The front end.
    pub front: RelayFront,
    /// Whether each poll runs under tokio's cooperative budget.
    pub budgeted: bool,
    /// What `a` gives (to `b`).
    pub a_source: SourceScript,
    /// How `a` takes what `b` gives.
    pub a_sink: SinkScript,
    /// What `b` gives (to `a`).
    pub b_source: SourceScript,
    /// How `b` takes what `a` gives.
    pub b_sink: SinkScript,
}

/// One direction, from a source to a sink, held so it can be looked at between polls.
struct Flow {
    name: &'static str,
    source: Rc<RefCell<Source>>,
    sink: Rc<RefCell<Sink>>,
    limit: Option<u64>,
}

impl Flow {
    fn check<T>(&self, check: impl FnOnce(&Way<'_>) -> T) -> T {
        let (source, sink) = (self.source.borrow(), self.sink.borrow());
        check(&Way {
            name: self.name,
            source: &source,
            sink: &sink,
            limit: self.limit,
        })
    }
}

/// A backstop on the number of polls: each poll that returns `Pending`
/// consumes a step of a script or moves a byte, so this is never reached
/// by a copy that works.
fn max_polls(sources: &[&SourceScript], sinks: &[&SinkScript]) -> u64 {
    let steps: usize = sources
        .iter()
        .map(|s| s.ops.len() + s.data.len())
        .sum::<usize>()
        + sinks.iter().map(|s| s.len()).sum::<usize>();
    2 * steps as u64 + 1_000
}

fn limit(input: &mut Input<'_>) -> Option<u64> {
    input.maybe_offset().map(|n| n as u64)
}

impl EngineCase {
    /// Decodes a case from the fuzzer's bytes.
    pub fn decode(bytes: &[u8]) -> Self {
        let mut input = Input::new(bytes);
        let front = match input.byte() % 4 {
            0 => EngineFront::Copy,
            1 => EngineFront::Engine,
            2 => EngineFront::EngineWithCapacity(input.count()),
            _ => EngineFront::Copier {
                limit: limit(&mut input),
            },
        };
        Self {
            front,
            budgeted: input.flag(),
            source: SourceScript::decode(&mut input),
            sink: SinkScript::decode(&mut input),
        }
    }

    /// Runs the copy and checks it.
    pub fn run(&self) -> Result<(), String> {
        let world = Rc::new(World::default());
        let sink_less = SinkScript::default();
        let mut reader = End::new(&world, Side::A, self.source.clone(), sink_less);
        let mut writer = End::new(&world, Side::B, SourceScript::empty(), self.sink.clone());
        let flow = Flow {
            name: "reader to writer",
            source: reader.source.clone(),
            sink: writer.sink.clone(),
            limit: match self.front {
                EngineFront::Copier { limit } => limit,
                _ => None,
            },
        };
        let polls = max_polls(&[&self.source], &[&self.sink]);
        let stall = || match self.budgeted {
            true => Ok(()),
            false => flow.check(|way| way.check_flushed_on_stall(world.epoch.get())),
        };
        let (r, w) = (&mut reader, &mut writer);
        match self.front {
            EngineFront::Copy => {
                let result = drive(&world, ferry_io::copy(r, w), self.budgeted, polls, stall)?;
                check_no_breaches(&world)?;
                flow.check(|way| way.check_prefix())?;
                match result {
                    Ok(n) => {
                        check_no_failure(&world)?;
                        flow.check(|way| way.check_done(n))
                    }
                    Err(err) => check_error_kind(&world, err.kind()),
                }
            }
            EngineFront::Engine | EngineFront::EngineWithCapacity(_) => {
                let mut engine = match self.front {
                    EngineFront::EngineWithCapacity(size) => {
                        ferry_io::CopyBuffer::with_capacity(size)
                    }
                    _ => ferry_io::CopyBuffer::new(),
                };
                let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut *r), Pin::new(&mut *w)));
                let result = drive(&world, copy, self.budgeted, polls, stall)?;
                check_no_breaches(&world)?;
                flow.check(|way| way.check_counts(engine.bytes_read(), engine.bytes_written()))?;
                match result {
                    Ok(n) => {
                        check_no_failure(&world)?;
                        flow.check(|way| way.check_done(n))?;
                        poll_again(&world, &mut engine, r, w, n)
                    }
                    Err(err) => check_error_kind(&world, err.kind()),
                }
            }
            EngineFront::Copier { limit } => {
                let copier =
                    limit.map_or_else(ferry_io::Copier::new, |n| ferry_io::Copier::new().limit(n));
                let result = drive(&world, copier.copy(r, w), self.budgeted, polls, stall)?;
                check_no_breaches(&world)?;
                flow.check(|way| way.check_prefix())?;
                match result {
                    Ok(n) => {
                        check_no_failure(&world)?;
                        flow.check(|way| way.check_done(n))
                    }
                    Err(err) => {
                        check_copy_error(&world, &err)?;
                        let counts = err.counts().a_to_b;
                        flow.check(|way| way.check_counts(counts.read, counts.written))
                    }
                }
            }
        }
    }
}

/// A finished `CopyBuffer` polled again returns its count again, reading
/// and writing nothing (it flushes once more, so only when the writer's
/// flush script has nothing left that could fail or stall).
fn poll_again(
    world: &World,
    engine: &mut ferry_io::CopyBuffer,
    reader: &mut End,
    writer: &mut End,
    n: u64,
) -> Result<(), String> {
    if !writer.sink.borrow().script.flushes.is_empty() {
        return Ok(());
    }
    let written = writer.sink.borrow().accepted.len();
    let copy = poll_fn(|cx| engine.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer)));
    match drive(world, copy, false, 1, || Ok(()))? {
        Ok(again) if again == n && writer.sink.borrow().accepted.len() == written => {
            check_no_breaches(world)
        }
        other => Err(format!("polled again after Ok({n}), it returned {other:?}")),
    }
}

impl BufCase {
    /// Decodes a case from the fuzzer's bytes.
    pub fn decode(bytes: &[u8]) -> Self {
        let mut input = Input::new(bytes);
        let front = match input.byte() % 2 {
            0 => BufFront::CopyBuf,
            _ => BufFront::Copier {
                limit: limit(&mut input),
            },
        };
        Self {
            front,
            budgeted: input.flag(),
            source: SourceScript::decode(&mut input),
            sink: SinkScript::decode(&mut input),
        }
    }

    /// Runs the copy and checks it.
    pub fn run(&self) -> Result<(), String> {
        let world = Rc::new(World::default());
        let sink_less = SinkScript::default();
        let mut reader = End::new(&world, Side::A, self.source.clone(), sink_less);
        let mut writer = End::new(&world, Side::B, SourceScript::empty(), self.sink.clone());
        let flow = Flow {
            name: "reader to writer",
            source: reader.source.clone(),
            sink: writer.sink.clone(),
            limit: match self.front {
                BufFront::Copier { limit } => limit,
                BufFront::CopyBuf => None,
            },
        };
        let polls = max_polls(&[&self.source], &[&self.sink]);
        let between_polls = || {
            flow.check(|way| way.check_consumed())?;
            match self.budgeted {
                true => Ok(()),
                false => flow.check(|way| way.check_flushed_on_stall(world.epoch.get())),
            }
        };
        let (r, w) = (&mut reader, &mut writer);
        let result = match self.front {
            BufFront::CopyBuf => drive(
                &world,
                ferry_io::copy_buf(r, w),
                self.budgeted,
                polls,
                between_polls,
            )?
            .map_err(|err| (err.kind(), None)),
            BufFront::Copier { limit } => {
                let copier =
                    limit.map_or_else(ferry_io::Copier::new, |n| ferry_io::Copier::new().limit(n));
                drive(
                    &world,
                    copier.copy_buf(r, w),
                    self.budgeted,
                    polls,
                    between_polls,
                )?
                .map_err(|err| (err.kind(), Some(err)))
            }
        };
        check_no_breaches(&world)?;
        flow.check(|way| way.check_prefix())?;
        flow.check(|way| way.check_consumed())?;
        match result {
            Ok(n) => {
                check_no_failure(&world)?;
                flow.check(|way| way.check_done(n))
            }
            Err((kind, None)) => check_error_kind(&world, kind),
            Err((_, Some(err))) => {
                check_copy_error(&world, &err)?;
                let counts = err.counts().a_to_b;
                flow.check(|way| way.check_counts(counts.read, counts.written))
            }
        }
    }
}

impl RelayCase {
    /// Decodes a case from the fuzzer's bytes.
    pub fn decode(bytes: &[u8]) -> Self {
        let mut input = Input::new(bytes);
        let front = match input.byte() % 3 {
            0 => RelayFront::Bidirectional,
            1 => RelayFront::WithSizes(input.count(), input.count()),
            _ => RelayFront::Copier {
                limit: limit(&mut input),
            },
        };
        Self {
            front,
            budgeted: input.flag(),
            a_source: SourceScript::decode(&mut input),
            a_sink: SinkScript::decode(&mut input),
            b_source: SourceScript::decode(&mut input),
            b_sink: SinkScript::decode(&mut input),
        }
    }

    /// Runs the copy and checks it.
    pub fn run(&self) -> Result<(), String> {
        let world = Rc::new(World::default());
        let mut a = End::new(&world, Side::A, self.a_source.clone(), self.a_sink.clone());
        let mut b = End::new(&world, Side::B, self.b_source.clone(), self.b_sink.clone());
        let limit = match self.front {
            RelayFront::Copier { limit } => limit,
            _ => None,
        };
        let flows = [
            Flow {
                name: "a to b",
                source: a.source.clone(),
                sink: b.sink.clone(),
                limit,
            },
            Flow {
                name: "b to a",
                source: b.source.clone(),
                sink: a.sink.clone(),
                limit,
            },
        ];
        let polls = max_polls(
            &[&self.a_source, &self.b_source],
            &[&self.a_sink, &self.b_sink],
        );
        let stall = || match self.budgeted {
            true => Ok(()),
            false => flows.iter().try_for_each(|flow| {
                flow.check(|way| way.check_flushed_on_stall(world.epoch.get()))
            }),
        };
        let result = match self.front {
            RelayFront::Bidirectional => drive(
                &world,
                ferry_io::copy_bidirectional(&mut a, &mut b),
                self.budgeted,
                polls,
                stall,
            )?
            .map_err(|err| (err.kind(), None)),
            RelayFront::WithSizes(a_to_b, b_to_a) => {
                let relay = ferry_io::copy_bidirectional_with_sizes(&mut a, &mut b, a_to_b, b_to_a);
                drive(&world, relay, self.budgeted, polls, stall)?.map_err(|err| (err.kind(), None))
            }
            RelayFront::Copier { limit } => {
                let copier =
                    limit.map_or_else(ferry_io::Copier::new, |n| ferry_io::Copier::new().limit(n));
                drive(
                    &world,
                    copier.bidirectional(&mut a, &mut b),
                    self.budgeted,
                    polls,
                    stall,
                )?
                .map(|transfer| (transfer.a_to_b.bytes, transfer.b_to_a.bytes))
                .map_err(|err| (err.kind(), Some(err)))
            }
        };
        check_no_breaches(&world)?;
        for flow in &flows {
            flow.check(|way| way.check_prefix())?;
        }
        match result {
            Ok((a_to_b, b_to_a)) => {
                check_no_failure(&world)?;
                for (flow, n) in flows.iter().zip([a_to_b, b_to_a]) {
                    flow.check(|way| way.check_done(n))?;
                    flow.check(|way| way.check_shut_down())?;
                }
                Ok(())
            }
            Err((kind, None)) => check_error_kind(&world, kind),
            Err((_, Some(err))) => {
                check_copy_error(&world, &err)?;
                let counts = err.counts();
                for (flow, counts) in flows.iter().zip([counts.a_to_b, counts.b_to_a]) {
                    flow.check(|way| way.check_counts(counts.read, counts.written))?;
                }
                Ok(())
            }
        }
    }
}
