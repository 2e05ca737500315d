//! `Progress`: live byte counts of running copies that any task can read.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::{Counts, Direction, DirectionCounts};

/// A cheap shared handle to the byte counts of one or more copies.
///
/// Give it to a [`Copier`](crate::Copier) with
/// [`progress`](crate::Copier::progress) and read it from anywhere with
/// [`snapshot`](Self::snapshot). Copies add to it as they go (once per poll,
/// not per byte), so one handle shared by many copies shows their sum, which
/// is what a server's totals want.
///
/// # Examples
///
/// ```
/// use ferry_io::{Copier, Progress};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ferry_io::CopyError> {
/// let progress = Progress::new();
/// let copier = Copier::new().progress(progress.clone());
/// let mut reader: &[u8] = &[1; 5000];
/// copier.copy(&mut reader, &mut tokio::io::sink()).await?;
/// assert_eq!(progress.snapshot().a_to_b.written, 5000);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Progress {
    counters: Arc<[AtomicU64; 4]>,
}

impl Progress {
    /// A handle with every count at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// // One handle for every copy of a server, read by a reporting task.
    /// let progress = ferry_io::Progress::new();
    /// let copier = ferry_io::Copier::new().progress(progress.clone());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far.
    ///
    /// # Examples
    ///
    /// ```
    /// let progress = ferry_io::Progress::new();
    /// assert_eq!(progress.snapshot().b_to_a.read, 0);
    /// ```
    pub fn snapshot(&self) -> Counts {
        let load = |i: usize| self.counters[i].load(Ordering::Relaxed);
        Counts {
            a_to_b: DirectionCounts {
                read: load(0),
                written: load(1),
            },
            b_to_a: DirectionCounts {
                read: load(2),
                written: load(3),
            },
        }
    }

    /// Adds what a copy moved since it last reported.
    pub(crate) fn add(&self, direction: Direction, delta: DirectionCounts) {
        let base = match direction {
            Direction::AToB => 0,
            Direction::BToA => 2,
        };
        if delta.read > 0 {
            self.counters[base].fetch_add(delta.read, Ordering::Relaxed);
        }
        if delta.written > 0 {
            self.counters[base + 1].fetch_add(delta.written, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Progress").field(&self.snapshot()).finish()
    }
}
