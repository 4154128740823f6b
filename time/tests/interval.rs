//! `Interval` on a mock clock: the first tick, the period, and each
//! `MissedTickBehavior` after the task was busy for 35 ms of a 10 ms period.

mod util;

use futures_core::Stream;
use kiwi_time::{interval, interval_at, MissedTickBehavior};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use util::{poll, MockDriver};

const P: Duration = Duration::from_millis(10);

#[test]
fn first_tick_is_immediate_then_every_period() {
    let rt = MockDriver::new();
    rt.block_on(async {
        let mut i = interval(P);
        assert_eq!(i.period(), P);
        assert_eq!(i.missed_tick_behavior(), MissedTickBehavior::Burst);
        assert_eq!(i.tick().await, rt.start);
        assert_eq!(rt.clock.now(), rt.start);
        for n in 1..=5 {
            assert_eq!(i.tick().await, rt.at(10.0 * f64::from(n)));
            assert_eq!(rt.clock.now(), rt.at(10.0 * f64::from(n)));
        }
    });
}

#[test]
fn interval_at_starts_at_start() {
    let rt = MockDriver::new();
    rt.block_on(async {
        let mut i = interval_at(rt.at(7.5), P);
        assert_eq!(i.tick().await, rt.at(7.5));
        assert_eq!(rt.clock.now(), rt.at(7.5));
        assert_eq!(i.tick().await, rt.at(17.5));
    });
}

/// Ticks at 0, is busy until 35 ms, then collects the next `n` ticks as
/// (scheduled ms, clock ms when returned).
fn after_busy(behavior: MissedTickBehavior, n: usize) -> Vec<(u128, u128)> {
    let rt = MockDriver::new();
    rt.block_on(async {
        let mut i = interval(P);
        i.set_missed_tick_behavior(behavior);
        i.tick().await;
        rt.clock.advance(Duration::from_millis(35));
        let mut out = Vec::new();
        for _ in 0..n {
            let at = i.tick().await;
            out.push((
                (at - rt.start).as_millis(),
                (rt.clock.now() - rt.start).as_millis(),
            ));
        }
        out
    })
}

#[test]
fn burst_catches_up_immediately() {
    assert_eq!(
        after_busy(MissedTickBehavior::Burst, 5),
        [(10, 35), (20, 35), (30, 35), (40, 40), (50, 50)]
    );
}

#[test]
fn delay_shifts_the_schedule() {
    assert_eq!(
        after_busy(MissedTickBehavior::Delay, 3),
        [(10, 35), (45, 45), (55, 55)]
    );
}

#[test]
fn skip_keeps_the_original_grid() {
    assert_eq!(
        after_busy(MissedTickBehavior::Skip, 3),
        [(10, 35), (40, 40), (50, 50)]
    );
}

#[test]
fn reset_starts_a_period_from_now() {
    let rt = MockDriver::new();
    rt.block_on(async {
        let mut i = interval(P);
        i.tick().await;
        rt.clock.advance(Duration::from_millis(3));
        i.reset();
        assert_eq!(i.tick().await, rt.at(13.0));
    });
}

#[test]
fn tick_is_cancel_safe() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let mut i = interval_at(rt.at(5.0), P);
    {
        let mut tick = i.tick();
        assert!(poll(&mut tick, Waker::noop()).is_pending());
    } // dropped mid-wait: no tick consumed
    rt.run_to(rt.at(5.0));
    let mut tick = i.tick();
    assert_eq!(poll(&mut tick, Waker::noop()), Poll::Ready(rt.at(5.0)));
}

#[test]
fn interval_is_a_stream() {
    let rt = MockDriver::new();
    let _guard = rt.driver.enter();
    let mut i = interval(P);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        Pin::new(&mut i).poll_next(&mut cx),
        Poll::Ready(Some(rt.start))
    );
    assert!(Pin::new(&mut i).poll_next(&mut cx).is_pending());
    rt.run_to(rt.at(10.0));
    assert_eq!(
        Pin::new(&mut i).poll_next(&mut cx),
        Poll::Ready(Some(rt.at(10.0)))
    );
}

#[test]
#[should_panic(expected = "kiwi::time::interval: period must be non-zero")]
fn zero_period_panics() {
    let _ = interval_at(std::time::Instant::now(), Duration::ZERO);
}
