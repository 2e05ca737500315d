//! Polling a copy to the end, one poll at a time, and catching hangs.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use tokio::runtime::{Builder, Runtime};

use super::ends::World;

thread_local! {
    /// One current-thread runtime per thread, made once: building one per
    /// case would cost more than most cases. Time is enabled because a
    /// `Copier` arms a timer to give back idle buffers.
    static RUNTIME: Runtime = Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// A waker that counts its wake-ups.
#[derive(Debug, Default)]
struct Wakes(AtomicU64);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Polls `copy` until it is ready, at most `max_polls` times, and calls
/// `after_pending` after each `Pending` so the caller can check the ends.
///
/// Each poll runs as its own poll of a `block_on` task, so tokio gives it a
/// fresh cooperative budget, unless `budgeted` is false, when the copy runs
/// `unconstrained`. The copy sees a counting waker of ours. It fails:
///
/// - when a poll returns `Pending` without moving [`World::progress`]: the
///   ends are deterministic, so the next poll would do the same, forever;
/// - when no wake-up arrived between a `Pending` and the next poll (tokio
///   defers the wake-up of a spent budget to the scheduler, so the count is
///   read at the next poll, not right after `Pending`): a task would hang;
/// - after `max_polls` polls, a backstop for slower loops.
pub fn drive<F: Future>(
    world: &World,
    copy: F,
    budgeted: bool,
    max_polls: u64,
    after_pending: impl FnMut() -> Result<(), String>,
) -> Result<F::Output, String> {
    if budgeted {
        poll_to_end(world, copy, max_polls, after_pending)
    } else {
        let copy = tokio::task::coop::unconstrained(copy);
        poll_to_end(world, copy, max_polls, after_pending)
    }
}

fn poll_to_end<F: Future>(
    world: &World,
    copy: F,
    max_polls: u64,
    mut after_pending: impl FnMut() -> Result<(), String>,
) -> Result<F::Output, String> {
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut copy = pin!(copy);
    let mut polls = 0;
    let mut waiting_since = None;
    let run = poll_fn(|outer| {
        if let Some(before) = waiting_since.take() {
            if wakes.0.load(Ordering::Relaxed) == before {
                return Poll::Ready(Err(format!(
                    "poll {polls} returned Pending without arranging a wake-up: the task would hang"
                )));
            }
        }
        if polls == max_polls {
            return Poll::Ready(Err(format!("not done after {max_polls} polls")));
        }
        polls += 1;
        world.epoch.set(polls);
        let progress = world.progress.get();
        let before = wakes.0.load(Ordering::Relaxed);
        match copy.as_mut().poll(&mut cx) {
            Poll::Ready(output) => Poll::Ready(Ok(output)),
            Poll::Pending if world.progress.get() == progress => Poll::Ready(Err(format!(
                "poll {polls} returned Pending without any progress: it would spin forever"
            ))),
            Poll::Pending => {
                if let Err(why) = after_pending() {
                    return Poll::Ready(Err(why));
                }
                waiting_since = Some(before);
                outer.waker().wake_by_ref();
                Poll::Pending
            }
        }
    });
    RUNTIME.with(|runtime| runtime.block_on(run))
}
