//! [`Interval`]: ticks at a fixed period.
//!
//! An interval is a [`Sleep`] that re-arms itself: when it completes, the
//! interval computes the next tick's instant and resets the sleep to it. The
//! only subtle part, what to do when ticks were missed, is documented on
//! [`MissedTickBehavior`].

use crate::clock::deadline_after;
use crate::driver;
use crate::sleep::{sleep_until, Sleep};
use futures_core::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What an [`Interval`] does after ticks were missed.
///
/// A tick counts as missed when it is observed at or after the instant of
/// the *next* tick: a whole period went by unobserved. A tick that is merely
/// late (by less than a period) keeps the schedule under every behaviour.
/// (tokio instead treats any tick more than 5 ms late as missed, which only
/// changes `Delay` for ticks 5 ms to one period late.)
///
/// The examples below use a 10 ms period starting at 0 ms, and a task that
/// returns from the 0 ms tick and then stays busy until 35 ms, so the ticks
/// scheduled at 10, 20 and 30 ms were missed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Return the missed ticks immediately, one per call, until caught up,
    /// then continue on the original schedule. At 35 ms, three calls return
    /// at once (reporting 10, 20 and 30 ms); the next ticks come at 40, 50,
    /// 60 ms...
    #[default]
    Burst,
    /// Return one late tick, then continue a full period after *now*: the
    /// schedule shifts. (A tick at most 5 ms late counts as on
    /// time under every behaviour, as in tokio.) At 35 ms one call returns (reporting 10 ms); the next
    /// ticks come at 45, 55, 65 ms...
    Delay,
    /// Return one late tick, then continue at the next instant of the
    /// original schedule after now. At 35 ms one call returns (reporting
    /// 10 ms); the next ticks come at 40, 50, 60 ms...
    Skip,
}

/// How late a tick may be observed and still count as on time (tokio's rule):
/// later than this, the [`MissedTickBehavior`] decides the next tick.
pub(crate) const LATE_TOLERANCE: Duration = Duration::from_millis(5);

impl MissedTickBehavior {
    /// The next tick after the one `scheduled` for, observed at `now`.
    fn next(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        let on_schedule = deadline_after(scheduled, period);
        if now <= deadline_after(scheduled, LATE_TOLERANCE) {
            return on_schedule; // on time, give or take the tolerance
        }
        match self {
            MissedTickBehavior::Burst => on_schedule,
            MissedTickBehavior::Delay => deadline_after(now, period),
            MissedTickBehavior::Skip => {
                // The first `scheduled + k * period` strictly after `now`.
                let periods = (now - scheduled).as_nanos() / period.as_nanos() + 1;
                let offset = u64::try_from(period.as_nanos() * periods)
                    .map(Duration::from_nanos)
                    .unwrap_or(Duration::MAX);
                deadline_after(scheduled, offset)
            }
        }
    }
}

/// A stream of ticks `period` apart whose first tick is immediate.
///
/// The schedule is anchored at the current time (the current driver's clock
/// if one is installed). Timers do not spend the runtime's cooperative budget.
///
/// # Panics
///
/// Panics if `period` is zero: "kiwi::time::interval: period must be
/// non-zero". Polling panics outside a kiwi runtime, as [`Sleep`] does.
///
/// # Examples
///
/// ```
/// # use kiwi_time::driver::Driver;
/// # use std::task::Waker;
/// use std::time::{Duration, Instant};
///
/// # let driver = Driver::new(Waker::noop().clone());
/// # let _guard = driver.enter();
/// # fn run<F: std::future::Future>(driver: &Driver, fut: F) -> F::Output {
/// #     let mut fut = std::pin::pin!(fut);
/// #     let mut cx = std::task::Context::from_waker(Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) { return out; }
/// #         if let Some(d) = driver.next_deadline() {
/// #             std::thread::sleep(d.saturating_duration_since(Instant::now()));
/// #         }
/// #         driver.process();
/// #     }
/// # }
/// let start = Instant::now();
/// let mut interval = kiwi_time::interval(Duration::from_millis(2));
/// let first = run(&driver, interval.tick()); // immediate
/// let second = run(&driver, interval.tick());
/// assert_eq!(second - first, Duration::from_millis(2));
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(driver::now(), period)
}

/// A stream of ticks `period` apart, the first at `start`.
///
/// Timers do not spend the runtime's cooperative budget.
///
/// # Panics
///
/// Panics if `period` is zero: "kiwi::time::interval: period must be
/// non-zero". Polling panics outside a kiwi runtime, as [`Sleep`] does.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now() + Duration::from_secs(1);
/// let interval = kiwi_time::interval_at(start, Duration::from_millis(100));
/// assert_eq!(interval.period(), Duration::from_millis(100));
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "kiwi::time::interval: period must be non-zero"
    );
    Interval {
        sleep: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// Ticks at a fixed period. Created by [`interval`] and [`interval_at`].
///
/// `Interval` is `Unpin` and `Send`, and is a
/// [`Stream`](futures_core::Stream) of tick instants.
#[derive(Debug)]
#[must_use = "an interval does nothing unless you .tick().await it"]
pub struct Interval {
    /// Completes at the next tick's scheduled instant.
    sleep: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the returned future is dropped before completing, no
    /// tick is consumed; the next call returns the same tick.
    ///
    /// # Examples
    ///
    /// See [`interval`].
    pub fn tick(&mut self) -> impl Future<Output = Instant> + Send + Unpin + '_ {
        std::future::poll_fn(move |cx| self.poll_tick(cx))
    }

    /// Polls for the next tick: the poll-style form of [`tick`](Self::tick),
    /// for hand-written futures.
    ///
    /// # Cancel safety
    ///
    /// A tick is consumed only when this returns `Ready`.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let next = self
            .missed_tick_behavior
            .next(scheduled, driver::now(), self.period);
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick comes one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut interval = kiwi_time::interval(Duration::from_secs(1));
    /// interval.reset(); // the first tick is no longer immediate
    /// ```
    pub fn reset(&mut self) {
        self.reset_at(deadline_after(driver::now(), self.period));
    }

    /// Restarts the schedule with the next tick at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.sleep.reset(deadline);
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens after missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Chooses what happens after missed ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::MissedTickBehavior;
    /// use std::time::Duration;
    ///
    /// let mut interval = kiwi_time::interval(Duration::from_millis(10));
    /// interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

/// An endless stream of tick instants.
///
/// # Cancel safety
///
/// As for [`Interval::tick`]: a tick is consumed only when it is returned.
impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(10);

    fn ms(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn a_little_late_keeps_the_schedule_under_every_behaviour() {
        let t = Instant::now();
        for b in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            // 5 ms late is still on time (tokio's tolerance).
            assert_eq!(b.next(ms(t, 10), ms(t, 15), P), ms(t, 20), "{b:?}");
        }
    }

    #[test]
    fn late_beyond_the_tolerance_within_a_period_follows_the_behaviour() {
        // Found in review: Delay must re-anchor on `now` as soon as a tick is
        // more than 5 ms late, even when less than a period late (tokio's rule).
        let t = Instant::now();
        let (s, now) = (ms(t, 10), ms(t, 17));
        assert_eq!(MissedTickBehavior::Burst.next(s, now, P), ms(t, 20));
        assert_eq!(MissedTickBehavior::Delay.next(s, now, P), ms(t, 27));
        assert_eq!(MissedTickBehavior::Skip.next(s, now, P), ms(t, 20));
    }

    #[test]
    fn missed_ticks() {
        let t = Instant::now();
        let (s, now) = (ms(t, 10), ms(t, 35));
        assert_eq!(MissedTickBehavior::Burst.next(s, now, P), ms(t, 20));
        assert_eq!(MissedTickBehavior::Delay.next(s, now, P), ms(t, 45));
        assert_eq!(MissedTickBehavior::Skip.next(s, now, P), ms(t, 40));
        // Exactly on a schedule point: skip to the one after it.
        assert_eq!(MissedTickBehavior::Skip.next(s, ms(t, 40), P), ms(t, 50));
    }

    #[test]
    #[should_panic(expected = "period must be non-zero")]
    fn zero_period_panics() {
        let _ = interval(Duration::ZERO);
    }
}
