//! hyper's clock: [`KiwiTimer`] hands out kiwi sleeps, on kiwi's timing
//! wheel, and tells the time with kiwi's clock (so paused time in a test
//! pauses hyper's timeouts too).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

/// A `hyper::rt::Timer` on kiwi's timing wheel. Give it to hyper's builders
/// (`.timer(KiwiTimer::new())`) wherever a timeout is set.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::Duration;
///
/// kiwi::block_on(async {
///     let t = kiwi_hyper::KiwiTimer::new();
///     let start = t.now();
///     t.sleep(Duration::from_millis(5)).await;
///     assert!(t.now() - start >= Duration::from_millis(5));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct KiwiTimer(());

impl KiwiTimer {
    /// A timer; it holds nothing, and every copy is the same.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = hyper::server::conn::http1::Builder::new().timer(kiwi_hyper::KiwiTimer::new());
    /// ```
    pub fn new() -> KiwiTimer {
        KiwiTimer(())
    }
}

impl Timer for KiwiTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(KiwiSleep(kiwi::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(KiwiSleep(kiwi::time::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        kiwi::time::now()
    }

    /// Moves a sleep of ours in place (its wheel entry is reused: no new
    /// allocation); a sleep from another timer is replaced.
    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<KiwiSleep>() {
            Some(mut ours) => ours.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The sleep [`KiwiTimer`] hands to hyper: kiwi's `Sleep`, which is `Send`,
/// `Sync` and `Unpin`, under a type of this crate (hyper's `Sleep` trait is
/// foreign, and so is kiwi's type).
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// let s = kiwi_hyper::KiwiTimer::new().sleep(std::time::Duration::from_secs(1));
/// assert!(s.is::<kiwi_hyper::KiwiSleep>());
/// ```
#[derive(Debug)]
pub struct KiwiSleep(kiwi::time::Sleep);

impl Future for KiwiSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl Sleep for KiwiSleep {}
