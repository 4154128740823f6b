//! [`Timeout`]: run a future, but give up at a deadline.
//!
//! A `Timeout` is just the inner future and a [`Sleep`] side by side. Each
//! poll polls the inner future first, so a future that is ready at the same
//! moment as the deadline still delivers its output, then the sleep.

use crate::sleep::{sleep, sleep_until, Sleep};
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `future`, failing with [`Elapsed`] if it has not completed after
/// `duration`.
///
/// The deadline is computed now (see [`sleep`] for which clock is read), and
/// `Duration::MAX` means "practically never". Timers do not spend the
/// runtime's cooperative budget, but the inner future's I/O does.
///
/// # Cancel safety
///
/// Dropping the `Timeout` drops the inner future, so it is exactly as cancel
/// safe as `future`. When the deadline passes, the inner future is *not*
/// dropped until the `Timeout` is; [`Timeout::into_inner`] recovers it.
///
/// # Panics
///
/// Polling panics outside a kiwi runtime, as [`Sleep`] does (unless the
/// inner future completes at that poll: it is polled first).
///
/// # Examples
///
/// ```
/// # use kiwi_time::driver::Driver;
/// # use std::task::Waker;
/// use kiwi_time::{timeout, Elapsed};
/// use std::future::{pending, ready};
/// use std::time::Duration;
///
/// # let driver = Driver::new(Waker::noop().clone());
/// # let _guard = driver.enter();
/// # fn run<F: std::future::Future>(driver: &Driver, fut: F) -> F::Output {
/// #     let mut fut = std::pin::pin!(fut);
/// #     let mut cx = std::task::Context::from_waker(Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) { return out; }
/// #         if let Some(d) = driver.next_deadline() {
/// #             std::thread::sleep(d.saturating_duration_since(std::time::Instant::now()));
/// #         }
/// #         driver.process();
/// #     }
/// # }
/// let ok = run(&driver, timeout(Duration::from_millis(5), ready(7)));
/// assert_eq!(ok, Ok(7));
///
/// let late = run(&driver, timeout(Duration::from_millis(5), pending::<()>()));
/// assert_eq!(late, Err(Elapsed::new()));
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Runs `future`, failing with [`Elapsed`] if it has not completed by
/// `deadline`.
///
/// Timers do not spend the runtime's cooperative budget.
///
/// # Cancel safety
///
/// As for [`timeout`]: exactly as cancel safe as `future`.
///
/// # Panics
///
/// Polling panics outside a kiwi runtime, as [`Sleep`] does (unless the
/// inner future completes at that poll: it is polled first).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_secs(1);
/// let t = kiwi_time::timeout_at(deadline, std::future::ready(1));
/// assert_eq!(t.deadline(), deadline);
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project! {
    /// A future with a deadline. Created by [`timeout`] and [`timeout_at`].
    ///
    /// Resolves to `Ok(output)` if the inner future completes first, else
    /// `Err(Elapsed)`. `Timeout<F>` is `Unpin` when `F` is, and `Send` when
    /// `F` is.
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The inner future.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let t = kiwi_time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &std::future::Ready<i32> = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut t = kiwi_time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &mut std::future::Ready<i32> = t.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// Takes the inner future back, dropping the timer.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let t = kiwi_time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let inner = t.into_inner();
    /// # let _ = inner;
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The instant at which the timeout elapses.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.sleep).poll(cx).map(|()| Err(Elapsed::new()))
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("sleep", &self.sleep)
            .finish()
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
///
/// # Examples
///
/// ```
/// use kiwi_time::Elapsed;
/// use std::io;
///
/// let err = Elapsed::new();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// let io_err: io::Error = err.into();
/// assert_eq!(io_err.kind(), io::ErrorKind::TimedOut);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    /// The (only) `Elapsed` value.
    pub const fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
