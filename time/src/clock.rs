//! The clock: where `Instant`s become wheel ticks and back.
//!
//! The timing wheel ([`crate::wheel`]) knows nothing about `Instant`. It files
//! entries under plain `u64` *ticks*, and one tick is one millisecond counted
//! from the clock's *epoch* (the instant the clock was created). This module is
//! the only place that converts between the two, so the rounding rules live in
//! one screenful of code:
//!
//! - **Floor, never round up.** A deadline is filed in the tick that *contains*
//!   it: `tick = floor((deadline - epoch) / 1 ms)`. Rounding up instead would
//!   make every sleep up to a whole millisecond late. Rounding down would make
//!   timers early if the driver fired a whole tick at once, so it does not: it
//!   fires an entry only once `now >= deadline`, comparing the *exact* instants.
//!   The tick only decides where the entry waits.
//! - **Before the epoch is tick 0.** An instant earlier than the epoch (a
//!   deadline in the past) saturates to tick 0, which the wheel has already
//!   passed, so the entry is due at the next turn.
//! - **Far future saturates.** [`far_future`] caps deadlines at about thirty
//!   years from now, so `sleep(Duration::MAX)` neither panics on overflow nor
//!   needs special cases further down.
//!
//! # Real and mock clocks
//!
//! [`Clock::real`] reads `Instant::now()`. [`Clock::mock`] returns a clock that
//! stands still until its [`MockClockHandle`] moves it, so tests can check
//! "never early" and "exactly on time" to the nanosecond without sleeping. The
//! mock keeps its time in an `Arc<AtomicU64>` (nanoseconds since its start)
//! rather than an `Rc<Cell>`: a [`Clock`] is shared with other threads through
//! the driver's cross-thread handle, so that a `Sleep` polled elsewhere compares
//! its deadline with *its own driver's* notion of now.
//!
//! # Examples
//!
//! ```
//! use kiwi_time::clock::Clock;
//! use std::time::{Duration, Instant};
//!
//! let start = Instant::now();
//! let (clock, handle) = Clock::mock(start);
//! assert_eq!(clock.now(), start);
//!
//! // 2.5 ms after the epoch lies in tick 2: the tick that contains it.
//! assert_eq!(clock.tick_of(start + Duration::from_micros(2_500)), 2);
//! assert_eq!(clock.instant_of(2), start + Duration::from_millis(2));
//!
//! handle.advance(Duration::from_millis(7));
//! assert_eq!(clock.now_tick(), 7);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The length of one wheel tick.
pub const TICK: Duration = Duration::from_millis(1);

/// How far [`far_future`] looks ahead: about thirty years.
///
/// Anything further is treated as "never" for practical purposes; it still
/// keeps the arithmetic well inside `Instant`'s range on every platform.
pub const FAR_FUTURE: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// Returns `now + FAR_FUTURE`, the instant that stands in for "never".
///
/// # Examples
///
/// ```
/// use kiwi_time::clock::{far_future, FAR_FUTURE};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// assert_eq!(far_future(now) - now, FAR_FUTURE);
/// ```
pub fn far_future(now: Instant) -> Instant {
    // `Instant` on Linux holds i64 seconds, so 30 years always fits. On a
    // platform where it did not, the largest representable step is one year
    // shorter each time; `now` itself is the (never reached) last resort.
    now.checked_add(FAR_FUTURE)
        .or_else(|| now.checked_add(FAR_FUTURE / 30))
        .unwrap_or(now)
}

/// Returns `now + duration`, saturating at [`far_future`] instead of
/// overflowing.
///
/// This is how every "after a `Duration`" API in this crate turns its argument
/// into a deadline, so `Duration::MAX` is simply "about thirty years from now".
///
/// # Examples
///
/// ```
/// use kiwi_time::clock::{deadline_after, far_future};
/// use std::time::{Duration, Instant};
///
/// let now = Instant::now();
/// assert_eq!(deadline_after(now, Duration::from_secs(1)), now + Duration::from_secs(1));
/// assert_eq!(deadline_after(now, Duration::MAX), far_future(now));
/// ```
pub fn deadline_after(now: Instant, duration: Duration) -> Instant {
    if duration >= FAR_FUTURE {
        return far_future(now);
    }
    now.checked_add(duration).unwrap_or_else(|| far_future(now))
}

/// A source of "now", with an epoch that turns instants into 1 ms ticks.
///
/// Cloning a `Clock` is cheap and the clone reads the same time (a mock clone
/// follows the same [`MockClockHandle`]).
#[derive(Clone)]
pub struct Clock {
    /// Tick 0 starts here.
    epoch: Instant,
    /// `None` for the real clock; for a mock, nanoseconds since `epoch`.
    mock: Option<Arc<AtomicU64>>,
    /// For a pausable clock: real time until paused (see [`Clock::pausable`]).
    pause: Option<Arc<Pause>>,
}

/// A pausable clock's state, in nanoseconds since its epoch.
///
/// Running: `now = real now + (base - resumed_at)`, which is real time until
/// the first pause, and real time shifted by whatever was skipped after it.
/// Paused: `now = base`, moved only by [`Clock::advance_paused`].
#[derive(Debug, Default)]
struct Pause {
    paused: AtomicBool,
    base: AtomicU64,
    resumed_at: AtomicU64,
}

impl Clock {
    /// A clock that reads `Instant::now()`, with its epoch at the moment of
    /// creation.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    ///
    /// let clock = Clock::real();
    /// assert!(clock.now() >= clock.epoch());
    /// ```
    pub fn real() -> Clock {
        Clock {
            epoch: Instant::now(),
            mock: None,
            pause: None,
        }
    }

    /// A clock that reads real time until it is [paused](Clock::pause); then
    /// it stands still, moved only by [`Clock::advance_paused`], until
    /// [resumed](Clock::resume), after which it runs at real speed again from
    /// where it stood (never backwards). The clock of a current-thread
    /// runtime, for `kiwi::time::pause`.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use std::time::Duration;
    ///
    /// let clock = Clock::pausable();
    /// clock.pause();
    /// let frozen = clock.now();
    /// clock.advance_paused(Duration::from_secs(3600));
    /// assert_eq!(clock.now(), frozen + Duration::from_secs(3600));
    /// clock.resume();
    /// assert!(clock.now() >= frozen + Duration::from_secs(3600));
    /// ```
    pub fn pausable() -> Clock {
        Clock {
            epoch: Instant::now(),
            mock: None,
            pause: Some(Arc::default()),
        }
    }

    /// Stops the clock where it stands (a pausable clock only; others
    /// ignore it). Returns true if it was running.
    pub fn pause(&self) -> bool {
        let Some(p) = &self.pause else { return false };
        let now = self.nanos_of(self.now());
        p.base.store(now, Ordering::Release);
        !p.paused.swap(true, Ordering::AcqRel)
    }

    /// Starts a paused clock again from where it stands.
    pub fn resume(&self) {
        let Some(p) = &self.pause else { return };
        let real = self.nanos_of(Instant::now());
        p.resumed_at.store(real, Ordering::Release);
        p.paused.store(false, Ordering::Release);
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.pause
            .as_ref()
            .is_some_and(|p| p.paused.load(Ordering::Acquire))
    }

    /// Whether the clock may differ from `Instant::now()`: a mock, or a
    /// pausable clock that was ever paused.
    pub fn is_virtual(&self) -> bool {
        self.mock.is_some()
            || self.pause.as_ref().is_some_and(|p| {
                p.paused.load(Ordering::Acquire) || p.base.load(Ordering::Acquire) != 0
            })
    }

    /// Moves a paused clock forward by `by` (saturating). Does nothing if
    /// the clock is running.
    pub fn advance_paused(&self, by: Duration) {
        let Some(p) = &self.pause else { return };
        if !p.paused.load(Ordering::Acquire) {
            return;
        }
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = p
            .base
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            });
    }

    fn nanos_of(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// A test clock that starts at `start` (also its epoch) and moves only
    /// when the returned handle moves it.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let (clock, handle) = Clock::mock(start);
    /// handle.advance(Duration::from_secs(3));
    /// assert_eq!(clock.now(), start + Duration::from_secs(3));
    /// ```
    pub fn mock(start: Instant) -> (Clock, MockClockHandle) {
        let nanos = Arc::new(AtomicU64::new(0));
        let clock = Clock {
            epoch: start,
            mock: Some(Arc::clone(&nanos)),
            pause: None,
        };
        let handle = MockClockHandle {
            epoch: start,
            nanos,
        };
        (clock, handle)
    }

    /// Whether this is a mock clock.
    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    /// The instant at which tick 0 begins.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// The current time according to this clock.
    pub fn now(&self) -> Instant {
        if let Some(nanos) = &self.mock {
            let offset = Duration::from_nanos(nanos.load(Ordering::Acquire));
            return self.epoch.checked_add(offset).unwrap_or(self.epoch);
        }
        let Some(p) = &self.pause else {
            return Instant::now();
        };
        let base = p.base.load(Ordering::Acquire);
        let at = if p.paused.load(Ordering::Acquire) {
            base
        } else {
            let resumed_at = p.resumed_at.load(Ordering::Acquire);
            if base == resumed_at {
                // Never paused (both 0), or resumed with nothing skipped: real
                // time, without the round trip through nanoseconds (the
                // common case, read on every park and timer turn).
                return Instant::now();
            }
            let real = self.nanos_of(Instant::now());
            (real + base).saturating_sub(resumed_at)
        };
        self.epoch
            .checked_add(Duration::from_nanos(at))
            .unwrap_or(self.epoch)
    }

    /// The tick that contains `self.now()`.
    pub fn now_tick(&self) -> u64 {
        self.tick_of(self.now())
    }

    /// The tick that contains `instant`: whole milliseconds since the epoch,
    /// rounded down. Instants before the epoch are tick 0.
    pub fn tick_of(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.epoch);
        // In u64, not `as_millis`'s u128 (this runs on every registration);
        // beyond 584 million years it saturates, and the wheel clamps anyway.
        let whole = since.as_secs().saturating_mul(1_000);
        whole.saturating_add(u64::from(since.subsec_millis()))
    }

    /// The instant at which `tick` begins (saturating at [`far_future`] of the
    /// epoch for absurd ticks).
    pub fn instant_of(&self, tick: u64) -> Instant {
        let offset = Duration::from_millis(tick);
        if offset >= FAR_FUTURE {
            return far_future(self.epoch);
        }
        self.epoch
            .checked_add(offset)
            .unwrap_or_else(|| far_future(self.epoch))
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("epoch", &self.epoch)
            .field("mock", &self.is_mock())
            .finish()
    }
}

/// Moves a mock [`Clock`] forward. Created by [`Clock::mock`].
///
/// Like the real monotonic clock, a mock clock never goes backwards:
/// [`set`](MockClockHandle::set) to an earlier instant is ignored.
#[derive(Clone)]
pub struct MockClockHandle {
    epoch: Instant,
    nanos: Arc<AtomicU64>,
}

impl MockClockHandle {
    /// Moves the clock forward by `by` (saturating).
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use std::time::{Duration, Instant};
    ///
    /// let (clock, handle) = Clock::mock(Instant::now());
    /// handle.advance(Duration::from_micros(1500));
    /// assert_eq!(clock.now_tick(), 1);
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update's closure never returns None, so this cannot fail.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Moves the clock to `to`, if that is not earlier than its current time.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let (clock, handle) = Clock::mock(start);
    /// handle.set(start + Duration::from_millis(10));
    /// handle.set(start); // ignored: clocks do not run backwards
    /// assert_eq!(clock.now(), start + Duration::from_millis(10));
    /// ```
    pub fn set(&self, to: Instant) {
        let since = to.saturating_duration_since(self.epoch);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(nanos, Ordering::AcqRel);
    }

    /// The clock's current time.
    pub fn now(&self) -> Instant {
        let offset = Duration::from_nanos(self.nanos.load(Ordering::Acquire));
        self.epoch.checked_add(offset).unwrap_or(self.epoch)
    }
}

impl fmt::Debug for MockClockHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockClockHandle")
            .field("now", &self.now())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_floor_at_every_millisecond_boundary() {
        let start = Instant::now();
        let (clock, _) = Clock::mock(start);
        assert_eq!(clock.tick_of(start), 0);
        assert_eq!(clock.tick_of(start + Duration::from_nanos(999_999)), 0);
        assert_eq!(clock.tick_of(start + Duration::from_millis(1)), 1);
        assert_eq!(clock.tick_of(start + Duration::from_micros(1_999)), 1);
        assert_eq!(clock.tick_of(start + Duration::from_secs(3)), 3_000);
    }

    #[test]
    fn instants_before_the_epoch_are_tick_zero() {
        let start = Instant::now() + Duration::from_secs(10);
        let (clock, _) = Clock::mock(start);
        assert_eq!(clock.tick_of(start - Duration::from_secs(5)), 0);
    }

    #[test]
    fn instant_of_is_the_start_of_the_tick() {
        let start = Instant::now();
        let (clock, _) = Clock::mock(start);
        for tick in [0, 1, 63, 64, 4095, 4096, 1 << 30] {
            let at = clock.instant_of(tick);
            assert_eq!(at, start + Duration::from_millis(tick));
            assert_eq!(clock.tick_of(at), tick);
        }
    }

    #[test]
    fn far_future_and_duration_max_saturate() {
        let now = Instant::now();
        assert_eq!(deadline_after(now, Duration::MAX), far_future(now));
        assert_eq!(deadline_after(now, FAR_FUTURE * 2), far_future(now));
        let (clock, _) = Clock::mock(now);
        assert_eq!(clock.instant_of(u64::MAX), far_future(now));
        // 30 years of milliseconds is ~2^40: far inside u64.
        assert!(clock.tick_of(far_future(now)) < 1 << 41);
    }

    #[test]
    fn mock_clock_moves_only_forward() {
        let start = Instant::now();
        let (clock, handle) = Clock::mock(start);
        let clone = clock.clone();
        handle.advance(Duration::from_millis(5));
        assert_eq!(clone.now(), start + Duration::from_millis(5));
        handle.set(start + Duration::from_millis(2));
        assert_eq!(clock.now(), start + Duration::from_millis(5));
        handle.set(start + Duration::from_millis(9));
        assert_eq!(clock.now_tick(), 9);
        handle.advance(Duration::MAX);
        let _ = clock.now(); // saturates instead of panicking
    }

    #[test]
    fn real_clock_moves() {
        let clock = Clock::real();
        let a = clock.now();
        assert!(clock.now() >= a);
        assert!(!clock.is_mock());
    }
}
