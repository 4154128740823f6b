//! Task ids: a number per task, set when it is allocated and never changed.
//!
//! The id lives in the task's header, so everything that holds the task can
//! read it without a lock: the `JoinHandle` and `AbortHandle`, a `JoinError`
//! (which copies it when the handle yields the error), the trace, and the task
//! itself while it runs ([`id`], [`try_id`]).
//!
//! Ids are unique per process. Taking each one from a global counter would
//! make every spawn on every worker hit the same cache line; instead each
//! thread takes a block of [`BLOCK`] ids at a time and hands them out alone.
//! So ids are unique but not ordered by spawn time across threads, just as
//! tokio documents for its own.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
#[cfg(not(loom))]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;

/// An opaque number that identifies a task, unique for the life of the process.
///
/// `Copy + Eq + Hash + Ord + Display`, so it can key a map or label a log line.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(async { kiwi_runtime::task::id() });
///     let id = h.id();
///     assert_eq!(h.await.unwrap(), id);
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

/// Ids a thread takes from the global counter at once.
const BLOCK: u64 = 1024;

#[cfg(not(loom))]
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);

#[cfg(loom)]
loom::lazy_static! {
    // Loom replays each execution from the start, so the counter must start
    // over with it: a process-wide one would make runs differ (another id,
    // another registry shard) and confuse the model checker.
    static ref NEXT_BLOCK: loom::sync::atomic::AtomicU64 = loom::sync::atomic::AtomicU64::new(1);
}

#[cfg(not(loom))]
thread_local! {
    /// The next id of this thread's block, and the end of the block.
    static LOCAL: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// The id of the task being polled on this thread, 0 if none.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

#[cfg(loom)]
loom::thread_local! {
    static LOCAL: Cell<(u64, u64)> = Cell::new((0, 0));
    static CURRENT: Cell<u64> = Cell::new(0);
}

impl Id {
    /// A fresh id.
    pub(crate) fn next() -> Id {
        let n = LOCAL.with(|l| {
            let (mut next, mut end) = l.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            l.set((next + 1, end));
            next
        });
        // The counter starts at 1 and would need 2^64 spawns to wrap.
        Id(NonZeroU64::new(n).expect("kiwi: task ids exhausted"))
    }

    /// The number itself.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let a = kiwi_runtime::spawn(async {});
    ///     let b = kiwi_runtime::spawn(async {});
    ///     assert_ne!(a.id().as_u64(), b.id().as_u64());
    /// });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// Makes `self` the current task id until the guard drops (around a poll).
    pub(crate) fn enter(self) -> CurrentGuard {
        CurrentGuard(CURRENT.with(|c| c.replace(self.0.get())))
    }
}

/// Restores the previous current id (a poll may run inside another's, as
/// `block_on`'s root does around its tasks).
pub(crate) struct CurrentGuard(u64);

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The id of the task that is running on this thread.
///
/// # Panics
///
/// Outside a task (in a `block_on` root future, or on a plain thread); use
/// [`try_id`] to check.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(async { kiwi_runtime::task::id() });
///     assert_eq!(h.id(), h.await.unwrap());
/// });
/// ```
pub fn id() -> Id {
    try_id().expect(
        "kiwi::task::id() called outside a task; it works inside spawned tasks only \
         (use kiwi::task::try_id() to check)",
    )
}

/// The id of the task running on this thread, or `None` outside a task.
///
/// # Examples
///
/// ```
/// assert!(kiwi_runtime::task::try_id().is_none());
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(async { kiwi_runtime::task::try_id() });
///     assert!(h.await.unwrap().is_some());
/// });
/// ```
pub fn try_id() -> Option<Id> {
    NonZeroU64::new(CURRENT.with(Cell::get)).map(Id)
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_threads() {
        let ids: Vec<u64> = (0..4)
            .map(|_| std::thread::spawn(|| (0..3000).map(|_| Id::next().as_u64()).collect()))
            .flat_map(|t| t.join().unwrap_or_else(|_| Vec::new()))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        assert_eq!(ids.len(), 12_000);
    }

    #[test]
    fn current_id_is_restored() {
        assert!(try_id().is_none());
        let a = Id::next();
        let b = Id::next();
        {
            let _ga = a.enter();
            assert_eq!(try_id(), Some(a));
            {
                let _gb = b.enter();
                assert_eq!(id(), b);
            }
            assert_eq!(try_id(), Some(a));
        }
        assert!(try_id().is_none());
    }
}
