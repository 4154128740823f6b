//! Timers driven by the runtime: never early, bounded lateness, cross-thread
//! moves, and nothing left behind.

mod util;

use std::time::{Duration, Instant};

use kiwi::time::{interval, sleep, sleep_until, timeout, MissedTickBehavior};
use util::rt::with_deadline;

#[test]
fn sleep_is_never_early_and_late_by_little() {
    with_deadline(20, || {
        kiwi::block_on(async {
            let mut worst = Duration::ZERO;
            for us in [100u64, 1500, 2300, 7000, 15_000] {
                let d = Duration::from_micros(us);
                let t0 = Instant::now();
                sleep(d).await;
                let took = t0.elapsed();
                assert!(took >= d, "early: asked {d:?}, slept {took:?}");
                worst = worst.max(took - d);
            }
            // Generous bound for a shared CI machine; typical lateness is ~0.1 ms.
            assert!(worst < Duration::from_millis(50), "lateness {worst:?}");
        });
    });
}

#[test]
fn many_concurrent_sleeps_each_fire_not_before_their_deadline() {
    with_deadline(30, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let start = Instant::now();
            let mut set = kiwi::JoinSet::new();
            for i in 0..2000u64 {
                set.spawn(async move {
                    let deadline = start + Duration::from_micros(500 * (i % 100) + 100);
                    sleep_until(deadline).await;
                    Instant::now() >= deadline
                });
            }
            while let Some(ok) = set.join_next().await {
                assert!(ok.unwrap(), "a sleep fired early");
            }
        });
    });
}

#[test]
fn sleep_moved_between_threads_still_fires() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let mut s = sleep(Duration::from_millis(30));
            // Register it here (block_on thread), then finish it on a worker.
            let polled = futures_util::poll!(&mut s);
            assert!(polled.is_pending());
            let t0 = Instant::now();
            kiwi::spawn(s).await.unwrap();
            assert!(t0.elapsed() < Duration::from_secs(5));
        });
    });
}

#[test]
fn sleep_dropped_on_another_thread_is_cancelled() {
    with_deadline(20, || {
        let rt = kiwi::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let mut s = sleep(Duration::from_secs(3600));
            assert!(futures_util::poll!(&mut s).is_pending());
            std::thread::spawn(move || drop(s)).join().unwrap();
            // The block_on driver is still fine and fires later timers.
            sleep(Duration::from_millis(1)).await;
        });
    });
}

#[test]
fn timeout_and_far_deadlines() {
    with_deadline(20, || {
        kiwi::block_on(async {
            assert_eq!(timeout(Duration::from_secs(1), async { 5 }).await, Ok(5));
            let e = timeout(Duration::from_millis(5), std::future::pending::<()>())
                .await
                .unwrap_err();
            let io: std::io::Error = e.into();
            assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
            // Far and past deadlines neither panic nor misfire.
            let mut far = sleep(Duration::MAX);
            assert!(futures_util::poll!(&mut far).is_pending());
            assert!(far.deadline() > Instant::now() + Duration::from_secs(365 * 24 * 3600));
            sleep_until(Instant::now() - Duration::from_secs(1)).await;
            sleep(Duration::ZERO).await;
        });
    });
}

#[test]
fn interval_first_tick_immediate_then_periodic() {
    with_deadline(20, || {
        kiwi::block_on(async {
            let mut iv = interval(Duration::from_millis(10));
            let t0 = Instant::now();
            let first = iv.tick().await;
            assert!(first <= t0 + Duration::from_millis(2));
            let second = iv.tick().await;
            assert!(Instant::now() >= second);
            assert_eq!(second - first, Duration::from_millis(10));
            iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
            std::thread::sleep(Duration::from_millis(35));
            let after = iv.tick().await;
            let next = iv.tick().await;
            assert_eq!(
                (next - first).as_millis() % 10,
                0,
                "skip stays on the period grid"
            );
            assert!(next > after);
        });
    });
}

#[test]
#[should_panic(expected = "non-zero")]
fn interval_zero_panics() {
    let _ = interval(Duration::ZERO);
}

#[test]
fn timers_outside_a_runtime_panic_with_a_message() {
    let err = std::panic::catch_unwind(|| {
        let mut s = sleep(Duration::from_millis(1));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let _ = std::pin::Pin::new(&mut s).poll_with(&mut cx);
    });
    assert!(err.is_err());

    trait PollWith {
        fn poll_with(self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()>;
    }
    impl PollWith for std::pin::Pin<&mut kiwi::time::Sleep> {
        fn poll_with(self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            std::future::Future::poll(self, cx)
        }
    }
}
