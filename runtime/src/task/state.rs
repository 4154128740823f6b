//! The task's state word: six flag bits and a reference count, in one `AtomicUsize`.
//!
//! Every transition is a single read-modify-write, so two threads can never both
//! believe they won the same race. The bits:
//!
//! | bit | name | meaning while set | never true alongside |
//! |---|---|---|---|
//! | 0 | `RUNNING` | the owner is polling (or dropping) the future right now | — |
//! | 1 | `NOTIFIED` | a run-queue entry for the task exists, or the poller will make one | `COMPLETE` is allowed only while the leftover entry drains |
//! | 2 | `COMPLETE` | the future is gone; the stage holds the output, or it was taken | `RUNNING` |
//! | 3 | `CANCELLED` | `abort` (or shutdown) asked for the future to be dropped | — |
//! | 4 | `JOIN_INTEREST` | a `JoinHandle` exists and will read the output | — |
//! | 5 | `JOIN_WAKER` | the `JoinHandle`'s waker is stored in the header | — |
//! | 6.. | refcount | number of live references: queue entry, registry, `JoinHandle`, `AbortHandle`s, wakers | — |
//!
//! Invariants:
//! - `RUNNING` is set by whoever holds the task's one queue entry (the worker
//!   that popped it) or by shutdown's claim, each through one CAS, so at most one
//!   poll (or drop of the future) runs at a time. A local task's entries only
//!   ever reach its owner's thread; a `Send` task may be polled on any worker of
//!   its runtime, one at a time.
//! - A wake while `RUNNING` only sets `NOTIFIED`; the poller, seeing it when it
//!   finishes, puts the task back on its queue. No second queue entry is made.
//! - While `JOIN_WAKER` is clear and `COMPLETE` is clear, only the `JoinHandle` may
//!   touch the join-waker cell (it writes its waker there, then sets `JOIN_WAKER`).
//!   Once `JOIN_WAKER` is set, nobody writes it until the handle clears the bit
//!   again (which fails once `COMPLETE` is set); the completing owner only
//!   *reads* it to wake it, because the handle may be reading it at the same time
//!   (comparing wakers on a re-poll). The waker is dropped with the task.
//! - Exactly one side drops the output: the owner, if `JOIN_INTEREST` was clear when
//!   it set `COMPLETE`; otherwise the `JoinHandle`, which reads it or drops it.
//! - The reference that frees the task is the last one, whichever thread drops it;
//!   by then the future is always gone (a registry holds a reference for as long
//!   as the future lives; before a `Send` task's first `Pending`, the task's own
//!   reference stands in for it).

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

/// Bit 0: the owner is polling (or dropping) the future right now. Set only
/// through the one queue entry's claim (or shutdown's), so at most one poll
/// runs at a time.
pub(crate) const RUNNING: usize = 1 << 0;
/// Bit 1: a run-queue entry for the task exists, or the poller will make one
/// when it finishes. Alongside `COMPLETE` only while a leftover entry drains.
pub(crate) const NOTIFIED: usize = 1 << 1;
/// Bit 2: the future is gone; the stage holds the output, or it was taken.
/// Never alongside `RUNNING`.
pub(crate) const COMPLETE: usize = 1 << 2;
/// Bit 3: `abort` (or shutdown) asked for the future to be dropped.
pub(crate) const CANCELLED: usize = 1 << 3;
/// Bit 4: a `JoinHandle` exists and will read the output; while set, the
/// handle (not the owner) drops the output.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// Bit 5: the `JoinHandle`'s waker is stored in the header. While set, only
/// the handle may write the cell; the completing owner only reads it.
pub(crate) const JOIN_WAKER: usize = 1 << 5;
/// Bits 6 and up count live references (queue entry, registry, `JoinHandle`,
/// `AbortHandle`s, wakers); this is one of them. The last one frees the task.
pub(crate) const REF_ONE: usize = 1 << 6;

/// A copy of the state word, with helpers to read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is(self, bit: usize) -> bool {
        self.0 & bit != 0
    }
    pub(crate) fn refs(self) -> usize {
        self.0 / REF_ONE
    }
}

/// What the owner must do with a task it popped from a run queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Run {
    /// Poll the future.
    Poll,
    /// `abort` came first: drop the future instead of polling it.
    Cancel,
    /// Already complete (a leftover queue entry): just drop the entry's reference.
    Skip,
}

/// What the owner must do after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Nobody woke it: the queue entry's reference was released in the same step.
    Done,
    /// Woken during the poll: put it back on the run queue, reusing the reference.
    Requeue,
    /// Aborted during the poll: drop the future now.
    Cancel,
}

/// What a wake or an abort must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Submit {
    /// Push a new run-queue entry (a reference was taken for it).
    Yes,
    /// Nothing to push.
    No,
    /// Nothing to push, and the reference the caller gave up was the last one.
    Dealloc,
}

/// The atomic state word.
pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task: queued (`NOTIFIED`), with a `JoinHandle` and `refs` references.
    pub(crate) fn new(refs: usize) -> State {
        State(AtomicUsize::new(
            NOTIFIED | JOIN_INTEREST | (refs * REF_ONE),
        ))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Applies `f` in a compare-and-swap loop. `f` returns the new word (or `None`
    /// to leave it) and a verdict. Returns the verdict and the previous word.
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> (R, Snapshot) {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (next, verdict) = f(Snapshot(cur));
            let Some(next) = next else {
                return (verdict, Snapshot(cur));
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return (verdict, Snapshot(cur)),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Owner, on popping a queue entry: `NOTIFIED` -> `RUNNING`.
    ///
    /// `RUNNING` already set means shutdown claimed the task (see
    /// [`State::claim_for_shutdown`]) while this entry was queued: the claimer
    /// drops the future, and the entry only drops its reference.
    pub(crate) fn transition_to_running(&self) -> Run {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(RUNNING) {
                return (None, Run::Skip);
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            let run = if s.is(CANCELLED) {
                Run::Cancel
            } else {
                Run::Poll
            };
            (Some(next), run)
        })
        .0
    }

    /// Shutdown, on a task taken from a registry: set `RUNNING | CANCELLED`, so
    /// the caller drops the future. Returns false when there is nothing to drop
    /// here: the task completed, or another worker is polling it right now (a
    /// `Send` task during a runtime's shutdown), in which case `CANCELLED` makes
    /// that poller drop the future when its poll returns. A queue entry of the
    /// task may still exist; when it is popped it sees `RUNNING` or `COMPLETE`
    /// and is skipped.
    pub(crate) fn claim_for_shutdown(&self) -> bool {
        self.update(|s| {
            if s.is(COMPLETE) {
                (None, false)
            } else if s.is(RUNNING) {
                (Some(s.0 | CANCELLED), false)
            } else {
                (Some(s.0 | RUNNING | CANCELLED), true)
            }
        })
        .0
    }

    /// Owner, after a poll returned `Pending`. In the `Done` case the queue
    /// entry's reference is released in the same step (the registry still holds
    /// one, so it is never the last).
    pub(crate) fn transition_to_idle(&self) -> Idle {
        self.update(|s| {
            debug_assert!(s.is(RUNNING));
            if s.is(CANCELLED) {
                (None, Idle::Cancel)
            } else if s.is(NOTIFIED) {
                (Some(s.0 & !RUNNING), Idle::Requeue)
            } else {
                debug_assert!(s.refs() >= 2);
                (Some((s.0 & !RUNNING) - REF_ONE), Idle::Done)
            }
        })
        .0
    }

    /// Owner, after storing the output: `RUNNING` -> `COMPLETE`. Returns the
    /// word before, whose `JOIN_INTEREST` and `JOIN_WAKER` say who gets the output.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.is(RUNNING) && !prev.is(COMPLETE));
        prev
    }

    /// A waker, keeping its own reference.
    pub(crate) fn wake_by_ref(&self) -> Submit {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(NOTIFIED) {
                (None, Submit::No)
            } else if s.is(RUNNING) {
                (Some(s.0 | NOTIFIED), Submit::No)
            } else {
                (Some((s.0 | NOTIFIED) + REF_ONE), Submit::Yes)
            }
        })
        .0
    }

    /// A waker, giving up its reference (to the queue entry, or dropping it).
    pub(crate) fn wake_by_val(&self) -> Submit {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(NOTIFIED) {
                let last = s.refs() == 1;
                (
                    Some(s.0 - REF_ONE),
                    if last { Submit::Dealloc } else { Submit::No },
                )
            } else if s.is(RUNNING) {
                // The poller holds a reference, so ours is not the last.
                (Some((s.0 | NOTIFIED) - REF_ONE), Submit::No)
            } else {
                (Some(s.0 | NOTIFIED), Submit::Yes)
            }
        })
        .0
    }

    /// `abort`: set `CANCELLED`; if the task is idle, queue it so the owner drops it.
    pub(crate) fn transition_to_cancelled(&self) -> Submit {
        self.update(|s| {
            if s.is(COMPLETE) || s.is(CANCELLED) {
                (None, Submit::No)
            } else if s.is(RUNNING) || s.is(NOTIFIED) {
                (Some(s.0 | CANCELLED), Submit::No)
            } else {
                (Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE), Submit::Yes)
            }
        })
        .0
    }

    /// `JoinHandle` drop: clear `JOIN_INTEREST` unless complete. Returns the word
    /// seen; if it says `COMPLETE`, the handle owns the output and must drop it.
    pub(crate) fn unset_join_interest(&self) -> Snapshot {
        self.update(|s| {
            if s.is(COMPLETE) {
                (None, ())
            } else {
                (Some(s.0 & !JOIN_INTEREST), ())
            }
        })
        .1
    }

    /// `JoinHandle`, after writing its waker: publish it. `Err` if completed first.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        let (ok, s) = self.update(|s| {
            if s.is(COMPLETE) {
                (None, false)
            } else {
                (Some(s.0 | JOIN_WAKER), true)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(s)
        }
    }

    /// `JoinHandle`, before replacing its waker: take the cell back. `Err` if
    /// completed first (the owner now owns the cell).
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        let (ok, s) = self.update(|s| {
            if s.is(COMPLETE) {
                (None, false)
            } else {
                (Some(s.0 & !JOIN_WAKER), true)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(s)
        }
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Ordering::Relaxed);
        // Like `Arc`: a count this high means references are being leaked in a loop.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drops `n` references; true if they were the last.
    pub(crate) fn ref_dec(&self, n: usize) -> bool {
        let prev = Snapshot(self.0.fetch_sub(n * REF_ONE, Ordering::AcqRel));
        debug_assert!(prev.refs() >= n);
        prev.refs() == n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn wake_while_running_requeues_once() {
        let s = State::new(2);
        assert_eq!(s.transition_to_running(), Run::Poll);
        assert_eq!(s.wake_by_ref(), Submit::No);
        assert_eq!(s.wake_by_ref(), Submit::No);
        assert_eq!(s.transition_to_idle(), Idle::Requeue);
        assert_eq!(s.transition_to_running(), Run::Poll);
        assert_eq!(s.transition_to_idle(), Idle::Done);
        assert_eq!(s.load().refs(), 1);
    }

    #[test]
    fn idle_wake_takes_a_reference() {
        let s = State::new(3);
        assert_eq!(s.transition_to_running(), Run::Poll);
        assert_eq!(s.transition_to_idle(), Idle::Done);
        assert_eq!(s.wake_by_ref(), Submit::Yes);
        assert_eq!(s.load().refs(), 3);
        assert_eq!(s.wake_by_ref(), Submit::No);
    }

    #[test]
    fn abort_each_state() {
        // Scheduled: only the flag.
        let s = State::new(2);
        assert_eq!(s.transition_to_cancelled(), Submit::No);
        assert_eq!(s.transition_to_running(), Run::Cancel);
        // Idle: a queue entry is made.
        let s = State::new(3);
        s.transition_to_running();
        s.transition_to_idle();
        assert_eq!(s.transition_to_cancelled(), Submit::Yes);
        assert_eq!(s.transition_to_cancelled(), Submit::No);
        // Running: the poller sees it.
        let s = State::new(2);
        s.transition_to_running();
        s.transition_to_cancelled();
        assert_eq!(s.transition_to_idle(), Idle::Cancel);
        // Complete: nothing.
        let s = State::new(2);
        s.transition_to_running();
        s.transition_to_complete();
        assert_eq!(s.transition_to_cancelled(), Submit::No);
    }

    #[test]
    fn join_waker_handoff() {
        let s = State::new(2);
        assert!(s.set_join_waker().is_ok());
        s.transition_to_running();
        let prev = s.transition_to_complete();
        assert!(prev.is(JOIN_WAKER) && prev.is(JOIN_INTEREST));
        assert!(s.unset_join_waker().is_err());
        assert!(s.unset_join_interest().is(COMPLETE));
    }
}
