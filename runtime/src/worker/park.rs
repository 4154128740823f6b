//! Waiting for work: the remote queue, the reactor, the timers, and parking.
//!
//! A worker looks at these three sources every [`EVENT_INTERVAL`](super::EVENT_INTERVAL)
//! polls without waiting (the fairness tick, [`Worker::maintenance`]), and
//! waits on all three at once when it has nothing to run
//! ([`Worker::park`]): `epoll_wait` with the next timer's deadline as its
//! timeout, and the eventfd doorbell among the watched descriptors. Around
//! the wait it tells the idle protocol (`idle.rs`) that it sleeps, and that it
//! is awake again before it queues anything it found. One parked worker at a
//! time also watches for a sibling stuck in a long poll (`rescue.rs`), and
//! so sleeps at most a couple of milliseconds while a sibling is awake.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::Worker;
use crate::metrics::{bump, saturating_nanos};
use crate::task::ring::KEEP_WHEN_EMPTY;
use crate::trace;

impl Worker {
    /// The fairness tick: remote queue, reactor (no waiting), timers, and a
    /// look at the siblings' reactors (`rescue.rs`).
    pub(super) fn maintenance(&self) {
        self.drain_remote();
        self.turn_reactor(Some(std::time::Duration::ZERO));
        self.fire_timers();
        if self.shares() {
            self.check_next_sibling();
            // Edges queue surplus without waking anyone (`schedule_next`):
            // share what is left of them now, once per interval.
            if self.surplus() {
                self.notify_parked();
            }
        }
    }

    /// Moves the remote queue into the local ones. True if a notification was
    /// consumed: then something changed (remote tasks, a stop request, a root
    /// wake) and the caller must look around before it may sleep.
    pub(super) fn drain_remote(&self) -> bool {
        if !self.shared.handshake.take_notified() {
            return false;
        }
        self.take_remote();
        true
    }

    pub(super) fn take_remote(&self) {
        let mut spare = self.spare.borrow_mut();
        let (send, local) = &mut *spare;
        {
            let mut remote = self.shared.remote();
            std::mem::swap(&mut remote.send, send);
            std::mem::swap(&mut remote.local, local);
            self.shared.count_remote(&remote);
        }
        let n = send.len() + local.len();
        if n == 0 {
            return;
        }
        bump(&self.shared.metrics.remote_wakes, n as u64);
        self.local.borrow_mut().extend(local.drain(..));
        // These two become the remote queue again at the next drain: one
        // that a burst of spawns or wakes from other threads grew gives the
        // capacity back now that it is empty (see `KEEP_WHEN_EMPTY`).
        shrink_spare(local);
        if send.is_empty() {
            return;
        }
        let inject = &self.handle.inner.inject;
        {
            let mut ring = self.ring.borrow_mut();
            for task in send.drain(..) {
                if ring.push_back(task, inject) {
                    bump(&self.shared.metrics.overflows, 1);
                }
            }
        }
        shrink_spare(send);
        if self.shares && self.surplus() {
            self.notify_parked();
        }
    }

    pub(super) fn turn_reactor(&self, timeout: Option<std::time::Duration>) {
        let mut events = self.events.borrow_mut();
        // An epoll_wait failure other than EINTR (handled inside) would mean the
        // epoll fd itself is broken; there is nothing better to do than to carry
        // on and let timers and the doorbell's next ring retry.
        self.dispatching.set(true);
        let _ = self.reactor.turn(timeout, &mut events, self.shared.index);
        self.dispatching.set(false);
    }

    pub(super) fn fire_timers(&self) {
        let traced = trace::enabled().then(trace::now);
        let turn = self.timers.process();
        if turn.fired > 0 || turn.cascaded > 0 {
            bump(&self.shared.metrics.timers_fired, turn.fired as u64);
            if let Some(start) = traced {
                let (fired, cascaded) = (trace::index(turn.fired), trace::index(turn.cascaded));
                trace::record_span(trace::Kind::Timers, start, 0, fired, cascaded);
                trace::emit(|| {
                    format!(
                        "{}: {} timer(s) fired, {} cascaded",
                        trace::worker(self.shared.index),
                        turn.fired,
                        turn.cascaded
                    )
                });
            }
        }
    }

    /// Nothing to run: sleep in epoll until I/O, a timer, or the doorbell.
    pub(super) fn park(&self, root_woken: &AtomicBool) {
        if self.drain_remote() {
            return;
        }
        // Timers that fell due while tasks ran. Only if some did (or other
        // threads queued timer operations): otherwise the wheel is walked once
        // per park, by the turn after the wake-up below, which also keeps its
        // position current.
        let now = Instant::now();
        if self.timers.due(self.timers_now(now)) {
            self.fire_timers();
        }
        // A sibling stuck in a poll: take its events (and their tasks) first.
        let siblings = self.check_siblings(now);
        // A notification consumed earlier (here or in `maintenance`) may have been
        // a stop request or a root wake: every reason to stay awake is checked
        // after the last consumption and before `try_park`.
        if siblings.rescued
            || self.has_runnable()
            || root_woken.load(Ordering::Acquire)
            || self.shared.stop.load(Ordering::Acquire)
        {
            return;
        }
        let paused = self.timers.clock().is_paused();
        if paused && self.auto_advance(root_woken) {
            return;
        }
        let shares = self.shares();
        if shares {
            let idle = &self.handle.inner.idle;
            // After this, siblings with surplus work may wake us. The last
            // searcher to leave must look once more (see `idle.rs`); if that
            // look finds work, this worker searches again instead of sleeping
            // (the bug "the last searcher's final look wakes no one", see
            // `idle.rs`).
            if idle.park(self.shared.index, self.searching.replace(false))
                && self.others_have_work()
            {
                self.leave_idle(shares);
                return;
            }
        }
        // The timers' clock may run ahead of real time (it was paused, then
        // resumed), and a paused one does not run at all: then only a wake
        // (a blocking job finishing, I/O) ends the park.
        let clock_now = self.timers_now(now);
        let timeout = match paused {
            true => None,
            false => self
                .timers
                .next_deadline()
                .map(|d| d.saturating_duration_since(clock_now)),
        };
        // The watcher (rescue.rs) sleeps at most RESCUE_AFTER while a sibling
        // is awake.
        let watch = self.start_watch(siblings.awake);
        let timeout = match (timeout, watch.limit()) {
            (Some(t), Some(w)) => Some(t.min(w)),
            (t, w) => t.or(w),
        };
        if self.shared.handshake.try_park() {
            bump(&self.shared.metrics.parks, 1);
            let busy = now.saturating_duration_since(self.awake_since.get());
            bump(&self.shared.metrics.busy_ns, saturating_nanos(busy));
            trace::point(trace::Kind::Park, 0, 0, 0, || {
                format!("{}: parked", trace::worker(self.shared.index))
            });
            self.turn_reactor(timeout);
            if trace::enabled() {
                trace::record(trace::Kind::Unpark, 0, 0, 0);
            }
            let woke = Instant::now();
            self.awake_since.set(woke);
            // The reactor, the timers and the remote queue were all just looked
            // at: the fairness tick need not do it again for another full
            // interval (this saves an `epoll_wait(0)` per interval on a server
            // whose queue empties between batches of events).
            self.until_maintenance.set(self.event_interval);
            // Off the idle list before queuing anything: draining the remote
            // queue or firing timers may leave surplus work, whose notify
            // must find a sibling that really sleeps, not this worker.
            self.leave_idle(shares);
            if self.shared.handshake.unpark() {
                self.take_remote();
            }
            watch.end();
            self.fire_timers();
            // About to run tasks, one of which may block this thread: if
            // nobody watches, set the alarm (`alarm.rs`). Not after a wake
            // that found nothing to run (the alarm's own, on an idle
            // runtime): that would re-arm it every 2 ms forever.
            if shares && self.has_runnable() {
                self.arm_alarm_if_unwatched(woke);
            }
        } else {
            // Work (or a stop, or a root wake) arrived first; `try_park`
            // consumed the notification, so drain now.
            self.leave_idle(shares);
            self.take_remote();
            watch.end();
        }
    }

    /// The timers' clock's now: `now` (read by the caller), unless that clock
    /// is virtual (paused, or resumed ahead of real time).
    fn timers_now(&self, now: Instant) -> Instant {
        let clock = self.timers.clock();
        if clock.is_virtual() {
            clock.now()
        } else {
            now
        }
    }

    /// Takes this worker off the idle list; if a sibling with surplus work
    /// had claimed it meanwhile, it is searching.
    pub(super) fn leave_idle(&self, shares: bool) {
        if shares && self.handle.inner.idle.unpark(self.shared.index) {
            self.searching.set(true);
        }
    }
}

/// [`shrink_after_burst`](crate::task::ring::shrink_after_burst) for the
/// emptied spare vectors of the remote queue.
fn shrink_spare<T>(spare: &mut Vec<T>) {
    if spare.capacity() > KEEP_WHEN_EMPTY {
        spare.shrink_to(KEEP_WHEN_EMPTY);
    }
}
