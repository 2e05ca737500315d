//! `MemoryBudget`: the buffer memory that growing copies share.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A bound on the memory that copies' buffers may grow into, shared by
/// every copy it is given to.
///
/// A buffer always gets its policy's initial size (8 KiB by default);
/// growing past it takes the difference from the budget, and shrinking,
/// releasing or dropping the buffer gives it back. When the budget is spent,
/// buffers stop growing (the copies go on, with the buffers they have). A
/// server that gives one budget to all its connections bounds what they
/// hold: peers that send and never read cannot pin a megabyte each.
///
/// # Examples
///
/// ```
/// use ferry_io::{Copier, MemoryBudget};
///
/// // At most 64 MiB of grown buffers across every relay of a server.
/// let budget = MemoryBudget::new(64 << 20);
/// let copier = Copier::new().memory_budget(budget.clone());
/// assert_eq!(budget.used(), 0);
/// ```
#[derive(Clone)]
pub struct MemoryBudget {
    inner: Arc<Inner>,
}

struct Inner {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// let budget = ferry_io::MemoryBudget::new(256 << 20);
    /// assert_eq!(budget.limit(), 256 << 20);
    /// ```
    pub fn new(bytes: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                limit: bytes,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The bound, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let budget = ferry_io::MemoryBudget::new(1 << 20);
    /// println!("grown buffers may hold {} bytes", budget.limit());
    /// ```
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Bytes that grown buffers hold now.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let budget = ferry_io::MemoryBudget::new(1 << 20);
    /// let copier = ferry_io::Copier::new().memory_budget(budget.clone());
    /// let (mut reader, mut writer) = (&[1u8; 100_000][..], Vec::new());
    /// copier.copy(&mut reader, &mut writer).await?;
    /// // A finished copy has given everything back.
    /// assert_eq!(budget.used(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// Takes `bytes` if they fit.
    pub(crate) fn take(&self, bytes: usize) -> bool {
        let limit = self.inner.limit;
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|after| *after <= limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` taken before.
    pub(crate) fn give(&self, bytes: usize) {
        self.inner.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget")
            .field("limit", &self.limit())
            .field("used", &self.used())
            .finish()
    }
}
