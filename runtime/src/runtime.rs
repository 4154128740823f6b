//! `Runtime`: Kiwi's `EventLoopPool`.
//!
//! A runtime is N worker threads, each with its own epoll reactor and timer
//! wheel, plus a blocking pool. Kiwi's pool handed its loops out round-robin;
//! here only spawns from outside the pool take turns (so an accept loop on the
//! main thread still spreads its connections), while a spawn on a worker stays
//! on that worker, and idle workers steal from busy ones (see `worker/`).
//! `block_on` runs a future on the calling thread, which gets a small reactor
//! and timer driver of its own for the duration and is not in the pool.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::builder::Builder;
use crate::context::{self, HandleGuard};
use crate::handle::Handle;
use crate::task::JoinHandle;

pub(crate) static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// How long dropping a runtime waits for blocking-pool threads.
const DROP_TIMEOUT: Duration = Duration::from_secs(1);

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
    pub(crate) fn from_parts(handle: Handle, threads: Vec<std::thread::JoinHandle<()>>) -> Runtime {
        Runtime {
            handle,
            threads,
            detach: false,
        }
    }

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
        self.handle.block_on(future)
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
        // The workers have exited, and handed their trace events over: write
        // the timeline file (if one is recorded) with this whole run in it.
        // Best effort: a full disk must not turn a shutdown into an error.
        let _ = crate::trace::flush();
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
