//! `RateLimiter`: a token bucket, shareable by many copies, that serves the
//! copies waiting on it in turn; and `Throttle`, one copy direction's place
//! at its limiters, which reads and sleeps on its copy's [`Clock`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::Instant;

use super::clock::{Clock, Timer};

/// A limit of bytes per second, shared by every copy it is given to.
///
/// Clones share one budget: give the same limiter (or clones of it) to every
/// connection of a server to cap the whole server, or a fresh one to each
/// connection to cap each. [`set_rate`](Self::set_rate) takes effect at once
/// for every copy that shares it.
///
/// The bucket holds at most a tenth of a second of bytes, so a copy that was
/// idle can burst by that much and no more. Copies that want more than the
/// rate take turns, first come first served, each taking what came in since
/// the turn before: sharing a limiter splits it evenly between them, whether
/// they are the two directions of a relay or the connections of a server.
/// Copies of the tokio front ends wait on tokio's timer, so the runtime
/// needs its time driver (`enable_time`, or `#[tokio::main]`); those run by
/// `Copier::futures` (the `futures-io` feature) wait on async-io's, which
/// needs no runtime.
///
/// # Examples
///
/// ```
/// use ferry_io::{Copier, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry_io::CopyError> {
/// let limiter = RateLimiter::new(1 << 20); // 1 MiB/s for all who share it
/// let copier = Copier::new().rate_limit(limiter.clone());
/// let mut reader: &[u8] = &[0; 1000];
/// copier.copy(&mut reader, &mut tokio::io::sink()).await?;
/// limiter.set_rate(2 << 20);
/// assert_eq!(limiter.rate(), 2 << 20);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    bucket: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    rate: u64,
    tokens: f64,
    updated: Instant,
    /// The takers waiting for tokens, in the order they came: only the first
    /// may take, so the first to poll after a refill cannot take them all.
    queue: VecDeque<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    waker: Waker,
}

/// Why a take did not get its tokens.
#[derive(Debug)]
enum Wait {
    /// First in line: enough tokens will be there after this long.
    For(Duration),
    /// Behind others: the one ahead wakes this taker when it has taken.
    InLine,
}

impl Bucket {
    /// Reads smaller than this wait for more tokens instead, so a slow rate
    /// does not turn into a storm of tiny reads: 10 ms of bytes.
    fn grant(&self) -> f64 {
        (self.rate as f64 / 100.0).clamp(1.0, 64.0 * 1024.0)
    }

    fn burst(&self) -> f64 {
        (self.rate as f64 / 10.0).max(self.grant())
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate as f64).min(self.burst());
        self.updated = now;
    }

    /// Puts `id` in line (once), with the waker to call when its turn comes.
    fn line_up(&mut self, id: u64, waker: &Waker) {
        match self.queue.iter_mut().find(|waiter| waiter.id == id) {
            Some(waiter) => waiter.waker.clone_from(waker),
            None => self.queue.push_back(Waiter {
                id,
                waker: waker.clone(),
            }),
        }
    }

    /// Takes `id` out of line; when it was first, the next one's turn has come.
    fn leave(&mut self, id: u64) {
        let Some(at) = self.queue.iter().position(|waiter| waiter.id == id) else {
            return;
        };
        self.queue.remove(at);
        if at == 0 {
            if let Some(next) = self.queue.front() {
                next.waker.wake_by_ref();
            }
        }
    }
}

/// Tells throttles apart in a bucket's line.
static NEXT_THROTTLE: AtomicU64 = AtomicU64::new(0);

impl RateLimiter {
    /// A limiter of `bytes_per_second`.
    ///
    /// # Panics
    ///
    /// Panics if `bytes_per_second` is zero: nothing could ever move.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = ferry_io::RateLimiter::new(64 * 1024);
    /// assert_eq!(limiter.rate(), 64 * 1024);
    /// ```
    pub fn new(bytes_per_second: u64) -> Self {
        assert!(
            bytes_per_second > 0,
            "a rate limit must be at least 1 byte per second"
        );
        let mut bucket = Bucket {
            rate: bytes_per_second,
            tokens: 0.0,
            updated: Instant::now(),
            queue: VecDeque::new(),
        };
        // Start with one grant, so the first read need not wait.
        bucket.tokens = bucket.grant();
        Self {
            bucket: Arc::new(Mutex::new(bucket)),
        }
    }

    /// The limit in bytes per second.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ferry_io::RateLimiter::new(100).rate(), 100);
    /// ```
    pub fn rate(&self) -> u64 {
        self.lock().rate
    }

    /// Changes the limit for every copy that shares this limiter.
    ///
    /// # Panics
    ///
    /// Panics if `bytes_per_second` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let limiter = ferry_io::RateLimiter::new(100);
    /// limiter.set_rate(1_000_000);
    /// assert_eq!(limiter.rate(), 1_000_000);
    /// ```
    pub fn set_rate(&self, bytes_per_second: u64) {
        assert!(
            bytes_per_second > 0,
            "a rate limit must be at least 1 byte per second"
        );
        let mut bucket = self.lock();
        bucket.refill(Instant::now());
        bucket.rate = bytes_per_second;
        bucket.tokens = bucket.tokens.min(bucket.burst());
        // The first in line waits on a deadline computed at the old rate.
        if let Some(first) = bucket.queue.front() {
            first.waker.wake_by_ref();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Bucket> {
        // The bucket is consistent after every statement; a panic elsewhere cannot break it.
        self.bucket.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes up to `want` tokens for throttle `id` when it is its turn, or
    /// says what it waits for.
    fn take(&self, id: u64, want: usize, waker: &Waker, clock: Clock) -> Result<usize, Wait> {
        let mut bucket = self.lock();
        if bucket.queue.front().is_some_and(|first| first.id != id) {
            bucket.line_up(id, waker);
            return Err(Wait::InLine);
        }
        let need = bucket.grant().min(want as f64);
        // Read the clock only when the tokens on hand are not enough: a
        // deferred refill adds the same tokens later, still capped at the burst.
        if bucket.tokens < need {
            bucket.refill(clock.now());
        }
        if bucket.tokens >= need {
            // What has come in since the last turn: takers that keep
            // wanting more alternate, so their shares come out even.
            let taken = bucket.tokens.min(want as f64).floor();
            bucket.tokens -= taken;
            bucket.leave(id);
            Ok(taken as usize)
        } else {
            bucket.line_up(id, waker);
            Err(Wait::For(Duration::from_secs_f64(
                (need - bucket.tokens) / bucket.rate as f64,
            )))
        }
    }

    fn give_back(&self, unused: usize) {
        if unused > 0 {
            let mut bucket = self.lock();
            bucket.tokens = (bucket.tokens + unused as f64).min(bucket.burst());
        }
    }

    fn leave(&self, id: u64) {
        self.lock().leave(id);
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rate", &self.rate())
            .finish()
    }
}

/// One copy direction's view of its rate limiters: its place in their
/// lines, what it took, and the timer it waits on when they are empty.
#[derive(Debug)]
pub(crate) struct Throttle {
    id: u64,
    limiters: Vec<RateLimiter>,
    taken: usize,
    clock: Clock,
    timer: Option<Timer>,
    /// Whether the last take had to wait.
    waiting: bool,
}

impl Throttle {
    pub(crate) fn new(limiters: Vec<RateLimiter>, clock: Clock) -> Self {
        Self {
            id: NEXT_THROTTLE.fetch_add(1, Ordering::Relaxed),
            limiters,
            taken: 0,
            clock,
            timer: None,
            waiting: false,
        }
    }

    /// Whether the copy is held back by its rate limits right now (rather
    /// than by its ends).
    pub(crate) fn is_waiting(&self) -> bool {
        self.waiting
    }

    /// Takes tokens for up to `want` bytes from every limiter.
    pub(crate) fn poll_take(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<usize> {
        loop {
            match self.try_take_all(want, cx.waker()) {
                Ok(allowed) => {
                    self.taken = allowed;
                    self.waiting = false;
                    return Poll::Ready(allowed);
                }
                Err(Wait::InLine) => {
                    self.waiting = true;
                    return Poll::Pending;
                }
                Err(Wait::For(wait)) => {
                    self.waiting = true;
                    let now = self.clock.now();
                    let deadline = now.checked_add(wait).unwrap_or_else(|| far_future(now));
                    let timer = match &mut self.timer {
                        Some(timer) => {
                            timer.reset(deadline);
                            timer
                        }
                        None => self.timer.insert(self.clock.timer(deadline)),
                    };
                    if timer.poll_fired(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    fn try_take_all(&self, want: usize, waker: &Waker) -> Result<usize, Wait> {
        let mut allowed = want;
        for (i, limiter) in self.limiters.iter().enumerate() {
            match limiter.take(self.id, allowed, waker, self.clock) {
                Ok(taken) => {
                    // Limiters before this one gave more than this one allows.
                    for earlier in &self.limiters[..i] {
                        earlier.give_back(allowed - taken);
                    }
                    allowed = taken;
                }
                Err(wait) => {
                    for earlier in &self.limiters[..i] {
                        earlier.give_back(allowed);
                    }
                    return Err(wait);
                }
            }
        }
        Ok(allowed)
    }

    /// Returns the tokens of the last take that the read did not use.
    pub(crate) fn settle(&mut self, used: usize) {
        let unused = self.taken.saturating_sub(used);
        self.taken = 0;
        for limiter in &self.limiters {
            limiter.give_back(unused);
        }
    }

    /// Leaves every line: this direction reads no more (it reached its end,
    /// its limit or a stop), so it must not hold up the others.
    pub(crate) fn leave(&mut self) {
        self.waiting = false;
        for limiter in &self.limiters {
            limiter.leave(self.id);
        }
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        self.leave();
    }
}

/// A deadline that never comes, as far as a timer goes (about 30 years from `now`).
fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}
