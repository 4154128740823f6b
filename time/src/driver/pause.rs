//! Paused time: a driver whose clock is [pausable](crate::clock::Clock::pausable)
//! can be stopped, moved forward by hand, and started again. While paused,
//! the clock moves only by `advance`; `advance` then fires what fell due, as
//! a normal turn would. `MOCK_DRIVERS` counts the drivers that ever paused,
//! so that `now()` knows when it must ask the thread's driver for the time.

use super::{with_current, Driver, Inner, Turn};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// How many drivers on a mock clock exist, process-wide.
///
/// While there are none, every driver reads `Instant::now()`, so [`now`] can
/// skip the thread-local lookup: `sleep(d)` and `timeout(d, ..)` then pay one
/// relaxed load instead. Relaxed is enough: a driver is `!Send`, so the one
/// installed on this thread was created (and counted) on this thread.
pub(super) static MOCK_DRIVERS: AtomicUsize = AtomicUsize::new(0);

/// Now, according to the current driver's clock if one is installed on this
/// thread (so that mock and paused clocks work), else `Instant::now()`.
///
/// This is the time timers go by. `Instant::now()` stays real time: while a
/// runtime's clock is paused, the two differ.
///
/// # Examples
///
/// ```
/// let before = std::time::Instant::now();
/// assert!(kiwi_time::now() >= before); // no driver here: real time
/// ```
pub fn now() -> Instant {
    if MOCK_DRIVERS.load(Ordering::Relaxed) == 0 {
        return Instant::now();
    }
    with_current(|c| c.map(|inner| inner.clock().now())).unwrap_or_else(Instant::now)
}

impl Driver {
    /// Pauses the driver's clock, if it is [pausable](crate::clock::Clock::pausable):
    /// from now on it moves only by [`Driver::advance`]. Returns false for
    /// another kind of clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use kiwi_time::driver::Driver;
    /// use std::task::Waker;
    ///
    /// let driver = Driver::with_clock(Waker::noop().clone(), Clock::pausable());
    /// assert!(driver.pause());
    /// assert!(driver.clock().is_paused());
    /// driver.resume();
    /// assert!(!driver.clock().is_paused());
    /// ```
    pub fn pause(&self) -> bool {
        self.inner.pause()
    }

    /// Starts a paused clock again, at real speed, from where it stands.
    pub fn resume(&self) {
        self.inner.shared.clock.resume();
    }

    /// Moves a paused clock forward by `by` and fires the timers that fell
    /// due; does nothing to a running clock but fire what is due.
    pub fn advance(&self, by: std::time::Duration) -> Turn {
        self.inner.shared.clock.advance_paused(by);
        self.inner.process()
    }
}

impl Inner {
    fn pause(&self) -> bool {
        if self.shared.clock.pause() || self.shared.clock.is_paused() {
            if !self.counted.replace(true) {
                MOCK_DRIVERS.fetch_add(1, Ordering::Relaxed);
            }
            return true;
        }
        false
    }
}

/// Pauses the clock of this thread's driver; see [`Driver::pause`]. False if
/// there is no driver here or its clock cannot pause.
pub fn pause_current() -> bool {
    with_current(|c| c.is_some_and(|inner| inner.pause()))
}

/// Resumes the clock of this thread's driver; see [`Driver::resume`].
pub fn resume_current() {
    with_current(|c| {
        if let Some(inner) = c {
            inner.shared.clock.resume();
        }
    });
}

/// Whether this thread's driver's clock is paused.
pub fn is_paused_current() -> bool {
    with_current(|c| c.is_some_and(|inner| inner.shared.clock.is_paused()))
}

/// Advances this thread's driver's paused clock by `by` and fires the timers
/// that fell due; see [`Driver::advance`]. `None` without a driver.
pub fn advance_current(by: std::time::Duration) -> Option<Turn> {
    let inner = with_current(|c| c.cloned())?;
    inner.shared.clock.advance_paused(by);
    Some(inner.process())
}
