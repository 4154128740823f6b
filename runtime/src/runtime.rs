//! `Runtime`, `Builder` and `Handle`: Kiwi's `EventLoopPool`.
//!
//! A runtime is N worker threads, each with its own epoll reactor and timer
//! wheel, plus a blocking pool. `spawn` hands tasks to the workers round-robin, so
//! an accept loop on one worker spreads its connections over all of them (Kiwi's
//! pool gave out loops the same way). `block_on` runs a future on the calling
//! thread, which gets a small reactor and timer driver of its own for the
//! duration and is not in the `spawn` rotation.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blocking::Pool;
use crate::context::{self, HandleGuard};
use crate::metrics::{IoMetrics, RuntimeMetrics};
use crate::task::{new_task, JoinHandle};
use crate::trace;
use crate::worker::{Worker, WorkerShared};

static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// How long dropping a runtime waits for blocking-pool threads.
const DROP_TIMEOUT: Duration = Duration::from_secs(1);

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = kiwi_runtime::Builder::new().workers(2).thread_name("my-worker").build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    workers: Option<usize>,
    thread_name: String,
    trace: bool,
    trace_sink: Option<Box<dyn io::Write + Send>>,
}

impl Builder {
    /// A builder with the defaults: one worker per available core.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            thread_name: "kiwi-worker".into(),
            trace: false,
            trace_sink: None,
        }
    }

    /// Sets the number of worker threads (at least 1).
    pub fn workers(&mut self, n: usize) -> &mut Builder {
        self.workers = Some(n);
        self
    }

    /// Names the worker threads `NAME-0`, `NAME-1`, … (blocking threads get
    /// `NAME-blocking`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = name.into();
        self
    }

    /// Turns the learners' trace log on (process-wide), written to stderr. The
    /// environment variable `KIWI_TRACE=1` does the same.
    pub fn trace(&mut self, on: bool) -> &mut Builder {
        self.trace = on;
        self
    }

    /// Turns the trace log on, written to `sink` instead of stderr.
    pub fn trace_sink(&mut self, sink: impl io::Write + Send + 'static) -> &mut Builder {
        self.trace = true;
        self.trace_sink = Some(Box::new(sink));
        self
    }

    /// Starts the runtime's worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `workers(0)`; otherwise the error of creating an
    /// eventfd, an epoll instance or a thread.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let n = match self.workers {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "kiwi: workers(0): a runtime needs at least one worker",
                ))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        self.apply_trace();
        let id = NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed);
        let workers = (0..n)
            .map(|i| WorkerShared::new(i, id).map(Arc::new))
            .collect::<io::Result<Vec<_>>>()?;
        let handle = Handle::from_parts(id, workers, format!("{}-blocking", self.thread_name));
        let mut threads = Vec::with_capacity(n);
        for shared in handle.inner.workers.clone() {
            let h = handle.clone();
            let name = format!("{}-{}", self.thread_name, shared.index);
            let spawned = std::thread::Builder::new()
                .name(name)
                .spawn(move || worker_main(shared, h));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Stop the ones already started before reporting the error.
                    drop(Runtime {
                        handle,
                        threads,
                        detach: false,
                    });
                    return Err(e);
                }
            }
        }
        Ok(Runtime {
            handle,
            threads,
            detach: false,
        })
    }

    fn apply_trace(&mut self) {
        if self.trace {
            trace::enable(self.trace_sink.take());
        } else {
            trace::enable_from_env();
        }
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("thread_name", &self.thread_name)
            .finish()
    }
}

fn worker_main(shared: Arc<WorkerShared>, handle: Handle) {
    let worker = match Worker::new(shared.clone(), handle, false) {
        Ok(w) => w,
        Err(_) => {
            // Without a reactor this worker cannot run anything: close its queue
            // so that tasks sent to it resolve as cancelled instead of hanging.
            let stranded = {
                let mut remote = shared.remote();
                remote.closed = true;
                std::mem::take(&mut remote.queue)
            };
            stranded.into_iter().for_each(|t| t.shutdown_detached());
            return;
        }
    };
    worker.run::<std::future::Pending<()>>(None);
    worker.shutdown();
}

/// The kiwi runtime: worker threads, their reactors and timers, a blocking pool.
///
/// Dropping it cancels every task (each future is dropped on its own worker),
/// joins the workers, and waits up to 1 s for blocking-pool threads before
/// detaching them.
///
/// # Examples
///
/// ```
/// let rt = kiwi_runtime::Runtime::new()?;
/// let n = rt.block_on(async {
///     let a = kiwi_runtime::spawn(async { 20 });
///     let b = kiwi_runtime::spawn(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(n, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<std::thread::JoinHandle<()>>,
    detach: bool,
}

impl Runtime {
    /// A runtime with one worker per available core.
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Runs `future` to completion on the calling thread and returns its output.
    /// The future may do anything a task can: I/O, timers, `spawn`,
    /// `spawn_local` (those tasks stay on this thread and are dropped when
    /// `block_on` returns), `spawn_blocking`.
    ///
    /// # Panics
    ///
    /// If called on a thread that already runs a kiwi worker or `block_on` (it
    /// would block that thread's tasks), or if this thread cannot get an eventfd
    /// or epoll instance.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { "done" }), "done");
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on_here(future, None)
    }

    /// Spawns a task onto the runtime's workers; see [`Handle::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(async { 7 });
    /// assert_eq!(rt.block_on(h).unwrap(), 7);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on the blocking pool; see [`Handle::spawn_blocking`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// let h = rt.spawn_blocking(|| std::thread::current().name().map(str::to_owned));
    /// assert!(rt.block_on(h).unwrap().unwrap().contains("blocking"));
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A cloneable, `Send + Sync` handle to this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let h = std::thread::spawn(move || handle.spawn(async { 5 })).join().unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 5);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current on this thread until the guard drops, so that
    /// `kiwi::spawn` and `Handle::current` work from plain (non-async) code.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let h = kiwi_runtime::spawn(async { 3 });
    /// assert_eq!(rt.block_on(h).unwrap(), 3);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::enter_handle(self.handle.clone()),
            _rt: std::marker::PhantomData,
        }
    }

    /// Shuts down: cancels every task, joins the workers, and waits up to
    /// `timeout` for blocking-pool threads, detaching those still running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(5)));
    /// let start = std::time::Instant::now();
    /// rt.shutdown_timeout(Duration::from_millis(50));
    /// assert!(start.elapsed() < Duration::from_secs(2));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(timeout);
    }

    /// Shuts down without waiting: tasks are still dropped on their workers, but
    /// neither workers nor blocking threads are joined.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new().unwrap();
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_background();
    /// ```
    pub fn shutdown_background(mut self) {
        self.detach = true;
        self.shutdown(Duration::ZERO);
    }

    fn shutdown(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let inner = &self.handle.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let own_worker = context::with_worker(|w| {
            w.is_some_and(|w| w.shared.runtime_id == inner.id && w.shared.index != usize::MAX)
        });
        if own_worker && !self.detach {
            panic!(
                "kiwi: a Runtime was dropped (or shut down) from inside one of its own workers, \
                 which would wait for itself; drop it outside the runtime, or use shutdown_background"
            );
        }
        for w in &inner.workers {
            w.request_stop();
        }
        if self.detach {
            self.threads.clear();
        }
        for t in self.threads.drain(..) {
            // A worker that panicked has already lost its tasks; nothing to add.
            let _ = t.join();
        }
        inner.blocking.shutdown(if self.detach {
            Instant::now()
        } else {
            deadline
        });
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(DROP_TIMEOUT);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.inner.workers.len())
            .finish()
    }
}

/// Returned by [`Runtime::enter`]; the runtime stays current until it drops.
pub struct EnterGuard<'a> {
    _guard: HandleGuard,
    _rt: std::marker::PhantomData<&'a Runtime>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

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
        let target = self.pick_worker().clone();
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
        let worker = Worker::new(shared, self.clone(), true)
            .expect("kiwi: block_on could not create its epoll instance");
        let future = pin!(future);
        let out = worker.run(Some(future));
        // Local tasks still on this thread are dropped here, before returning.
        worker.shutdown();
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

/// A one-worker runtime whose only worker is the calling thread (`kiwi::block_on`).
pub(crate) fn current_thread() -> io::Result<(Handle, Arc<WorkerShared>)> {
    static TRACE_ENV: std::sync::Once = std::sync::Once::new();
    TRACE_ENV.call_once(trace::enable_from_env);
    let id = NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new(WorkerShared::new(0, id)?);
    Ok((
        Handle::from_parts(id, vec![shared.clone()], "kiwi-blocking".into()),
        shared,
    ))
}
