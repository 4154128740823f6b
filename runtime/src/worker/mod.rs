//! A worker: Kiwi's `EventLoop`, one per thread, in a pool that balances itself.
//!
//! A worker owns an epoll reactor, a timer driver, and three run queues:
//!
//! - a **next-to-run slot** for the newest task spawned or woken on this thread
//!   (tokio's LIFO slot): the task that was just made runnable is usually the
//!   one whose data is hot in cache, as when one task sends to another;
//! - a **ring** of `Send` tasks (`task/ring.rs`): bounded, lock-free, pushed and
//!   popped only by this worker, and stolen from, half at a time, by idle
//!   siblings. When it is full, half of it moves to the runtime's shared queue;
//! - a **local queue** of this worker's `spawn_local` tasks, which nobody else
//!   may run, so nobody else can see it.
//!
//! Other threads reach it through `WorkerRemote` (`remote.rs`): a remote queue
//! for wakes and outside spawns, and the eventfd doorbell.
//!
//! # The loop
//!
//! 1. Pick the next task: the next-to-run slot, unless it has run
//!    [`MAX_NEXT_STREAK`] times in a row (two tasks that wake each other would
//!    otherwise keep the rest of the queue waiting forever); then the ring and
//!    the local queue, alternately, so that neither starves the other; then the
//!    shared queue. Every [`EVENT_INTERVAL`]th pick looks at the shared queue
//!    first, so that tasks which overflowed there are not left behind by a
//!    worker whose ring never empties (Go checks its global queue every 61st
//!    schedule for the same reason).
//! 2. Poll it with a fresh cooperative budget. After every poll, take the
//!    remote queue if its notified bit is set (one relaxed load otherwise); and
//!    every [`EVENT_INTERVAL`] polls, poll the reactor with a zero timeout and
//!    fire due timers, so that a busy worker still hears its sockets.
//! 3. With nothing to run, **search**: steal about half of a sibling's ring,
//!    starting from a random one, or take a batch from the shared queue.
//! 4. With nothing found, **park** in `epoll_wait` until I/O, a timer, or the
//!    doorbell.
//!
//! # Spawning and sharing
//!
//! `spawn` on a worker puts the new task in that worker's next-to-run slot (a
//! task displaced from the slot goes to the ring). `spawn` from anywhere else
//! (the `block_on` thread, a plain thread, a blocking-pool thread) goes
//! round-robin to the workers' remote queues, so an accept loop on the main
//! thread still spreads its connections. A worker that queues *surplus* work
//! (a second runnable task) while a sibling is parked and none is searching
//! wakes exactly one sibling (`idle.rs`), which steals. Filling the empty next-to-run slot is not
//! surplus: the worker will run that task itself next.
//!
//! The same loop serves `block_on`: the root future is polled on the calling
//! thread whenever its waker fired, between tasks. A `Runtime::block_on`
//! thread is not in the pool: it never steals and is never stolen from.

pub(crate) mod alarm;
mod handshake;
pub(crate) mod idle;
mod park;
mod paused;
mod queue;
mod remote;
pub(crate) mod rescue;
mod schedule;
mod shutdown;
pub(crate) mod start;
mod steal;

use queue::RunQueue;

pub(crate) use remote::WorkerRemote;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use kiwi_time::clock::Clock;
use kiwi_time::driver::Driver;

use crate::handle::Handle;
use crate::metrics::bump;
use crate::reactor::{Events, Reactor};
use crate::task::registry::Registry;
use crate::task::ring::{shrink_after_burst, Local};
use crate::task::Notified;
use crate::{context, coop, trace};

/// A `Send` task's queue entry: it may sit in a ring, the shared queue, or any
/// worker's remote queue.
pub(crate) type SendTask = Notified<Handle>;
/// A local task's queue entry: only its own worker's queues.
pub(crate) type LocalTask = Notified<Arc<WorkerRemote>>;

/// Task polls between two looks at the remote queue, the reactor, the timers
/// and (first) the shared queue, by default (`Builder::event_interval`).
pub(crate) const EVENT_INTERVAL: u32 = 61;

/// Polls in a row the next-to-run slot may win before the queue goes first.
pub(crate) const MAX_NEXT_STREAK: u32 = 3;

/// Events fetched per `epoll_wait`.
const EVENTS: usize = 1024;

/// A task picked to run.
enum Job {
    Send(SendTask),
    Local(LocalTask),
}

/// The thread-owned half of a worker.
pub(crate) struct Worker {
    pub(crate) shared: Arc<WorkerRemote>,
    pub(crate) handle: Handle,
    pub(crate) reactor: Arc<Reactor>,
    timers: Driver,
    /// The next-to-run slot, and how many times in a row it has won.
    next: Cell<Option<SendTask>>,
    next_streak: Cell<u32>,
    ring: RefCell<RunQueue>,
    local: RefCell<VecDeque<LocalTask>>,
    /// This worker's local tasks, for shutdown (`Send` ones are in the
    /// runtime's registry, except on a lone worker: see [`Worker::solo`]).
    pub(crate) registry: RefCell<Registry>,
    events: RefCell<Events>,
    /// Swapped with the remote queue under its lock, so draining never allocates.
    spare: RefCell<(Vec<SendTask>, Vec<LocalTask>)>,
    /// Picks so far: the fairness interval and the queue alternation read it.
    tick: Cell<u32>,
    /// Set (while tracing) when the job about to run came from `next`.
    trace_lifo: Cell<bool>,
    until_maintenance: Cell<u32>,
    /// True while this worker counts as searching in the runtime's `Idle`.
    searching: Cell<bool>,
    /// A pool worker with siblings: the only kind that steals and notifies
    /// (fixed at start; a field because the hot paths ask every time).
    shares: bool,
    /// Polls between fairness looks (`Builder::event_interval`).
    event_interval: u32,
    /// State of a xorshift generator for the first victim of a steal.
    rng: Cell<u32>,
    /// When the worker last woke from `epoll_wait` (or started): the start of
    /// the busy stretch that the next park ends (`WorkerMetrics::busy_time`).
    awake_since: Cell<Instant>,
    /// True while this thread dispatches a reactor's events: the wakes are
    /// that reactor's edges, and their tasks come here (`schedule.rs`).
    pub(crate) dispatching: Cell<bool>,
    /// Whether this worker watches its siblings' reactors (`rescue.rs`).
    watching: rescue::Watching,
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<WorkerRemote>,
        ring: Local<SendTask>,
        handle: Handle,
        reactor: Arc<Reactor>,
    ) -> Worker {
        let unpark = Waker::from(shared.clone());
        let solo = handle.inner.workers.len() == 1 && shared.index == 0;
        // A lone worker's clock can be paused (`kiwi::time::pause`).
        let timers = if solo {
            Driver::with_clock(unpark, Clock::pausable())
        } else {
            Driver::new(unpark)
        };
        let shares = handle.inner.workers.len() > 1 && shared.index != usize::MAX;
        let event_interval = handle.inner.event_interval;
        let metrics = shared.metrics.clone();
        Worker {
            shares,
            event_interval,
            rng: Cell::new((shared.index as u32).wrapping_mul(0x9E37_79B9) | 1),
            shared,
            handle,
            reactor,
            timers,
            next: Cell::new(None),
            next_streak: Cell::new(0),
            ring: RefCell::new(if solo {
                RunQueue::Solo(VecDeque::with_capacity(64), metrics)
            } else {
                RunQueue::Ring(ring)
            }),
            local: RefCell::new(VecDeque::with_capacity(64)),
            registry: RefCell::new(Registry::default()),
            events: RefCell::new(Events::with_capacity(EVENTS)),
            spare: RefCell::new((Vec::new(), Vec::new())),
            tick: Cell::new(0),
            trace_lifo: Cell::new(false),
            until_maintenance: Cell::new(event_interval),
            searching: Cell::new(false),
            awake_since: Cell::new(Instant::now()),
            dispatching: Cell::new(false),
            watching: rescue::Watching::default(),
        }
    }

    /// True for a worker of the pool (not a `Runtime::block_on` thread).
    pub(crate) fn in_pool(&self) -> bool {
        self.shared.index != usize::MAX
    }

    /// True if stealing and waking siblings can help: a pool of two or more.
    fn shares(&self) -> bool {
        self.shares
    }

    /// True for the only worker of its runtime (`kiwi::block_on`, a
    /// `current_thread` runtime). It polls every task itself, so its run queue
    /// is a plain deque (a ring's atomics would guard against thieves that do
    /// not exist) and the tasks it polls enter its own registry, no lock.
    pub(crate) fn solo(&self) -> bool {
        matches!(*self.ring.borrow(), RunQueue::Solo(..))
    }

    /// A task spawned or woken on this thread: the next-to-run slot. The task
    /// it displaces goes to the back of the ring: that is surplus work, and
    /// may wake a parked sibling.
    ///
    /// Except when a burst of readiness from this worker's reactor queues it
    /// while a parked sibling *watches* (`rescue.rs`): that sibling wakes
    /// within 2 ms anyway while any worker is awake, and steals what waits
    /// here, so nobody is woken now. Under a steady I/O load there nearly
    /// always is a watcher, and the wakes this saves came every 20 to 50
    /// requests (B8): each an eventfd write and a sibling's trip out of
    /// `epoll_wait` (several µs in this VM) to steal a few tasks of a few
    /// µs. With the rule, B8's eventfd writes per request fell by two thirds
    /// on echo and by half on HTTP, and its server CPU per request went from
    /// 1.11× to 1.06× tokio on echo and 1.05× to 1.03× on HTTP (medians of
    /// three runs each, docs/BENCHMARKS.md). With no watcher (the runtime was
    /// idle until this burst),
    /// the burst wakes a sibling as any surplus does: otherwise a burst
    /// queued behind a task that then blocks its worker would wait for the
    /// whole block (`tests/runtime_scheduler.rs`,
    /// `a_burst_after_idleness_is_shared_before_its_worker_blocks`). What is
    /// left of a burst is also shared at the fairness tick (`maintenance`).
    pub(crate) fn schedule_next(&self, task: SendTask) {
        if let Some(prev) = self.next.replace(Some(task)) {
            self.push_back(prev);
        }
    }

    /// The back of the ring. Wakes a parked sibling if this leaves surplus
    /// work.
    pub(crate) fn push_back(&self, task: SendTask) {
        let overflowed = self.enqueue(task);
        // A reactor's edges wake nobody while a sibling watches: see
        // `schedule_next`.
        let share_now = !self.dispatching.get()
            || !(self.handle.inner.watcher).watched_by_another(self.shared.index);
        if self.shares && (overflowed || (share_now && self.surplus())) {
            self.notify_parked();
        }
    }

    /// The back of the ring, overflowing half of it to the shared queue when
    /// full; true if it overflowed.
    fn enqueue(&self, task: SendTask) -> bool {
        let overflowed = self
            .ring
            .borrow_mut()
            .push_back(task, &self.handle.inner.inject);
        if overflowed {
            bump(&self.shared.metrics.overflows, 1);
        }
        overflowed
    }

    /// More runnable tasks than the one this worker will run next.
    pub(super) fn surplus(&self) -> bool {
        self.ring.borrow().len() + usize::from(self.has_next()) > 1
    }

    fn has_next(&self) -> bool {
        let next = self.next.take();
        let has = next.is_some();
        self.next.set(next);
        has
    }

    /// True if a task waits in this worker's own queues.
    fn has_runnable(&self) -> bool {
        !self.local.borrow().is_empty() || !self.ring.borrow().is_empty() || self.has_next()
    }

    /// A local task made runnable on this thread.
    pub(crate) fn push_local(&self, task: LocalTask) {
        self.local.borrow_mut().push_back(task);
    }

    /// Runs the worker loop until `root` completes (`block_on`), or until the
    /// runtime asks it to stop (`root` is `None`).
    pub(crate) fn run<F: Future>(&self, mut root: Option<Pin<&mut F>>) -> Option<F::Output> {
        let _timers = self.timers.enter();
        // The root (if any) is polled first; a worker thread has none, and never
        // sees the flag set.
        let root_waker = Arc::new(RootWaker {
            woken: AtomicBool::new(root.is_some()),
            shared: self.shared.clone(),
        });
        let waker = Waker::from(root_waker.clone());
        loop {
            if let Some(fut) = root.as_mut() {
                if root_waker.woken.swap(false, Ordering::AcqRel) {
                    let mut cx = Context::from_waker(&waker);
                    let traced = trace::enabled().then(trace::now);
                    let poll = coop::with_budget(|| fut.as_mut().poll(&mut cx));
                    if let Some(start) = traced {
                        trace::record_span(trace::Kind::Root, start, 0, 0, 0);
                    }
                    if let Poll::Ready(out) = poll {
                        return Some(out);
                    }
                }
            } else if self.shared.stop.load(Ordering::Acquire) {
                return None;
            }
            // Run a batch, then look at the root again.
            let mut ran = 0;
            while ran < self.event_interval {
                let Some(job) = self.next_job() else { break };
                self.run_job(job);
                ran += 1;
            }
            if ran == self.event_interval || root_waker.woken.load(Ordering::Acquire) {
                continue;
            }
            if let Some(task) = self.search() {
                self.run_job(Job::Send(task));
                continue;
            }
            self.park(&root_waker.woken);
        }
    }

    /// The next task from this worker's own queues (see the module docs).
    fn next_job(&self) -> Option<Job> {
        let tick = self.tick.get();
        self.tick.set(tick.wrapping_add(1));
        if tick % self.event_interval == 0 {
            if let Some(task) = self.take_shared() {
                return Some(Job::Send(task));
            }
        }
        if let Some(task) = self.next.take() {
            let streak = self.next_streak.get();
            if streak < MAX_NEXT_STREAK {
                self.next_streak.set(streak + 1);
                if trace::enabled() {
                    self.trace_lifo.set(true);
                }
                return Some(Job::Send(task));
            }
            self.ring
                .borrow_mut()
                .push_back(task, &self.handle.inner.inject);
        }
        self.next_streak.set(0);
        let from_ring = || self.ring.borrow_mut().pop().map(Job::Send);
        let from_local = || {
            let mut local = self.local.borrow_mut();
            let task = local.pop_front();
            if task.is_none() {
                shrink_after_burst(&mut local);
            }
            task.map(Job::Local)
        };
        let job = if tick % 2 == 0 {
            from_ring().or_else(from_local)
        } else {
            from_local().or_else(from_ring)
        };
        job.or_else(|| self.take_shared().map(Job::Send))
    }

    fn run_job(&self, job: Job) {
        if self.closing() {
            // The runtime is shutting down: other workers are already dropping
            // their tasks, and their drops can wake ours (a socket's peer closing,
            // a channel's sender dropping). Such a task must be cancelled, not
            // polled to completion: every worker checks the runtime-wide flag,
            // which is set before any worker is told to stop, so none polls a
            // task another worker's teardown woke.
            match job {
                Job::Send(t) => t.shutdown(),
                Job::Local(t) => t.shutdown(),
            }
            return;
        }
        if self.searching.get() {
            self.stop_searching();
        }
        bump(&self.shared.metrics.polls, 1);
        let header = match &job {
            Job::Send(t) => t.header(),
            Job::Local(t) => t.header(),
        };
        if header.owner() != self.shared.index {
            // Stolen, or taken from the shared queue: its wakes come here now.
            header.set_owner(self.shared.index);
        }
        let id = header.id;
        let traced = trace::enabled().then(|| {
            trace::emit(|| format!("{}: polling task {id}", trace::worker(self.shared.index)));
            trace::now()
        });
        coop::with_budget(|| match job {
            Job::Send(t) => t.run(),
            Job::Local(t) => t.run(),
        });
        if let Some(start) = traced {
            let lifo = self.trace_lifo.replace(false);
            trace::record_span(trace::Kind::Poll, start, id.as_u64(), lifo.into(), 0);
        }
        // Remote wakes are picked up after every poll: checking costs one relaxed
        // load of the handshake word while nothing arrived, and it keeps the
        // latency of a cross-thread wake to one task poll on a busy worker. The
        // reactor and the timers, which cost a syscall or a clock read, wait for
        // the maintenance tick.
        self.drain_remote();
        let left = self.until_maintenance.get() - 1;
        if left == 0 {
            self.until_maintenance.set(self.event_interval);
            self.maintenance();
        } else {
            self.until_maintenance.set(left);
        }
    }

    /// True once this worker's runtime shuts down (never for a `block_on`
    /// thread, whose tasks end with its `block_on`).
    fn closing(&self) -> bool {
        !self.reactor.is_block_on && self.handle.inner.closed.load(Ordering::Acquire)
    }
}

/// The waker of a `block_on` root future: a flag plus a nudge to the worker.
struct RootWaker {
    woken: AtomicBool,
    shared: Arc<WorkerRemote>,
}

impl Wake for RootWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        // On the worker's own thread the loop checks the flag before it parks;
        // only another thread needs to nudge it.
        let here =
            context::with_worker(|w| w.is_some_and(|w| Arc::ptr_eq(&w.shared, &self.shared)));
        if !here {
            self.shared.unpark();
        }
    }
}
