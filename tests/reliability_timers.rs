//! Reliability, timers at their edges (issue 7, item 10), through the runtime.
//!
//! Bug class guarded against: deadline arithmetic that overflows or panics
//! (`Duration::MAX`, far-future and past instants), a zero sleep that never
//! fires or spins, timers that fire early or are lost when they cascade from a
//! coarse wheel level to a finer one, and resets that leave a stale entry in
//! the old slot (firing at the old deadline) or never move it to the new level.
//!
//! The wheel has 64 slots per level: level 0 spans 64 ms, level 1 ~4 s, level 2
//! ~4.5 min, level 3 ~4.7 h. The reset test moves one sleep 50 ms -> 5 s ->
//! 10 min -> 50 ms (levels 0, 2, 3, 0); the cascade test files timers on both
//! sides of the 64 ms and 4,096 ms boundaries. A clock offset beyond 12 days
//! needs the mock clock: see `start_offsets_beyond_twelve_days` and
//! `duration_max_and_far_future_do_not_panic` in `time/tests/driver.rs`, and the
//! model test `time/tests/wheel_model.rs` (start offsets far beyond level 4).

mod util;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use kiwi::time::{sleep, sleep_until, timeout};
use util::rel::with_deadline;

/// How late a timer may fire here (debug build, loaded CI machine).
const LATE: Duration = Duration::from_millis(100);

fn runtime() -> kiwi::Runtime {
    kiwi::Builder::new().workers(2).build().unwrap()
}

/// Polls `f` once with a no-op waker.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn past_and_zero_deadlines_fire_at_once() {
    with_deadline(20, || {
        let rt = runtime();
        rt.block_on(async {
            let now = Instant::now();
            let mut past = sleep_until(now - Duration::from_secs(3600));
            assert!(poll_once(&mut past).is_ready(), "a past deadline is due");
            let mut zero = sleep(Duration::ZERO);
            assert!(
                poll_once(&mut zero).is_ready() || {
                    zero.await;
                    true
                }
            );
            // A thousand zero sleeps in a row: each completes, none hangs.
            let t = Instant::now();
            for _ in 0..1000 {
                sleep(Duration::ZERO).await;
            }
            assert!(t.elapsed() < Duration::from_secs(5));
            // An instant far in the past (checked_sub saturates to what exists).
            let ancient = now.checked_sub(Duration::from_secs(86_400)).unwrap_or(now);
            sleep_until(ancient).await;
            // Timeout with a zero duration on a ready future still yields it.
            assert_eq!(timeout(Duration::ZERO, async { 5 }).await.ok(), Some(5));
        });
    });
}

#[test]
fn duration_max_and_far_future_pend_without_panicking_and_cancel() {
    with_deadline(20, || {
        let rt = runtime();
        rt.block_on(async {
            let mut forever = sleep(Duration::MAX);
            assert!(poll_once(&mut forever).is_pending());
            assert!(forever.deadline() > Instant::now() + Duration::from_secs(86_400 * 365));
            let far = Instant::now() + Duration::from_secs(86_400 * 365 * 100);
            let mut centennial = sleep_until(far);
            assert!(poll_once(&mut centennial).is_pending());
            // A short timer still fires on time with those two in the wheel.
            let t = Instant::now();
            sleep(Duration::from_millis(30)).await;
            let took = t.elapsed();
            assert!(took >= Duration::from_millis(30) && took < Duration::from_millis(30) + LATE);
            assert!(!forever.is_elapsed() && !centennial.is_elapsed());
            // Timeout(MAX) of a ready future, and of a short sleep.
            assert_eq!(timeout(Duration::MAX, async { 1 }).await.ok(), Some(1));
            assert!(timeout(Duration::MAX, sleep(Duration::from_millis(5)))
                .await
                .is_ok());
            // Dropped (cancelled) while pending: nothing fires later.
            drop(forever);
            drop(centennial);
            // Sent to another worker and dropped there: cancelled cross-thread.
            let remote = sleep(Duration::MAX);
            kiwi::spawn(async move { drop(remote) }).await.unwrap();
        });
        // The runtime shuts down promptly with far timers pending in tasks.
        rt.spawn(sleep(Duration::MAX));
        rt.spawn(sleep(Duration::from_secs(86_400 * 365 * 50)));
        let t = Instant::now();
        drop(rt);
        assert!(t.elapsed() < Duration::from_secs(1));
    });
}

#[test]
fn reset_across_wheel_levels_fires_at_the_latest_deadline_only() {
    with_deadline(30, || {
        let rt = runtime();
        rt.block_on(async {
            let t0 = Instant::now();
            let mut s = sleep(Duration::from_millis(50)); // level 0
            assert!(poll_once(&mut s).is_pending());
            s.reset(t0 + Duration::from_secs(5)); // level 2 (beyond ~4 s)
            assert!(poll_once(&mut s).is_pending());
            // Past the first deadline: the old level-0 entry must be gone.
            sleep(Duration::from_millis(120)).await;
            assert!(poll_once(&mut s).is_pending(), "fired at the old deadline");
            s.reset(Instant::now() + Duration::from_secs(600)); // level 3
            assert!(poll_once(&mut s).is_pending());
            sleep(Duration::from_millis(30)).await;
            assert!(poll_once(&mut s).is_pending());
            // Back down to level 0, from another worker (cross-thread reset).
            let (tx, rx) = async_channel::bounded(1);
            let back = kiwi::spawn(async move {
                let target = Instant::now() + Duration::from_millis(50);
                s.reset(target);
                tx.send(target).await.unwrap();
                s.await;
                Instant::now()
            });
            let target = rx.recv().await.unwrap();
            let fired = back.await.unwrap();
            assert!(fired >= target, "fired early: {:?}", target - fired);
            assert!(fired - target < LATE, "fired late by {:?}", fired - target);

            // Up and down within level 1 and across the 64 ms boundary.
            let t = Instant::now();
            let mut s = sleep(Duration::from_millis(200));
            assert!(poll_once(&mut s).is_pending());
            s.reset(t + Duration::from_millis(63));
            assert!(poll_once(&mut s).is_pending());
            s.reset(t + Duration::from_millis(65));
            s.await;
            let took = t.elapsed();
            assert!(took >= Duration::from_millis(65) && took < Duration::from_millis(65) + LATE);
        });
    });
}

#[test]
fn timers_cascading_across_level_boundaries_fire_in_order_never_early() {
    with_deadline(30, || {
        let rt = runtime();
        // Either side of the 64 ms (level 0/1) and 4,096 ms (level 1/2) spans.
        let ms = [
            1u64, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096, 4097, 4200,
        ];
        rt.block_on(async move {
            let t0 = Instant::now();
            let tasks: Vec<_> = ms
                .iter()
                .map(|&m| {
                    let d = t0 + Duration::from_millis(m);
                    kiwi::spawn(async move {
                        sleep_until(d).await;
                        (d, Instant::now())
                    })
                })
                .collect();
            let mut worst = Duration::ZERO;
            for t in tasks {
                let (deadline, fired) = t.await.unwrap();
                assert!(fired >= deadline, "early by {:?}", deadline - fired);
                worst = worst.max(fired - deadline);
            }
            eprintln!(
                "timers: {} cascading timers, worst lateness {worst:?}",
                ms.len()
            );
            assert!(worst < LATE, "late by {worst:?}");
        });
    });
}
