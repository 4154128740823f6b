//! `Handle`: a cloneable reference to a runtime, and where `spawn` puts tasks.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::blocking::{Pool, PoolConfig};
use crate::metrics::{bump, IoMetrics, RuntimeMetrics};
use crate::padded::CachePadded;
use crate::task::registry::Shards;
use crate::task::ring::Inject;
use crate::task::{new_send_unbound, JoinHandle};
use crate::worker::idle::Idle;
use crate::worker::{start, SendTask, WorkerRemote};
use crate::{context, trace};

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
    pub(crate) workers: Vec<Arc<WorkerRemote>>,
    /// Round-robin position for spawns from outside the pool. Padded, as are
    /// the other fields written at run time: the workers read `id`, `closed`
    /// and `workers` around every poll, and must not lose those lines to an
    /// outside spawner's `fetch_add` or a sibling parking.
    cursor: CachePadded<AtomicUsize>,
    pub(crate) closed: AtomicBool,
    /// Where full rings overflow; any worker takes from it.
    pub(crate) inject: CachePadded<Inject<SendTask>>,
    /// Every live `Send` task, for shutdown.
    pub(crate) registry: Shards,
    /// Who is parked and who is searching.
    pub(crate) idle: CachePadded<Idle>,
    pub(crate) blocking: Arc<Pool>,
    pub(crate) io_metrics: Arc<IoMetrics>,
    /// Polls between a worker's fairness looks (`Builder::event_interval`).
    pub(crate) event_interval: u32,
    /// Held by the one idle worker that watches for stuck siblings.
    pub(crate) watcher: crate::worker::rescue::Watcher,
}

impl Handle {
    pub(crate) fn from_parts(
        id: u64,
        workers: Vec<Arc<WorkerRemote>>,
        blocking: PoolConfig,
        event_interval: u32,
    ) -> Handle {
        let n = workers.len();
        Handle {
            inner: Arc::new(Inner {
                id,
                workers,
                cursor: CachePadded(AtomicUsize::new(0)),
                closed: AtomicBool::new(false),
                inject: CachePadded(Inject::new()),
                registry: Shards::new(n),
                idle: CachePadded(Idle::new(n)),
                blocking: Arc::new(Pool::new(blocking)),
                event_interval,
                io_metrics: Arc::new(IoMetrics::default()),
                watcher: Default::default(),
            }),
        }
    }

    /// The runtime this thread runs in (a worker, a `block_on`, a blocking-pool
    /// thread, or under [`Runtime::enter`](crate::Runtime::enter)).
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

    /// Spawns `future` and returns its `JoinHandle`. On a worker of this
    /// runtime the task goes to that worker's next-to-run slot (idle workers
    /// steal from busy ones); from anywhere else (a `block_on` thread, a plain
    /// thread, a blocking-pool thread) the workers take turns. If the runtime
    /// is gone, the future is dropped and the handle resolves to a cancelled
    /// [`JoinError`](crate::JoinError).
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
        let inner = &self.inner;
        context::with_worker(|w| {
            let here = w.filter(|w| w.shared.runtime_id == inner.id && w.in_pool());
            let owner = match here {
                Some(w) => w.shared.index,
                None => self.next_worker(),
            };
            // The task enters the registry at its first `Pending`, on the
            // worker that polls it (`task::new_send_unbound`): a spawn takes
            // no registry lock, and a task done in one poll never does.
            let (task, join) = new_send_unbound(future, self.clone(), owner);
            if trace::enabled() {
                trace::record(trace::Kind::Spawn, task.header().id.as_u64(), 0, 0);
            }
            // The counters: a task is counted as spawned exactly where its
            // end will be counted as completed (`Schedule::release` counts on
            // a worker of this runtime), so `num_alive_tasks` comes back to 0
            // (regressions `alive_count_returns_to_zero_after_an_outside_spawn_is_refused`
            // and `a_spawn_after_close_counts_as_spawned_and_completed`).
            if inner.closed.load(Ordering::Acquire) {
                if let Some(w) = here {
                    bump(&w.shared.metrics.spawned, 1);
                }
                task.shutdown();
                return join;
            }
            match here {
                Some(w) => {
                    bump(&w.shared.metrics.spawned, 1);
                    w.schedule_next(task);
                }
                None => {
                    let target = &inner.workers[owner];
                    // Counted before it is queued: the queue's release then
                    // carries the count to the worker, so the task, once it
                    // runs, sees itself alive (regression
                    // `a_task_spawned_from_outside_counts_itself_alive`).
                    let counter = &target.metrics.spawned_from_outside;
                    counter.fetch_add(1, Ordering::Relaxed);
                    if let Err(task) = target.push_remote(task) {
                        // Refused only by a worker that has shut down: nobody
                        // will run the entry, so its future is dropped here,
                        // counted neither as spawned nor as completed.
                        counter.fetch_sub(1, Ordering::Relaxed);
                        task.shutdown();
                    }
                }
            }
            join
        })
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

    /// Runs `future` on the calling thread; see [`Runtime::block_on`](crate::Runtime::block_on).
    ///
    /// # Panics
    ///
    /// As [`Runtime::block_on`](crate::Runtime::block_on).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().block_on(async { 9 }), 9);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        start::block_on(self, future, None)
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
            blocking: self.inner.blocking.clone(),
        }
    }

    /// True once the runtime has shut down (spawns then resolve as cancelled).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Round-robin over the workers, for spawns from outside the pool.
    fn next_worker(&self) -> usize {
        let n = self.inner.workers.len();
        if n == 1 {
            return 0;
        }
        self.inner.cursor.fetch_add(1, Ordering::Relaxed) % n
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
