//! Sharing work: the shared queue, stealing from a sibling, and waking a
//! parked sibling (the protocol itself is in `idle.rs`).

use super::{RunQueue, SendTask, Worker};
use crate::metrics::bump;
use crate::trace;

impl Worker {
    /// There is work a sibling could take: wake one if it is parked and
    /// nobody searches (see `idle.rs`).
    pub(super) fn notify_parked(&self) {
        if !self.shares() {
            return;
        }
        let inner = &self.handle.inner;
        if let Some(i) = inner.idle.notify_one(self.shared.index) {
            bump(&self.shared.metrics.notifies, 1);
            trace::point(trace::Kind::Notify, 0, trace::index(i), 0, || {
                format!(
                    "{}: woke parked {} to share work",
                    trace::worker(self.shared.index),
                    trace::worker(i)
                )
            });
            inner.workers[i].unpark();
        }
    }

    /// A batch from the runtime's shared queue into the ring: this worker's
    /// fair share of it, and no more than half the ring's room.
    pub(super) fn take_shared(&self) -> Option<SendTask> {
        let inner = &self.handle.inner;
        // Only a ring overflows there, and only a pool of two or more has
        // rings (a lone worker's queue never overflows).
        if !self.shares || inner.inject.is_empty() {
            return None;
        }
        let fair = inner.inject.len() / inner.workers.len() + 1;
        let max = fair.min(crate::task::ring::CAPACITY / 2);
        match &mut *self.ring.borrow_mut() {
            RunQueue::Ring(ring) => inner.inject.pop_batch_into(ring, max),
            RunQueue::Solo(..) => None,
        }
    }

    /// Steals from a sibling (starting at a random one) or takes from the
    /// shared queue. `None` when nothing was found or enough workers search
    /// already.
    pub(super) fn search(&self) -> Option<SendTask> {
        if !self.shares() {
            return None;
        }
        let inner = &self.handle.inner;
        if !self.searching.get() {
            if !inner.idle.try_start_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = inner.workers.len();
        let start = self.random() as usize % n;
        for i in 0..n {
            let victim = &inner.workers[(start + i) % n];
            if victim.index == self.shared.index {
                continue;
            }
            let mut queue = self.ring.borrow_mut();
            let RunQueue::Ring(ring) = &mut *queue else {
                return None;
            };
            if let Some(task) = victim.stealer.steal_into(ring) {
                let got = ring.len() + 1;
                drop(queue);
                bump(&self.shared.metrics.steals, 1);
                bump(&self.shared.metrics.stolen_tasks, got as u64);
                let (from, n) = (trace::index(victim.index), trace::index(got));
                trace::point(trace::Kind::Steal, 0, from, n, || {
                    format!(
                        "{}: stole {got} task(s) from {}",
                        trace::worker(self.shared.index),
                        trace::worker(victim.index)
                    )
                });
                return Some(task);
            }
        }
        self.take_shared()
    }

    /// Leaves the searching state on finding work; the last searcher wakes
    /// one more parked worker, since there may be more to share.
    pub(super) fn stop_searching(&self) {
        if self.searching.replace(false) && self.handle.inner.idle.stop_searching() {
            self.notify_parked();
        }
    }

    fn random(&self) -> u32 {
        // xorshift32: victim choice needs spread, not quality.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }

    /// True if some sibling's ring or the shared queue holds a task.
    pub(super) fn others_have_work(&self) -> bool {
        let inner = &self.handle.inner;
        !inner.inject.is_empty()
            || inner
                .workers
                .iter()
                .any(|w| w.index != self.shared.index && !w.stealer.is_empty())
    }
}
