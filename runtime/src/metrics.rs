//! Per-worker counters, readable from any thread.
//!
//! Counters only the owning worker writes use a relaxed load and store (no RMW:
//! nothing else writes them), and are `AtomicU64` only so that another thread may
//! read them without a data race. Counters written by other threads (eventfd
//! writes) use `fetch_add`. No feature flag: they cost a store each.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::padded::CachePadded;

/// Counters of one worker.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    pub(crate) spawned: AtomicU64,
    pub(crate) spawned_from_outside: CachePadded<AtomicU64>,
    pub(crate) polls: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) epoll_events: AtomicU64,
    pub(crate) remote_wakes: AtomicU64,
    pub(crate) eventfd_writes: CachePadded<AtomicU64>,
    pub(crate) emfile_backoffs: AtomicU64,
    pub(crate) registrations: AtomicU64,
    pub(crate) timers_fired: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) stolen_tasks: AtomicU64,
    pub(crate) overflows: AtomicU64,
    pub(crate) notifies: AtomicU64,
    pub(crate) registration_moves: AtomicU64,
    pub(crate) reactor_rescues: AtomicU64,
    /// Bumped by the worker's reactor as its owner enters and as it leaves
    /// each `epoll_wait`: odd while the owner waits there, even while it runs
    /// tasks. Not a public metric; siblings read it to tell a stuck worker
    /// (`worker/rescue.rs`).
    pub(crate) reactor_turns: AtomicU64,
    /// Tasks that ended on this worker (completed, cancelled, or dropped at
    /// shutdown): `spawned - completed` summed is the alive count.
    pub(crate) completed: AtomicU64,
    /// Tasks in the remote queue, set under its lock.
    pub(crate) remote_depth: CachePadded<AtomicU64>,
    /// Tasks in a lone worker's deque (see `Worker::solo`).
    pub(crate) solo_depth: AtomicU64,
    /// The stealing end of the worker's ring, to read its length.
    pub(crate) ring: std::sync::OnceLock<crate::task::ring::Stealer<crate::worker::SendTask>>,
}

/// A duration in whole nanoseconds, saturating (after 584 years).
pub(crate) fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Adds `n` to a counter only its owner writes.
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

impl WorkerMetrics {
    /// Tasks spawned onto this worker: by its own tasks (`spawn`,
    /// `spawn_local`), or sent to it in turn from outside the pool. A task
    /// stolen later still counts where it was spawned.
    pub fn spawned(&self) -> u64 {
        // Two counters, so that the worker's own spawns need no atomic RMW.
        self.spawned.load(Ordering::Relaxed) + self.spawned_from_outside.load(Ordering::Relaxed)
    }
    /// Task polls.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
    /// Times the worker went to sleep in `epoll_wait`.
    pub fn parks(&self) -> u64 {
        self.parks.load(Ordering::Relaxed)
    }
    /// Events returned by `epoll_wait`, the doorbell's included.
    pub fn epoll_events(&self) -> u64 {
        self.epoll_events.load(Ordering::Relaxed)
    }
    /// Tasks received through the remote queue (spawned or woken from another thread).
    pub fn remote_wakes(&self) -> u64 {
        self.remote_wakes.load(Ordering::Relaxed)
    }
    /// Doorbell (eventfd) writes made to wake this worker.
    pub fn eventfd_writes(&self) -> u64 {
        self.eventfd_writes.load(Ordering::Relaxed)
    }
    /// Times an accept hit EMFILE/ENFILE on this worker and backed off.
    pub fn emfile_backoffs(&self) -> u64 {
        self.emfile_backoffs.load(Ordering::Relaxed)
    }
    /// Descriptors currently registered with this worker's reactor.
    pub fn registrations(&self) -> u64 {
        self.registrations.load(Ordering::Relaxed)
    }
    /// Timers fired by this worker's timer driver.
    pub fn timers_fired(&self) -> u64 {
        self.timers_fired.load(Ordering::Relaxed)
    }
    /// Time the worker spent awake (running tasks, turning its reactor and
    /// timers) rather than asleep in `epoll_wait`, like tokio's
    /// `worker_total_busy_duration`. It is added up each time the worker
    /// parks, so the stretch since its last wake-up is not included yet.
    ///
    /// Comparing workers' shares of busy time over a window shows how evenly
    /// a load is spread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(1).build().unwrap();
    /// let metrics = rt.handle().metrics();
    /// rt.block_on(async {});
    /// let busy = metrics.worker(0).busy_time();
    /// assert!(busy < std::time::Duration::from_secs(60));
    /// ```
    pub fn busy_time(&self) -> Duration {
        Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed))
    }

    /// Times this worker, out of work, stole from a sibling's run queue.
    pub fn steals(&self) -> u64 {
        self.steals.load(Ordering::Relaxed)
    }
    /// Tasks this worker took in those steals (about half a victim's queue each).
    pub fn stolen_tasks(&self) -> u64 {
        self.stolen_tasks.load(Ordering::Relaxed)
    }
    /// Times this worker's run queue was full and moved half of itself to the
    /// runtime's shared queue.
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }
    /// Times this worker, having queued surplus work, woke a parked sibling to
    /// take it.
    pub fn notifies(&self) -> u64 {
        self.notifies.load(Ordering::Relaxed)
    }

    /// Descriptors that moved their registration to this worker's reactor:
    /// from a `block_on` thread's, from a reactor whose worker has exited, or
    /// following the task that registered them, stolen here at least a second
    /// after it registered them (a steal before that leaves them where they
    /// are: see [`reactor_rescues`](WorkerMetrics::reactor_rescues)).
    pub fn registration_moves(&self) -> u64 {
        self.registration_moves.load(Ordering::Relaxed)
    }

    /// Times this worker, idle, collected the events of a sibling that had
    /// not looked at its reactor for a while (a poll that ran for
    /// milliseconds), and ran the tasks they woke.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(2).build().unwrap();
    /// let m = rt.handle().metrics();
    /// // Nobody was stuck: nothing to rescue.
    /// assert_eq!(m.worker(0).reactor_rescues() + m.worker(1).reactor_rescues(), 0);
    /// ```
    pub fn reactor_rescues(&self) -> u64 {
        self.reactor_rescues.load(Ordering::Relaxed)
    }

    /// Tasks waiting in this worker's run queue (the stealable ring, or a lone
    /// worker's deque), not counting its next-to-run slot and its local
    /// tasks. A snapshot: it may change as soon as it is read.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(2).build().unwrap();
    /// let m = rt.handle().metrics();
    /// assert_eq!(m.worker(0).local_queue_depth(), 0); // idle
    /// ```
    pub fn local_queue_depth(&self) -> usize {
        let ring = self.ring.get().map_or(0, |r| r.len());
        ring + self.solo_depth.load(Ordering::Relaxed) as usize
    }

    /// Tasks waiting in this worker's remote queue: woken or spawned from
    /// other threads, not yet taken in by the worker. A snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(1).build().unwrap();
    /// assert_eq!(rt.handle().metrics().worker(0).remote_queue_depth(), 0);
    /// ```
    pub fn remote_queue_depth(&self) -> usize {
        self.remote_depth.load(Ordering::Relaxed) as usize
    }

    /// Counts one EMFILE/ENFILE back-off (called by kiwi-net's accept).
    pub fn record_emfile_backoff(&self) {
        self.emfile_backoffs.fetch_add(1, Ordering::Relaxed);
    }
}

/// A runtime's counters: one [`WorkerMetrics`] per worker, plus runtime-wide ones.
///
/// # Examples
///
/// ```
/// let rt = kiwi_runtime::Runtime::new().unwrap();
/// rt.block_on(async { kiwi_runtime::spawn(async {}).await.unwrap() });
/// let m = rt.handle().metrics();
/// let polls: u64 = (0..m.num_workers()).map(|i| m.worker(i).polls()).sum();
/// assert!(polls >= 1);
/// ```
#[derive(Clone)]
pub struct RuntimeMetrics {
    pub(crate) workers: Vec<Arc<WorkerMetrics>>,
    pub(crate) io: Arc<IoMetrics>,
    pub(crate) blocking: Arc<crate::blocking::Pool>,
}

impl RuntimeMetrics {
    /// Number of workers (threads in the `spawn` rotation).
    pub fn num_workers(&self) -> usize {
        self.workers.len()
    }

    /// Counters of worker `i`.
    ///
    /// # Panics
    ///
    /// If `i >= num_workers()`.
    pub fn worker(&self, i: usize) -> &WorkerMetrics {
        &self.workers[i]
    }

    /// Tasks spawned and not yet finished (their futures still alive):
    /// every `spawn`, and the `spawn_local` tasks of the workers; not
    /// `spawn_blocking` jobs, nor the local tasks of a `Runtime::block_on`
    /// thread (which is not one of the runtime's workers).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(2).build().unwrap();
    /// let m = rt.handle().metrics();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(m.num_alive_tasks(), 1);
    /// h.abort();
    /// let _ = rt.block_on(h);
    /// assert_eq!(m.num_alive_tasks(), 0);
    /// ```
    pub fn num_alive_tasks(&self) -> usize {
        let (mut spawned, mut completed) = (0u64, 0u64);
        for w in &self.workers {
            spawned += w.spawned();
            completed += w.completed.load(Ordering::Relaxed);
        }
        spawned.saturating_sub(completed) as usize
    }

    /// Threads in the blocking pool right now (running a job or idle).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(1).build().unwrap();
    /// assert_eq!(rt.handle().metrics().num_blocking_threads(), 0);
    /// rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    /// assert_eq!(rt.handle().metrics().num_blocking_threads(), 1); // idle, kept alive
    /// ```
    pub fn num_blocking_threads(&self) -> usize {
        self.blocking.load().0
    }

    /// `spawn_blocking` jobs waiting for a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Builder::new().workers(1).build().unwrap();
    /// assert_eq!(rt.handle().metrics().blocking_queue_depth(), 0);
    /// ```
    pub fn blocking_queue_depth(&self) -> usize {
        self.blocking.load().1
    }

    /// Runtime-wide I/O counters (drop-flushes).
    pub fn io(&self) -> &IoMetrics {
        &self.io
    }
}

impl fmt::Debug for RuntimeMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeMetrics")
            .field("workers", &self.workers)
            .field("io", &self.io)
            .finish()
    }
}

/// Runtime-wide I/O counters, shared by all workers.
#[derive(Debug, Default)]
pub struct IoMetrics {
    drop_flushes_started: AtomicU64,
    drop_flushes_finished: AtomicU64,
    drop_flushes_abandoned: AtomicU64,
    spliced: AtomicU64,
}

impl IoMetrics {
    /// Records that a dropped socket handed unsent bytes (or a graceful close) to
    /// the runtime.
    pub fn drop_flush_started(&self) {
        self.drop_flushes_started.fetch_add(1, Ordering::Relaxed);
    }
    /// Records that such a close finished (bytes sent or given up after the linger bound).
    pub fn drop_flush_finished(&self) {
        self.drop_flushes_finished.fetch_add(1, Ordering::Relaxed);
    }
    /// Records that such a close was abandoned at runtime shutdown.
    pub fn drop_flush_abandoned(&self) {
        self.drop_flushes_abandoned.fetch_add(1, Ordering::Relaxed);
    }
    /// Drop-flushes still in progress.
    pub fn drop_flushes_pending(&self) -> u64 {
        let started = self.drop_flushes_started.load(Ordering::Relaxed);
        let done = self.drop_flushes_finished.load(Ordering::Relaxed)
            + self.drop_flushes_abandoned.load(Ordering::Relaxed);
        started.saturating_sub(done)
    }
    /// Drop-flushes abandoned because the runtime shut down first.
    pub fn drop_flushes_abandoned(&self) -> u64 {
        self.drop_flushes_abandoned.load(Ordering::Relaxed)
    }
    /// Records `n` bytes moved socket to socket by `splice(2)`.
    pub fn record_spliced(&self, n: u64) {
        self.spliced.fetch_add(n, Ordering::Relaxed);
    }
    /// Bytes `kiwi::net::splice_bidirectional` moved without copying them
    /// to user space.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = kiwi_runtime::Runtime::new()?;
    /// assert_eq!(rt.handle().metrics().io().spliced_bytes(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spliced_bytes(&self) -> u64 {
        self.spliced.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::pending;

    /// Regression: a spawn made after the runtime closed (here from a future's
    /// destructor, run by the shutdown on a worker) was cancelled at once and
    /// counted as completed, but never as spawned.
    #[test]
    fn a_spawn_after_close_counts_as_spawned_and_completed() {
        struct SpawnOnDrop;
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                drop(crate::spawn(async {}));
            }
        }
        let rt = crate::Builder::new().workers(2).build().unwrap();
        let handle = rt.handle().clone();
        let (polled, first_polls) = std::sync::mpsc::channel();
        for _ in 0..4 {
            let polled = polled.clone();
            rt.spawn(async move {
                let _guard = SpawnOnDrop;
                polled.send(()).unwrap();
                pending::<()>().await
            });
        }
        // Every task has reached its first poll (and then its `Pending`).
        first_polls.iter().take(4).for_each(drop);
        drop(rt);
        let m = handle.metrics();
        let spawned: u64 = m.workers.iter().map(|w| w.spawned()).sum();
        let completed: u64 = m
            .workers
            .iter()
            .map(|w| w.completed.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        assert_eq!((spawned, completed), (8, 8));
    }
}
