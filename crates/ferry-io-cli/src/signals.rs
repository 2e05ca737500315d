//! SIGINT and SIGTERM, and the one way ferry stops on them: the first signal
//! asks the work to wrap up, which it may do for a grace period; the second
//! signal, or the end of the grace period, cuts it off.

use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT and SIGTERM, as one stream of "please stop".
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Starts listening for SIGINT and SIGTERM (replacing their default of
    /// killing the process).
    ///
    /// # Errors
    ///
    /// When the signal handlers cannot be installed.
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// How work that signals may stop ended.
#[derive(Debug)]
pub enum Finish<T> {
    /// It finished without a signal.
    Done(T),
    /// It finished after the first signal asked it to wrap up.
    AfterSignal(T),
    /// The grace period ran out, or a second signal came: it was dropped.
    Cut,
}

/// Runs `work` to its end. At the first signal `wrap_up` is called (to tell
/// the work to finish soon) and the work may go on for at most `grace`
/// (without limit when `None`); a second signal cuts it off at once.
pub async fn until_cut<F: Future>(
    work: F,
    signals: &mut Signals,
    grace: Option<Duration>,
    wrap_up: impl FnOnce(),
) -> Finish<F::Output> {
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => return Finish::Done(done),
        _ = signals.recv() => {}
    }
    wrap_up();
    let grace = async {
        match grace {
            Some(grace) => tokio::time::sleep(grace).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        done = &mut work => Finish::AfterSignal(done),
        _ = grace => Finish::Cut,
        _ = signals.recv() => Finish::Cut,
    }
}
