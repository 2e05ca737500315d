//! The invariants every copy must keep, whatever its ends do.

use std::io::ErrorKind;

use ferry_io::{CopyError, Direction, Step};

use super::ends::{Fired, Side, Sink, Source, World};

/// One direction of a copy: from a source to a sink, under an optional byte limit.
#[derive(Debug)]
pub struct Way<'a> {
    /// How messages name it (`"a to b"`).
    pub name: &'static str,
    /// Where the bytes come from.
    pub source: &'a Source,
    /// Where they go.
    pub sink: &'a Sink,
    /// The `Copier`'s limit for this direction.
    pub limit: Option<u64>,
}

impl Way<'_> {
    /// What holds at every moment: the writer took a byte-exact prefix of
    /// what was read, which is a prefix of the input, within the limit.
    pub fn check_prefix(&self) -> Result<(), String> {
        let (out, data) = (&self.sink.accepted, &self.source.script.data);
        if out.len() > self.source.delivered {
            return Err(format!(
                "{}: the writer took {} bytes but only {} were read",
                self.name,
                out.len(),
                self.source.delivered
            ));
        }
        if let Some(at) = out.iter().zip(data).position(|(got, want)| got != want) {
            return Err(format!(
                "{}: byte {at} of the output is not byte {at} of the input",
                self.name
            ));
        }
        if let Some(limit) = self.limit {
            if self.source.delivered as u64 > limit {
                return Err(format!(
                    "{}: {} bytes were read past a limit of {limit}",
                    self.name, self.source.delivered
                ));
            }
        }
        Ok(())
    }

    /// After the copy returned `Ok(n)`: everything read was written and
    /// flushed, `n` says how much, and the reader had nothing more to give
    /// (or the limit was reached).
    pub fn check_done(&self, n: u64) -> Result<(), String> {
        self.check_prefix()?;
        let (written, read) = (self.sink.accepted.len(), self.source.delivered);
        if n != written as u64 || written != read {
            return Err(format!(
                "{}: returned {n}, the writer took {written} and {read} were read",
                self.name
            ));
        }
        if !self.source.eof && self.limit != Some(n) {
            return Err(format!(
                "{}: finished after {n} bytes without seeing EOF (limit {:?})",
                self.name, self.limit
            ));
        }
        if self.sink.flushed != written {
            return Err(format!(
                "{}: finished with {} bytes never flushed",
                self.name,
                written - self.sink.flushed
            ));
        }
        Ok(())
    }

    /// After a two-way copy returned `Ok`: this direction's writer was shut
    /// down, after its last byte.
    pub fn check_shut_down(&self) -> Result<(), String> {
        match self.sink.shut_down {
            Some(at) if at == self.sink.accepted.len() => Ok(()),
            Some(at) => Err(format!(
                "{}: shut down after {at} bytes but {} were written",
                self.name,
                self.sink.accepted.len()
            )),
            None => Err(format!("{}: finished without a shutdown", self.name)),
        }
    }

    /// The counts a copy reported equal what the ends saw: no phantom bytes.
    pub fn check_counts(&self, read: u64, written: u64) -> Result<(), String> {
        let (took, gave) = (
            self.sink.accepted.len() as u64,
            self.source.delivered as u64,
        );
        if (read, written) != (gave, took) {
            return Err(format!(
                "{}: reported {read} read and {written} written, \
                 but the reader gave {gave} and the writer took {took}",
                self.name
            ));
        }
        Ok(())
    }

    /// `copy_buf` consumes exactly what the writer took, no more, no less.
    pub fn check_consumed(&self) -> Result<(), String> {
        let (consumed, took) = (self.source.delivered, self.sink.accepted.len());
        if consumed != took {
            return Err(format!(
                "{}: consumed {consumed} bytes of the reader's buffer but the writer took {took}",
                self.name
            ));
        }
        Ok(())
    }

    /// Flush on stall: when the poll that just returned `Pending` saw the
    /// reader stall with nothing left to write, the writer owes no flush
    /// (or is in the middle of one). Only meaningful without a cooperative
    /// budget, which may end a poll at any step.
    pub fn check_flushed_on_stall(&self, poll: u64) -> Result<(), String> {
        let stalled = self.source.last_call == Some((poll, true));
        let drained = self.sink.accepted.len() == self.source.delivered;
        let owed = self.sink.accepted.len() - self.sink.flushed;
        let flushing = self.sink.last_flush == Some((poll, true));
        if stalled && drained && owed > 0 && !flushing {
            return Err(format!(
                "{}: the reader stalled and {owed} written bytes were left unflushed",
                self.name
            ));
        }
        Ok(())
    }
}

/// No end saw a rule broken.
pub fn check_no_breaches(world: &World) -> Result<(), String> {
    match world.breaches.borrow().as_slice() {
        [] => Ok(()),
        breaches => Err(format!("the engine broke the rules: {breaches:?}")),
    }
}

/// A copy that succeeded had no failure to report.
pub fn check_no_failure(world: &World) -> Result<(), String> {
    match world.fired.borrow().as_slice() {
        [] => Ok(()),
        fired => Err(format!("succeeded although an end failed: {fired:?}")),
    }
}

/// A copy that failed with `kind` failed because an end did.
pub fn check_error_kind(world: &World, kind: ErrorKind) -> Result<(), String> {
    let fired = world.fired.borrow();
    if fired.iter().any(|fired| fired.kind == kind) {
        Ok(())
    } else {
        Err(format!(
            "failed with {kind:?}, but the ends failed with {fired:?}"
        ))
    }
}

/// A `CopyError` names the direction, step and kind of a failure an end returned.
pub fn check_copy_error(world: &World, err: &CopyError) -> Result<(), String> {
    let fired = world.fired.borrow();
    let found = fired.iter().any(|fired| {
        fired.kind == err.kind()
            && fired.step == err.step()
            && Some(direction_of(fired)) == err.direction()
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "failed with {:?} {:?} {:?}, but the ends failed with {fired:?}",
            err.direction(),
            err.step(),
            err.kind()
        ))
    }
}

/// The direction a failure belongs to: reading A or writing B is a to b.
fn direction_of(fired: &Fired) -> Direction {
    match (fired.side, fired.step == Step::Read) {
        (Side::A, true) | (Side::B, false) => Direction::AToB,
        (Side::B, true) | (Side::A, false) => Direction::BToA,
    }
}
