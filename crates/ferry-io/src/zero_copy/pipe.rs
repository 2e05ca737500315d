//! `SplicePipe`: the kernel pipe a splice copy moves its bytes through.
//!
//! Each direction owns one pipe while it runs. When it ends with the pipe
//! empty, the pipe goes back to a small pool on its thread for the next
//! splice there, as HAProxy keeps one: making a pipe costs `pipe2`, two
//! `fcntl`s and two `close`s, which a relay of short streaming connections
//! would pay on every one. A pipe that may hold bytes is closed, never
//! handed to another copy.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::pipe::{fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, PipeFlags};

/// The most empty pipes a thread keeps: enough for the connections that
/// end between two that start, few enough that idle pipes hold little of
/// the user's pipe budget (`/proc/sys/fs/pipe-user-pages-soft`).
const POOLED: usize = super::POOLED_PIPES;

thread_local! {
    static POOL: RefCell<Vec<SplicePipe>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug)]
pub(crate) struct SplicePipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
    /// The size it was made for, which a pooled pipe must match.
    asked: usize,
}

impl SplicePipe {
    /// A non-blocking pipe of about `want` bytes: an empty one this thread
    /// gave back, or a new one.
    ///
    /// The size is what `F_GETPIPE_SZ` reports after asking for `want` with
    /// `F_SETPIPE_SZ`: the per-user pipe budget may shrink (or refuse) the
    /// request, and the kernel rounds it up to a power-of-two of pages.
    pub(crate) fn new(want: usize) -> io::Result<Self> {
        let want = want.max(1);
        if let Some(pipe) = take_pooled(want) {
            return Ok(pipe);
        }
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        // A refusal (EPERM over the user's budget, EINVAL above the maximum)
        // leaves the pipe at its default size, which still works.
        let _ = fcntl_setpipe_size(&write, want);
        let capacity = fcntl_getpipe_size(&write)?;
        Ok(Self {
            read,
            write,
            capacity,
            asked: want,
        })
    }

    /// Gives the pipe back to this thread's pool, if `drained` (its copy
    /// took out every byte it put in) and the kernel agrees it holds
    /// nothing; otherwise, or with the pool full, closes it.
    pub(crate) fn give_back(self, drained: bool) {
        if !drained || rustix::io::ioctl_fionread(&self.read).ok() != Some(0) {
            return;
        }
        // A thread being torn down has no pool left: the pipe just closes.
        let _ = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOLED {
                pool.push(self);
            }
        });
    }

    /// Bytes the pipe holds when full.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn read_end(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    pub(crate) fn write_end(&self) -> BorrowedFd<'_> {
        self.write.as_fd()
    }
}

/// An empty pipe made for `want` bytes from this thread's pool.
fn take_pooled(want: usize) -> Option<SplicePipe> {
    POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let at = pool.iter().rposition(|pipe| pipe.asked == want)?;
        Some(pool.swap_remove(at))
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    /// The pipe's inode: a new pipe has a new one, whatever fds it gets.
    fn inode(pipe: &SplicePipe) -> u64 {
        rustix::fs::fstat(pipe.read_end()).unwrap().st_ino
    }

    fn pooled() -> usize {
        POOL.with_borrow(Vec::len)
    }

    // Each test runs on a thread of its own, so each sees its own pool.

    #[test]
    fn an_empty_pipe_given_back_is_the_next_one_taken() {
        let pipe = SplicePipe::new(1 << 16).unwrap();
        let (id, capacity) = (inode(&pipe), pipe.capacity());
        pipe.give_back(true);
        assert_eq!(pooled(), 1);
        let again = SplicePipe::new(1 << 16).unwrap();
        assert_eq!((inode(&again), again.capacity()), (id, capacity));
        assert_eq!(pooled(), 0);
    }

    #[test]
    fn a_pipe_of_another_size_is_not_taken() {
        let pipe = SplicePipe::new(1 << 16).unwrap();
        let id = inode(&pipe);
        pipe.give_back(true);
        let other = SplicePipe::new(1 << 17).unwrap();
        assert_ne!(inode(&other), id);
        assert_eq!(pooled(), 1);
    }

    #[test]
    fn a_pipe_that_holds_bytes_is_closed_even_when_its_copy_says_drained() {
        let pipe = SplicePipe::new(1 << 16).unwrap();
        let id = inode(&pipe);
        rustix::io::write(pipe.write_end(), b"left over").unwrap();
        pipe.give_back(true);
        assert_eq!(pooled(), 0);
        let next = SplicePipe::new(1 << 16).unwrap();
        assert_ne!(inode(&next), id);
        assert_eq!(rustix::io::ioctl_fionread(next.read.as_fd()).unwrap(), 0);
    }

    #[test]
    fn a_pipe_whose_copy_did_not_drain_it_is_closed() {
        let pipe = SplicePipe::new(1 << 16).unwrap();
        pipe.give_back(false);
        assert_eq!(pooled(), 0);
    }

    #[test]
    fn the_pool_keeps_at_most_its_size() {
        let pipes: Vec<_> = (0..POOLED + 3)
            .map(|_| SplicePipe::new(1 << 16).unwrap())
            .collect();
        for pipe in pipes {
            pipe.give_back(true);
        }
        assert_eq!(pooled(), POOLED);
    }
}
