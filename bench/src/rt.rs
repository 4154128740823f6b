//! One trait over the three runtimes, so every benchmark is written once and
//! monomorphised per runtime (no dynamic dispatch in the measured loops).
//!
//! All three are single-threaded here:
//! - kiwi: `kiwi::block_on`, a one-worker runtime on the calling thread;
//! - tokio: the `current_thread` runtime with time and I/O enabled;
//! - smol: an `async_executor::LocalExecutor` driven by `async_io::block_on`
//!   (what `smol::block_on` is). async-io's reactor is driven by the blocked
//!   thread while it waits and otherwise by async-io's own "async-io" thread,
//!   which inherits the process's CPU pinning.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The operations the benchmarks need from a runtime.
pub trait Rt {
    /// Name used on the command line and in the tables.
    const NAME: &'static str;
    /// What `spawn` returns: a future of the task's output.
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Runs `f` to completion on the calling thread, tasks included.
    fn block_on<F: Future>(f: F) -> F::Output;
    /// Spawns a task on the current (single) worker.
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Lets the task run to completion without a handle.
    fn detach<T: Send + 'static>(join: Self::Join<T>);
    /// Yields once to the scheduler.
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// Sleeps for `d`.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;
    /// `timeout(d, pending())`: the timer a `timeout` registers, never ready.
    fn timeout_pending(d: Duration) -> impl Future<Output = ()>;
    /// Per-worker counters `(eventfd_writes, remote_wakes, parks)`, kiwi only.
    fn counters() -> Option<(u64, u64, u64)> {
        None
    }
}

/// Turns a `Future<Output = Result<T, E>>` join handle into one of `T`.
pub struct Unwrap<J>(J);

impl<T, E: Debug, J: Future<Output = Result<T, E>> + Unpin> Future for Unwrap<J> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("task failed"))
    }
}

/// kiwi's one-worker runtime (`kiwi::block_on`).
pub struct Kiwi;

impl Rt for Kiwi {
    const NAME: &'static str = "kiwi";
    type Join<T: Send + 'static> = Unwrap<kiwi::JoinHandle<T>>;

    fn block_on<F: Future>(f: F) -> F::Output {
        kiwi::block_on(f)
    }
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(kiwi::spawn(f))
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        drop(join);
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        kiwi::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        kiwi::time::sleep(d)
    }
    fn timeout_pending(d: Duration) -> impl Future<Output = ()> {
        let t = kiwi::time::timeout(d, std::future::pending::<()>());
        async move {
            let _ = t.await;
        }
    }
    fn counters() -> Option<(u64, u64, u64)> {
        let m = kiwi::Handle::current().metrics();
        let w = m.worker(0);
        Some((w.eventfd_writes(), w.remote_wakes(), w.parks()))
    }
}

/// tokio's `current_thread` runtime.
pub struct Tokio;

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;

    fn block_on<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(f)
    }
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(tokio::spawn(f))
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        drop(join);
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
    fn timeout_pending(d: Duration) -> impl Future<Output = ()> {
        let t = tokio::time::timeout(d, std::future::pending::<()>());
        async move {
            let _ = t.await;
        }
    }
}

thread_local! {
    static SMOL_EX: async_executor::LocalExecutor<'static> = const { async_executor::LocalExecutor::new() };
}

/// smol: a thread-local `LocalExecutor` run by `async_io::block_on`.
pub struct Smol;

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Join<T: Send + 'static> = async_executor::Task<T>;

    fn block_on<F: Future>(f: F) -> F::Output {
        SMOL_EX.with(|ex| async_io::block_on(ex.run(f)))
    }
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_EX.with(|ex| ex.spawn(f))
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        let t = async_io::Timer::after(d);
        async move {
            t.await;
        }
    }
    fn timeout_pending(d: Duration) -> impl Future<Output = ()> {
        // What `smol::future::or(fut, async { Timer::after(d).await; .. })` registers.
        futures_lite::future::or(std::future::pending::<()>(), async move {
            async_io::Timer::after(d).await;
        })
    }
}
