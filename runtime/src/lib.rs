//! kiwi-runtime: the heart of kiwi — tasks and wakers, per-thread workers parked
//! in epoll, eventfd wakeups, and a blocking pool.
//!
//! # The pieces, and how they map to Kiwi (C++)
//!
//! | Kiwi | here | what it does |
//! |---|---|---|
//! | `EventLoop` (one per thread) | a worker (`worker/`) | polls tasks, parks in `epoll_wait` |
//! | `Epoll`, `Channel` | `reactor` | records edges per descriptor, wakes tasks |
//! | eventfd + task queue | remote queue + doorbell | cross-thread spawns and wakes |
//! | `EventLoopPool` | [`Runtime`] | N workers that share work by stealing |
//! | callbacks | [`task`]s | futures polled by a worker |
//!
//! # The life of a task
//!
//! [`spawn`] allocates the task (one block: header, future, output) and
//! queues it: on a worker, in that worker's next-to-run slot; from anywhere
//! else, on the workers in turn. The worker polls it; the future registers its
//! waker with whatever it waits for — a socket's readiness in the reactor, a
//! timer in the wheel, a channel — and returns `Pending`. Only then does the
//! task enter the runtime's registry, where shutdown can find it while it sits
//! idle in no queue (a task done in its first poll never enters it). When the kernel reports an edge on that socket,
//! `epoll_wait` returns on the worker, the reactor records the edge and calls
//! the stored waker, and the task goes back on a run queue: the worker's own
//! if the wake happened on it (no lock, no syscall), the worker's remote
//! queue otherwise. The poll that follows finds the socket ready and makes
//! progress.
//!
//! # The life of a steal
//!
//! A worker that has queued more than it is about to run, while a sibling is
//! parked and nobody is searching, wakes that sibling (one, not all). A worker
//! with nothing to run steals about half of a sibling's queue before it
//! parks. A stolen task's sockets stay registered where they were: the next
//! edge there wakes the task back onto that worker, so a steal costs no
//! syscall. If that worker is stuck in one long poll, an idle sibling turns
//! its reactor for it (a *rescue*). `spawn_local` tasks are never stolen: they
//! sit in a queue only their worker can see.
//! `docs/ARCHITECTURE.md` walks through the whole protocol.
//!
//! # What the reactor does with an edge
//!
//! Descriptors are registered once, edge-triggered, for reading and writing. An
//! edge means "something changed", not "the state is": the reactor bumps a
//! per-direction tick and sets `READY`; an operation that then gets `WouldBlock`
//! clears `READY` only if the tick is unchanged, so an edge that arrived during the
//! operation is never lost. See `reactor/scheduled_io.rs`.
//!
//! # Why the eventfd is written only when the owner is parked
//!
//! A running worker will look at its remote queue on its own (between batches
//! of polls, and before it sleeps), so writing the doorbell then would cost a
//! syscall for nothing. Only a worker that is asleep in `epoll_wait` needs the
//! write. Knowing which without a lost wakeup is the park/unpark handshake of
//! `worker/handshake.rs`, one atomic word updated by read-modify-write on both
//! sides, and checked by loom.
//!
//! # Example
//!
//! ```
//! let rt = kiwi_runtime::Builder::new().workers(2).build()?;
//! let total = rt.block_on(async {
//!     let mut handles = Vec::new();
//!     for i in 0..100u64 {
//!         handles.push(kiwi_runtime::spawn(async move { i }));
//!     }
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(total, 4950);
//! # Ok::<(), std::io::Error>(())
//! ```

#![deny(missing_docs)]

mod blocking;
mod builder;
pub mod clock;
mod context;
pub mod coop;
pub mod fs;
mod handle;
pub mod io;
mod join_set;
mod loom;
pub mod metrics;
mod padded;
pub mod process;
mod reactor;
mod runtime;
pub mod signal;
mod slab;
mod spawn;
pub mod sync;
#[doc(hidden)]
pub mod sys;
pub mod task;
pub mod trace;
mod worker;

pub use builder::Builder;
pub use handle::Handle;
pub use join_set::JoinSet;
pub use metrics::RuntimeMetrics;
pub use runtime::{EnterGuard, Runtime};
pub use spawn::{block_on, spawn, spawn_blocking, spawn_local, yield_now, YieldNow};
pub use task::{AbortHandle, JoinError, JoinHandle};

/// The runtime this thread runs in, if any: the handle of a worker, a
/// `block_on`, a blocking-pool thread, or an entered runtime.
pub fn try_current() -> Option<Handle> {
    Handle::try_current()
}

/// Hooks for kiwi-net: the runtime-wide I/O counters of the current runtime.
#[doc(hidden)]
pub fn current_io_metrics() -> Option<std::sync::Arc<metrics::IoMetrics>> {
    context::handle().map(|h| h.inner.io_metrics.clone())
}

/// Hooks for kiwi-net: counts an EMFILE back-off on the current worker.
#[doc(hidden)]
pub fn record_emfile_backoff() {
    context::with_worker(|w| {
        if let Some(w) = w {
            w.shared.metrics.record_emfile_backoff();
        }
    });
}
