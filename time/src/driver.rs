//! The per-thread timer driver: a wheel, a clock, and the thread's "current
//! driver" slot.
//!
//! The runtime owns one [`Driver`] per worker thread (and one per `block_on`
//! thread while it runs). Its loop looks like this:
//!
//! ```text
//! let _guard = driver.enter();          // timers polled here register with it
//! loop {
//!     run ready tasks (calling driver.process() now and then while busy);
//!     if driver.has_work() { driver.process(); } // due while tasks ran
//!     let timeout = driver.next_deadline().map(|d| d - now);  // exact, in ns
//!     epoll_pwait2(timeout);            // woken by I/O, by unpark, or by time
//!     driver.process();                 // fire every timer that is due
//! }
//! ```
//!
//! # Never early, never a tick late
//!
//! [`Driver::process`] reads the clock once, moves the wheel to the tick
//! containing `now`, and fires every ready entry whose *exact* deadline is
//! `<= now`. Entries of the current millisecond whose deadline is still ahead
//! stay on the wheel's ready list. [`Driver::next_deadline`] then reports the
//! earliest exact deadline among them (or of the next level-0 slot), so the
//! runtime can sleep for exactly the right number of nanoseconds: a 1.5 ms
//! sleep fires at 1.5 ms, not at 1 or 2.
//!
//! # Firing
//!
//! Firing an entry removes it from the wheel (freeing its node for reuse) and
//! wakes its waker. The wakers are collected first and woken after the wheel's
//! `RefCell` borrow is released, because a waker may run arbitrary code,
//! including code that creates or drops timers on this very driver. For the
//! same reason, values taken out of the wheel (old wakers, cancelled entries)
//! are always dropped after the borrow ends.
//!
//! A `Sleep` learns that it fired by finding its key gone: while its driver is
//! alive, only the `Sleep` itself or a fire removes its entry, and keys carry
//! generations, so a reused node is never mistaken for its own.
//!
//! # Other threads
//!
//! A `Sleep` is `Send`. Touched on a thread other than its driver's, it talks
//! to the driver through a mutex-protected queue of operations (a cancel, or
//! a new waker), applied at the start of every `process`; an atomic flag
//! keeps `process` from locking when the queue is empty. The rules for when a
//! `Sleep` migrates and when it stays are in [`Sleep`](crate::Sleep)'s docs.
//!
//! A remote *cancel* does not wake the owner. It only has to take effect
//! before the owner would fire the entry, and the owner fires only inside
//! `process`, which applies queued operations first. A parked owner wakes
//! for its own next deadline at the latest, so a cancelled entry outlives its
//! `Sleep` by at most one turn; and a cancel racing with a `process` that is
//! already firing costs one spurious wake, which the `Waker` contract allows.
//! A new *waker* does wake the owner (through `unpark`), since it changes who
//! must be woken. Operations name entries by wheel key, generation included,
//! so one that arrives after its entry fired does nothing (except that a
//! waker arriving too late is woken at once, since its task missed the
//! fire). The source of `driver/remote.rs` holds the details.
//!
//! # Dropping a driver
//!
//! Dropping a `Driver` marks it dead and drops its entries and their wakers
//! without waking them. A `Sleep` registered there re-registers with the
//! current driver at its next poll.

mod pause;
pub(crate) mod remote;

use pause::MOCK_DRIVERS;
pub use pause::{advance_current, is_paused_current, now, pause_current, resume_current};

use crate::clock::Clock;
use crate::wheel::{Key, Wheel};
use remote::{RemoteOp, Shared};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

/// A timer entry: the exact deadline and the waker to wake at it.
pub(crate) struct Entry {
    deadline: Instant,
    waker: Option<Waker>,
}

/// What one [`Driver::process`] call did, for the runtime's trace log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Turn {
    /// Timers fired (woken and removed).
    pub fired: usize,
    /// Entries moved from a coarser wheel level to a finer one.
    pub cascaded: usize,
}

/// The state behind a [`Driver`], shared (by `Rc`) with the thread-local
/// "current driver" slot.
pub(crate) struct Inner {
    /// `shared.id`, copied here so the hot path's "is this my driver?" check
    /// reads the slot it already holds instead of chasing the `Arc`.
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    wheel: RefCell<Wheel<Entry>>,
    /// Reused buffers, so that `process` does not allocate per call.
    wake_buf: Cell<Vec<Waker>>,
    ops_buf: Cell<Vec<RemoteOp>>,
    /// The waker of the last entry cancelled on this thread, kept until the
    /// next [`Driver::process`]. See [`Inner::waker_for`].
    spare_waker: Cell<Option<Waker>>,
    /// This driver counts in [`MOCK_DRIVERS`] (a mock clock, or a pausable
    /// one that was paused).
    counted: Cell<bool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// Calls `f` with the current driver, without touching its reference count
/// (the hot path of every timer). `f` must not install a driver (`enter`).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Rc<Inner>>) -> R) -> R {
    let mut f = Some(f);
    let out = CURRENT.try_with(|c| (f.take().expect("called once"))(c.borrow().as_ref()));
    match out {
        Ok(r) => r,
        // Thread-locals already destroyed (thread teardown): no driver.
        Err(_) => (f.take().expect("not called yet"))(None),
    }
}

/// A per-thread timer driver. See the [module docs](self).
///
/// `Driver` is neither `Send` nor `Sync`: it belongs to the thread that
/// created it.
///
/// # Examples
///
/// A hand-written loop, standing in for the runtime, runs a [`sleep`]:
///
/// ```
/// use kiwi_time::driver::Driver;
/// use std::future::Future;
/// use std::task::{Context, Poll, Waker};
/// use std::time::{Duration, Instant};
///
/// let driver = Driver::new(Waker::noop().clone());
/// let _guard = driver.enter();
///
/// let start = Instant::now();
/// let mut sleep = kiwi_time::sleep(Duration::from_millis(3));
/// let mut cx = Context::from_waker(Waker::noop());
/// while Pin::new(&mut sleep).poll(&mut cx).is_pending() {
///     // Park until the next deadline (a real runtime waits in epoll).
///     if let Some(deadline) = driver.next_deadline() {
///         std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
///     }
///     driver.process();
/// }
/// assert!(start.elapsed() >= Duration::from_millis(3));
/// # use std::pin::Pin;
/// ```
///
/// [`sleep`]: crate::sleep
pub struct Driver {
    inner: Rc<Inner>,
}

/// Keeps a [`Driver`] installed as the thread's current driver; restores the
/// previous one when dropped. Created by [`Driver::enter`].
#[must_use = "the driver is uninstalled when the guard is dropped"]
pub struct DriverGuard<'a> {
    previous: Option<Rc<Inner>>,
    _driver: PhantomData<&'a Driver>,
}

impl Driver {
    /// A driver on the real clock. `unpark` must wake the owning thread from
    /// its park (the runtime's eventfd, for example); it is called from other
    /// threads when they need this driver to [`process`](Driver::process).
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::driver::Driver;
    /// use std::task::Waker;
    ///
    /// let driver = Driver::new(Waker::noop().clone());
    /// assert!(driver.is_empty());
    /// assert_eq!(driver.next_deadline(), None);
    /// ```
    pub fn new(unpark: Waker) -> Driver {
        Driver::with_clock(unpark, Clock::real())
    }

    /// A driver on the given clock, typically a [`Clock::mock`] in tests.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use kiwi_time::driver::Driver;
    /// use std::task::Waker;
    /// use std::time::Instant;
    ///
    /// let (clock, _handle) = Clock::mock(Instant::now());
    /// let driver = Driver::with_clock(Waker::noop().clone(), clock);
    /// assert!(driver.clock().is_mock());
    /// ```
    pub fn with_clock(unpark: Waker, clock: Clock) -> Driver {
        let counted = clock.is_mock();
        if counted {
            MOCK_DRIVERS.fetch_add(1, Ordering::Relaxed);
        }
        let shared = Arc::new(Shared::new(clock, unpark));
        remote::publish(&shared);
        Driver {
            inner: Rc::new(Inner {
                id: shared.id,
                shared,
                wheel: RefCell::new(Wheel::new()),
                wake_buf: Cell::new(Vec::new()),
                ops_buf: Cell::new(Vec::new()),
                spare_waker: Cell::new(None),
                counted: Cell::new(counted),
            }),
        }
    }

    /// Installs this driver as the current thread's driver until the guard
    /// drops, when the previously installed one (if any) comes back. Guards
    /// nest.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::driver::Driver;
    /// use std::task::Waker;
    ///
    /// let outer = Driver::new(Waker::noop().clone());
    /// let inner = Driver::new(Waker::noop().clone());
    /// let _a = outer.enter();
    /// {
    ///     let _b = inner.enter(); // timers polled here use `inner`
    /// }
    /// // ...and here `outer` again.
    /// ```
    pub fn enter(&self) -> DriverGuard<'_> {
        let previous = CURRENT.with(|c| c.replace(Some(Rc::clone(&self.inner))));
        DriverGuard {
            previous,
            _driver: PhantomData,
        }
    }

    /// Runs one turn: applies operations queued by other threads, moves the
    /// wheel to the clock's current tick, and fires every timer whose exact
    /// deadline has been reached. Wakers are woken after all internal borrows
    /// are released.
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use kiwi_time::driver::{Driver, Turn};
    /// use std::task::Waker;
    /// use std::time::Instant;
    ///
    /// let (clock, _handle) = Clock::mock(Instant::now());
    /// let driver = Driver::with_clock(Waker::noop().clone(), clock);
    /// assert_eq!(driver.process(), Turn { fired: 0, cascaded: 0 });
    /// ```
    pub fn process(&self) -> Turn {
        self.inner.process()
    }
}

impl Inner {
    fn has_work(&self) -> bool {
        !self.wheel.borrow().is_empty() || self.shared.has_ops()
    }

    fn process(&self) -> Turn {
        let inner = self;
        drop(inner.spare_waker.take()); // hold a task's waker for one turn at most
        if !self.has_work() {
            // Nothing can fire: just move the wheel's position to now, so
            // that the next registration still recognises a past deadline.
            let tick = inner.shared.clock.now_tick();
            inner.wheel.borrow_mut().advance(tick);
            return Turn::default();
        }
        let mut wakers = inner.wake_buf.take();
        inner.apply_remote_ops(&mut wakers);

        let now = inner.shared.clock.now();
        let tick = inner.shared.clock.tick_of(now);
        let mut turn = Turn::default();
        {
            let mut wheel = inner.wheel.borrow_mut();
            turn.cascaded = wheel.advance(tick);
            turn.fired = wheel.retain_ready(|_, entry| {
                if entry.deadline > now {
                    return true; // later in this millisecond
                }
                wakers.extend(entry.waker.take());
                false
            });
        }
        for waker in wakers.drain(..) {
            waker.wake();
        }
        inner.wake_buf.set(wakers);
        turn
    }
}

impl Driver {
    /// Whether [`process`](Driver::process) has anything to do: timers are
    /// registered, or other threads queued operations. (Before a park, see
    /// [`due`](Driver::due).)
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::driver::Driver;
    /// use std::task::Waker;
    ///
    /// let driver = Driver::new(Waker::noop().clone());
    /// assert!(!driver.has_work());
    /// ```
    pub fn has_work(&self) -> bool {
        self.inner.has_work()
    }

    /// Whether [`process`](Driver::process) must run before the next park:
    /// other threads queued operations, or [`next_deadline`](Driver::next_deadline)
    /// is not after `now`. Otherwise a runtime may park until `next_deadline`
    /// and leave `process` to its wake-up: one walk of the wheel per park, not
    /// two, for a server whose every connection holds a timer.
    ///
    /// ```
    /// # use kiwi_time::{clock::Clock, driver::Driver};
    /// # use std::{future::Future, pin::Pin, task::{Context, Waker}, time::{Duration, Instant}};
    /// let start = Instant::now();
    /// let (clock, _handle) = Clock::mock(start);
    /// let driver = Driver::with_clock(Waker::noop().clone(), clock);
    /// let _guard = driver.enter();
    /// let mut sleep = kiwi_time::sleep_until(start + Duration::from_millis(5));
    /// let _ = Pin::new(&mut sleep).poll(&mut Context::from_waker(Waker::noop()));
    /// assert!(!driver.due(start));
    /// assert!(driver.due(start + Duration::from_millis(5)));
    /// ```
    pub fn due(&self, now: Instant) -> bool {
        self.inner.shared.has_ops() || self.next_deadline().is_some_and(|d| d <= now)
    }

    /// The instant at which [`process`](Driver::process) next has work, or
    /// `None` when no timers are registered.
    ///
    /// It is the earliest exact deadline when that is cheap to know (entries
    /// in the current or the next occupied millisecond), and otherwise the
    /// start of the tick where the wheel must cascade a coarse slot. Either
    /// way it is never later than the earliest deadline. A result in the past
    /// means "process now".
    ///
    /// # Examples
    ///
    /// ```
    /// use kiwi_time::clock::Clock;
    /// use kiwi_time::driver::Driver;
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::task::{Context, Waker};
    /// use std::time::{Duration, Instant};
    ///
    /// let start = Instant::now();
    /// let (clock, _handle) = Clock::mock(start);
    /// let driver = Driver::with_clock(Waker::noop().clone(), clock);
    /// let _guard = driver.enter();
    ///
    /// let mut sleep = kiwi_time::sleep_until(start + Duration::from_micros(1500));
    /// let _ = Pin::new(&mut sleep).poll(&mut Context::from_waker(Waker::noop()));
    /// // Exact to the nanosecond, not rounded to the 1 ms tick.
    /// assert_eq!(driver.next_deadline(), Some(start + Duration::from_micros(1500)));
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        let wheel = self.inner.wheel.borrow();
        if wheel.is_empty() {
            return None;
        }
        let min_deadline = |entries: &mut dyn Iterator<Item = (Key, &Entry)>| {
            entries.map(|(_, entry)| entry.deadline).min()
        };
        if wheel.has_ready() {
            return min_deadline(&mut wheel.ready());
        }
        let next = wheel.next_slot()?;
        if next.level == 0 {
            min_deadline(&mut wheel.slot(0, next.slot))
        } else {
            Some(self.inner.shared.clock.instant_of(next.tick))
        }
    }

    /// The number of registered timers (including ones cancelled from other
    /// threads whose cancel has not been applied yet).
    pub fn len(&self) -> usize {
        self.inner.wheel.borrow().len()
    }

    /// Whether no timers are registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The driver's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.shared.clock
    }

    /// A process-unique number naming this driver, for trace output.
    pub fn id(&self) -> u64 {
        self.inner.shared.id
    }
}

impl Inner {
    pub(crate) fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Files a new entry, or returns `None` if `deadline` has already passed.
    ///
    /// The clock is read only for deadlines within a tick of the wheel's
    /// position (or behind it): registering a far timer costs no clock read.
    /// A past deadline that the check misses (the wheel's position lags while
    /// the driver has not turned) is filed like any other; `next_deadline`
    /// then reports an instant in the past, and the next turn fires it.
    #[inline]
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> Option<Key> {
        let tick = self.clock().tick_of(deadline);
        // Before the wheel borrow: cloning a waker may run arbitrary code.
        let waker = self.waker_for(waker);
        let mut wheel = self.wheel.borrow_mut();
        if tick <= wheel.elapsed().saturating_add(1) && deadline <= self.clock().now() {
            drop(wheel);
            drop(waker);
            return None;
        }
        let entry = Entry {
            deadline,
            waker: Some(waker),
        };
        Some(wheel.insert(tick, entry))
    }

    /// A clone of `waker`, taken from the spare slot when it holds the same
    /// one.
    ///
    /// Most timers are timeouts that one task creates and cancels again and
    /// again (one per request, say). Cloning a waker and dropping it are each
    /// an atomic reference count update; keeping the last cancelled entry's
    /// waker in a one-slot cache lets the next registration of the same task
    /// reuse it, so that pattern touches no shared count at all. The cost is
    /// that a task's waker may live until the next driver turn after its
    /// last timer was cancelled (`process` empties the slot).
    #[inline]
    fn waker_for(&self, waker: &Waker) -> Waker {
        match self.spare_waker.take() {
            Some(spare) if spare.will_wake(waker) => spare,
            other => {
                self.spare_waker.set(other);
                waker.clone()
            }
        }
    }

    /// Stores `waker` in the entry `key`. Returns `false` if the entry is gone
    /// (it fired).
    #[inline]
    pub(crate) fn set_waker(&self, key: Key, waker: &Waker) -> bool {
        match self.wheel.borrow().get(key) {
            None => return false,
            Some(entry) if entry.waker.as_ref().is_some_and(|w| w.will_wake(waker)) => {
                return true; // the usual case: the same task polls again
            }
            Some(_) => {}
        }
        // Cloned outside the borrow (it may run arbitrary code), then stored.
        let new = waker.clone();
        let mut wheel = self.wheel.borrow_mut();
        let Some(entry) = wheel.get_mut(key) else {
            // Removed while the clone ran.
            drop(wheel);
            drop(new);
            return false;
        };
        let old = entry.waker.replace(new);
        drop(wheel);
        drop(old); // after the borrow, like every waker drop here
        true
    }

    /// Moves entry `key` to `deadline`, keeping its waker. Returns `false` if
    /// the entry is gone (it fired).
    pub(crate) fn reset(&self, key: Key, deadline: Instant) -> bool {
        let tick = self.clock().tick_of(deadline);
        let mut wheel = self.wheel.borrow_mut();
        match wheel.get_mut(key) {
            Some(entry) => entry.deadline = deadline,
            None => return false,
        }
        wheel.reset(key, tick)
    }

    /// Removes entry `key`, if it is still there.
    #[inline]
    pub(crate) fn cancel(&self, key: Key) {
        let removed = self.wheel.borrow_mut().remove(key);
        // After the borrow: dropping a waker may run code (and so may the
        // spare that this one replaces).
        if let Some(waker) = removed.and_then(|entry| entry.waker) {
            drop(self.spare_waker.replace(Some(waker)));
        }
    }

    /// Applies the queued remote ops. Wakers that must be woken are pushed to
    /// `wake`; everything removed is dropped after the wheel borrow ends.
    fn apply_remote_ops(&self, wake: &mut Vec<Waker>) {
        let mut ops = self.ops_buf.take();
        self.shared.take_ops(&mut ops);
        if ops.is_empty() {
            self.ops_buf.set(ops);
            return;
        }
        let mut garbage: Vec<Entry> = Vec::new();
        let mut old_wakers: Vec<Waker> = Vec::new();
        {
            let mut wheel = self.wheel.borrow_mut();
            for op in ops.drain(..) {
                match op {
                    RemoteOp::Cancel(key) => garbage.extend(wheel.remove(key)),
                    RemoteOp::SetWaker(key, waker) => match wheel.get_mut(key) {
                        Some(entry) => old_wakers.extend(entry.waker.replace(waker)),
                        // Fired before the op arrived: the task is waiting for
                        // a wake that went to its old waker. Wake this one.
                        None => wake.push(waker),
                    },
                }
            }
        }
        drop(garbage);
        drop(old_wakers);
        self.ops_buf.set(ops);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.inner.counted.get() {
            MOCK_DRIVERS.fetch_sub(1, Ordering::Relaxed);
        }
        let unapplied = self.inner.shared.kill();
        remote::unpublish(self.inner.shared.id);
        let wheel = std::mem::take(&mut *self.inner.wheel.borrow_mut());
        // Dropped outside every borrow: wakers may run arbitrary code.
        drop(unapplied);
        drop(wheel);
        drop(self.inner.spare_waker.take());
    }
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // If thread-locals are being torn down there is nothing to restore.
        let _ = CURRENT.try_with(|c| c.replace(previous));
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("id", &self.id())
            .field("clock", self.clock())
            .field("len", &self.inner.wheel.try_borrow().map(|w| w.len()).ok())
            .finish()
    }
}

impl fmt::Debug for DriverGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverGuard").finish_non_exhaustive()
    }
}
