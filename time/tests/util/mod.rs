//! Helpers shared by the behaviour tests: counting wakers, single polls, and
//! a tiny executor that runs a future on a driver with a mock clock, jumping
//! the clock straight to each next deadline.

#![allow(dead_code)] // each test file uses a different subset

use kiwi_time::clock::{Clock, MockClockHandle};
use kiwi_time::driver::Driver;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct Counter(AtomicUsize);

impl Counter {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn counting_waker() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter::default());
    (Arc::clone(&counter), Waker::from(Arc::clone(&counter)))
}

/// Polls an `Unpin` future once.
pub fn poll<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// A driver on a mock clock, plus the handle that moves the clock.
pub struct MockDriver {
    pub driver: Driver,
    pub clock: MockClockHandle,
    pub start: Instant,
    pub unparks: Arc<Counter>,
}

impl MockDriver {
    pub fn new() -> MockDriver {
        let start = Instant::now();
        let (clock, handle) = Clock::mock(start);
        let (unparks, unpark) = counting_waker();
        MockDriver {
            driver: Driver::with_clock(unpark, clock),
            clock: handle,
            start,
            unparks,
        }
    }

    /// `start + ms` milliseconds (fractions allowed).
    pub fn at(&self, ms: f64) -> Instant {
        self.start + Duration::from_secs_f64(ms / 1000.0)
    }

    /// Moves the clock to `to` and runs one driver turn; returns how many fired.
    pub fn run_to(&self, to: Instant) -> usize {
        self.clock.set(to);
        self.driver.process().fired
    }

    /// Runs `fut` to completion with `driver` entered: whenever it is pending,
    /// jump the clock to the next deadline and process.
    ///
    /// # Panics
    ///
    /// If the future is pending with no timer registered (it would hang).
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let _guard = self.driver.enter();
        let mut fut = std::pin::pin!(fut);
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            let deadline = self
                .driver
                .next_deadline()
                .expect("future pending with no timers: it would hang");
            self.clock.set(deadline);
            self.driver.process();
        }
    }
}
