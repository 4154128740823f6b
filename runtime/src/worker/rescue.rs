//! Rescue: a worker turns the reactor of a sibling that has stopped turning
//! it.
//!
//! Each worker has its own epoll, and a socket stays registered with the
//! reactor of the worker that first polled it, even when its task is stolen:
//! the reactor's edges wake the task onto that worker again (`schedule.rs`),
//! so a steal costs no `epoll_ctl` and no cross-thread wake. What that gives
//! up is the case the stealing was for: a worker stuck in one long poll (a
//! blocking call, a long computation) does not turn its reactor, and the
//! sockets registered there wait, even those whose tasks a sibling could run.
//!
//! So the siblings keep an eye on each other, after Go's `sysmon` retaking a
//! P stuck in a syscall:
//!
//! - Each worker's reactor counts its owner's trips in and out of
//!   `epoll_wait` (`WorkerMetrics::reactor_turns`): odd while it waits there,
//!   even while it runs tasks. A sibling notes each count and when it first
//!   saw it. A count that is even and has not moved for [`RESCUE_AFTER`]
//!   means the owner has run tasks all that time without looking at its
//!   events: it is stuck.
//! - The sibling then takes those events (`epoll_wait` with a zero timeout on
//!   the stuck worker's epoll: Linux lets several threads wait on one epoll,
//!   and each edge goes to one of them); the wakes put the tasks on the
//!   rescuer's queue, and it runs them. A doorbell edge it took, meant for
//!   the owner, it writes again first.
//! - Who looks: a busy worker at every fairness tick (every 61 polls), at
//!   one sibling per tick in turn, and any worker, at all of them, as it is
//!   about to park. One parked worker at a time, the
//!   *watcher*, parks for at most [`RESCUE_AFTER`] while some sibling is
//!   awake, so that a stuck worker is noticed even when all the others
//!   sleep. As it wakes it also searches, so it steals what waits on an
//!   awake worker's ring: that is why a reactor's burst wakes no sibling
//!   while another worker watches (`Worker::schedule_next`), and why the
//!   flag names the watcher.
//! - A worker that gets stuck right after the whole runtime was idle has
//!   nobody awake to notice: every other worker parked with no time limit.
//!   So a worker that leaves `epoll_wait` with tasks to run, while nobody
//!   watches, sets the runtime's alarm, which wakes one parked sibling
//!   [`RESCUE_AFTER`] later to look (`alarm.rs`).
//!
//! The counts are read with relaxed loads: a stale read can only make a busy
//! sibling look stuck, which costs one `epoll_wait` and moves a few tasks to
//! an idle worker, never an event.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::alarm::Alarm;
use super::{Worker, WorkerRemote};
use crate::metrics::bump;
use crate::padded::CachePadded;
use crate::trace;

/// How long a sibling may go without turning its reactor before another
/// worker turns it: the added latency, at worst about twice this, of a socket
/// whose worker is stuck, against one wake-up of the watcher per period while
/// a sibling is busy.
pub(crate) const RESCUE_AFTER: Duration = Duration::from_millis(2);

/// The runtime-wide "somebody is watching" flag: at most one parked worker
/// wakes up periodically, however many workers there are. On its own cache
/// lines: parking workers write it, and it sits among the runtime's fields
/// that every poll reads.
///
/// Beside it, the alarm (`alarm.rs`) that gets a watcher going after the
/// runtime was idle.
#[derive(Debug, Default)]
pub(crate) struct Watcher {
    flag: CachePadded<AtomicUsize>,
    /// Set at start, for pools of two or more.
    pub(crate) alarm: OnceLock<Alarm>,
}

/// `Watcher`'s value while nobody watches; otherwise the watcher's index + 1,
/// or `OUTSIDE_POOL` for a `Runtime::block_on` thread (it rescues reactors
/// but has no ring, so it steals nothing).
const NOBODY: usize = 0;
const OUTSIDE_POOL: usize = usize::MAX;

impl Watcher {
    /// True if a parked pool worker other than `me` watches: it will be up
    /// within [`RESCUE_AFTER`] and steal what waits on an awake worker's ring.
    pub(super) fn watched_by_another(&self, me: usize) -> bool {
        let w = self.flag.load(Ordering::Acquire);
        w != NOBODY && w != OUTSIDE_POOL && w != me.wrapping_add(1)
    }
}

/// A worker's side: per sibling, the turn count it last saw and since when.
#[derive(Debug, Default)]
pub(crate) struct Watching {
    seen: RefCell<Vec<(u64, Instant)>>,
    /// The sibling the next fairness tick looks at.
    cursor: Cell<usize>,
}

/// What [`Worker::check_siblings`] found.
#[derive(Default)]
pub(super) struct Check {
    /// A sibling runs tasks (it is worth watching).
    pub(super) awake: bool,
    /// Tasks were rescued onto this worker.
    pub(super) rescued: bool,
}

impl Worker {
    /// Notes every sibling's turn count, and rescues those whose count has
    /// been even and unchanged for [`RESCUE_AFTER`].
    pub(super) fn check_siblings(&self, now: Instant) -> Check {
        let mut check = Check::default();
        if self.shares() {
            for i in 0..self.handle.inner.workers.len() {
                self.check_sibling(i, now, &mut check);
            }
        }
        check
    }

    /// The fairness tick's share of the watching: one sibling per tick, in
    /// turn, so that a busy worker reads one other worker's counter per 61
    /// polls, whatever the pool size.
    pub(super) fn check_next_sibling(&self) {
        let n = self.handle.inner.workers.len();
        let i = (self.watching.cursor.get() + 1) % n;
        self.watching.cursor.set(i);
        let mut check = Check::default();
        self.check_sibling(i, Instant::now(), &mut check);
    }

    fn check_sibling(&self, i: usize, now: Instant, check: &mut Check) {
        let w = &self.handle.inner.workers[i];
        let turns = w.metrics.reactor_turns.load(Ordering::Relaxed);
        if i == self.shared.index || turns % 2 == 1 {
            return; // itself, or waiting in epoll_wait: looking already
        }
        check.awake = true;
        let mut seen = self.watching.seen.borrow_mut();
        if seen.len() <= i {
            seen.resize(self.handle.inner.workers.len(), (1, now));
        }
        let (last, since) = &mut seen[i];
        if *last != turns {
            (*last, *since) = (turns, now);
        } else if now.saturating_duration_since(*since) >= RESCUE_AFTER {
            *since = now; // the next rescue of this one after RESCUE_AFTER more
            drop(seen);
            check.rescued |= self.rescue(w);
        }
    }

    /// Called just before parking: becomes the watcher if nobody is and a
    /// sibling is awake. The returned guard says how long the park may last,
    /// and gives the watch up when dropped, even by a panic in the park.
    pub(super) fn start_watch(&self, sibling_awake: bool) -> Watch<'_> {
        let me = match self.in_pool() {
            true => self.shared.index + 1,
            false => OUTSIDE_POOL,
        };
        let watcher = &self.handle.inner.watcher.flag;
        let holds = sibling_awake
            && watcher
                .compare_exchange(NOBODY, me, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        Watch {
            worker: self,
            holds,
        }
    }

    /// Called as the worker leaves `epoll_wait` with tasks to run, its watch
    /// (if it held one) given up: if nobody watches now, this worker may be
    /// the only one awake, so the alarm is set to wake a parked sibling in
    /// [`RESCUE_AFTER`] (`alarm.rs`).
    pub(super) fn arm_alarm_if_unwatched(&self, now: Instant) {
        let watcher = &self.handle.inner.watcher;
        if let Some(alarm) = watcher.alarm.get() {
            if watcher.flag.load(Ordering::Acquire) == NOBODY && alarm.arm(now, RESCUE_AFTER) {
                let me = self.shared.index;
                trace::point(trace::Kind::Alarm, 0, trace::index(me), 0, || {
                    format!("{}: alarm set, nobody watching", trace::worker(me))
                });
            }
        }
    }
}

/// A park's hold on the runtime's watch (see [`Worker::start_watch`]).
pub(super) struct Watch<'a> {
    worker: &'a Worker,
    holds: bool,
}

impl Watch<'_> {
    /// The longest the park may last: [`RESCUE_AFTER`] for the watcher.
    pub(super) fn limit(&self) -> Option<Duration> {
        self.holds.then_some(RESCUE_AFTER)
    }

    /// After the park: gives the watch up (the next worker to park takes
    /// it), and looks at the siblings if this worker was watching.
    pub(super) fn end(self) {
        if self.holds {
            self.worker.check_siblings(Instant::now());
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if self.holds {
            self.worker
                .handle
                .inner
                .watcher
                .flag
                .store(NOBODY, Ordering::Release);
        }
    }
}

impl Worker {
    /// Takes a stuck sibling's events; true if any woke a task (which this
    /// worker now runs).
    fn rescue(&self, owner: &WorkerRemote) -> bool {
        let Some(reactor) = owner.reactor() else {
            return false; // the sibling has exited
        };
        self.dispatching.set(true);
        let took = reactor.rescue(&mut self.events.borrow_mut(), self.shared.index, || {
            owner.ring_doorbell()
        });
        self.dispatching.set(false);
        // `epoll_wait(0)` on a live epoll fails only on EINTR-like retries,
        // which `Epoll::wait` handles: treat an error as "nothing there".
        let n = took.unwrap_or(0);
        if n > 0 {
            bump(&self.shared.metrics.reactor_rescues, 1);
            let (me, from) = (self.shared.index, owner.index);
            let events = trace::index(n);
            trace::point(trace::Kind::Rescue, 0, trace::index(from), events, || {
                format!(
                    "{}: rescued {n} event(s) of stuck {}",
                    trace::worker(me),
                    trace::worker(from)
                )
            });
        }
        n > 0
    }
}
