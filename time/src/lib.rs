//! kiwi's timers: [`sleep`], [`timeout`] and [`interval`], and the machinery
//! under them.
//!
//! This is the lowest layer of kiwi. It knows nothing about epoll, sockets or
//! tasks; it offers the runtime a timer [`Driver`](driver::Driver) to own,
//! one per thread, and offers users futures that register with whichever
//! driver is current on the thread that polls them.
//!
//! # The pieces, bottom up
//!
//! - [`clock`] turns `Instant`s into 1 ms *ticks* and back, and provides a
//!   mock clock for tests.
//! - [`wheel`] is a hierarchical timing wheel (Varghese & Lauck, 1987): pure
//!   data over `u64` ticks, six levels of 64 slots, O(1) insert and cancel,
//!   and the next expiry read from per-level bitmaps. Think of a clock face
//!   with six hands: a timer an hour away waits on a slow hand and moves to
//!   faster hands (*cascades*) as its time approaches.
//! - [`driver`] is the per-thread driver: a wheel of entries (exact deadline
//!   plus waker), the thread-local "current driver", and a queue through
//!   which other threads cancel or re-target timers.
//! - [`Sleep`], [`Timeout`] and [`Interval`] are the futures users await.
//!
//! # How the runtime drives it
//!
//! ```text
//!   worker thread                         kiwi-time
//!   ─────────────                         ─────────
//!   let _g = driver.enter();  ──────────▶ thread-local CURRENT = driver
//!   poll tasks ───────────────────────────▶ Sleep::poll registers in the wheel
//!   t = driver.next_deadline() ─────────▶ exact earliest deadline (bitmaps)
//!   epoll_pwait2(t - now)                 (nanosecond timeout)
//!   driver.process() ───────────────────▶ cascade, fire due entries, wake tasks
//! ```
//!
//! Another thread that needs the driver's attention (to hand it a new waker)
//! calls the `unpark` waker the runtime passed to
//! [`Driver::new`](driver::Driver::new).
//!
//! # Exact, and never early
//!
//! Kiwi, the C++ library kiwi descends from, turned a 10 ms wheel from a
//! fixed 50 ms `epoll_wait`, so its timers fired up to 50 ms late. Here each
//! entry keeps its exact `Instant`. The wheel files it in the millisecond
//! that contains it; the driver fires it only once `now >= deadline`, and
//! reports the exact earliest deadline so that the runtime parks for exactly
//! as long as needed. Rounding is never used to fire early, and no deadline
//! is rounded up to a whole tick, which would make every sleep up to 1 ms
//! late.
//!
//! Edge cases never panic: `Duration::MAX` saturates to about thirty years
//! from now ([`clock::far_future`]), and a deadline in the past completes at
//! once or at the driver's next turn.
//!
//! # Timers and the cooperative budget
//!
//! The runtime gives each task poll a budget that I/O operations spend, so an
//! always-ready socket cannot starve other tasks. Timers do **not** spend it:
//! a due `Sleep` completes whatever the budget says, and a `Timeout` only
//! spends what its inner future's I/O spends.
//!
//! # Where the shortcuts are
//!
//! - Entries are stored by value in one slab that only grows: a burst of a
//!   million timers keeps its memory (for reuse) after they are gone.
//! - A `Sleep` registered on one thread and polled on a thread *without* a
//!   driver sends its waker across on every poll (a lock and an unpark).
//!   That case is rare (futures polled by foreign executors), so it is kept
//!   simple rather than fast.
//! - Resetting a `Sleep` away from its driver's thread cancels the
//!   registration; the next poll registers again.
//!
//! # Examples
//!
//! Inside kiwi, timers are simply awaited:
//!
//! ```text
//! kiwi::block_on(async {
//!     kiwi::time::sleep(Duration::from_millis(10)).await;
//!     let r = kiwi::time::timeout(Duration::from_secs(1), some_io()).await;
//! });
//! ```
//!
//! Without the runtime, a hand-written loop plays its part:
//!
//! ```
//! use kiwi_time::driver::Driver;
//! use kiwi_time::{sleep, timeout, Duration, Instant};
//! use std::future::Future;
//! use std::task::{Context, Poll, Waker};
//!
//! // A one-thread "runtime": poll, park until the next deadline, process.
//! fn block_on<F: Future>(fut: F) -> F::Output {
//!     let driver = Driver::new(Waker::noop().clone());
//!     let _guard = driver.enter();
//!     let mut fut = std::pin::pin!(fut);
//!     let mut cx = Context::from_waker(Waker::noop());
//!     loop {
//!         if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
//!             return out;
//!         }
//!         if let Some(deadline) = driver.next_deadline() {
//!             std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
//!         }
//!         driver.process();
//!     }
//! }
//!
//! let start = Instant::now();
//! block_on(async {
//!     sleep(Duration::from_millis(2)).await;
//!     let slow = sleep(Duration::from_secs(60));
//!     assert!(timeout(Duration::from_millis(1), slow).await.is_err());
//! });
//! assert!(start.elapsed() >= Duration::from_millis(3));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod clock;
pub mod driver;
mod interval;
mod sleep;
mod timeout;
pub mod wheel;

pub use driver::now;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::{Duration, Instant};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
