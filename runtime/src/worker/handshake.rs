//! The park/unpark handshake between a worker and the threads that wake it.
//!
//! A worker sleeps in `epoll_wait`. A thread that pushes work onto its remote
//! queue must write the eventfd doorbell if, and only if, the worker may be asleep:
//! a write to a running worker costs a syscall for nothing, and a missed write to a
//! sleeping one loses the work until some unrelated event arrives.
//!
//! Both sides do a store then a load — the waker pushes, then checks "parked?";
//! the worker sets "parked", then checks the queue — which is exactly the pattern
//! that needs sequential consistency (Dekker). kiwi avoids fences by putting both
//! facts in one atomic word that both sides update by read-modify-write:
//!
//! - `NOTIFIED`: remote work was pushed since the worker last looked;
//! - `PARKED`: the worker is asleep, or about to be.
//!
//! RMWs on one location are totally ordered. So either the waker's `fetch_or
//! (NOTIFIED)` comes first, and the worker's `fetch_or(PARKED)` sees `NOTIFIED`
//! and does not sleep (and, acquiring, sees the pushed task); or the worker's comes
//! first, and the waker sees `PARKED` without `NOTIFIED` and rings the doorbell
//! (only the first waker does: the others see `NOTIFIED` already set). The
//! doorbell stays readable until epoll reports it, so ringing before the worker
//! has actually entered `epoll_wait` is fine. The loom model in `loom_tests.rs`
//! checks this exhaustively.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug, Default)]
pub(crate) struct Handshake {
    state: AtomicUsize,
}

impl Handshake {
    /// Waker side, after pushing work: true if it must ring the doorbell.
    pub(crate) fn notify(&self) -> bool {
        self.state.fetch_or(NOTIFIED, Ordering::AcqRel) == PARKED
    }

    /// Worker side, while running: true if remote work was signalled (and the
    /// signal is consumed).
    pub(crate) fn take_notified(&self) -> bool {
        // A plain load first keeps the common "nothing new" case free of RMWs. A
        // push racing past it is seen at the next look or when parking.
        if self.state.load(Ordering::Relaxed) & NOTIFIED == 0 {
            return false;
        }
        self.state.fetch_and(!NOTIFIED, Ordering::AcqRel) & NOTIFIED != 0
    }

    /// Worker side: announce sleep. False if work arrived first; then the
    /// worker must not sleep, and since the signal is consumed it must drain the
    /// remote queue and re-check its stop flag now.
    pub(crate) fn try_park(&self) -> bool {
        let prev = self.state.fetch_or(PARKED, Ordering::AcqRel);
        if prev & NOTIFIED != 0 {
            self.state.swap(0, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Worker side, after waking: clear both bits. True if remote work was
    /// signalled meanwhile.
    pub(crate) fn unpark(&self) -> bool {
        self.state.swap(0, Ordering::AcqRel) & NOTIFIED != 0
    }
}

#[cfg(all(test, loom))]
pub(super) mod loom_tests {
    //! The handshake with the eventfd and `epoll_wait` replaced by a loom
    //! doorbell (a flag and a condition variable: it stays rung until consumed,
    //! like an eventfd edge stays queued until epoll reports it).

    use super::Handshake;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::{Arc, Condvar, Mutex};
    use loom::thread;

    /// A loom stand-in for the eventfd doorbell and `epoll_wait` (also used
    /// by `idle.rs`'s model).
    #[derive(Default)]
    pub(in crate::worker) struct Doorbell {
        rung: Mutex<bool>,
        cv: Condvar,
    }

    impl Doorbell {
        pub(in crate::worker) fn ring(&self) {
            *self.rung.lock().unwrap() = true;
            self.cv.notify_one();
        }
        pub(in crate::worker) fn wait(&self) {
            let mut rung = self.rung.lock().unwrap();
            while !*rung {
                rung = self.cv.wait(rung).unwrap();
            }
            *rung = false;
        }
    }

    #[derive(Default)]
    struct Worker {
        handshake: Handshake,
        queue: Mutex<Vec<u32>>,
        stop: AtomicBool,
        doorbell: Doorbell,
    }

    /// The worker's loop, shaped like `Worker::park`: consume notifications,
    /// re-check every reason to stay awake, then try to sleep. A lost wakeup
    /// would leave it in `wait` forever, which loom reports as a deadlock.
    fn worker_loop(w: &Worker, want: usize) {
        let mut got = 0;
        loop {
            if w.handshake.take_notified() {
                got += w.queue.lock().unwrap().drain(..).count();
            }
            if got >= want || w.stop.load(Ordering::Acquire) {
                return;
            }
            if !w.handshake.try_park() {
                // `try_park` consumed the notification: drain now, as
                // `Worker::park` does (loom showed that skipping this loses work).
                got += w.queue.lock().unwrap().drain(..).count();
                continue;
            }
            w.doorbell.wait();
            w.handshake.unpark();
            got += w.queue.lock().unwrap().drain(..).count();
        }
    }

    fn push(w: &Worker, item: u32) {
        w.queue.lock().unwrap().push(item);
        if w.handshake.notify() {
            w.doorbell.ring();
        }
    }

    #[test]
    fn loom_no_lost_wakeup_with_two_pushers() {
        loom::model(|| {
            let w = Arc::new(Worker::default());
            let pushers: Vec<_> = (0..2)
                .map(|i| {
                    let w = w.clone();
                    thread::spawn(move || push(&w, i))
                })
                .collect();
            worker_loop(&w, 2);
            for p in pushers {
                p.join().unwrap();
            }
        });
    }

    #[test]
    fn loom_stop_request_is_never_lost() {
        // Regression model for the lost stop request: the notification for a stop
        // can be consumed by a drain that finds the queue empty; the worker must
        // still see `stop` before it sleeps.
        loom::model(|| {
            let w = Arc::new(Worker::default());
            let stopper = {
                let w = w.clone();
                thread::spawn(move || {
                    w.stop.store(true, Ordering::Release);
                    if w.handshake.notify() {
                        w.doorbell.ring();
                    }
                })
            };
            worker_loop(&w, usize::MAX);
            stopper.join().unwrap();
        });
    }
}
