//! The cooperative budget: how one always-ready socket is kept from starving the
//! rest of a worker.
//!
//! The seed notes describe starvation: a socket that always has data can keep a
//! loop busy forever. With futures the risk is a task whose I/O never returns
//! `Pending`: `loop { sock.read(&mut buf).await }` on a fast peer, or a `peek`
//! that is always ready. Each task poll therefore gets a budget of
//! [`BUDGET`] I/O operations. Every completed operation of kiwi's sockets spends
//! one unit; when none is left the operation returns `Pending` after waking its
//! own task, which goes to the back of the run queue. Timers do not spend budget
//! (a timer that fired is not a hot loop). Outside a task poll the budget is
//! unlimited.
//!
//! This hook is public so that I/O types written outside kiwi can play fair too.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations one task poll may complete before it must yield.
pub const BUDGET: u32 = 128;
const UNLIMITED: u32 = u32::MAX;

thread_local! {
    static LEFT: Cell<u32> = const { Cell::new(UNLIMITED) };
}

/// Runs `f` (a task poll) with a fresh budget, then restores the previous one.
pub(crate) fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            LEFT.with(|l| l.set(self.0));
        }
    }
    let _restore = Restore(LEFT.with(|l| l.replace(BUDGET)));
    f()
}

/// Returns `Pending` (after waking the task) if the current poll's budget is
/// spent; call it before an I/O operation.
///
/// # Examples
///
/// ```
/// use std::task::Poll;
/// kiwi_runtime::block_on(async {
///     // Inside a task poll the budget is finite; spending it all forces a yield.
///     let mut ops = 0;
///     std::future::poll_fn(|cx| loop {
///         match kiwi_runtime::coop::poll_proceed(cx) {
///             Poll::Ready(()) => { kiwi_runtime::coop::spend(); ops += 1; }
///             Poll::Pending => return Poll::Ready(()),
///         }
///     }).await;
///     assert_eq!(ops, kiwi_runtime::coop::BUDGET);
/// });
/// ```
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    if LEFT.with(Cell::get) == 0 {
        cx.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// Spends one unit (call it when an operation completes).
#[inline]
pub fn spend() {
    LEFT.with(|l| {
        let left = l.get();
        if left != UNLIMITED && left > 0 {
            l.set(left - 1);
        }
    });
}

/// True if the current task poll still has budget.
pub fn has_budget_remaining() -> bool {
    LEFT.with(Cell::get) > 0
}
