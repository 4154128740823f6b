//! `Handle`: a cloneable reference to a runtime, and where `spawn` puts tasks.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::blocking::Pool;
use crate::context;
use crate::metrics::{IoMetrics, RuntimeMetrics};
use crate::reactor::Reactor;
use crate::task::{new_task, JoinHandle};
use crate::worker::{Worker, WorkerShared};

/// A cloneable reference to a runtime, usable from any thread.
///
/// # Examples
///
/// ```
/// let rt = kiwi_runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// std::thread::spawn(move || {
///     let h = handle.spawn(async { "from a plain thread" });
///     assert_eq!(handle.block_on(h).unwrap(), "from a plain thread");
/// }).join().unwrap();
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) id: u64,
    pub(crate) workers: Vec<Arc<WorkerShared>>,
    cursor: AtomicUsize,
    pub(crate) closed: AtomicBool,
    pub(crate) blocking: Arc<Pool>,
    pub(crate) io_metrics: Arc<IoMetrics>,
}

impl Handle {
    pub(crate) fn from_parts(
        id: u64,
        workers: Vec<Arc<WorkerShared>>,
        blocking_name: String,
    ) -> Handle {
        Handle {
            inner: Arc::new(Inner {
                id,
                workers,
                cursor: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                blocking: Arc::new(Pool::new(blocking_name)),
                io_metrics: Arc::new(IoMetrics::default()),
            }),
        }
    }

    /// The runtime this thread runs in (a worker, a `block_on`, a blocking-pool
    /// thread, or under [`Runtime::enter`]).
    ///
    /// # Panics
    ///
    /// Outside any kiwi runtime; use [`Handle::try_current`] to check.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::Handle::current();
    ///     assert_eq!(h.spawn(async { 1 }).await.unwrap(), 1);
    /// });
    /// ```
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "kiwi: Handle::current() called outside a kiwi runtime; call it inside \
             kiwi::block_on, Runtime::block_on, a spawned task, or after Runtime::enter",
        )
    }

    /// The current runtime, or `None` outside one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(kiwi_runtime::Handle::try_current().is_none());
    /// kiwi_runtime::block_on(async { assert!(kiwi_runtime::Handle::try_current().is_some()) });
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::handle()
    }

    /// Spawns `future` onto one of the runtime's workers, round-robin, and
    /// returns its `JoinHandle`. If the runtime is gone, the future is dropped and
    /// the handle resolves to a cancelled [`JoinError`](crate::JoinError).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// drop(rt);
    /// let h = handle.spawn(async { 1 });
    /// assert!(kiwi_runtime::block_on(h).unwrap_err().is_cancelled());
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let target = self.pick_worker();
        // SAFETY: the future is Send: any worker may own it.
        let (notified, join) = unsafe { new_task(future, target.clone()) };
        if self.inner.closed.load(Ordering::Acquire) {
            notified.shutdown_detached();
        } else {
            target.spawn(notified);
        }
        join
    }

    /// Runs `f` on the blocking pool, so that it does not stall a worker.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::Handle::current().spawn_blocking(|| 2 + 2);
    ///     assert_eq!(h.await.unwrap(), 4);
    /// });
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.blocking.spawn(self, f)
    }

    /// Runs `future` on the calling thread; see [`Runtime::block_on`].
    ///
    /// # Panics
    ///
    /// As [`Runtime::block_on`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().block_on(async { 9 }), 9);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.block_on_here(future, None)
    }

    /// Runs `future` here with a fresh worker; `shared` is that worker when it
    /// belongs to the rotation (`kiwi::block_on`'s one-worker runtime).
    pub(crate) fn block_on_here<F: Future>(
        &self,
        future: F,
        shared: Option<Arc<WorkerShared>>,
    ) -> F::Output {
        if context::with_worker(|w| w.is_some()) {
            panic!(
                "kiwi: block_on called on a thread that already runs a kiwi worker or block_on; \
                 it would block that thread's tasks. Use .await instead, or spawn_blocking for a \
                 thread that may block"
            );
        }
        let shared = match shared {
            Some(s) => s,
            None => Arc::new(
                WorkerShared::new(usize::MAX, self.inner.id)
                    .expect("kiwi: block_on could not create its eventfd"),
            ),
        };
        let reactor = Reactor::for_worker(&shared, true)
            .expect("kiwi: block_on could not create its epoll instance");
        let worker = Worker::new(shared, self.clone(), Arc::new(reactor));
        let future = pin!(future);
        // Local tasks still on this thread are dropped before returning, and also
        // when the root future panics: otherwise a `spawn_local` task whose waker
        // lives on another thread would be freed (and its `!Send` future dropped)
        // there, by the last waker.
        let shutdown = ShutdownOnDrop(&worker);
        let out = worker.run(Some(future));
        drop(shutdown);
        out.expect("the loop only returns when the root future is ready")
    }

    /// The runtime's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_workers(), 2);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            workers: self
                .inner
                .workers
                .iter()
                .map(|w| w.metrics.clone())
                .collect(),
            io: self.inner.io_metrics.clone(),
        }
    }

    /// True once the runtime has shut down (spawns then resolve as cancelled).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Round-robin: a per-thread cursor on workers (no shared cache line), one
    /// shared counter elsewhere.
    fn pick_worker(&self) -> &Arc<WorkerShared> {
        let n = self.inner.workers.len();
        if n == 1 {
            return &self.inner.workers[0];
        }
        let i = context::with_worker(|w| match w {
            Some(w) if w.shared.runtime_id == self.inner.id => {
                let i = w.spawn_cursor.get();
                w.spawn_cursor.set(i.wrapping_add(1));
                Some(i)
            }
            _ => None,
        })
        .unwrap_or_else(|| self.inner.cursor.fetch_add(1, Ordering::Relaxed));
        &self.inner.workers[i % n]
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("id", &self.inner.id)
            .field("workers", &self.inner.workers.len())
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle of a `kiwi::block_on` runtime: nothing runs anymore.
        self.closed.store(true, Ordering::Release);
    }
}

/// Shuts a worker down when dropped, on the normal path and on unwind alike.
pub(crate) struct ShutdownOnDrop<'a>(pub(crate) &'a Worker);

impl Drop for ShutdownOnDrop<'_> {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}
