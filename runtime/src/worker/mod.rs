//! A worker: Kiwi's `EventLoop`, one per thread.
//!
//! It owns a local run queue (touched only by its thread: no lock), a remote queue
//! other threads push to (`shared.rs`), an epoll reactor, a timer driver and the
//! registry of the tasks it owns. Its loop:
//!
//! 1. pop a task from the local queue and poll it, with a fresh cooperative budget;
//! 2. after every poll, take the remote queue if its notified bit is set (one
//!    relaxed load otherwise), so a wake from another thread waits at most one
//!    task poll; and every [`MAINTENANCE_INTERVAL`] polls, even if the local queue
//!    never empties, poll the reactor with a zero timeout and fire due timers — so
//!    a task that always yields cannot starve I/O or timers;
//! 3. when there is nothing to run: fire timers, then park in `epoll_wait` until
//!    the next timer deadline, an I/O edge, or the doorbell.
//!
//! The same loop serves `block_on`: the root future is polled on the calling thread
//! whenever its waker fired, between tasks.

mod handshake;
mod registry;
mod shared;

pub(crate) use shared::WorkerShared;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use kiwi_time::driver::Driver;

use crate::handle::Handle;
use crate::metrics::{bump, saturating_nanos};
use crate::reactor::{Events, Reactor};
use crate::task::Notified;
use crate::{context, coop, trace};
use registry::Registry;

/// Task polls between two looks at the remote queue, the reactor and the timers.
pub(crate) const MAINTENANCE_INTERVAL: u32 = 61;

/// Events fetched per `epoll_wait`.
const EVENTS: usize = 1024;

/// The thread-owned half of a worker.
pub(crate) struct Worker {
    pub(crate) shared: Arc<WorkerShared>,
    pub(crate) handle: Handle,
    pub(crate) reactor: Arc<Reactor>,
    timers: Driver,
    local: RefCell<VecDeque<Notified>>,
    pub(crate) registry: RefCell<Registry>,
    events: RefCell<Events>,
    /// Swapped with the remote queue under its lock, so draining never allocates.
    spare: RefCell<Vec<Notified>>,
    /// Round-robin position for `spawn` from this thread.
    pub(crate) spawn_cursor: Cell<usize>,
    until_maintenance: Cell<u32>,
    /// When the worker last woke from `epoll_wait` (or started): the start of
    /// the busy stretch that the next park ends (`WorkerMetrics::busy_time`).
    awake_since: Cell<Instant>,
}

impl Worker {
    pub(crate) fn new(shared: Arc<WorkerShared>, handle: Handle, reactor: Arc<Reactor>) -> Worker {
        let unpark = Waker::from(shared.clone());
        Worker {
            spawn_cursor: Cell::new(shared.index.wrapping_add(1)),
            shared,
            handle,
            reactor,
            timers: Driver::new(unpark),
            local: RefCell::new(VecDeque::with_capacity(256)),
            registry: RefCell::new(Registry::default()),
            events: RefCell::new(Events::with_capacity(EVENTS)),
            spare: RefCell::new(Vec::new()),
            until_maintenance: Cell::new(MAINTENANCE_INTERVAL),
            awake_since: Cell::new(Instant::now()),
        }
    }

    /// Owner-thread push: no lock, no syscall.
    pub(crate) fn push_local(&self, task: Notified) {
        self.local.borrow_mut().push_back(task);
    }

    /// Runs the worker loop until `root` completes (`block_on`), or until the
    /// runtime asks it to stop (`root` is `None`).
    pub(crate) fn run<F: Future>(&self, mut root: Option<Pin<&mut F>>) -> Option<F::Output> {
        let _context = context::enter_worker(self);
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
                    if let Poll::Ready(out) = coop::with_budget(|| fut.as_mut().poll(&mut cx)) {
                        return Some(out);
                    }
                }
            } else if self.shared.stop.load(Ordering::Acquire) {
                return None;
            }
            // Run a batch, then look at the root again.
            let mut ran = 0;
            while ran < MAINTENANCE_INTERVAL {
                let next = self.local.borrow_mut().pop_front();
                let Some(task) = next else { break };
                self.poll_task(task);
                ran += 1;
            }
            if ran == MAINTENANCE_INTERVAL || root_waker.woken.load(Ordering::Acquire) {
                continue;
            }
            self.park(&root_waker.woken);
        }
    }

    fn poll_task(&self, task: Notified) {
        if self.closing() {
            // The runtime is shutting down: other workers are already dropping
            // their tasks, and their drops can wake ours (a socket's peer closing,
            // a channel's sender dropping). Such a task must be cancelled, not
            // polled to completion: every worker checks the runtime-wide flag,
            // which is set before any worker is told to stop, so none polls a
            // task another worker's teardown woke.
            task.shutdown();
            return;
        }
        bump(&self.shared.metrics.polls, 1);
        if trace::enabled() {
            let slot = task.header().slot.with(|s| {
                // SAFETY: owner thread; the slot is ours to read.
                unsafe { *s }
            });
            trace::emit(|| {
                format!(
                    "{}: polling {}",
                    trace::worker(self.shared.index),
                    trace::task(slot)
                )
            });
        }
        coop::with_budget(|| task.run());
        // Remote wakes are picked up after every poll: checking costs one relaxed
        // load of the handshake word while nothing arrived, and it keeps the
        // latency of a cross-thread wake to one task poll on a busy worker. The
        // reactor and the timers, which cost a syscall or a clock read, wait for
        // the maintenance tick.
        self.drain_remote();
        let left = self.until_maintenance.get() - 1;
        if left == 0 {
            self.until_maintenance.set(MAINTENANCE_INTERVAL);
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

    /// The fairness tick: remote queue, reactor (no waiting), timers.
    fn maintenance(&self) {
        self.drain_remote();
        self.turn_reactor(Some(std::time::Duration::ZERO));
        self.fire_timers();
    }

    /// Moves the remote queue into the local one. True if a notification was
    /// consumed: then something changed (remote tasks, a stop request, a root
    /// wake) and the caller must look around before it may sleep.
    fn drain_remote(&self) -> bool {
        if !self.shared.handshake.take_notified() {
            return false;
        }
        self.take_remote();
        true
    }

    fn take_remote(&self) -> bool {
        let mut spare = self.spare.borrow_mut();
        std::mem::swap(&mut self.shared.remote().queue, &mut *spare);
        let n = spare.len();
        if n > 0 {
            bump(&self.shared.metrics.remote_wakes, n as u64);
            self.local.borrow_mut().extend(spare.drain(..));
        }
        n > 0
    }

    fn turn_reactor(&self, timeout: Option<std::time::Duration>) {
        let mut events = self.events.borrow_mut();
        // An epoll_wait failure other than EINTR (handled inside) would mean the
        // epoll fd itself is broken; there is nothing better to do than to carry
        // on and let timers and the doorbell's next ring retry.
        let _ = self.reactor.turn(timeout, &mut events, self.shared.index);
    }

    fn fire_timers(&self) {
        let turn = self.timers.process();
        if turn.fired > 0 || turn.cascaded > 0 {
            bump(&self.shared.metrics.timers_fired, turn.fired as u64);
            trace::emit(|| {
                format!(
                    "{}: {} timer(s) fired, {} cascaded",
                    trace::worker(self.shared.index),
                    turn.fired,
                    turn.cascaded
                )
            });
        }
    }

    /// Nothing to run: sleep in epoll until I/O, a timer, or the doorbell.
    fn park(&self, root_woken: &AtomicBool) {
        if self.drain_remote() {
            return;
        }
        // Timers that fell due while tasks ran. With none registered this is
        // skipped (no clock read, no wheel walk): the turn after the wake-up
        // below keeps the wheel's position current.
        if self.timers.has_work() {
            self.fire_timers();
        }
        // A notification consumed earlier (here or in `maintenance`) may have been
        // a stop request or a root wake: every reason to stay awake is checked
        // after the last consumption and before `try_park`.
        if !self.local.borrow().is_empty()
            || root_woken.load(Ordering::Acquire)
            || self.shared.stop.load(Ordering::Acquire)
        {
            return;
        }
        let now = Instant::now();
        let timeout = self
            .timers
            .next_deadline()
            .map(|d| d.saturating_duration_since(now));
        if !self.shared.handshake.try_park() {
            self.take_remote();
            return;
        }
        bump(&self.shared.metrics.parks, 1);
        let busy = now.saturating_duration_since(self.awake_since.get());
        bump(&self.shared.metrics.busy_ns, saturating_nanos(busy));
        self.turn_reactor(timeout);
        self.awake_since.set(Instant::now());
        // The reactor, the timers and the remote queue were all just looked at:
        // the fairness tick need not do it again for another full interval (this
        // saves an `epoll_wait(0)` per interval on a server whose queue empties
        // between batches of events).
        self.until_maintenance.set(MAINTENANCE_INTERVAL);
        if self.shared.handshake.unpark() {
            self.take_remote();
        }
        self.fire_timers();
    }

    /// Drops every task this worker owns, on this thread. Called when the loop
    /// ends for good (runtime shutdown, or `block_on` returning).
    pub(crate) fn shutdown(&self) {
        let _context = context::enter_worker(self);
        let _timers = self.timers.enter();
        self.shared.remote().closed = true;
        loop {
            let remote = std::mem::take(&mut self.shared.remote().queue);
            let mut idle = true;
            for task in remote {
                idle = false;
                task.shutdown();
            }
            loop {
                let next = self.local.borrow_mut().pop_front();
                let Some(task) = next else { break };
                idle = false;
                task.shutdown();
            }
            let owned = self.registry.borrow_mut().drain();
            for task in owned {
                idle = false;
                // The registry's reference moves into `shutdown`; forget the slot
                // so that `release` does not look for it again.
                // SAFETY: owner thread: the slot is ours to write.
                task.header()
                    .slot
                    .with_mut(|s| unsafe { *s = crate::task::raw::UNBOUND });
                task.shutdown();
            }
            if idle {
                break;
            }
        }
        self.reactor.clear();
        self.shared.close_doorbell();
    }
}

/// The waker of a `block_on` root future: a flag plus a nudge to the worker.
struct RootWaker {
    woken: AtomicBool,
    shared: Arc<WorkerShared>,
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
