//! Paused time, for tests: [`pause`], [`resume`], [`advance`], in tokio's
//! shape. Re-exported as `kiwi::time::{pause, resume, advance, now}`.
//!
//! A test of a 30 s timeout should not take 30 s. On a current-thread
//! runtime (`kiwi::block_on`, `#[kiwi::test]`), `pause()` stops the clock
//! that timers go by. From then on it moves only when
//!
//! - [`advance`] moves it, firing the timers that fall due before it returns;
//! - or the runtime has nothing left to do: nothing runnable, nothing ready
//!   in its reactor (it looks, without waiting, first: a socket's answer that
//!   is already there wins the race against a timer), and no blocking-pool
//!   job in flight. Then it jumps straight to the next timer, which fires at
//!   once. An hour of `sleep` takes microseconds.
//!
//! `kiwi::time::now()` reads that clock; `std::time::Instant::now()` stays
//! real time. kiwi's `Instant` is still `std::time::Instant`: a paused clock
//! hands out instants that may lie ahead of (or behind) the real one.
//! [`resume`] lets the clock run at real speed again from where it stands; it
//! never goes backwards.

use std::time::Duration;

use crate::context;

/// Which runtime is current here, for the error messages.
fn lone_worker(what: &str) {
    let workers = context::with_worker(|w| w.map(|w| (w.solo(), w.handle.inner.workers.len())));
    match workers {
        Some((true, _)) => {}
        Some((false, n)) => panic!(
            "kiwi::time::{what} needs a current-thread runtime (kiwi::block_on, #[kiwi::test], \
             #[kiwi::main(flavor = \"current_thread\")]); this thread runs a runtime with {n} \
             worker(s), or is a Runtime::block_on thread outside its pool"
        ),
        None => panic!(
            "kiwi::time::{what} called outside a kiwi runtime; call it inside kiwi::block_on \
             or #[kiwi::test]"
        ),
    }
}

/// Stops the clock that timers go by, on the current-thread runtime this is
/// called in; see the [module docs](self).
///
/// # Panics
///
/// Outside a current-thread runtime (tokio has the same rule), or if time is
/// already paused.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// kiwi_runtime::block_on(async {
///     kiwi_runtime::clock::pause();
///     let real = Instant::now();
///     kiwi_time::sleep(Duration::from_secs(3600)).await; // an hour, at once
///     assert!(real.elapsed() < Duration::from_secs(60));
/// });
/// ```
pub fn pause() {
    lone_worker("pause");
    assert!(
        !kiwi_time::driver::is_paused_current(),
        "kiwi::time::pause: time is already paused"
    );
    context::with_worker(|w| {
        if let Some(w) = w {
            w.pause_clock();
        }
    });
}

/// Lets a paused clock run at real speed again, from where it stands.
///
/// # Panics
///
/// Outside a current-thread runtime, or if time is not paused.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     kiwi_runtime::clock::pause();
///     let frozen = kiwi_runtime::clock::now();
///     kiwi_runtime::clock::resume();
///     assert!(kiwi_runtime::clock::now() >= frozen);
/// });
/// ```
pub fn resume() {
    lone_worker("resume");
    assert!(
        kiwi_time::driver::is_paused_current(),
        "kiwi::time::resume: time is not paused"
    );
    kiwi_time::driver::resume_current();
}

/// Moves the paused clock forward by `by`, fires every timer that falls due,
/// and yields once, so that the tasks those timers woke run before this
/// returns.
///
/// # Panics
///
/// Outside a current-thread runtime, or if time is not paused (as tokio's).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// kiwi_runtime::block_on(async {
///     kiwi_runtime::clock::pause();
///     let sleep = kiwi_time::sleep(Duration::from_secs(10));
///     kiwi_runtime::clock::advance(Duration::from_secs(9)).await;
///     assert!(!sleep.is_elapsed());
///     kiwi_runtime::clock::advance(Duration::from_secs(1)).await;
///     assert!(sleep.is_elapsed());
///     sleep.await; // at once
/// });
/// ```
///
/// # Cancel safety
///
/// The clock moves (and the timers fire) at the first poll.
pub async fn advance(by: Duration) {
    lone_worker("advance");
    assert!(
        kiwi_time::driver::is_paused_current(),
        "kiwi::time::advance called while time is not paused; call kiwi::time::pause first"
    );
    kiwi_time::driver::advance_current(by);
    crate::yield_now().await;
}

/// Now, by the clock timers go by: paused time while it is paused, real time
/// otherwise (and outside a runtime).
///
/// # Examples
///
/// ```
/// let before = std::time::Instant::now();
/// assert!(kiwi_runtime::clock::now() >= before);
/// ```
pub fn now() -> std::time::Instant {
    kiwi_time::now()
}
