//! The watch alarm: a timer that wakes one parked worker shortly after the
//! runtime stops being idle, so that a worker stuck from its first poll
//! after idleness is noticed too (`rescue.rs`).
//!
//! Watching is done by awake workers (at their fairness ticks) and by one
//! parked worker, the watcher, which parks for at most `RESCUE_AFTER` while
//! a sibling is awake. Both need someone awake when a sibling gets stuck.
//! When the whole runtime is idle, every worker parks with no time limit;
//! then an edge wakes one worker, the one task it wakes blocks it (a
//! blocking call, a long computation), and the sockets registered with its
//! reactor wait out the whole block, since nobody else is awake to look.
//!
//! So a worker that leaves `epoll_wait` with tasks to run, while nobody
//! watches, sets an alarm: one timerfd, in every pool worker's epoll, armed
//! to expire `RESCUE_AFTER` later. Its expiry wakes one parked worker
//! (`EPOLLEXCLUSIVE`: see `Reactor::add_alarm`), which goes back to park
//! through the usual checks: if a sibling is still awake it becomes the
//! watcher, and the rescue follows within another `RESCUE_AFTER`. A worker
//! that is not stuck costs that sibling one trip out of `epoll_wait`. The
//! sibling, finding nothing to run, does not set the alarm again: it did
//! at first, and an idle runtime woke every 2 ms forever (the regression
//! test `an_idle_runtime_stays_asleep_after_work`).
//!
//! The cost is bounded by time, not by traffic: the alarm is armed only if
//! it is not already pending, so however often workers wake, it costs at
//! most one `timerfd_settime` and one sibling wake-up per `RESCUE_AFTER`
//! while the runtime is busy enough to wake often, and nothing while it is
//! idle (tokio, whose workers share one I/O driver, does not cover this case
//! at all: its parked workers wait on condition variables until someone
//! notifies them).

use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::loom::sync::atomic::{AtomicU64, Ordering};
use crate::metrics::saturating_nanos;
use crate::reactor::Reactor;
use crate::sys::timerfd::TimerFd;

/// The runtime's alarm: the timer, and until when it is pending.
#[derive(Debug)]
pub(crate) struct Alarm {
    /// Closed (`None`) as the workers exit: task and join handles keep the
    /// runtime's shared state alive after it is dropped, and must not keep a
    /// descriptor open with it (as the workers' doorbells, `remote.rs`).
    /// Locked only to register, arm or close it.
    timer: Mutex<Option<TimerFd>>,
    /// When the alarm was created: `pending` counts from here.
    origin: Instant,
    pending: Pending,
}

/// Nanoseconds after the alarm's origin at which its pending expiry fires
/// (0: none yet).
#[derive(Debug, Default)]
struct Pending(AtomicU64);

impl Pending {
    /// True if the caller, at time `at`, is to arm the alarm to fire at
    /// `until`: no expiry is pending at `at`. Of callers racing within one
    /// period, exactly one is told to (`loom_tests`). Relaxed: the value
    /// guards no other memory, and the update's compare-and-swap retries
    /// with the current value, so a stale first read cannot lose an arm.
    fn claim(&self, at: u64, until: u64) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pending| {
                (at >= pending).then_some(until)
            })
            .is_ok()
    }
}

impl Alarm {
    /// A disarmed alarm.
    pub(crate) fn new() -> std::io::Result<Alarm> {
        Ok(Alarm {
            timer: Mutex::new(Some(TimerFd::new()?)),
            origin: Instant::now(),
            pending: Pending::default(),
        })
    }

    fn timer(&self) -> MutexGuard<'_, Option<TimerFd>> {
        // Nothing panics under this lock; never turn poison into a panic.
        self.timer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the timer with a worker's epoll (see `Reactor::add_alarm`).
    pub(crate) fn add_to(&self, reactor: &Reactor) -> std::io::Result<()> {
        match self.timer().as_ref() {
            Some(timer) => reactor.add_alarm(timer.as_fd()),
            None => Ok(()),
        }
    }

    /// Closes the timer: the runtime's workers are exiting.
    pub(crate) fn close(&self) {
        drop(self.timer().take());
    }

    /// Arms the alarm to expire `after` from `now`, unless an expiry is still
    /// pending (then that one does the job). Of threads racing here, one arms.
    /// True if this call armed it.
    pub(crate) fn arm(&self, now: Instant, after: Duration) -> bool {
        let at = saturating_nanos(now.saturating_duration_since(self.origin));
        let until = at.saturating_add(saturating_nanos(after));
        if !self.pending.claim(at, until) {
            return false;
        }
        // A failure (none is known for a valid timerfd) costs this one
        // alarm: the stuck worker is rescued once someone wakes anyway.
        match self.timer().as_ref() {
            Some(timer) => timer.arm_once(after).is_ok(),
            None => false,
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Pending;
    use loom::sync::Arc;

    /// Two workers waking in the same period: exactly one arms.
    #[test]
    fn loom_racing_claims_in_one_period_arm_once() {
        loom::model(|| {
            let pending = Arc::new(Pending::default());
            let other = pending.clone();
            let t = loom::thread::spawn(move || other.claim(5, 7));
            let here = pending.claim(6, 8);
            let there = t.join().unwrap();
            assert!(here ^ there, "claims: {here} and {there}");
        });
    }

    /// A claim after the pending expiry is over always arms again.
    #[test]
    fn loom_a_claim_after_the_expiry_arms_again() {
        loom::model(|| {
            let pending = Arc::new(Pending::default());
            assert!(pending.claim(1, 3));
            let other = pending.clone();
            let t = loom::thread::spawn(move || other.claim(2, 4));
            let early = t.join().unwrap();
            assert!(!early, "armed while pending");
            assert!(pending.claim(3, 5), "not armed after the expiry");
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    use crate::sys::epoll::Epoll;

    #[test]
    fn the_alarm_is_armed_once_per_period_however_often_it_is_asked() {
        let alarm = Alarm::new().unwrap();
        let epoll = Epoll::new().unwrap();
        let events = (libc::EPOLLIN | libc::EPOLLET) as u32;
        let fd = alarm
            .timer()
            .as_ref()
            .unwrap()
            .as_fd()
            .try_clone_to_owned()
            .unwrap();
        epoll.add_with(fd.as_fd(), 1, events).unwrap();
        let mut buf = [libc::epoll_event { events: 0, u64: 0 }; 4];
        let t0 = Instant::now();
        alarm.arm(t0, Duration::from_millis(20));
        // Asked again while that is pending: it must not be moved (to 500 ms).
        alarm.arm(t0 + Duration::from_millis(10), Duration::from_millis(500));
        let n = epoll.wait(&mut buf, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(n, 1);
        let fired = t0.elapsed();
        assert!(
            fired < Duration::from_millis(300),
            "expired after {fired:?}"
        );
        // Once the pending expiry is over, asking arms it again.
        alarm.arm(Instant::now(), Duration::from_millis(1));
        let n = epoll.wait(&mut buf, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(n, 1);
    }
}
