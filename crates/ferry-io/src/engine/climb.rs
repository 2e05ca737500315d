//! `Climb`: whether a bigger buffer pays, judged by the copy's own cost per
//! byte at the two sizes it weighs.
//!
//! A bigger buffer pays where it saves system calls (a socket, a pipe, a
//! file) and costs where it only falls out of the CPU's fastest cache (an
//! in-memory channel such as tokio's `duplex`). Rather than guess which
//! kind the ends are, the climb asks the copy itself. When a read fills the
//! buffer, it doubles the buffer and runs a trial: the copy's reads go in
//! timed turns, some reading at most the old size, some up to the new one,
//! in [`PAIRS`] pairs of one turn of each. A turn ends when it has read
//! [`TURN_FILLS`] times the new size (at most [`TURN_MOST`]), so both sizes
//! are timed over the same bytes; only time spent in polls counts (time
//! waiting between polls is no one's cost). Each pair gives the ratio of
//! the two sizes' costs per byte, measured a moment apart under the same
//! load, and the trial's verdict is the median ratio, which a turn slowed
//! by another thread (preempted, or sharing the caches) cannot move. The
//! new size stays unless it costs clearly more, by over [`DOUBT`] and in
//! [`AGREE`] of the pairs, than the old; then the next filled read starts
//! the next trial. A size found clearly dearer is tried once more, and
//! given up only if the second trial agrees: then, or when the sizes kept
//! since the cheapest one have added up to clearly dearer, the buffer steps
//! back to the cheapest size and settles there.
//!
//! Every judgement is a ratio of two costs the copy measured on the same
//! ends, in turns interleaved under the same load: nothing is timed on the
//! side and no cost is compared with a figure for "this machine", so
//! neither a slow CPU, a loaded one, nor a memory copy that the allocator
//! placed badly moves the line, and scaling every time by any factor
//! leaves every verdict as it was.
//!
//! The two mistakes do not cost the same: a socket kept small runs at a
//! third of its speed, a `duplex` grown too far loses a few percent. So a
//! difference within the noise of a short trial counts as "growth pays",
//! and a settled buffer tries again after a while (the ends may have
//! changed: a stream that idled and now carries bulk, an in-memory end
//! swapped for a socket).

use std::time::Instant;

/// Pairs of timed turns, one at each of the two sizes, per trial.
const PAIRS: usize = 8;

/// A turn ends with the first poll that ends after it has read this many
/// times the bigger size, or [`TURN_MOST`] bytes if that is less: a turn
/// holds several reads. Turns end with polls, so that each holds its
/// polls' starts and ends alike: a poll's first reads may cost many times
/// its last (in a loopback TCP copy, the reads that open the window do the
/// sender's work), and turns cut mid-poll split the pairs into a cheap and
/// a dear kind. Only a poll that runs on past [`LONG_TURN`] times that
/// (one that reads several MiB without waiting) is cut.
const TURN_FILLS: u64 = 8;
const TURN_MOST: u64 = 512 << 10;
const LONG_TURN: u64 = 4;

/// How much dearer per byte a bigger size may be than the one it grew from
/// and still be kept: closer than this, the difference is taken for noise
/// (a trial's median moves by 5–20% from one trial to the next on a busy
/// machine), and noise grows the buffer. Per-byte cost is also not all a
/// bigger buffer changes: between two tasks over a `duplex`, it wakes the
/// other side less often, which the copy's own polls do not see.
const DOUBT: f64 = 0.25;

/// How many of a trial's pairs must find the bigger size dearer for the
/// trial to find it dearer at all. A size that costs more per byte (a
/// buffer out of the cache) does in every pair. A loopback TCP copy's pairs
/// swing from 0.2 to 5 and back, as the reads that open the receive window
/// do the sender's work in some turns and not in others; the median of such
/// a trial is a coin toss, and two tosses in a row that went against a
/// socket left it at 32 or 64 KiB in 1 run of 15 of tests/growth_under_load.rs.
const AGREE: usize = 7;

/// How much dearer than the cheapest size the sizes kept since may add up
/// to: each step within the doubt, but together clearly dearer.
const CREEP: f64 = 0.5;

/// Reads that fill a settled buffer before the climb tries again; each
/// try that settles doubles the wait, up to [`RELOOK_MAX`].
const RELOOK_FIRST: u32 = 1 << 10;
const RELOOK_MAX: u32 = 1 << 20;

/// What the buffer does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Move to a buffer of this many bytes.
    Resize(usize),
    /// Keep the buffer, and fill at most this many bytes of it.
    Fill(usize),
}

/// Where the climb is.
#[derive(Clone, Debug, Default)]
enum State {
    /// The next read that fills the buffer starts a trial.
    #[default]
    Climbing,
    /// Weighing two sizes (boxed: a copy that waits for its next byte,
    /// as most of a relay's do, holds only the tag).
    Trial(Box<Trial>),
    /// Growth stopped paying: `reads` filled reads since.
    Settled { reads: u32 },
}

/// A trial of `big`, the size the buffer grew to, against `small`.
#[derive(Clone, Copy, Debug)]
struct Trial {
    small: u32,
    big: u32,
    /// Whose turn it is, the seconds it has run in polls before this one,
    /// when it resumed in this one (`None`: between polls), and what it
    /// has read.
    big_turn: bool,
    spent: f64,
    started: Option<Instant>,
    bytes: u64,
    /// This trial repeats one that found `big` clearly dearer: a size is
    /// given up only when two trials in a row say so.
    repeat: bool,
    /// Turns taken, the cost per byte (seconds) of the first turn of the
    /// pair under way, and each finished pair's ratio, big to small.
    turns: u8,
    first: f64,
    ratios: [f32; PAIRS],
}

/// One buffer's climb.
#[derive(Clone, Debug)]
pub(crate) struct Climb {
    state: State,
    /// The cheapest size weighed since the climb started (0: none yet), and
    /// how much dearer per byte the current size is than it.
    best: u32,
    excess: f64,
    /// The largest size a trial kept: the buffer grows back to it without
    /// another trial (after small reads halved it, say).
    proven: u32,
    /// Filled reads a settled buffer waits before it tries again.
    relook: u32,
}

impl Default for Climb {
    fn default() -> Self {
        Self {
            state: State::Climbing,
            best: 0,
            excess: 1.0,
            proven: 0,
            relook: RELOOK_FIRST,
        }
    }
}

impl Climb {
    /// Asked when a read filled the buffer of `size`, which may grow to
    /// `next`: whether to grow it now, and weigh `next` against `size`
    /// from `now()` on.
    pub(crate) fn wants_growth(
        &mut self,
        size: usize,
        next: usize,
        now: impl FnOnce() -> Instant,
    ) -> bool {
        if clamp(next) <= self.proven {
            return true;
        }
        match &mut self.state {
            State::Climbing => {
                if self.best == 0 {
                    self.best = clamp(size);
                }
                let trial = Trial::new(clamp(size), clamp(next), now());
                self.state = State::Trial(Box::new(trial));
                true
            }
            State::Trial(_) => false,
            State::Settled { reads } => {
                *reads += 1;
                if *reads >= self.relook {
                    // Weigh the next size again, from this one.
                    self.relook = self.relook.saturating_mul(2).min(RELOOK_MAX);
                    (self.state, self.best, self.excess) = (State::Climbing, 0, 1.0);
                }
                false
            }
        }
    }

    /// Whether a trial is weighing two sizes.
    #[inline]
    pub(crate) fn weighing(&self) -> bool {
        matches!(self.state, State::Trial(_))
    }

    /// At the start of a poll: a turn resumes, timed from `now()`.
    #[inline]
    pub(crate) fn poll_started(&mut self, now: impl FnOnce() -> Instant) {
        if let State::Trial(trial) = &mut self.state {
            trial.started = Some(now());
        }
    }

    /// At the end of a poll, at `now()`: the turn pauses (the time until
    /// the next poll is not the copy's).
    #[inline]
    pub(crate) fn poll_ended(&mut self, now: impl FnOnce() -> Instant) -> Option<Change> {
        let State::Trial(trial) = &mut self.state else {
            return None;
        };
        let now = now();
        if let Some(started) = trial.started.take() {
            trial.spent += (now - started).as_secs_f64();
        }
        if trial.bytes < trial.turn_bytes() {
            return None;
        }
        let change = self.end_turn(now);
        if let State::Trial(trial) = &mut self.state {
            trial.started = None;
        }
        change
    }

    /// After a read of `got` bytes into a buffer filled up to `size`:
    /// during a trial, what the buffer does once the turn is over.
    pub(crate) fn read(
        &mut self,
        size: usize,
        got: usize,
        now: impl FnOnce() -> Instant,
    ) -> Option<Change> {
        let State::Trial(trial) = &mut self.state else {
            return None;
        };
        if size != trial.turn_size() {
            // The buffer could not grow (its memory budget is spent): there
            // is nothing to weigh.
            self.state = State::Settled { reads: 0 };
            return None;
        }
        trial.bytes += got as u64;
        if trial.bytes < LONG_TURN * trial.turn_bytes() {
            return None;
        }
        self.end_turn(now())
    }

    /// Counts the turn that ends at `now`, and says which size reads next,
    /// or, once the trial is over, which the buffer keeps.
    fn end_turn(&mut self, now: Instant) -> Option<Change> {
        let State::Trial(trial) = &mut self.state else {
            return None;
        };
        let took = trial.spent
            + trial
                .started
                .map_or(0.0, |started| (now - started).as_secs_f64());
        let cost = took / trial.bytes as f64;
        let turn = trial.turns;
        trial.turns += 1;
        if turn % 2 == 0 {
            trial.first = cost;
        } else {
            // Each pair holds one turn of each size (the order below makes
            // it so): their ratio is taken within the pair, from turns that
            // ran a moment apart under the same load.
            let (big, small) = if trial.big_turn {
                (cost, trial.first)
            } else {
                (trial.first, cost)
            };
            trial.ratios[usize::from(turn / 2)] = (big / small) as f32;
        }
        if usize::from(trial.turns) < 2 * PAIRS {
            // The sizes take turns in the Thue–Morse order (big, small,
            // small, big, small, big, big, small, ...): each pair holds one
            // of each, and a turn's place in its poll (first, with the data
            // just arrived and warm in the cache, or last) falls to each
            // size alike, whatever the number of turns a poll holds.
            trial.big_turn = trial.turns.count_ones() % 2 == 0;
            (trial.spent, trial.started, trial.bytes) = (0.0, Some(now), 0);
            return Some(Change::Fill(trial.turn_size()));
        }
        let (small, big, repeat) = (trial.small, trial.big, trial.repeat);
        let ratio = verdict(&mut trial.ratios);
        if !repeat && !keeps(self.excess, ratio) {
            // Once more, before giving the size up.
            **trial = Trial {
                repeat: true,
                ..Trial::new(small, big, now)
            };
            return Some(Change::Fill(big as usize));
        }
        Some(self.judge(big, ratio))
    }

    /// The verdict on `big`, which costs `ratio` times what the size it grew
    /// from does.
    fn judge(&mut self, big: u32, ratio: f64) -> Change {
        if keeps(self.excess, ratio) {
            let excess = self.excess * ratio;
            if excess < 1.0 {
                (self.best, self.excess) = (big, 1.0);
            } else {
                self.excess = excess;
            }
            self.state = State::Climbing;
            self.proven = self.proven.max(big);
            return Change::Fill(big as usize);
        }
        // Clearly dearer: back to the cheapest size weighed (the one it grew
        // from, unless the sizes kept since the cheapest added up).
        self.excess = 1.0;
        self.proven = self.best;
        self.state = State::Settled { reads: 0 };
        Change::Resize(self.best as usize)
    }

    /// Drops a trial under way: the buffer shrank after small reads, and
    /// the next read that fills it starts again.
    pub(crate) fn abandon(&mut self) {
        if let State::Trial(_) = self.state {
            self.state = State::Climbing;
        }
    }

    /// Starts over: after an idle spell (the buffer was given back), the
    /// ends may not be what they were.
    pub(crate) fn forget(&mut self) {
        *self = Climb {
            relook: self.relook,
            ..Climb::default()
        };
    }
}

impl Trial {
    /// A trial of `big` against `small`, `big`'s turn first, from `now`.
    fn new(small: u32, big: u32, now: Instant) -> Trial {
        Trial {
            small,
            big,
            big_turn: true,
            spent: 0.0,
            started: Some(now),
            bytes: 0,
            repeat: false,
            turns: 0,
            first: 0.0,
            ratios: [0.0; PAIRS],
        }
    }

    /// The bytes after which a turn ends with its poll.
    fn turn_bytes(&self) -> u64 {
        (TURN_FILLS * u64::from(self.big)).min(TURN_MOST)
    }

    /// The size the current turn fills.
    fn turn_size(&self) -> usize {
        (if self.big_turn { self.big } else { self.small }) as usize
    }
}

/// Whether a size that costs `ratio` times the one it grew from is kept,
/// the one it grew from costing `excess` times the cheapest: it is not
/// clearly dearer than that one, and has not crept too far past the
/// cheapest.
fn keeps(excess: f64, ratio: f64) -> bool {
    ratio <= 1.0 + DOUBT && excess * ratio <= 1.0 + CREEP
}

/// A trial's verdict on the bigger size, from its pairs' `ratios`: their
/// median, but never dearer than the smaller size unless [`AGREE`] of the
/// pairs found it dearer.
fn verdict(ratios: &mut [f32; PAIRS]) -> f64 {
    let median = median(ratios);
    // Sorted by `median`: the smallest of the AGREE largest.
    if ratios[PAIRS - AGREE] > 1.0 {
        median
    } else {
        median.min(1.0)
    }
}

/// The median of `ratios` (the geometric mean of the middle two); sorts them.
fn median(ratios: &mut [f32; PAIRS]) -> f64 {
    ratios.sort_unstable_by(f32::total_cmp);
    let (low, high) = (ratios[PAIRS / 2 - 1], ratios[PAIRS / 2]);
    (f64::from(low) * f64::from(high)).sqrt()
}

/// Sizes past 4 GiB are taken as 4 GiB.
fn clamp(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn pairs_that_disagree_do_not_find_a_size_dearer() {
        // Two trials of 128 KiB against 256 KiB from one loopback TCP copy
        // beside a memory hammer: the medians said 1.25 and 2.37, which
        // gave the size up.
        for ratios in [
            [4.10, 0.20, 0.24, 0.89, 0.41, 1.76, 4.47, 4.26],
            [1.77, 4.60, 7.11, 2.59, 0.18, 3.89, 2.17, 0.31],
        ] {
            assert_eq!(verdict(&mut { ratios }), 1.0, "{ratios:?}");
        }
        // A size dearer in nearly every pair is judged by the median.
        let mut dearer = [1.4, 1.5, 1.3, 1.45, 0.9, 1.6, 1.35, 1.5];
        assert!((verdict(&mut dearer) - (1.4f64 * 1.45).sqrt()).abs() < 1e-6);
        // A cheaper size is judged by the median, agreed or not.
        let mut cheaper = [0.8, 1.2, 0.7, 0.9, 1.1, 0.75, 0.85, 0.8];
        assert!((verdict(&mut cheaper) - (0.8f64 * 0.85).sqrt()).abs() < 1e-6);
    }

    const MAX: usize = 1 << 20;

    /// Ends that copy at a cost per byte that depends on the buffer's size,
    /// timed by a clock the test moves.
    struct Ends<C> {
        cost: C,
        /// Every time multiplied by this.
        scale: f64,
        /// Extra seconds added to read number `n`.
        noise: fn(usize) -> f64,
    }

    /// Drives a climb from 8 KiB up to at most 1 MiB over `ends`, in
    /// `polls` polls that each read 1 MiB in reads that fill the buffer;
    /// returns the buffer's size after each poll.
    fn climb_over<C: Fn(usize) -> f64>(ends: &Ends<C>, polls: usize) -> Vec<usize> {
        let start = Instant::now();
        let mut now = Duration::ZERO;
        let mut climb = Climb::default();
        let (mut allocated, mut size) = (8 << 10, 8 << 10);
        let mut sizes = Vec::new();
        let mut reads = 0;
        for _ in 0..polls {
            climb.poll_started(|| start + now);
            let mut left = 1usize << 20;
            while left > 0 {
                let got = size.min(left);
                left -= got;
                now += Duration::from_secs_f64(
                    ((ends.cost)(size) * got as f64 + (ends.noise)(reads)) * ends.scale,
                );
                reads += 1;
                let mut change = climb.read(size, got, || start + now);
                if change.is_none() && got == size && size < MAX {
                    let next = (size * 2).min(MAX);
                    if climb.wants_growth(size, next, || start + now) {
                        change = Some(Change::Resize(next));
                    }
                }
                match change {
                    Some(Change::Resize(to)) => (allocated, size) = (to, to),
                    Some(Change::Fill(to)) => size = to.min(allocated),
                    None => {}
                }
            }
            match climb.poll_ended(|| start + now) {
                Some(Change::Resize(to)) => (allocated, size) = (to, to),
                Some(Change::Fill(to)) => size = to.min(allocated),
                None => {}
            }
            sizes.push(allocated);
        }
        sizes
    }

    fn quiet<C: Fn(usize) -> f64>(cost: C) -> Ends<C> {
        Ends {
            cost,
            scale: 1.0,
            noise: |_| 0.0,
        }
    }

    /// A socket: a fixed cost per system call, plus the kernel's copy.
    fn socket(size: usize) -> f64 {
        2e-6 / size as f64 + 0.05e-9
    }

    /// An in-memory channel: a little cheaper at 16 KiB than at 8, then
    /// half as dear again each doubling as the buffer falls out of the
    /// fastest cache.
    fn channel(size: usize) -> f64 {
        let past_l1 = (size / (16 << 10)).max(1) as f64;
        0.02e-9 * 1.5f64.powf(past_l1.log2()) + 20e-9 / size as f64
    }

    /// The first step back, and the sizes before and after it.
    fn step_back(sizes: &[usize]) -> (usize, usize) {
        let back = sizes
            .windows(2)
            .position(|pair| pair[1] < pair[0])
            .unwrap_or_else(|| panic!("it never stepped back: {sizes:?}"));
        (sizes[back], sizes[back + 1])
    }

    #[test]
    fn a_socket_grows_to_the_largest_size_within_128_mib() {
        let sizes = climb_over(&quiet(socket), 200);
        assert_eq!(sizes.last(), Some(&MAX), "{sizes:?}");
        let reached = sizes.iter().position(|&s| s == MAX).unwrap();
        assert!(reached < 128, "1 MiB after {reached} MiB");
    }

    #[test]
    fn a_channel_settles_at_its_cheapest_size() {
        let sizes = climb_over(&quiet(channel), 200);
        // 16 KiB is cheapest; 32 KiB is 46% dearer: tried, and given up.
        assert_eq!(step_back(&sizes), (32 << 10, 16 << 10));
        assert!(sizes.iter().all(|&s| s <= 32 << 10), "{sizes:?}");
    }

    #[test]
    fn the_verdicts_do_not_depend_on_the_clock_scale() {
        for cost in [socket as fn(usize) -> f64, channel] {
            let plain = climb_over(&quiet(cost), 200);
            for scale in [50.0, 1.0 / 50.0] {
                let ends = Ends {
                    scale,
                    ..quiet(cost)
                };
                assert_eq!(climb_over(&ends, 200), plain, "scaled by {scale}");
            }
        }
    }

    #[test]
    fn small_steps_that_add_up_step_back_to_the_cheapest() {
        // Every doubling costs 10% more: each within the doubt, but five
        // add up to 61%, past the creep allowed: back to 8 KiB, the cheapest.
        let sizes = climb_over(&quiet(|size| (size as f64).powf(0.1375) * 1e-11), 400);
        assert_eq!(step_back(&sizes), (256 << 10, 8 << 10));
    }

    #[test]
    fn slowed_reads_do_not_stop_a_socket_climbing() {
        // One read in fifty takes a millisecond longer (its thread was
        // preempted): the pairs it spoils are outvoted.
        let ends = Ends {
            noise: |read| if read % 50 == 0 { 1e-3 } else { 0.0 },
            ..quiet(socket)
        };
        let sizes = climb_over(&ends, 400);
        assert_eq!(sizes.last(), Some(&MAX), "{sizes:?}");
    }

    #[test]
    fn a_settled_climb_tries_again() {
        let start = Instant::now();
        let mut climb = Climb::default();
        assert!(climb.wants_growth(8 << 10, 16 << 10, || start));
        // Each turn reads 128 KiB; 16 KiB costs twice as much per byte.
        let (mut now, mut size, mut verdict) = (start, 16 << 10, None);
        while verdict.is_none() {
            now += Duration::from_micros(if size == 16 << 10 { 200 } else { 100 });
            match climb.read(size, 128 << 10, || now) {
                Some(Change::Fill(next)) => size = next,
                other => verdict = other,
            }
        }
        assert_eq!(verdict, Some(Change::Resize(8 << 10)));
        // RELOOK_FIRST filled reads at the settled size, then the next one
        // starts a trial again.
        let reads = (1..=RELOOK_FIRST * 2)
            .find(|_| climb.wants_growth(8 << 10, 16 << 10, || now))
            .expect("it never tried again");
        assert_eq!(reads, RELOOK_FIRST + 1);
    }

    #[test]
    fn a_buffer_grows_back_to_a_proven_size_without_a_trial() {
        let mut climb = Climb::default();
        let now = Instant::now();
        let (mut size, mut at) = (8 << 10, now);
        // Climb to 32 KiB, each size cheaper than the last.
        while size < 32 << 10 {
            assert!(climb.wants_growth(size, size * 2, || at));
            let (small, big) = (size, size * 2);
            let mut turn = big;
            loop {
                at += Duration::from_micros(if turn == big { 50 } else { 100 });
                match climb.read(turn, turn, || at) {
                    Some(Change::Fill(next)) if climb.weighing() => turn = next,
                    Some(Change::Fill(kept)) => break size = kept,
                    Some(Change::Resize(_)) => panic!("stepped back from {big} to {small}"),
                    None => {}
                }
            }
        }
        // Small reads halved it twice (the climb drops nothing); reads that
        // fill it grow it straight back, with no trial and no clock.
        assert!(climb.wants_growth(8 << 10, 16 << 10, || panic!("timed")));
        assert!(climb.wants_growth(16 << 10, 32 << 10, || panic!("timed")));
        assert!(!climb.weighing());
        // Past the proven size, a trial again.
        assert!(climb.wants_growth(32 << 10, 64 << 10, || at));
        assert!(climb.weighing());
    }

    #[test]
    fn a_buffer_that_could_not_grow_settles() {
        let now = Instant::now();
        let mut climb = Climb::default();
        assert!(climb.wants_growth(8 << 10, 16 << 10, || now));
        // The memory budget refused: the buffer still fills 8 KiB.
        assert_eq!(climb.read(8 << 10, 8 << 10, || now), None);
        assert!(!climb.wants_growth(8 << 10, 16 << 10, || now), "settled");
    }

    #[test]
    fn time_between_polls_is_not_weighed() {
        let start = Instant::now();
        let mut climb = Climb::default();
        climb.wants_growth(8 << 10, 16 << 10, || start);
        // Polls 10 µs long that each fill the buffer once, with a second's wait
        // between them.
        let (mut now, mut size) = (start, 16 << 10);
        for _ in 0..10 {
            climb.poll_started(|| now);
            now += Duration::from_micros(10);
            match climb.read(size, size, || now) {
                Some(Change::Fill(next)) => size = next,
                None => {}
                Some(Change::Resize(_)) => panic!("a size was given up"),
            }
            if let Some(Change::Fill(next)) = climb.poll_ended(|| now) {
                size = next;
            }
            now += Duration::from_secs(1);
        }
        let State::Trial(trial) = &climb.state else {
            panic!("the trial ended early");
        };
        // Eight polls made the first turn (128 KiB); the second has had two.
        assert_eq!(trial.turns, 1);
        assert!(trial.spent < 1e-3, "{} s counted", trial.spent);
    }
}
