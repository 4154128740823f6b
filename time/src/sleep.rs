//! [`Sleep`], [`sleep`] and [`sleep_until`]. How a `Sleep` lives, and what
//! happens when it crosses threads, is told in the docs of [`Sleep`] itself.

use crate::clock::deadline_after;
use crate::driver::remote::{self, RemoteOp};
use crate::driver::{self, Inner};
use crate::wheel::Key;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The panic message for polling a timer with no driver to register with.
pub(crate) const NO_DRIVER: &str =
    "kiwi::time: no timer driver on this thread; poll timers inside \
     a kiwi runtime (kiwi::block_on, Runtime::block_on or a spawned task)";

/// Waits until `duration` has elapsed.
///
/// The deadline is computed now, from the current driver's clock if one is
/// installed on this thread (so a mock clock is honoured), else from
/// `Instant::now()`. `Duration::MAX` and other huge durations saturate to
/// about thirty years from now.
///
/// Timers do not spend the runtime's cooperative budget.
///
/// # Cancel safety
///
/// Dropping the `Sleep` before it completes cancels the timer; nothing is lost.
///
/// # Panics
///
/// The returned future panics when polled on a thread without a timer driver
/// (outside a kiwi runtime); see [`Sleep`].
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
/// # let run = |fut| run_with(&driver, fut);
/// let start = Instant::now();
/// run(kiwi_time::sleep(Duration::from_millis(2)));
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// # fn run_with(driver: &Driver, fut: kiwi_time::Sleep) {
/// #     let mut fut = std::pin::pin!(fut);
/// #     let mut cx = std::task::Context::from_waker(Waker::noop());
/// #     while std::future::Future::poll(fut.as_mut(), &mut cx).is_pending() {
/// #         if let Some(d) = driver.next_deadline() {
/// #             std::thread::sleep(d.saturating_duration_since(Instant::now()));
/// #         }
/// #         driver.process();
/// #     }
/// # }
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(driver::now(), duration))
}

/// Waits until `deadline`. A deadline in the past completes at the first poll
/// (or, at the latest, at the driver's next turn).
///
/// Timers do not spend the runtime's cooperative budget.
///
/// # Cancel safety
///
/// Dropping the `Sleep` before it completes cancels the timer; nothing is lost.
///
/// # Panics
///
/// The returned future panics when polled on a thread without a timer driver
/// (outside a kiwi runtime); see [`Sleep`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_secs(5);
/// let sleep = kiwi_time::sleep_until(deadline); // fine outside a runtime
/// assert_eq!(sleep.deadline(), deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        registration: None,
        elapsed: false,
    }
}

/// A future that completes at its deadline. Created by [`sleep`] and
/// [`sleep_until`].
///
/// `Sleep` is `Unpin` (use it in `select!` without pinning) and `Send`.
/// Polling it again after it completed returns `Ready` again.
///
/// # Life of a `Sleep`
///
/// 1. **Created** by [`sleep`] or [`sleep_until`]: just a deadline. Nothing is
///    registered, so creating one outside a runtime is fine.
/// 2. **First poll**: it registers with the thread's current driver (a wheel
///    insert, O(1)) and remembers the driver (by id, see `driver::remote`) and
///    the wheel key. A deadline already passed completes right away.
/// 3. **Later polls on the same thread** refresh the stored waker, and report
///    completion once the driver has fired the entry (the key is gone).
/// 4. **Drop** removes the entry (O(1)).
///
/// The wheel holds keys, never pointers into the `Sleep`, so `Sleep` is
/// `Unpin` and `Send`, and needs no allocation of its own.
///
/// # Polled on another thread
///
/// | where it is polled | what happens |
/// |---|---|
/// | its driver's thread | the fast path above |
/// | a thread with a *different* driver | it sends its old driver a cancel and registers with the new one (it migrates) |
/// | a thread with *no* driver, its driver alive | it stays registered, sends its driver the new waker and unparks it; readiness is the driver clock's `now >= deadline` |
/// | anywhere, its driver dropped | it registers with the current driver as if new |
///
/// Dropping or resetting a `Sleep` away from its driver's thread queues a
/// cancel for that driver (see [`crate::driver`] on why that needs no wake).
///
/// # Timers and the cooperative budget
///
/// The runtime limits how much work one task poll may do by charging I/O
/// operations to a per-poll budget. Timers do not spend it: a `Sleep` that is
/// due completes even when the task's budget is exhausted.
///
/// # Cancel safety
///
/// Dropping a `Sleep` at any point cancels its timer; there is no state to
/// lose.
///
/// # Examples
///
/// `select!`-style code can poll a `&mut Sleep` directly, since it is `Unpin`:
///
/// ```
/// use kiwi_time::Sleep;
/// use std::time::Duration;
///
/// fn assert_unpin_send<T: Unpin + Send>(_: &T) {}
/// let sleep: Sleep = kiwi_time::sleep(Duration::from_millis(10));
/// assert_unpin_send(&sleep);
/// ```
///
/// # Panics
///
/// Polling panics if no timer driver is installed on the current thread and
/// the `Sleep` is not registered with a live one: "kiwi::time: no timer driver
/// on this thread; poll timers inside a kiwi runtime (kiwi::block_on,
/// Runtime::block_on or a spawned task)".
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Sleep {
    deadline: Instant,
    registration: Option<Registration>,
    /// Set once the sleep has completed; cleared by `reset`.
    elapsed: bool,
}

/// Where a `Sleep` is filed: its driver's shared half and its wheel key.
struct Registration {
    /// The driver's id (see `driver::remote::lookup`), not an `Arc`: the hot
    /// path compares it with the current driver's and touches no shared count.
    driver: u64,
    key: Key,
}

impl Registration {
    /// True if `current` is the driver this entry is filed in.
    fn is_home(&self, current: Option<&Rc<Inner>>) -> bool {
        current.is_some_and(|inner| inner.id == self.driver)
    }

    fn cancel_remotely(self) {
        if let Some(shared) = remote::lookup(self.driver) {
            shared.send(RemoteOp::Cancel(self.key));
        }
    }
}

impl Sleep {
    /// The instant at which this sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let sleep = kiwi_time::sleep(Duration::from_secs(1));
    /// assert!(sleep.deadline() >= start + Duration::from_secs(1));
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached: the sleep completed, or the
    /// relevant clock (its driver's, else the current driver's, else the real
    /// one) says `now >= deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// assert!(kiwi_time::sleep_until(Instant::now()).is_elapsed());
    /// assert!(!kiwi_time::sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        if self.elapsed {
            return true;
        }
        let home_clock = self
            .registration
            .as_ref()
            .and_then(|reg| remote::lookup(reg.driver));
        let now = match home_clock {
            Some(shared) => shared.clock.now(),
            None => driver::now(),
        };
        now >= self.deadline
    }

    /// Changes the deadline, whether or not the sleep has completed; it will
    /// complete (again) at `deadline`.
    ///
    /// On the driver's own thread this re-files the entry in O(1) and keeps
    /// the waker, so the task is woken at the new deadline even if it does
    /// not poll in between. Elsewhere it cancels the registration, and the
    /// next poll registers again (the usual `reset(..)` then `.await` works
    /// everywhere; a task that resets a sleep on a foreign thread and does
    /// not poll it is not woken).
    ///
    /// `Sleep` is `Unpin`, so through a `Pin<&mut Sleep>` call it as
    /// `sleep.as_mut().reset(..)` (via `DerefMut`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let mut sleep = kiwi_time::sleep(Duration::from_secs(60));
    /// let soon = Instant::now() + Duration::from_millis(1);
    /// sleep.reset(soon);
    /// assert_eq!(sleep.deadline(), soon);
    ///
    /// let mut pinned = std::pin::pin!(sleep);
    /// pinned.as_mut().reset(soon + Duration::from_millis(1));
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.elapsed = false;
        let Some(reg) = self.registration.take() else {
            return;
        };
        // On its own driver the entry is re-filed in place, keeping its waker.
        let outcome = driver::with_current(|current| match current {
            Some(inner) if reg.is_home(Some(inner)) => Some(inner.reset(reg.key, deadline)),
            _ => None,
        });
        match outcome {
            Some(true) => self.registration = Some(reg),
            // It already fired; the next poll registers anew.
            Some(false) => {}
            None => reg.cancel_remotely(),
        }
    }

    fn poll_away(
        &mut self,
        reg: Registration,
        current: bool,
        cx: &Context<'_>,
    ) -> Option<Poll<()>> {
        let shared = remote::lookup(reg.driver)?;
        if !shared.is_alive() {
            return None;
        }
        if shared.clock.now() >= self.deadline {
            shared.send(RemoteOp::Cancel(reg.key));
            return Some(Poll::Ready(()));
        }
        if current {
            // Migrate: the old driver forgets it, the current one takes it.
            shared.send(RemoteOp::Cancel(reg.key));
            return None;
        }
        // No driver here: stay registered, forward the waker.
        if shared.send(RemoteOp::SetWaker(reg.key, cx.waker().clone())) {
            shared.unpark();
            self.registration = Some(reg);
            return Some(Poll::Pending);
        }
        None // the driver died just now
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.elapsed {
            return Poll::Ready(());
        }
        // The common case: registered with this thread's driver.
        if let Some(reg) = &this.registration {
            let local = driver::with_current(|current| match current {
                Some(inner) if reg.is_home(Some(inner)) => {
                    Some(inner.set_waker(reg.key, cx.waker()))
                }
                _ => None,
            });
            match local {
                Some(true) => return Poll::Pending,
                Some(false) => {
                    // The key is gone: the driver fired it.
                    this.registration = None;
                    this.elapsed = true;
                    return Poll::Ready(());
                }
                None => {}
            }
        }
        if let Some(reg) = this.registration.take() {
            let has_current = driver::with_current(|c| c.is_some());
            if let Some(outcome) = this.poll_away(reg, has_current, cx) {
                this.elapsed = outcome.is_ready();
                return outcome;
            }
        }
        let deadline = this.deadline;
        let registered = driver::with_current(|current| {
            let inner = current.expect(NO_DRIVER);
            inner
                .register(deadline, cx.waker())
                .map(|key| Registration {
                    driver: inner.id,
                    key,
                })
        });
        match registered {
            Some(reg) => {
                this.registration = Some(reg);
                Poll::Pending
            }
            None => {
                this.elapsed = true;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let Some(reg) = self.registration.take() else {
            return;
        };
        let done = driver::with_current(|current| match current {
            Some(inner) if reg.is_home(Some(inner)) => {
                inner.cancel(reg.key);
                true
            }
            _ => false,
        });
        if !done {
            reg.cancel_remotely();
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.registration.is_some())
            .field("elapsed", &self.elapsed)
            .finish()
    }
}
