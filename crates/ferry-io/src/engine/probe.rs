//! `Probe`: whether a copy's ends cost what system calls cost or what
//! memory costs, measured once, before its buffer would first grow.
//!
//! An end that makes the copy wait is most often a socket, a pipe or a
//! file, where a bigger buffer saves system calls. But an in-memory channel
//! (tokio's `duplex`, a stream over a channel) waits too, and there a
//! bigger buffer saves nothing: it only falls out of the CPU's fastest
//! cache, and with the two sides on two threads it lets them overlap less
//! (between two tasks over a 64 KiB `duplex`, 8 KiB moves 5–15% more than
//! 64 KiB or 1 MiB).
//!
//! What tells the two apart is what an operation costs. So the first time
//! the policy would grow, the probe times the next [`POLLS`] polls instead,
//! takes the cost per byte read of the cheapest group of [`GROUP`] polls,
//! and compares it with what copying those bytes in memory costs on this
//! machine (measured once per process): ends that cost less than
//! [`CALL_FACTOR`] times a memory copy are memory, and the buffer keeps its
//! size; ends that cost more are system calls, and it grows. On the machine
//! ferry is measured on (six full-size bench-matrix runs each), a `duplex`
//! between two tasks costs 1.5 to 2.1 memory copies, a Unix socket 5.6 to
//! 16, loopback TCP 10 to 14, a loopback TCP relay 17 to 29: the line
//! leaves about the same margin on each side. A `duplex` whose other side
//! sleeps on another thread costs more (each poll wakes that thread with a
//! system call), and grows, as it saves those calls too. Other work on the
//! machine slows both sides of the comparison, but only the polls are
//! timed under it: a verdict of system calls up to twice the line is
//! checked against a memory copy timed at that moment.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Timed polls a verdict rests on.
const POLLS: u8 = 16;

/// Polls whose cost is taken together; the cheapest group counts, so that
/// a poll slowed by another thread (preempted, or sharing its core) does
/// not make memory look like system calls.
const GROUP: u8 = 4;

/// How many memory copies' worth of time per byte makes ends system calls.
const CALL_FACTOR: f32 = 3.5;

/// Up to how many times [`CALL_FACTOR`] a verdict of system calls is
/// checked against a memory copy timed at that moment.
const RECHECK: f32 = 2.0;

/// The most one poll counts for.
const MAX_POLL: Duration = Duration::from_millis(1);

/// What the probe knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Verdict {
    /// Not asked yet.
    #[default]
    Unknown,
    /// Timing polls.
    Timing,
    /// Operations cost what system calls do: growing pays.
    Calls,
    /// Operations cost what memory does: growing does not pay.
    Memory,
}

/// The probe of one buffer's ends.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Probe {
    verdict: Verdict,
    polls: u8,
    /// Nanoseconds the current group's polls took, and the bytes they read.
    nanos: u32,
    bytes: u32,
    /// Nanoseconds per byte of the cheapest group so far.
    cheapest: f32,
}

impl Probe {
    /// Whether a bigger buffer would pay. The first time it is asked, it
    /// starts timing polls and answers no until it knows.
    #[inline]
    pub(crate) fn growth_pays(&mut self) -> bool {
        match self.verdict {
            Verdict::Calls => true,
            Verdict::Memory | Verdict::Timing => false,
            Verdict::Unknown => {
                self.verdict = Verdict::Timing;
                false
            }
        }
    }

    /// Whether polls should be timed.
    #[inline]
    pub(crate) fn timing(&self) -> bool {
        self.verdict == Verdict::Timing
    }

    /// Counts a timed poll that took `took` and read `bytes`.
    pub(crate) fn record(&mut self, took: Duration, bytes: u64) {
        let nanos = took.min(MAX_POLL).as_nanos() as u32;
        self.nanos = self.nanos.saturating_add(nanos);
        self.bytes = self
            .bytes
            .saturating_add(u32::try_from(bytes).unwrap_or(u32::MAX));
        self.polls += 1;
        if self.polls % GROUP != 0 {
            return;
        }
        let cost = self.nanos as f32 / self.bytes.max(1) as f32;
        self.cheapest = if self.polls == GROUP {
            cost
        } else {
            self.cheapest.min(cost)
        };
        (self.nanos, self.bytes) = (0, 0);
        if self.polls < POLLS {
            return;
        }
        self.verdict = judge(self.cheapest, memory_copy_cost(), time_memory_copy);
    }
}

/// The verdict on ends that cost `cheapest` nanoseconds per byte, against
/// a memory copy that cost `reference` when the process first probed.
///
/// Other work on the machine (sharing the core, the caches or the memory
/// bus) slows every operation, and can put an in-memory channel just over
/// the line. Near it, up to [`RECHECK`] times the line, a memory copy timed
/// `now`, under the same load, decides instead.
fn judge(cheapest: f32, reference: f32, now: impl FnOnce() -> f32) -> Verdict {
    let line = CALL_FACTOR * reference;
    if cheapest < line || (cheapest < RECHECK * line && cheapest < CALL_FACTOR * now()) {
        Verdict::Memory
    } else {
        Verdict::Calls
    }
}

/// Nanoseconds per byte of an 8 KiB memory copy on this machine, measured
/// once per process.
fn memory_copy_cost() -> f32 {
    static COST: OnceLock<f32> = OnceLock::new();
    *COST.get_or_init(time_memory_copy)
}

/// Nanoseconds per byte of an 8 KiB memory copy now: the fastest of 16, in
/// about 10 µs.
fn time_memory_copy() -> f32 {
    const SIZE: usize = 8 * 1024;
    let (from, mut to) = (vec![1u8; SIZE], vec![0u8; SIZE]);
    let fastest = (0..16)
        .map(|_| {
            let started = Instant::now();
            to.copy_from_slice(black_box(&from));
            black_box(&mut to);
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    // A clock too coarse to see the copy: take a fast machine's figure.
    (fastest.as_nanos() as f32 / SIZE as f32).max(0.005)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the probe to its verdict with polls that each read `bytes` in `took`.
    fn probe(took: Duration, bytes: u64) -> Probe {
        let mut probe = Probe::default();
        assert!(!probe.growth_pays(), "unknown ends do not grow yet");
        assert!(probe.timing());
        for _ in 0..POLLS {
            assert!(!probe.growth_pays(), "no growth while timing");
            probe.record(took, bytes);
        }
        assert!(!probe.timing(), "a verdict after {POLLS} polls");
        probe
    }

    #[test]
    fn ends_slower_than_memory_are_calls() {
        // 64 KiB in 1 ms: about 15 ns per byte, far above any memory copy.
        let mut calls = probe(Duration::from_millis(1), 64 * 1024);
        assert!(calls.growth_pays());
    }

    #[test]
    fn ends_as_fast_as_memory_are_memory() {
        // A poll that moved its bytes as fast as this machine copies memory.
        let took = Duration::from_secs_f32(memory_copy_cost() * 64.0 * 1024.0 * 1e-9);
        let mut memory = probe(took, 64 * 1024);
        assert!(!memory.growth_pays());
        assert!(!memory.timing(), "and it does not ask again");
    }

    #[test]
    fn a_preempted_poll_counts_for_at_most_a_millisecond() {
        let mut probe = Probe::default();
        probe.growth_pays();
        probe.record(Duration::from_secs(5), 1);
        assert_eq!(probe.nanos, 1_000_000);
    }

    #[test]
    fn slowed_polls_do_not_make_memory_look_like_calls() {
        let mut probe = Probe::default();
        probe.growth_pays();
        let fast = Duration::from_secs_f32(memory_copy_cost() * 64.0 * 1024.0 * 1e-9);
        // One poll in each of the first three groups ran 100 times slower
        // (another thread had the core); the fourth group ran clean.
        for poll in 0..POLLS {
            let slowed = poll < 12 && poll % GROUP == 0;
            probe.record(if slowed { fast * 100 } else { fast }, 64 * 1024);
        }
        assert!(!probe.growth_pays());
    }

    #[test]
    fn a_loaded_machine_does_not_make_memory_look_like_calls() {
        // Ends at 5 memory copies per byte (over the line of 3.5), timed
        // while other work slowed memory copies twice over: memory.
        assert_eq!(judge(5.0, 1.0, || 2.0), Verdict::Memory);
        // The same ends on an unloaded machine: calls.
        assert_eq!(judge(5.0, 1.0, || 1.0), Verdict::Calls);
    }

    #[test]
    fn only_a_verdict_near_the_line_times_memory_again() {
        let never = || -> f32 { panic!("timed a memory copy") };
        assert_eq!(judge(2.0, 1.0, never), Verdict::Memory);
        // Past twice the line (7): calls however slow memory has become.
        assert_eq!(judge(7.5, 1.0, never), Verdict::Calls);
        assert_eq!(judge(6.9, 1.0, || 1.0), Verdict::Calls);
    }

    #[test]
    fn a_memory_copy_costs_a_plausible_time() {
        // Between 0.005 (the floor) and 2 ns per byte (0.5 GB/s, a slow
        // debug build on a loaded machine).
        let cost = memory_copy_cost();
        assert!((0.005..2.0).contains(&cost), "{cost}");
    }
}
