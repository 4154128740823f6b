//! kiwi: an async runtime for Linux that you can read in a day.
//!
//! Per-thread executors poll tasks and park in `epoll_wait`; edge-triggered
//! readiness wakes the stored wakers; an eventfd carries cross-thread spawns and
//! wakes; a hierarchical timing wheel backs sleep, timeout and interval; and the
//! sockets in [`net`] are nonblocking, with internal buffers.
//!
//! This crate is the facade: it re-exports the layers, each of which teaches its
//! own part in its crate docs:
//!
//! - `kiwi-runtime`: tasks, workers, the epoll reactor, the blocking pool;
//! - `kiwi-time`: the clock, the timing wheel, sleep/timeout/interval;
//! - `kiwi-net`: Buffer, TCP, UDP and Unix sockets.
//!
//! `docs/ARCHITECTURE.md` in the repository follows one request through all of
//! them.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! #[kiwi::main(workers = 2)]
//! async fn main() {
//!     let handle = kiwi::spawn(async {
//!         kiwi::time::sleep(Duration::from_millis(10)).await;
//!         "slept"
//!     });
//!     assert_eq!(handle.await.unwrap(), "slept");
//! }
//! ```
//!
//! Channels and locks are not kiwi's to write: runtime-agnostic crates such as
//! `async-channel`, `futures-channel`, `async-lock` and `event-listener` work on
//! kiwi unchanged.

// The README's code blocks are compiled as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use kiwi_macros::{main, test};
pub use kiwi_runtime::{
    block_on, spawn, spawn_blocking, spawn_local, yield_now, AbortHandle, Builder, EnterGuard,
    Handle, JoinError, JoinHandle, JoinSet, Runtime, RuntimeMetrics, YieldNow,
};

/// Task identity: [`Id`](task::Id), and [`id`](task::id) / [`try_id`](task::try_id)
/// inside a task.
///
/// ```
/// kiwi::block_on(async {
///     let h = kiwi::spawn(async { kiwi::task::id() });
///     assert_eq!(h.id(), h.await.unwrap());
/// });
/// ```
pub mod task {
    pub use kiwi_runtime::task::{id, try_id, AbortHandle, Id, JoinError, JoinHandle};
}

/// Timers: [`sleep`](time::sleep), [`timeout`](time::timeout), [`interval`](time::interval).
///
/// Timers do not spend the cooperative I/O budget.
pub mod time {
    pub use kiwi_time::{
        interval, interval_at, sleep, sleep_until, timeout, timeout_at, Duration, Elapsed, Instant,
        Interval, MissedTickBehavior, Sleep, Timeout,
    };
}

/// I/O traits and the readiness adapter.
pub mod io {
    pub use futures_util::io::{
        AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
    };
    pub use kiwi_runtime::io::{AsyncFd, AsyncFdReadyGuard, TryIoError};
}

/// Counters and the cooperative budget.
pub mod runtime {
    pub use kiwi_runtime::coop;
    pub use kiwi_runtime::metrics::{IoMetrics, WorkerMetrics};
    pub use kiwi_runtime::trace;
    pub use kiwi_runtime::RuntimeMetrics;
}

/// Signals.
pub mod signal {
    pub use kiwi_runtime::signal::*;
}

/// Sockets: TCP, UDP and Unix.
pub mod net {
    #[allow(unused_imports)] // filled by kiwi-net
    pub use kiwi_net::*;
}
