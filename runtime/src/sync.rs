//! A shutdown signal that costs nothing to wait on: [`CancellationToken`].
//!
//! A server tells its connections to stop by cancelling one token; every
//! connection races its work against `token.cancelled()`. That race is polled
//! on *every* wake of the connection's task, so a thousand times per second
//! per connection under load, and almost never fires. The design follows
//! from that ratio:
//!
//! - **Polling while not cancelled is one atomic load**, plus a comparison of
//!   two wakers held by the future itself (`Waker::will_wake`): no lock, no
//!   store, no clone. Only the first poll, or a poll from a different task,
//!   takes the lock to register the waker.
//! - **Cancelling is rare and may be slow**: it sets the flag, then takes the
//!   lock and wakes every registered waiter.
//! - **No lost wake**: a waiter registers under the lock and then re-reads the
//!   flag; `cancel` sets the flag before it takes the lock. Whichever comes
//!   second sees the other.
//!
//! The waiters live in kiwi's slab (`slab.rs`), so a future's place is a token, and
//! dropping the future frees it.
//!
//! A shortcut admitted: tokio-util's token also has child tokens (cancelled
//! with their parent, not the other way); this one has no hierarchy. Clone it
//! to share one signal.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use crate::slab::Slab;

/// A signal that can be raised once and awaited by any number of tasks, on any
/// thread; clones share it. See the [module docs](self) for its cost.
///
/// # Examples
///
/// ```
/// use kiwi_runtime::sync::CancellationToken;
///
/// kiwi_runtime::block_on(async {
///     let token = CancellationToken::new();
///     let worker = kiwi_runtime::spawn({
///         let token = token.clone();
///         async move {
///             token.cancelled().await;
///             "stopped"
///         }
///     });
///     token.cancel();
///     assert_eq!(worker.await.unwrap(), "stopped");
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    inner: Arc<Inner>,
}

struct Inner {
    cancelled: AtomicBool,
    waiters: Mutex<Waiters>,
}

/// Registered wakers, by the token each future holds.
type Waiters = Slab<Waker>;

impl CancellationToken {
    /// A token not yet cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = kiwi_runtime::sync::CancellationToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> CancellationToken {
        CancellationToken {
            inner: Arc::new(Inner {
                cancelled: AtomicBool::new(false),
                waiters: Mutex::new(Slab::new()),
            }),
        }
    }

    /// Cancels the token and wakes every task waiting in
    /// [`cancelled`](Self::cancelled). Later calls do nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = kiwi_runtime::sync::CancellationToken::new();
    /// token.cancel();
    /// token.cancel(); // idempotent
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        if self.inner.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        let wakers = self.inner.lock().drain();
        for waker in wakers {
            waker.wake();
        }
    }

    /// True once [`cancel`](Self::cancel) was called on this token or a clone.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = kiwi_runtime::sync::CancellationToken::new();
    /// let clone = token.clone();
    /// clone.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Completes once the token is cancelled (at once if it already is).
    /// Create it once and keep it across polls (in a `select!` loop, say):
    /// each new future registers its waker once.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it only gives its place back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use kiwi_runtime::sync::CancellationToken;
    ///
    /// kiwi_runtime::block_on(async {
    ///     let token = CancellationToken::new();
    ///     let stop = token.clone();
    ///     std::thread::spawn(move || stop.cancel()); // from any thread
    ///     token.cancelled().await;
    /// });
    /// ```
    pub fn cancelled(&self) -> WaitForCancellation<'_> {
        WaitForCancellation {
            token: self,
            slot: None,
            waker: None,
            done: false,
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // Nothing panics under this lock; don't turn poison into a panic.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The future of [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitForCancellation<'a> {
    token: &'a CancellationToken,
    /// Our token in the waiter slab, once registered.
    slot: Option<u64>,
    /// A copy of the registered waker, so that a re-poll can compare without
    /// the lock.
    waker: Option<Waker>,
    /// Returned `Ready` already (for `FusedFuture`, so `select!` takes it
    /// unfused).
    done: bool,
}

impl Future for WaitForCancellation<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.token.inner;
        if inner.cancelled.load(Ordering::Acquire) {
            self.done = true;
            return Poll::Ready(());
        }
        // The hot path: registered already, by this same task.
        if self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        let waker = cx.waker().clone();
        let slot = {
            let mut w = inner.lock();
            // Re-read under the lock: a `cancel` that set the flag before we
            // locked has taken (or will find nothing of) the slab already.
            if inner.cancelled.load(Ordering::Acquire) {
                drop(w);
                self.done = true;
                return Poll::Ready(());
            }
            match self.slot.filter(|&k| w.get(k).is_some()) {
                Some(k) => {
                    if let Some(stored) = w.get_mut(k) {
                        *stored = waker.clone();
                    }
                    k
                }
                None => w.insert(waker.clone()),
            }
        };
        self.slot = Some(slot);
        self.waker = Some(waker);
        Poll::Pending
    }
}

impl futures_core::FusedFuture for WaitForCancellation<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for WaitForCancellation<'_> {
    fn drop(&mut self) {
        let Some(slot) = self.slot else { return };
        // After a cancel the slab was drained: the stale token removes nothing.
        self.token.inner.lock().remove(slot);
    }
}

impl fmt::Debug for WaitForCancellation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellation")
            .field("cancelled", &self.token.is_cancelled())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// A waiter that registers while another thread cancels is never left
    /// asleep: `loom::future::block_on` parks until woken, and loom reports
    /// the lost wake as a deadlock in whichever interleaving loses it.
    #[test]
    fn loom_cancel_races_a_registering_waiter() {
        loom::model(|| {
            let token = CancellationToken::new();
            let other = token.clone();
            let canceller = loom::thread::spawn(move || other.cancel());
            loom::future::block_on(token.cancelled());
            canceller.join().unwrap();
        });
    }

    /// Two waiters, one cancel from a third thread: both complete.
    #[test]
    fn loom_cancel_wakes_every_waiter() {
        loom::model(|| {
            let token = CancellationToken::new();
            let (a, b) = (token.clone(), token.clone());
            let waiter = loom::thread::spawn(move || loom::future::block_on(a.cancelled()));
            let canceller = loom::thread::spawn(move || b.cancel());
            loom::future::block_on(token.cancelled());
            waiter.join().unwrap();
            canceller.join().unwrap();
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn repolls_by_the_same_task_take_no_lock_and_every_waiter_wakes() {
        let token = CancellationToken::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut a = token.cancelled();
        let mut b = token.cancelled();
        assert!(Pin::new(&mut a).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut b).poll(&mut cx).is_pending());
        // Hold the lock: a re-poll by the same task must not need it.
        let guard = token.inner.lock();
        assert!(Pin::new(&mut a).poll(&mut cx).is_pending());
        drop(guard);
        assert_eq!(token.inner.lock().len(), 2);
        drop(b); // gives its place back
        assert_eq!(token.inner.lock().len(), 1);
        token.cancel();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "only a's waker remained");
        assert!(Pin::new(&mut a).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut token.cancelled()).poll(&mut cx).is_ready());
    }

    #[test]
    fn a_poll_from_another_task_replaces_the_waker() {
        let token = CancellationToken::new();
        let (one, two) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let (w1, w2) = (Waker::from(one.clone()), Waker::from(two.clone()));
        let mut fut = token.cancelled();
        assert!(Pin::new(&mut fut)
            .poll(&mut Context::from_waker(&w1))
            .is_pending());
        assert!(Pin::new(&mut fut)
            .poll(&mut Context::from_waker(&w2))
            .is_pending());
        token.cancel();
        assert_eq!(one.0.load(Ordering::SeqCst), 0);
        assert_eq!(two.0.load(Ordering::SeqCst), 1);
    }
}
