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
//!
//! [`MtRt`] adds a two-worker runtime for the `mt` group: kiwi
//! `Builder::workers(2)`, tokio `multi_thread` with `worker_threads(2)`, and
//! smol ([`SmolMt`]) as a shared `async_executor::Executor` run by two threads.
//! In all three the root future runs on the calling thread, which is not one
//! of the two workers.

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

/// A runtime with two worker threads, for the `mt` group. `spawn`,
/// `yield_now` and `detach` are [`Rt`]'s, which work on any runtime that is
/// current.
pub trait MtRt: Rt + 'static {
    /// Builds a runtime with two worker threads and runs `f` on the calling
    /// thread (not a worker); tasks it spawns go to the workers.
    fn block_on_mt<F: Future>(f: F) -> F::Output;
}

impl MtRt for Kiwi {
    fn block_on_mt<F: Future>(f: F) -> F::Output {
        let rt = kiwi::Builder::new()
            .workers(2)
            .build()
            .expect("kiwi runtime");
        rt.block_on(f)
    }
}

impl MtRt for Tokio {
    fn block_on_mt<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(f)
    }
}

static SMOL_MT_EX: async_executor::Executor<'static> = async_executor::Executor::new();

/// smol on two threads: a shared `Executor` run by two threads, each in
/// `async_io::block_on`; the root future is `async_io::block_on` on the caller.
pub struct SmolMt;

impl Rt for SmolMt {
    const NAME: &'static str = "smol";
    type Join<T: Send + 'static> = async_executor::Task<T>;

    fn block_on<F: Future>(f: F) -> F::Output {
        Self::block_on_mt(f)
    }
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_MT_EX.spawn(f)
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        Smol::sleep(d)
    }
    fn timeout_pending(d: Duration) -> impl Future<Output = ()> {
        Smol::timeout_pending(d)
    }
}

impl MtRt for SmolMt {
    fn block_on_mt<F: Future>(f: F) -> F::Output {
        let (stop, stopped) = async_channel::bounded::<()>(1);
        std::thread::scope(|s| {
            for _ in 0..2 {
                let stopped = stopped.clone();
                s.spawn(move || async_io::block_on(SMOL_MT_EX.run(stopped.recv())));
            }
            let out = async_io::block_on(f);
            // Dropping the sender wakes both runners out of `recv`.
            drop(stop);
            out
        })
    }
}
