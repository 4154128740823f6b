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
    pub use kiwi_runtime::clock::{advance, now, pause, resume};
    pub use kiwi_time::{
        interval, interval_at, sleep, sleep_until, timeout, timeout_at, Duration, Elapsed, Instant,
        Interval, MissedTickBehavior, Sleep, Timeout,
    };
}

/// I/O traits, utilities and the readiness adapter.
///
/// The traits are futures-io's, so every runtime-agnostic crate that speaks
/// them works with kiwi's sockets. The utilities are futures-util's, named
/// here so that nobody has to look for them: [`copy`](io::copy),
/// [`copy_buf`](io::copy_buf), [`BufReader`](io::BufReader),
/// [`BufWriter`](io::BufWriter), [`split`](io::split), [`empty`](io::empty),
/// [`sink`](io::sink), [`repeat`](io::repeat), [`Cursor`](io::Cursor); and
/// kiwi's own [`copy_bidirectional`](io::copy_bidirectional), the heart of a
/// proxy, which needs no buffer of its own.
///
/// ```
/// use kiwi::io::{AsyncReadExt, AsyncWriteExt, BufReader, Cursor};
///
/// kiwi::block_on(async {
///     let mut reader = BufReader::new(Cursor::new(b"hello".to_vec()));
///     let mut out = Vec::new();
///     kiwi::io::copy(&mut reader, &mut out).await.unwrap();
///     assert_eq!(out, b"hello");
///     let mut sink = kiwi::io::sink();
///     sink.write_all(b"gone").await.unwrap();
///     let mut five = [0u8; 5];
///     kiwi::io::repeat(7).read_exact(&mut five).await.unwrap();
///     assert_eq!(five, [7; 5]);
/// });
/// ```
pub mod io {
    pub use futures_util::io::{
        copy, copy_buf, empty, repeat, sink, AsyncBufRead, AsyncBufReadExt, AsyncRead,
        AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter, Cursor, Empty, ReadHalf,
        Repeat, ReuniteError, Sink, WriteHalf,
    };
    pub use kiwi_net::copy_bidirectional;
    pub use kiwi_runtime::io::{
        stderr, stdin, stdout, AsyncFd, AsyncFdReadyGuard, Stderr, Stdin, Stdout, TryIoError,
    };

    /// Splits any reader-writer into halves that can be moved to different
    /// tasks (a lock shared by the two; `AsyncReadExt::split`). kiwi's TCP
    /// streams have their own lock-free `into_split`.
    ///
    /// ```
    /// use kiwi::io::{AsyncReadExt, AsyncWriteExt, Cursor};
    ///
    /// kiwi::block_on(async {
    ///     let (mut r, mut w) = kiwi::io::split(Cursor::new(b"abc".to_vec()));
    ///     let mut first = [0u8; 1];
    ///     r.read_exact(&mut first).await.unwrap();
    ///     w.write_all(b"X").await.unwrap();
    ///     let inner = r.reunite(w).unwrap().into_inner();
    ///     assert_eq!(inner, b"aXc");
    /// });
    /// ```
    pub fn split<T: AsyncRead + AsyncWrite>(stream: T) -> (ReadHalf<T>, WriteHalf<T>) {
        AsyncReadExt::split(stream)
    }
}

/// Waits on several futures at once, from futures-util: [`select!`] (the
/// first branch to finish wins, the others are dropped), [`select_biased!`]
/// (the same, tried in order), [`join!`] and [`try_join!`] (all of them),
/// and [`pin_mut!`].
///
/// kiwi's timers are `Unpin` (the wheel holds slab keys, not pointers into
/// the future), so a `Sleep` goes into `select!` with `.fuse()` alone, no
/// pinning:
///
/// ```
/// use futures_util::FutureExt;
/// use std::time::Duration;
///
/// kiwi::block_on(async {
///     // A JoinHandle is Unpin too.
///     let mut answer = kiwi::spawn(async { 42 }).fuse();
///     let mut deadline = kiwi::time::sleep(Duration::from_secs(10)).fuse();
///     kiwi::select! {
///         _ = deadline => panic!("no answer in time"),
///         r = answer => assert_eq!(r.unwrap(), 42),
///     }
///     let (a, b) = kiwi::join!(async { 1 }, async { 2 });
///     assert_eq!(a + b, 3);
/// });
/// ```
pub use futures_util::{join, pin_mut, select, select_biased, try_join};

/// Counters and the cooperative budget.
pub mod runtime {
    pub use kiwi_runtime::coop;
    pub use kiwi_runtime::metrics::{IoMetrics, WorkerMetrics};
    pub use kiwi_runtime::trace;
    pub use kiwi_runtime::RuntimeMetrics;
}

/// Files and directories on the blocking pool: [`read`](fs::read),
/// [`write`](fs::write), [`File`](fs::File), [`read_dir`](fs::read_dir), ...
pub mod fs {
    pub use kiwi_runtime::fs::*;
}

/// Child processes: [`Command`](process::Command), [`Child`](process::Child),
/// exit awaited through a pidfd in the reactor.
pub mod process {
    pub use kiwi_runtime::process::*;
}

/// Signals.
pub mod signal {
    pub use kiwi_runtime::signal::*;
}

/// Coordination between tasks that kiwi provides itself:
/// [`CancellationToken`](sync::CancellationToken), a shutdown signal whose
/// wait costs one atomic load per poll. Channels and locks come from
/// runtime-agnostic crates (see the README).
pub mod sync {
    pub use kiwi_runtime::sync::{CancellationToken, WaitForCancellation};
}

/// Sockets: TCP, UDP and Unix.
pub mod net {
    pub use kiwi_net::*;
}
