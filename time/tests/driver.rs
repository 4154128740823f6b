//! The driver and `Sleep` on one thread, with a mock clock: never early,
//! exact, cascades, resets, cleanup, far and past deadlines.

mod util;

use kiwi_time::clock::{far_future, Clock};
use kiwi_time::driver::{Driver, Turn};
use kiwi_time::{sleep, sleep_until, Sleep};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};
use util::{counting_waker, poll, MockDriver};

#[test]
fn never_early_and_exact_within_the_tick() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let (woken, waker) = counting_waker();
    let deadline = rt.at(1.5);
    let mut sleep = sleep_until(deadline);
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(rt.driver.len(), 1);
    assert_eq!(rt.driver.next_deadline(), Some(deadline));

    // Same tick, one nanosecond early: nothing fires.
    assert_eq!(rt.run_to(deadline - Duration::from_nanos(1)), 0);
    assert_eq!(woken.count(), 0);
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(rt.driver.next_deadline(), Some(deadline));

    // Exactly at the deadline: fires.
    assert_eq!(rt.run_to(deadline), 1);
    assert_eq!(woken.count(), 1);
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    assert!(rt.driver.is_empty());
    assert_eq!(rt.driver.next_deadline(), None);
}

#[test]
fn two_deadlines_in_one_tick_fire_separately() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let (a_woken, a_waker) = counting_waker();
    let (b_woken, b_waker) = counting_waker();
    let mut a = sleep_until(rt.at(5.2));
    let mut b = sleep_until(rt.at(5.7));
    assert!(poll(&mut a, &a_waker).is_pending());
    assert!(poll(&mut b, &b_waker).is_pending());
    assert_eq!(rt.run_to(rt.at(5.5)), 1);
    assert_eq!((a_woken.count(), b_woken.count()), (1, 0));
    assert_eq!(rt.driver.next_deadline(), Some(rt.at(5.7)));
    assert_eq!(rt.run_to(rt.at(5.7)), 1);
    assert_eq!(b_woken.count(), 1);
}

#[test]
fn each_timer_fires_exactly_at_its_deadline_across_level_boundaries() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let offsets_ms = [
        0.3,
        63.5,
        64.0,
        64.5,
        4095.9,
        4096.0,
        4097.1,
        262_144.25,
        16_777_216.5,
    ];
    let mut sleeps: Vec<(Sleep, _, _)> = offsets_ms
        .iter()
        .map(|&ms| {
            let (count, waker) = counting_waker();
            let mut s = sleep_until(rt.at(ms));
            assert!(poll(&mut s, &waker).is_pending());
            (s, count, waker)
        })
        .collect();
    let mut cascaded = 0;
    let mut fired_at = Vec::new();
    while let Some(deadline) = rt.driver.next_deadline() {
        assert!(deadline >= rt.clock.now(), "deadline in the past");
        rt.clock.set(deadline);
        let Turn { fired, cascaded: c } = rt.driver.process();
        cascaded += c;
        for (s, count, _) in &sleeps {
            // Woken iff the deadline has been reached: never early, never missed.
            assert_eq!(count.count() == 1, s.deadline() <= deadline);
        }
        if fired > 0 {
            fired_at.push(deadline);
        }
    }
    let expected: Vec<Instant> = offsets_ms.iter().map(|&ms| rt.at(ms)).collect();
    assert_eq!(fired_at, expected);
    assert!(cascaded > 0);
    for (s, _, waker) in &mut sleeps {
        assert_eq!(poll(s, waker), Poll::Ready(()));
    }
}

#[test]
fn reset_earlier_keeps_the_waker() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let (woken, waker) = counting_waker();
    let mut s = sleep_until(rt.at(100.0));
    assert!(poll(&mut s, &waker).is_pending());
    s.reset(rt.at(10.0));
    assert_eq!(rt.driver.len(), 1);
    assert_eq!(rt.driver.next_deadline(), Some(rt.at(10.0)));
    assert_eq!(rt.run_to(rt.at(10.0)), 1);
    assert_eq!(woken.count(), 1); // woken without being polled again
    assert_eq!(poll(&mut s, &waker), Poll::Ready(()));
}

#[test]
fn reset_later_and_after_completion() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let (woken, waker) = counting_waker();
    let mut s = sleep_until(rt.at(10.0));
    assert!(poll(&mut s, &waker).is_pending());
    s.reset(rt.at(50.0));
    assert_eq!(rt.run_to(rt.at(10.0)), 0);
    assert!(poll(&mut s, &waker).is_pending());
    assert_eq!(rt.run_to(rt.at(50.0)), 1);
    assert_eq!(poll(&mut s, &waker), Poll::Ready(()));
    assert!(s.is_elapsed());

    // Resetting a completed sleep arms it again.
    s.reset(rt.at(60.0));
    assert!(!s.is_elapsed());
    assert!(poll(&mut s, &waker).is_pending());
    assert_eq!(rt.run_to(rt.at(60.0)), 1);
    assert_eq!(woken.count(), 2);
    assert_eq!(poll(&mut s, &waker), Poll::Ready(()));
}

#[test]
fn hundred_thousand_timers_dropped_leave_nothing() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let waker = Waker::noop();
    let mut sleeps: Vec<Sleep> = (0..100_000u64)
        .map(|i| sleep(Duration::from_micros(1 + i * 37)))
        .collect();
    for s in &mut sleeps {
        assert!(poll(s, waker).is_pending());
    }
    assert_eq!(rt.driver.len(), 100_000);
    rt.run_to(rt.at(1000.0)); // fire some, cascade some
    let fired = 100_000 - rt.driver.len();
    assert!(fired > 0 && fired < 100_000);
    // Drop in an interleaved order.
    let (even, odd): (Vec<_>, Vec<_>) = sleeps
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    drop(odd);
    drop(even);
    assert_eq!(rt.driver.len(), 0);
    assert!(rt.driver.is_empty());
    assert_eq!(rt.driver.next_deadline(), None);
}

#[test]
fn past_deadline_completes_at_once_or_at_the_next_turn() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    rt.run_to(rt.at(50.0));
    let (woken, waker) = counting_waker();
    // Well in the past: ready at the first poll, never registered.
    let mut old = sleep_until(rt.at(10.0));
    assert_eq!(poll(&mut old, &waker), Poll::Ready(()));
    assert!(rt.driver.is_empty());
    // Before the driver's epoch entirely.
    let mut ancient = sleep_until(rt.start - Duration::from_secs(5));
    assert_eq!(poll(&mut ancient, &waker), Poll::Ready(()));

    // A past deadline the driver cannot see cheaply (it has not run for a
    // while) still fires at the next turn.
    rt.clock.set(rt.at(500.0));
    let mut stale = sleep_until(rt.at(400.0));
    if poll(&mut stale, &waker).is_pending() {
        assert!(rt.driver.next_deadline().unwrap() <= rt.at(500.0));
        assert_eq!(rt.driver.process().fired, 1);
        assert_eq!(woken.count(), 1);
        assert_eq!(poll(&mut stale, &waker), Poll::Ready(()));
    }
}

#[test]
fn duration_max_and_far_future_do_not_panic() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let waker = Waker::noop();
    let mut forever = sleep(Duration::MAX);
    assert_eq!(forever.deadline(), far_future(rt.start));
    assert!(poll(&mut forever, waker).is_pending());
    let mut far = sleep_until(far_future(rt.start) + Duration::from_secs(3600 * 24 * 365 * 100));
    assert!(poll(&mut far, waker).is_pending());
    assert!(rt.driver.next_deadline().is_some());
    rt.run_to(rt.at(1000.0 * 3600.0 * 24.0 * 400.0)); // 400 days later
    assert_eq!(rt.driver.len(), 2);
    assert!(poll(&mut forever, waker).is_pending());
    let t = kiwi_time::timeout(Duration::MAX, std::future::pending::<()>());
    assert_eq!(t.deadline(), far_future(rt.clock.now()));
    let _ = kiwi_time::interval(Duration::MAX);
}

#[test]
fn start_offsets_beyond_twelve_days() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let day = 1000.0 * 3600.0 * 24.0;
    for offset_days in [12.5, 13.0, 400.0, 900.0] {
        rt.run_to(rt.at(offset_days * day));
        let (woken, waker) = counting_waker();
        let deadline = rt.at(offset_days * day + 2.5);
        let mut s = sleep_until(deadline);
        assert!(poll(&mut s, &waker).is_pending());
        let mut turns = 0;
        while woken.count() == 0 {
            let next = rt.driver.next_deadline().expect("registered");
            assert!(next <= deadline);
            rt.run_to(next);
            turns += 1;
            assert!(turns < 10);
        }
        assert_eq!(rt.clock.now(), deadline);
        assert_eq!(poll(&mut s, &waker), Poll::Ready(()));
    }
}

#[test]
fn sleep_uses_the_current_drivers_clock() {
    let rt = MockDriver::new();
    rt.clock.advance(Duration::from_secs(1000));
    let _guard = rt.driver.enter();
    let s = sleep(Duration::from_millis(5));
    assert_eq!(s.deadline(), rt.at(1_000_005.0));
}

#[test]
fn block_on_helper_waits_exactly() {
    let rt = MockDriver::new();
    // Created inside, so that `sleep` reads the mock clock.
    rt.block_on(async { sleep(Duration::from_micros(1500)).await });
    assert_eq!(rt.clock.now(), rt.at(1.5));
}

#[test]
fn enter_nests_and_restores() {
    let a = MockDriver::new();
    let b = MockDriver::new();
    let waker = Waker::noop();
    let _ga = a.driver.enter();
    let mut on_b = sleep(Duration::from_millis(5));
    {
        let _gb = b.driver.enter();
        assert!(poll(&mut on_b, waker).is_pending());
        assert_eq!((a.driver.len(), b.driver.len()), (0, 1));
    }
    let mut on_a = sleep(Duration::from_millis(5));
    assert!(poll(&mut on_a, waker).is_pending());
    assert_eq!((a.driver.len(), b.driver.len()), (1, 1));
}

#[test]
fn dropped_driver_sleep_reregisters_with_the_current_one() {
    let waker = Waker::noop();
    let mut s = sleep(Duration::from_secs(10));
    {
        let old = Driver::new(Waker::noop().clone());
        let _guard = old.enter();
        assert!(poll(&mut s, waker).is_pending());
        assert_eq!(old.len(), 1);
    }
    let new = MockDriver::new();
    let _guard = new.driver.enter();
    assert!(poll(&mut s, waker).is_pending());
    assert_eq!(new.driver.len(), 1);
    drop(s);
    assert_eq!(new.driver.len(), 0);
}

#[test]
fn a_waker_may_touch_timers_while_being_woken() {
    use std::sync::Arc;
    use std::task::Wake;

    // Waking drops the last reference to a Sleep registered on the same
    // driver: no RefCell double borrow.
    struct DropSleep(std::sync::Mutex<Option<Sleep>>);
    impl Wake for DropSleep {
        fn wake(self: Arc<Self>) {
            self.0.lock().unwrap().take();
        }
    }
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let mut victim = sleep(Duration::from_secs(1));
    assert!(poll(&mut victim, Waker::noop()).is_pending());
    let waker = Waker::from(Arc::new(DropSleep(std::sync::Mutex::new(Some(victim)))));
    let mut s = sleep(Duration::from_millis(1));
    assert!(poll(&mut s, &waker).is_pending());
    drop(waker);
    assert_eq!(rt.driver.len(), 2);
    assert_eq!(rt.run_to(rt.at(1.0)), 1);
    assert_eq!(rt.driver.len(), 0);
}

/// Regression: the driver cloned wakers while it held its wheel borrowed, so a
/// waker whose `clone` touched a timer on the same driver panicked with a
/// `RefCell` double borrow (found by review). Both places that clone are
/// covered: a first registration, and a poll with a different waker.
#[test]
fn waker_clone_ran_under_the_wheel_borrow() {
    use std::task::{RawWaker, RawWakerVTable};

    /// Registers and cancels a timer on the current driver: what a waker's
    /// `clone` might do through arbitrary code.
    fn touch_timers() {
        let mut t = sleep(Duration::from_secs(5));
        assert!(poll(&mut t, Waker::noop()).is_pending());
    }
    fn clone(_: *const ()) -> RawWaker {
        touch_timers();
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions ignore the data pointer, so a null
    // pointer satisfies the `RawWaker` contract.
    let meddler = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };

    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let mut s = sleep(Duration::from_millis(3));
    assert!(poll(&mut s, &meddler).is_pending()); // register clones
    let mut t = sleep(Duration::from_millis(3));
    assert!(poll(&mut t, Waker::noop()).is_pending());
    assert!(poll(&mut t, &meddler).is_pending()); // set_waker clones
    assert_eq!(rt.run_to(rt.at(3.0)), 2);
    assert!(poll(&mut s, Waker::noop()).is_ready());
    assert!(poll(&mut t, Waker::noop()).is_ready());
}

#[test]
#[should_panic(expected = "no timer driver on this thread")]
fn polling_without_a_driver_panics() {
    let mut s = sleep(Duration::from_millis(1));
    let _ = poll(&mut s, Waker::noop());
}

#[test]
fn real_clock_sleep_is_never_early() {
    let driver = Driver::new(Waker::noop().clone());
    let _guard = driver.enter();
    for micros in [0, 300, 1500, 2700] {
        let start = Instant::now();
        let mut s = sleep(Duration::from_micros(micros));
        while poll(&mut s, Waker::noop()).is_pending() {
            if let Some(deadline) = driver.next_deadline() {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            }
            driver.process();
        }
        assert!(start.elapsed() >= Duration::from_micros(micros));
    }
}

#[test]
fn clock_is_shared_by_clones() {
    let (clock, handle) = Clock::mock(Instant::now());
    let driver = Driver::with_clock(Waker::noop().clone(), clock.clone());
    handle.advance(Duration::from_millis(3));
    assert_eq!(driver.clock().now(), clock.now());
}

/// The driver keeps the waker of the last cancelled entry for reuse by the
/// next registration of the same task; it must not outlive the next turn, and
/// must never stand in for a different task's waker.
#[test]
fn spare_waker_is_reused_only_for_the_same_task_and_released_at_the_next_turn() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let (a, waker_a) = counting_waker();
    let (b, waker_b) = counting_waker();

    let mut first = sleep(Duration::from_millis(5));
    assert_eq!(poll(&mut first, &waker_a), Poll::Pending);
    drop(first); // cancelled: `a`'s waker now waits in the spare slot
    assert_eq!(Arc::strong_count(&a), 3, "a, waker_a and the spare");

    // A different task registers: it must get its own waker, not `a`'s.
    let mut second = sleep(Duration::from_millis(5));
    assert_eq!(poll(&mut second, &waker_b), Poll::Pending);
    assert_eq!(rt.run_to(rt.at(5.0)), 1);
    assert_eq!((a.count(), b.count()), (0, 1));
    drop(second);

    // The turn released every waker the driver held.
    drop((waker_a, waker_b));
    assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (1, 1));
}

/// The same task's next timer reuses the spare and still wakes that task.
#[test]
fn reused_spare_waker_still_wakes_its_task() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let (a, waker_a) = counting_waker();
    for _ in 0..3 {
        let mut t = sleep(Duration::from_millis(50));
        assert_eq!(poll(&mut t, &waker_a), Poll::Pending);
    }
    let mut last = sleep(Duration::from_millis(5));
    assert_eq!(poll(&mut last, &waker_a), Poll::Pending);
    // Reused, not cloned: a, waker_a and the entry (a clone would make 4).
    assert_eq!(Arc::strong_count(&a), 3);
    assert_eq!(rt.run_to(rt.at(5.0)), 1);
    assert_eq!(a.count(), 1);
    assert_eq!(poll(&mut last, &waker_a), Poll::Ready(()));
    drop(waker_a);
    assert_eq!(Arc::strong_count(&a), 1);
}

/// `has_work` tells a runtime when it may skip the pre-park turn: only while
/// nothing is registered.
#[test]
fn has_work_follows_registrations() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    assert!(!rt.driver.has_work());
    let mut s = sleep(Duration::from_millis(2));
    assert!(poll(&mut s, Waker::noop()).is_pending());
    assert!(rt.driver.has_work());
    assert_eq!(rt.run_to(rt.at(2.0)), 1);
    assert!(!rt.driver.has_work());
    // Turns without work still move the wheel: a deadline behind the clock
    // is recognised at the first poll.
    rt.run_to(rt.at(900.0));
    let mut past = sleep_until(rt.at(800.0));
    assert_eq!(poll(&mut past, Waker::noop()), Poll::Ready(()));
    assert!(!rt.driver.has_work());
}
