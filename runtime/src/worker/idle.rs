//! Who is parked, who is searching, and when to wake a parked worker.
//!
//! A worker with nothing to run *searches* (steals from its siblings' rings,
//! takes from the shared queue) before it parks. A worker that queues surplus
//! work (more than the one task it will run next) may have to wake a parked
//! sibling to take it. Waking one costs a lock, an atomic and an eventfd write
//! plus the sibling's `epoll_wait` return; waking all of them for every spawn
//! would be a thundering herd. The rules, after Go's scheduler ("spinning"
//! Ms) and tokio's `idle.rs`:
//!
//! - at most half the workers search at once, so a burst does not make every
//!   idle worker contend on the same victim;
//! - a worker with surplus wakes a parked worker only if nobody is searching
//!   (a searcher will find the work) and somebody is parked;
//! - the woken worker starts out searching; when a searcher finds work and it
//!   was the last searcher, it wakes one more parked worker, since where there
//!   was one surplus task there may be more. A burst thus spreads one worker
//!   at a time, never all at once;
//! - a worker that stops searching to park, if it was the last searcher,
//!   looks at every queue once more after saying so, and if it finds work it
//!   does not sleep but searches again. (Waking "a parked worker" instead
//!   would not do: a worker never wakes itself (`notify_one` skips its
//!   caller), so with two workers nobody would be woken, and the work would
//!   wait for its pusher: the bug "the last searcher's final look wakes no
//!   one", which the loom model below found once the caller was skipped.)
//!
//! # Why no work is ever left behind
//!
//! The last two rules race: a pusher stores a task and then loads "is anybody
//! searching?"; the last searcher stores "I am no longer searching" and then
//! loads the queues. Each side is a store followed by a load, the pattern
//! (Dekker's) that only sequential consistency orders. Both sides therefore put
//! a `SeqCst` fence (or a `SeqCst` read-modify-write) between their store and
//! their load, so one of them sees the other's store: either the pusher sees
//! the searcher and leaves the task to it, or the searcher's final look sees
//! the task and searches again. The loom model in this file checks it.
//!
//! The doorbell itself is still the handshake of `handshake.rs`: waking a
//! parked worker sets its `NOTIFIED` bit and writes its eventfd only if it is
//! really asleep.

use crate::loom::sync::atomic::{fence, AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Mutex;

/// The low bits of the state count searching workers; the rest count
/// unparked (awake) ones.
const UNPARKED_SHIFT: u32 = 16;
const SEARCHING_MASK: usize = (1 << UNPARKED_SHIFT) - 1;
const UNPARKED_ONE: usize = 1 << UNPARKED_SHIFT;

/// The runtime-wide idle state.
pub(crate) struct Idle {
    /// `unparked << 16 | searching`, so that both change in one RMW.
    state: AtomicUsize,
    /// Indices of parked workers: who may be woken to share work.
    sleepers: Mutex<Vec<usize>>,
    workers: usize,
}

impl Idle {
    /// The state of `workers` workers, all awake, none searching.
    pub(crate) fn new(workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(workers << UNPARKED_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    fn searching(state: usize) -> usize {
        state & SEARCHING_MASK
    }

    fn unparked(state: usize) -> usize {
        state >> UNPARKED_SHIFT
    }

    /// A worker with nothing to run asks to search. Refused when half the
    /// workers already search.
    pub(crate) fn try_start_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * Self::searching(state) >= self.workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work. True if it was the last searcher: then it must
    /// call [`Idle::notify_one`], so that the search goes on.
    pub(crate) fn stop_searching(&self) -> bool {
        Self::searching(self.state.fetch_sub(1, SeqCst)) == 1
    }

    /// Called after queuing surplus work: if nobody searches and somebody is
    /// parked, claims one parked worker (counted as awake and searching from
    /// now on) and returns its index; the caller rings its doorbell. Never
    /// `caller` itself: a worker that queues work while it is still on the
    /// sleepers list (its reactor's edges, dispatched as it wakes) would
    /// otherwise wake itself and leave a really parked sibling asleep.
    pub(crate) fn notify_one(&self, caller: usize) -> Option<usize> {
        // Orders the caller's push before the load below (see the module docs).
        fence(SeqCst);
        if !self.should_wake() {
            return None;
        }
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        // Somebody may have started searching, or been woken, meanwhile.
        if !self.should_wake() {
            return None;
        }
        let at = sleepers.iter().rposition(|&i| i != caller)?;
        let index = sleepers.remove(at);
        self.state.fetch_add(UNPARKED_ONE | 1, SeqCst);
        Some(index)
    }

    fn should_wake(&self) -> bool {
        let state = self.state.load(SeqCst);
        Self::searching(state) == 0 && Self::unparked(state) < self.workers
    }

    /// Worker `index` is about to park. True if it was the last searcher:
    /// then it must look at every queue once more, and call
    /// [`Idle::notify_one`] if it finds work.
    pub(crate) fn park(&self, index: usize, searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        let prev = self
            .state
            .fetch_sub(UNPARKED_ONE | usize::from(searching), SeqCst);
        sleepers.push(index);
        let last = searching && Self::searching(prev) == 1;
        if last {
            // Orders the store above before the caller's look at the queues,
            // whose loads are not `SeqCst` (see the module docs).
            fence(SeqCst);
        }
        last
    }

    /// Worker `index` is awake again (or never slept). True if a notifier
    /// claimed it ([`Idle::notify_one`]): it is then already counted as
    /// awake and searching. Otherwise it was woken by something else (I/O, a
    /// timer, its own remote queue) and counts itself awake, not searching.
    pub(crate) fn unpark(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        match sleepers.iter().position(|&i| i == index) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.state.fetch_add(UNPARKED_ONE, SeqCst);
                false
            }
            None => true,
        }
    }

    /// Searching workers right now (for tests and metrics).
    #[allow(dead_code)]
    pub(crate) fn num_searching(&self) -> usize {
        Self::searching(self.state.load(SeqCst))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.try_start_searching());
        assert!(idle.try_start_searching());
        assert!(!idle.try_start_searching(), "a third of four");
        assert!(!idle.stop_searching());
        assert!(idle.stop_searching(), "the last searcher is told so");
    }

    #[test]
    fn surplus_wakes_one_parked_worker_only_when_nobody_searches() {
        let idle = Idle::new(3);
        assert_eq!(idle.notify_one(usize::MAX), None, "nobody is parked");
        assert!(!idle.park(1, false));
        assert!(!idle.park(2, false));
        assert!(idle.try_start_searching());
        assert_eq!(idle.notify_one(usize::MAX), None, "worker 0 is searching");
        assert!(idle.stop_searching());
        let woken = idle
            .notify_one(usize::MAX)
            .expect("a parked worker is woken");
        assert_eq!(idle.num_searching(), 1, "the woken worker searches");
        assert_eq!(idle.notify_one(usize::MAX), None, "one searcher is enough");
        assert!(idle.unpark(woken), "it knows it was claimed");
        let other = 3 - woken;
        assert!(!idle.unpark(other), "woken by something else");
        assert!(idle.stop_searching());
        assert_eq!(idle.notify_one(usize::MAX), None, "everyone is awake");
    }

    /// A worker whose reactor's edges, dispatched as it wakes, queue surplus
    /// work while it is still on the sleepers list must wake a sibling that
    /// really sleeps, not itself.
    #[test]
    fn a_worker_still_on_the_sleepers_list_never_picks_itself() {
        let idle = Idle::new(2);
        assert!(!idle.park(1, false));
        assert!(!idle.park(0, false)); // 0 parks last: the top of the list
        assert_eq!(idle.notify_one(0), Some(1), "the sibling, not the caller");
        let idle = Idle::new(2);
        assert!(!idle.park(0, false));
        assert_eq!(idle.notify_one(0), None, "only the caller sleeps");
    }

    #[test]
    fn the_last_searcher_to_park_is_told_to_look_again() {
        let idle = Idle::new(2);
        assert!(idle.try_start_searching());
        assert!(idle.park(0, true));
        assert!(!idle.park(1, false));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The park/notify protocol with a queue of one counter per worker and a
    //! loom doorbell per worker. A worker with no work left parks; a lost
    //! wakeup leaves a task queued while every worker sleeps forever, which
    //! loom reports as a deadlock.

    use super::super::handshake::loom_tests::Doorbell;
    use super::super::handshake::Handshake;
    use super::Idle;
    use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use loom::sync::{Arc, Condvar, Mutex};
    use loom::thread;

    struct Pool {
        idle: Idle,
        queues: Vec<AtomicUsize>,
        handshakes: Vec<Handshake>,
        doorbells: Vec<Doorbell>,
        /// Tasks run so far, and a condition variable to wait for them.
        done: Mutex<usize>,
        done_cv: Condvar,
        stop: AtomicBool,
    }

    impl Pool {
        fn new(workers: usize) -> Pool {
            Pool {
                idle: Idle::new(workers),
                queues: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
                handshakes: (0..workers).map(|_| Handshake::default()).collect(),
                doorbells: (0..workers).map(|_| Doorbell::default()).collect(),
                done: Mutex::new(0),
                done_cv: Condvar::new(),
                stop: AtomicBool::new(false),
            }
        }

        fn wake(&self, index: usize) {
            if self.handshakes[index].notify() {
                self.doorbells[index].ring();
            }
        }

        /// Queues one task on `index`, then maybe wakes a parked sibling.
        fn push(&self, index: usize) {
            self.queues[index].fetch_add(1, SeqCst);
            if let Some(i) = self.idle.notify_one(index) {
                self.wake(i);
            }
        }

        /// Takes one task from `index`'s queue (own pop or steal alike).
        fn take(&self, index: usize) -> bool {
            self.queues[index]
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok()
        }

        fn any_work(&self) -> bool {
            self.queues.iter().any(|q| q.load(SeqCst) > 0)
        }

        fn run_task(&self) {
            *self.done.lock().unwrap() += 1;
            self.done_cv.notify_all();
        }

        fn wait_done(&self, n: usize) {
            let mut done = self.done.lock().unwrap();
            while *done < n {
                done = self.done_cv.wait(done).unwrap();
            }
        }
    }

    /// An idle worker's loop, shaped like `Worker::run` / `search` / `park`:
    /// run its own work, else search, else park.
    fn idle_worker(pool: &Pool, me: usize) {
        let mut searching = false;
        while !pool.stop.load(SeqCst) {
            let mut found = pool.take(me);
            if !found && (searching || pool.idle.try_start_searching()) {
                searching = true;
                found = (0..pool.queues.len()).any(|v| v != me && pool.take(v));
            }
            if found {
                if searching {
                    searching = false;
                    if pool.idle.stop_searching() {
                        if let Some(i) = pool.idle.notify_one(usize::MAX) {
                            pool.wake(i);
                        }
                    }
                }
                pool.run_task();
                continue;
            }
            if pool.idle.park(me, searching) && pool.any_work() {
                // As `Worker::park`: work appeared after the search, so
                // search again instead of sleeping.
                searching = pool.idle.unpark(me);
                continue;
            }
            if pool.handshakes[me].try_park() {
                pool.doorbells[me].wait();
                pool.handshakes[me].unpark();
            }
            searching = pool.idle.unpark(me);
        }
    }

    /// Also the regression model of the bug "the last searcher's final look
    /// wakes no one": with the final look calling `notify_one(me)`, as
    /// `Worker::park` did, loom reports a deadlock here.
    #[test]
    fn loom_surplus_work_reaches_an_idle_worker_while_the_pusher_is_busy() {
        loom::model(|| {
            // Worker 0 is inside a long poll: it queues one task and then
            // blocks until somebody else has run it. Worker 1 is going idle
            // at the same moment. A lost wakeup leaves both waiting forever,
            // which loom reports as a deadlock.
            let pool = Arc::new(Pool::new(2));
            let idle = {
                let pool = pool.clone();
                thread::spawn(move || idle_worker(&pool, 1))
            };
            pool.push(0);
            pool.wait_done(1);
            pool.stop.store(true, SeqCst);
            pool.wake(1);
            idle.join().unwrap();
        });
    }

    /// The next-to-run slot with the real ring: a worker spawns T1 (it fills
    /// the empty slot: no surplus, nobody woken), then T2, which displaces T1
    /// into the ring: surplus, so a parked sibling is woken, steals T1 and
    /// runs it while the spawner keeps running T2 (here: blocks until T1 ran).
    /// Were the displaced task not stealable, or the notify lost, both would
    /// wait forever.
    #[test]
    fn loom_a_task_displaced_from_the_next_slot_reaches_an_idle_worker() {
        use crate::task::ring::{ring, Inject};
        loom::model(|| {
            let pool = Arc::new(Pool::new(2));
            let (mut local, stealer) = ring::<u32>();
            let inject = Inject::new();
            let thief = {
                let pool = pool.clone();
                thread::spawn(move || {
                    let (mut mine, _) = ring::<u32>();
                    let mut searching = false;
                    while !pool.stop.load(SeqCst) {
                        if searching || pool.idle.try_start_searching() {
                            searching = true;
                            if let Some(task) = stealer.steal_into(&mut mine) {
                                assert_eq!(task, 1, "only T1 is in the ring");
                                if pool.idle.stop_searching() {
                                    if let Some(i) = pool.idle.notify_one(usize::MAX) {
                                        pool.wake(i);
                                    }
                                }
                                searching = false;
                                pool.run_task();
                                continue;
                            }
                        }
                        if pool.idle.park(1, searching) && !stealer.is_empty() {
                            searching = pool.idle.unpark(1);
                            continue;
                        }
                        if pool.handshakes[1].try_park() {
                            pool.doorbells[1].wait();
                            pool.handshakes[1].unpark();
                        }
                        searching = pool.idle.unpark(1);
                    }
                })
            };
            // Worker 0 runs a task that spawns T1, then T2.
            let mut next: Option<u32> = None;
            assert!(next.replace(1).is_none(), "T1 fills the empty slot");
            let displaced = next.replace(2).expect("T2 displaces T1");
            local.push_back(displaced, &inject);
            if let Some(i) = pool.idle.notify_one(usize::MAX) {
                pool.wake(i);
            }
            pool.wait_done(1);
            pool.stop.store(true, SeqCst);
            pool.wake(1);
            thief.join().unwrap();
            assert_eq!(next, Some(2), "T2 stayed with its worker");
            assert!(local.pop().is_none());
        });
    }
}
