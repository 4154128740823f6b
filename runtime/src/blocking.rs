//! The blocking pool: threads for work that would stall a worker.
//!
//! `spawn_blocking(f)` wraps `f` in a task whose single poll runs it, so the caller
//! gets the same `JoinHandle` as for any task (abort works until `f` starts). The
//! pool starts with no threads, starts one when a job arrives and none is idle (up
//! to [`MAX_THREADS`], or `Builder::max_blocking_threads`), and lets a thread exit
//! after [`KEEP_ALIVE`] (or `Builder::thread_keep_alive`) without work.
//!
//! At runtime shutdown, queued jobs that never started are cancelled; running ones
//! cannot be interrupted, so the runtime waits for them up to a bound (1 s on drop,
//! or `shutdown_timeout`'s argument) and then detaches their threads.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::handle::Handle;
use crate::task::raw::Header;
use crate::task::{new_send, JoinHandle, Notified, Schedule};
use crate::{context, trace};

/// Most threads the pool runs at once; further jobs wait in its queue.
pub const MAX_THREADS: usize = 512;
/// How long an idle pool thread waits for work before it exits.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Signalled when a job arrives or shutdown starts.
    work: Condvar,
    /// Signalled when a thread exits.
    exited: Condvar,
    config: PoolConfig,
}

/// How the pool runs its threads (from the `Builder`).
#[derive(Clone)]
pub(crate) struct PoolConfig {
    pub(crate) thread_name: String,
    pub(crate) max_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) hooks: Hooks,
}

impl PoolConfig {
    /// The defaults, for `kiwi::block_on`'s runtime.
    pub(crate) fn named(thread_name: String) -> PoolConfig {
        PoolConfig {
            thread_name,
            max_threads: MAX_THREADS,
            keep_alive: KEEP_ALIVE,
            hooks: Hooks::default(),
        }
    }
}

impl std::fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolConfig")
            .field("thread_name", &self.thread_name)
            .field("max_threads", &self.max_threads)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

/// A callback run on a runtime's threads.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync + 'static>;

/// `Builder::on_thread_start` and `on_thread_stop`: run on every worker and
/// blocking-pool thread, first and last thing on it.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_start: Option<Hook>,
    pub(crate) on_stop: Option<Hook>,
}

impl Hooks {
    /// Runs `on_start` now and `on_stop` when the guard drops (also on unwind).
    pub(crate) fn enter(&self) -> HooksGuard<'_> {
        if let Some(f) = &self.on_start {
            f();
        }
        HooksGuard(self)
    }
}

/// Runs `on_stop` when dropped.
pub(crate) struct HooksGuard<'a>(&'a Hooks);

impl Drop for HooksGuard<'_> {
    fn drop(&mut self) {
        if let Some(f) = &self.0.on_stop {
            f();
        }
    }
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Notified<PoolScheduler>>,
    threads: usize,
    idle: usize,
    /// Threads that left the loop (no longer counted in `threads`, so a new
    /// job starts a new thread) but whose `on_thread_stop` has not run yet.
    stopping: usize,
    shutdown: bool,
}

impl Pool {
    pub(crate) fn new(config: PoolConfig) -> Pool {
        Pool {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            exited: Condvar::new(),
            config,
        }
    }

    /// Jobs running or waiting: while there are any, paused time does not
    /// jump ahead (a job's answer may be what a timer races against).
    pub(crate) fn busy(&self) -> usize {
        let state = self.lock();
        state.threads - state.idle + state.queue.len()
    }

    /// Threads running, and jobs waiting for one (for `RuntimeMetrics`).
    pub(crate) fn load(&self) -> (usize, usize) {
        let state = self.lock();
        (state.threads, state.queue.len())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn spawn<F, R>(self: &Arc<Self>, handle: &Handle, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let job = BlockingTask {
            f: Some(f),
            handle: Some(handle.clone()),
        };
        let (registered, notified, join) = new_send(job, PoolScheduler(self.clone()), usize::MAX);
        // The pool keeps no registry: a queued job is found in its queue at
        // shutdown, and a running one finishes by itself.
        drop(registered);
        if let Err(task) = self.push(notified) {
            task.shutdown();
        }
        join
    }

    fn push(
        self: &Arc<Self>,
        task: Notified<PoolScheduler>,
    ) -> Result<(), Notified<PoolScheduler>> {
        let mut state = self.lock();
        if state.shutdown {
            return Err(task);
        }
        state.queue.push_back(task);
        if state.idle > 0 {
            // Wake the idle thread after unlocking. Woken under the lock, it
            // found the mutex still held, slept on it, and had to be woken a
            // second time: on one CPU, reading a file 64 KiB at a time took
            // 1.5 more futex calls and 1.1 more context switches per read,
            // and a third more CPU (see "Files" in docs/BENCHMARKS.md).
            // No wake is lost: a thread
            // counted in `idle` went to wait under this same lock, so it is
            // waiting now, or awake and about to look at the queue.
            drop(state);
            self.work.notify_one();
            return Ok(());
        } else if state.threads < self.config.max_threads {
            let pool = self.clone();
            let spawned = std::thread::Builder::new()
                .name(self.config.thread_name.clone())
                .spawn(move || {
                    let hooks = pool.config.hooks.enter();
                    trace::set_role(trace::Role::Blocking);
                    pool.run(hooks);
                });
            // If no thread can be started, the job waits for a busy thread to
            // finish; with zero threads it waits until shutdown cancels it.
            if spawned.is_ok() {
                state.threads += 1;
            }
        }
        Ok(())
    }

    /// The thread's loop. The thread leaves `threads` under the same lock
    /// that decided it leaves (so a job pushed meanwhile starts a new
    /// thread), but stays in `stopping` until its `on_thread_stop` hook ran:
    /// `shutdown` waits for both, so it returns only after every stop hook
    /// (the bug `thread_hooks_run_on_every_worker_and_blocking_thread` caught
    /// now and then: the hook ran after `shutdown` had returned).
    fn run(self: &Arc<Self>, hooks: HooksGuard<'_>) {
        let mut state = self.lock();
        loop {
            if let Some(task) = state.queue.pop_front() {
                drop(state);
                let traced = trace::enabled().then(|| (trace::now(), task.header().id));
                task.run();
                if let Some((start, id)) = traced {
                    trace::record_span(trace::Kind::Blocking, start, id.as_u64(), 0, 0);
                }
                state = self.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let (s, timeout) = self
                .work
                .wait_timeout(state, self.config.keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            state = s;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() && !state.shutdown {
                break;
            }
        }
        state.threads -= 1;
        state.stopping += 1;
        drop(state);
        // Before `shutdown` may return: the thread-local would hand the
        // events over only after this thread is gone.
        trace::thread_exit();
        drop(hooks);
        self.lock().stopping -= 1;
        self.exited.notify_all();
    }

    /// Cancels queued jobs and waits until `deadline` for running ones; threads
    /// still busy after it are detached. Returns how many were detached.
    pub(crate) fn shutdown(&self, deadline: Instant) -> usize {
        let queued: Vec<Notified<PoolScheduler>> = {
            let mut state = self.lock();
            state.shutdown = true;
            self.work.notify_all();
            state.queue.drain(..).collect()
        };
        // Drop the closures outside the lock (their destructors may be arbitrary).
        for task in queued {
            task.shutdown();
        }
        let mut state = self.lock();
        while state.threads + state.stopping > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .exited
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.threads
    }
}

#[derive(Debug)]
struct PoolScheduler(Arc<Pool>);

impl Schedule for PoolScheduler {
    fn schedule(&self, task: Notified<Self>) {
        // A blocking task is only ever scheduled again by `abort` before it ran.
        if let Err(task) = self.0.push(task) {
            task.shutdown();
        }
    }
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
    fn release(&self, _: std::ptr::NonNull<Header>) -> bool {
        false
    }
}

/// A closure dressed as a future that completes on its first poll.
struct BlockingTask<F> {
    f: Option<F>,
    handle: Option<Handle>,
}

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
        let f = self.f.take().expect("a blocking task runs once");
        // Inside the closure `Handle::current()` and `kiwi::spawn` work.
        let _guard = self.handle.take().map(context::enter_handle);
        Poll::Ready(f())
    }
}
