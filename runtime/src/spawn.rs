//! The free functions: `block_on`, `spawn`, `spawn_local`, `spawn_blocking`,
//! `yield_now`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::context;
use crate::handle::Handle;
use crate::metrics::bump;
use crate::runtime::NEXT_RUNTIME_ID;
use crate::task::{new_local, JoinHandle};
use crate::trace;
use crate::worker::start;

/// Runs `future` to completion on the calling thread, in a one-worker runtime
/// whose worker is this thread: `spawn` and `spawn_local` both put tasks here.
/// When the future completes, the tasks still on this thread are dropped (here),
/// and blocking-pool threads get up to 1 s before they are detached.
///
/// # Panics
///
/// On a thread that already runs a kiwi worker or `block_on`, or if the thread
/// cannot get an eventfd or epoll instance.
///
/// # Examples
///
/// ```
/// let out = kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(async { "hello" });
///     h.await.unwrap()
/// });
/// assert_eq!(out, "hello");
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    static TRACE_ENV: std::sync::Once = std::sync::Once::new();
    TRACE_ENV.call_once(trace::enable_from_env);
    let id = NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed);
    let (handle, shared, ring) =
        start::current_thread(id).expect("kiwi::block_on could not create its eventfd");
    // Close the runtime and its blocking pool on return, and on unwind too.
    struct Close<'a>(&'a Handle);
    impl Drop for Close<'_> {
        fn drop(&mut self) {
            self.0.inner.closed.store(true, Ordering::Release);
            let deadline = Instant::now() + Duration::from_secs(1);
            self.0.inner.blocking.shutdown(deadline);
            // The timeline, if one is recorded, now holds this run: write it.
            let _ = trace::flush();
        }
    }
    let _close = Close(&handle);
    start::block_on(&handle, future, Some((shared, ring)))
}

/// Spawns a `Send` task onto the current runtime: on a worker, onto that
/// worker (idle workers steal it if it waits); elsewhere, round-robin over
/// the workers. See [`Handle::spawn`].
///
/// A future that is not `Send` is refused at compile time; use [`spawn_local`]:
///
/// ```compile_fail
/// kiwi_runtime::block_on(async {
///     let rc = std::rc::Rc::new(1);
///     kiwi_runtime::spawn(async move { *rc });
/// });
/// ```
///
/// # Panics
///
/// Outside a kiwi runtime.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(async { 1 + 2 });
///     assert_eq!(h.await.unwrap(), 3);
/// });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::with_handle(|h| match h {
        Some(h) => h.spawn(future),
        None => panic!(
            "kiwi::spawn called outside a kiwi runtime; call it inside kiwi::block_on, \
             Runtime::block_on, a spawned task, or after Runtime::enter"
        ),
    })
}

/// Spawns a task that stays on the current worker thread; it may be `!Send`.
/// Its future is polled and dropped only on this thread.
///
/// # Panics
///
/// On a thread that runs no kiwi worker or `block_on`.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// kiwi_runtime::block_on(async {
///     let shared = Rc::new(5);
///     let h = kiwi_runtime::spawn_local({ let s = shared.clone(); async move { *s * 2 } });
///     assert_eq!(h.await.unwrap(), 10);
/// });
/// ```
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::with_worker(|w| {
        let Some(w) = w else {
            panic!(
                "kiwi::spawn_local called on a thread that runs no kiwi worker; call it \
                 inside kiwi::block_on, Runtime::block_on or a spawned task"
            )
        };
        bump(&w.shared.metrics.spawned, 1);
        let (registered, task, join) = new_local(future, w.shared.clone(), w.shared.index);
        if trace::enabled() {
            trace::record(trace::Kind::Spawn, task.header().id.as_u64(), 0, 0);
        }
        w.registry.borrow_mut().insert(registered);
        w.push_local(task);
        join
    })
}

/// Runs `f` on the current runtime's blocking pool.
///
/// # Panics
///
/// Outside a kiwi runtime.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn_blocking(|| std::fs::metadata("/").is_ok());
///     assert!(h.await.unwrap());
/// });
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::handle() {
        Some(h) => h.spawn_blocking(f),
        None => panic!("kiwi::spawn_blocking called outside a kiwi runtime"),
    }
}

/// Lets the other tasks of this worker run, then resumes.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(async { 1 });
///     while !h.is_finished() {
///         kiwi_runtime::yield_now().await;
///     }
/// });
/// ```
///
/// # Cancel safety
///
/// Nothing to lose.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Back of the run queue: everything already queued runs first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
