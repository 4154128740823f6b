//! A `Sleep` polled, reset and dropped away from its driver's thread:
//! migration between drivers, remote cancel, and waker forwarding.

mod util;

use kiwi_time::{sleep_until, Sleep};
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;
use util::{counting_waker, poll, MockDriver};

/// Runs `f` on a fresh thread and returns its result.
fn on_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    thread::scope(|s| s.spawn(f).join().expect("thread panicked"))
}

#[test]
fn polled_on_another_driver_migrates() {
    let (to_a, a_inbox) = mpsc::channel::<&str>();
    let (to_main, main_inbox) = mpsc::channel::<Sleep>();
    thread::scope(|s| {
        // Thread A owns driver A and registers the sleep there.
        s.spawn(move || {
            let a = MockDriver::new();
            let _guard = a.driver.enter();
            let mut sleep = sleep_until(a.at(100.0));
            assert!(poll(&mut sleep, Waker::noop()).is_pending());
            assert_eq!(a.driver.len(), 1);
            to_main.send(sleep).unwrap();
            // Wait until thread B has taken it over, then a turn applies the
            // remote cancel (no unpark was needed for that).
            assert_eq!(a_inbox.recv().unwrap(), "migrated");
            assert_eq!(a.unparks.count(), 0);
            assert_eq!(a.driver.len(), 1);
            a.driver.process();
            assert_eq!(a.driver.len(), 0);
        });

        let mut sleep = main_inbox.recv().unwrap();
        let deadline = sleep.deadline();
        // Thread B has its own driver: the sleep moves there.
        s.spawn(move || {
            let b = MockDriver::new();
            let _guard = b.driver.enter();
            let (woken, waker) = counting_waker();
            assert!(poll(&mut sleep, &waker).is_pending());
            assert_eq!(b.driver.len(), 1);
            to_a.send("migrated").unwrap();
            b.clock.set(deadline);
            assert_eq!(b.driver.process().fired, 1);
            assert_eq!(woken.count(), 1);
            assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
        });
    });
}

#[test]
fn polled_on_a_thread_without_driver_forwards_the_waker() {
    let a = MockDriver::new();
    let _guard = a.driver.enter();
    let mut sleep = sleep_until(a.at(20.0));
    assert!(poll(&mut sleep, Waker::noop()).is_pending());

    // Another thread, no driver: the sleep stays on A, sends its new waker,
    // and unparks A so that A applies it.
    let (woken, waker) = counting_waker();
    let (sleep, pending) = on_thread(move || {
        let pending = poll(&mut sleep, &waker).is_pending();
        (sleep, pending)
    });
    assert!(pending);
    assert_eq!(a.unparks.count(), 1);
    assert_eq!(a.driver.len(), 1);

    // A fires at the deadline and wakes the forwarded waker.
    assert_eq!(a.run_to(a.at(20.0)), 1);
    assert_eq!(woken.count(), 1);
    let (ready, sleep) = on_thread(move || {
        let mut sleep = sleep;
        (poll(&mut sleep, Waker::noop()), sleep)
    });
    assert_eq!(ready, Poll::Ready(()));
    drop(sleep);
}

#[test]
fn forwarded_waker_is_applied_before_firing() {
    let a = MockDriver::new();
    let _guard = a.driver.enter();
    let mut sleep = sleep_until(a.at(20.0));
    assert!(poll(&mut sleep, Waker::noop()).is_pending());
    // Polled elsewhere; A has not run since. (The opposite order, a fire
    // racing ahead of the SetWaker, wakes the new waker when the op finds the
    // entry gone; it needs an interleaving inside `poll` to test.)
    let (woken, waker) = counting_waker();
    let mut sleep = on_thread(move || {
        assert!(poll(&mut sleep, &waker).is_pending());
        sleep
    });
    a.clock.set(a.at(20.0));
    // One turn applies the op first, then fires: the new waker is woken,
    // the old (noop) one is not.
    a.driver.process();
    assert_eq!(woken.count(), 1);
    assert_eq!(poll(&mut sleep, Waker::noop()), Poll::Ready(()));
}

#[test]
fn dropped_on_another_thread_cancels_remotely() {
    let a = MockDriver::new();
    let _guard = a.driver.enter();
    let mut sleeps: Vec<Sleep> = (1..=10).map(|i| sleep_until(a.at(f64::from(i)))).collect();
    for s in &mut sleeps {
        assert!(poll(s, Waker::noop()).is_pending());
    }
    assert_eq!(a.driver.len(), 10);
    on_thread(move || drop(sleeps));
    assert_eq!(a.driver.len(), 10); // queued, not yet applied
    assert_eq!(a.driver.process().fired, 0);
    assert!(a.driver.is_empty());
}

#[test]
fn reset_on_another_thread_then_polled_there() {
    let a = MockDriver::new();
    let _guard = a.driver.enter();
    let mut sleep = sleep_until(a.at(50.0));
    assert!(poll(&mut sleep, Waker::noop()).is_pending());
    let new_deadline = a.at(10.0);
    let sleep = on_thread(move || {
        let b = MockDriver::new();
        let _guard = b.driver.enter();
        sleep.reset(new_deadline);
        assert!(poll(&mut sleep, Waker::noop()).is_pending());
        assert_eq!(b.driver.len(), 1);
        drop(_guard);
        sleep
    });
    a.driver.process();
    assert!(a.driver.is_empty());
    drop(sleep);
}

#[test]
fn already_due_when_polled_elsewhere_completes() {
    let a = MockDriver::new();
    let _guard = a.driver.enter();
    let mut sleep = sleep_until(a.at(5.0));
    assert!(poll(&mut sleep, Waker::noop()).is_pending());
    a.clock.set(a.at(6.0)); // due by A's clock, not yet processed
    let ready = on_thread(move || poll(&mut sleep, Waker::noop()));
    assert_eq!(ready, Poll::Ready(()));
    a.driver.process();
    assert!(a.driver.is_empty());
}

#[test]
fn real_threads_real_clock() {
    // Two real drivers on two threads; a sleep registered on one completes
    // on the other, never early.
    let (tx, rx) = mpsc::channel::<Sleep>();
    thread::scope(|s| {
        s.spawn(move || {
            let driver = kiwi_time::driver::Driver::new(Waker::noop().clone());
            let _guard = driver.enter();
            let mut sleep = kiwi_time::sleep(Duration::from_millis(3));
            assert!(poll(&mut sleep, Waker::noop()).is_pending());
            tx.send(sleep).unwrap();
            driver.process();
        });
        s.spawn(move || {
            let mut sleep = rx.recv().unwrap();
            let driver = kiwi_time::driver::Driver::new(Waker::noop().clone());
            let _guard = driver.enter();
            while poll(&mut sleep, Waker::noop()).is_pending() {
                if let Some(d) = driver.next_deadline() {
                    thread::sleep(d.saturating_duration_since(std::time::Instant::now()));
                }
                driver.process();
            }
            assert!(std::time::Instant::now() >= sleep.deadline());
        });
    });
}
