//! `StopSignal`: a graceful stop shared by any number of running copies,
//! and `StopListener`, one copy's registration to be woken by it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use crate::engine::StopFlag;

/// Tells copies to stop reading and end cleanly, as if each had reached its
/// [`limit`](crate::Copier::limit).
///
/// Give a signal to a [`Copier`](crate::Copier) with
/// [`stop_on`](crate::Copier::stop_on); clones share it, so one signal can
/// stop every copy of a server (say, on Ctrl-C). After
/// [`stop`](Self::stop), each copy that uses it
///
/// - reads nothing more: a read that is waiting (on an idle socket, say) is
///   abandoned without taking a byte, and so is a `copy_file_range` or
///   `sendfile` that has not started;
/// - writes and flushes every byte it has already read (a `copy_file_range`
///   call already running finishes first);
/// - then ends with `Ok` and exact counts; in a bidirectional copy each
///   direction shuts down its write half as it would at EOF.
///
/// A copy whose writer cannot take the bytes it still holds keeps waiting
/// for that writer; drop the copy to give up on them. A copy started with a
/// signal that is already stopped ends at once, having read nothing.
///
/// # Examples
///
/// ```
/// use ferry_io::{Copier, StopSignal};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let stop = StopSignal::new();
/// let copier = Copier::new().stop_on(stop.clone());
///
/// let (mut input, mut reader) = tokio::io::duplex(64);
/// let (mut writer, mut output) = tokio::io::duplex(64);
/// let copy = tokio::spawn(async move { copier.copy(&mut reader, &mut writer).await });
///
/// input.write_all(b"before the stop").await?;
/// let mut moved = [0; 15];
/// output.read_exact(&mut moved).await?;
/// // The copy now waits for more input, which never comes: stop it.
/// stop.stop();
/// assert_eq!(copy.await??, 15);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    waiters: Mutex<Waiters>,
}

impl StopFlag for Inner {
    fn is_set(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// The tasks to wake on a stop: one slot per running copy, reused.
#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl StopSignal {
    /// A signal that has not been given.
    ///
    /// # Examples
    ///
    /// ```
    /// let stop = ferry_io::StopSignal::new();
    /// let copier = ferry_io::Copier::new().stop_on(stop.clone());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops every copy that uses this signal (or a clone of it), now and
    /// from now on; it wakes each one that is waiting. Calling it again does
    /// nothing more.
    ///
    /// # Examples
    ///
    /// ```
    /// let stop = ferry_io::StopSignal::new();
    /// let for_the_server = stop.clone();
    /// stop.stop();
    /// assert!(for_the_server.is_stopped());
    /// ```
    pub fn stop(&self) {
        if self.inner.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let wakers: Vec<Waker> = self
            .lock()
            .slots
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        // Woken outside the lock: a waker may run its task right here.
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether [`stop`](Self::stop) has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// let stop = ferry_io::StopSignal::new();
    /// assert!(!stop.is_stopped());
    /// stop.stop();
    /// assert!(stop.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // The slots are consistent after every statement; a panic elsewhere cannot break them.
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What [`stop`](Self::stop) sets, for a blocking task to check.
    pub(crate) fn flag(&self) -> Arc<dyn StopFlag> {
        self.inner.clone()
    }
}

impl fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopSignal")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// One copy's place among a signal's waiters, given back when dropped.
#[derive(Debug)]
pub(crate) struct StopListener {
    signal: StopSignal,
    slot: Option<usize>,
    /// The waker in the slot, to skip the lock when the task's is the same.
    registered: Option<Waker>,
}

impl StopListener {
    pub(crate) fn new(signal: StopSignal) -> Self {
        Self {
            signal,
            slot: None,
            registered: None,
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.signal.is_stopped()
    }

    /// Has a later [`StopSignal::stop`] wake `waker`. Check
    /// [`is_stopped`](Self::is_stopped) after this, not before: a stop
    /// between the two is then seen by one or the other.
    pub(crate) fn register(&mut self, waker: &Waker) {
        if self.is_stopped()
            || self
                .registered
                .as_ref()
                .is_some_and(|registered| registered.will_wake(waker))
        {
            return;
        }
        let mut waiters = self.signal.lock();
        let slot = match self.slot {
            Some(slot) => slot,
            None => {
                let slot = waiters.free.pop().unwrap_or_else(|| {
                    waiters.slots.push(None);
                    waiters.slots.len() - 1
                });
                *self.slot.insert(slot)
            }
        };
        waiters.slots[slot] = Some(waker.clone());
        self.registered = Some(waker.clone());
    }
}

impl Drop for StopListener {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut waiters = self.signal.lock();
            waiters.slots[slot] = None;
            waiters.free.push(slot);
        }
    }
}
