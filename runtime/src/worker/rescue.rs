//! Rescue: an idle worker turns the reactor of a sibling that has stopped
//! turning it.
//!
//! Each worker has its own epoll, and a socket stays registered with the
//! reactor of the worker that first polled it, even when its task is stolen:
//! the reactor's edges wake the task onto that worker again (`schedule.rs`),
//! so a steal costs no `epoll_ctl` and no cross-thread wake. What that gives
//! up is the case the stealing was for: a worker stuck in one long poll (a
//! blocking call, a long computation) does not turn its reactor, and the
//! sockets registered there wait, even those whose tasks a sibling could run.
//!
//! So one idle worker at a time is the runtime's *watcher*, after Go's
//! `sysmon` retaking a P stuck in a syscall:
//!
//! 1. When it parks while a sibling is awake, it notes each sibling's turn
//!    count ([`Reactor::turns`](crate::reactor::Reactor::turns): odd while
//!    the owner waits in `epoll_wait`, even while it runs tasks) and parks for
//!    at most [`RESCUE_AFTER`].
//! 2. When it wakes at least that much later, a sibling whose count has not
//!    moved and is even has run tasks for all that time without looking at
//!    its events. The watcher takes them (`epoll_wait` with no timeout on the
//!    sibling's epoll: Linux lets several threads wait on one epoll, and each
//!    edge goes to one of them) and the wakes put the tasks on the watcher's
//!    own queue, where it runs them.
//! 3. If one of the edges it took was the sibling's doorbell, it writes the
//!    doorbell again: that edge was meant for the sibling.
//!
//! The count is read with relaxed loads: a stale read can only make a busy
//! sibling look stuck, which costs one `epoll_wait` and moves a few tasks to
//! an idle worker, never a lost event. A stuck worker's sockets are served
//! within about two [`RESCUE_AFTER`]s; an idle runtime (every sibling parked)
//! arms no watch and sleeps as long as its timers let it.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Worker, WorkerRemote};
use crate::metrics::bump;
use crate::reactor::Reactor;

/// How long a sibling may go without turning its reactor before the watcher
/// turns it: the added latency, at worst, of a socket whose worker is stuck,
/// against one wake of an idle worker per period while a sibling is busy.
pub(crate) const RESCUE_AFTER: Duration = Duration::from_millis(2);

/// The runtime-wide "somebody is watching" flag: at most one idle worker
/// wakes up periodically, however many workers there are.
#[derive(Debug, Default)]
pub(crate) struct Watch(AtomicBool);

/// A worker's side of the watch: whether it holds it, and the turn counts it
/// noted.
#[derive(Debug, Default)]
pub(crate) struct Watching {
    holds: Cell<bool>,
    turns: RefCell<Vec<u64>>,
}

impl Worker {
    /// Called before parking: becomes the watcher if nobody is and a sibling
    /// is awake, and then returns the longest the park may last.
    pub(super) fn start_watch(&self) -> Option<Duration> {
        if !self.shares() {
            return None;
        }
        let workers = &self.handle.inner.workers;
        let mut turns = self.watching.turns.borrow_mut();
        turns.clear();
        // Odd (or absent): waiting in epoll, or gone; nothing to rescue.
        turns.extend(workers.iter().map(|w| w.reactor().map_or(1, |r| r.turns())));
        let awake = turns
            .iter()
            .enumerate()
            .any(|(i, t)| i != self.shared.index && t % 2 == 0);
        if !awake || self.handle.inner.watch.0.swap(true, Ordering::AcqRel) {
            return None;
        }
        self.watching.holds.set(true);
        Some(RESCUE_AFTER)
    }

    /// Called after the park, which lasted `parked`: gives the watch up, and
    /// rescues every sibling that has not turned its reactor meanwhile.
    pub(super) fn end_watch(&self, parked: Duration) {
        if !self.watching.holds.replace(false) {
            return;
        }
        self.handle.inner.watch.0.store(false, Ordering::Release);
        if parked < RESCUE_AFTER {
            return;
        }
        let noted = self.watching.turns.borrow();
        for (i, w) in self.handle.inner.workers.iter().enumerate() {
            let Some(reactor) = w.reactor() else { continue };
            let now = reactor.turns();
            if i != self.shared.index && now == noted[i] && now % 2 == 0 {
                self.rescue(w, &reactor);
            }
        }
    }

    fn rescue(&self, owner: &WorkerRemote, reactor: &Reactor) {
        self.dispatching.set(true);
        let took = reactor.rescue(&mut self.events.borrow_mut(), self.shared.index);
        self.dispatching.set(false);
        // An error would mean the sibling's epoll is gone (it is exiting).
        if let Ok((n, doorbell)) = took {
            if doorbell {
                owner.ring_doorbell();
            }
            if n > 0 {
                bump(&self.shared.metrics.reactor_rescues, 1);
            }
        }
    }
}
