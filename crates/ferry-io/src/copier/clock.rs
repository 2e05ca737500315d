//! `Clock`: whose time a `Copier` copy reads and whose timer it sleeps on,
//! and `Timer`, that sleep.
//!
//! The watch (idle timeout, linger, giving back idle buffers, progress
//! callbacks) and the rate limits read a clock and sleep until deadlines.
//! The front end that runs the copy decides whose:
//!
//! - **tokio** for the tokio front ends, as before: its timer needs a
//!   runtime with its time driver, which a tokio user has, and tests that
//!   pause tokio's clock (`start_paused`) keep working.
//! - **async-io** for the futures-io front ends ([`crate::futures`]), which
//!   must not need a tokio runtime. async-io is the reactor that smol and
//!   async-std are built on, so their users already have it and a copy's
//!   timers share their reactor; and it needs no executor of its own: when
//!   no thread drives its reactor (under `futures::executor::block_on`, say),
//!   a thread of its own does, so its timer fires under any executor.
//!
//! The timer is not pluggable by users, since a trait for it would be API
//! that each user implements for their executor, for what async-io already
//! does under all of them. Deadlines are read on the same clock the timer
//! sleeps on, so a futures-io copy never reads tokio's clock (which a
//! paused runtime stops) while sleeping on real time.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};

/// Whose time a copy reads and sleeps on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clock {
    /// tokio's clock and timer: they need a tokio runtime with time enabled.
    Tokio,
    /// The system's clock and async-io's timer: no runtime needed.
    #[cfg(feature = "futures-io")]
    AsyncIo,
}

impl Clock {
    /// The time now.
    pub(crate) fn now(self) -> Instant {
        match self {
            Clock::Tokio => Instant::now(),
            #[cfg(feature = "futures-io")]
            Clock::AsyncIo => Instant::from_std(std::time::Instant::now()),
        }
    }

    /// A timer that fires at `deadline`.
    pub(crate) fn timer(self, deadline: Instant) -> Timer {
        match self {
            Clock::Tokio => Timer::Tokio(Box::pin(tokio::time::sleep_until(deadline))),
            #[cfg(feature = "futures-io")]
            Clock::AsyncIo => Timer::AsyncIo(Box::new(async_io::Timer::at(deadline.into_std()))),
        }
    }
}

/// A sleep until a deadline that can be moved. Either kind is boxed (tokio's
/// must be, not being `Unpin`), so that async-io's, several words wide, does
/// not grow every copy's state when the feature is on.
#[derive(Debug)]
pub(crate) enum Timer {
    Tokio(Pin<Box<Sleep>>),
    #[cfg(feature = "futures-io")]
    AsyncIo(Box<async_io::Timer>),
}

impl Timer {
    /// Moves the deadline to `deadline`, passed or not.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        match self {
            Timer::Tokio(sleep) => sleep.as_mut().reset(deadline),
            #[cfg(feature = "futures-io")]
            Timer::AsyncIo(timer) => timer.set_at(deadline.into_std()),
        }
    }

    /// `Ready` once the deadline has passed; until then, wakes the task when it does.
    ///
    /// Reset it before polling it again once it has fired: an async-io
    /// timer that has fired waits forever.
    pub(crate) fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Timer::Tokio(sleep) => sleep.as_mut().poll(cx),
            #[cfg(feature = "futures-io")]
            Timer::AsyncIo(timer) => Pin::new(&mut **timer).poll(cx).map(drop),
        }
    }
}
