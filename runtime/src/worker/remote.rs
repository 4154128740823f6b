//! The part of a worker other threads can reach: its remote queue, its
//! doorbell, and the stealing end of its run queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::Wake;

use super::handshake::Handshake;
use super::{LocalTask, SendTask};
use crate::metrics::WorkerMetrics;
use crate::padded::CachePadded;
use crate::reactor::Reactor;
use crate::sys::eventfd::EventFd;
use crate::task::ring::{self, Local, Stealer};
use crate::trace::{
    self,
    Kind::{EventfdSkip, EventfdWrite},
};

/// A worker as seen from anywhere: what `spawn` and wakers on other threads use.
pub(crate) struct WorkerRemote {
    /// Position in the runtime's rotation (`usize::MAX` for a `block_on` thread).
    pub(crate) index: usize,
    pub(crate) runtime_id: u64,
    /// Both padded: spawns and wakes from other threads write them, while the
    /// worker reads the fields around them on every poll.
    remote: CachePadded<Mutex<Remote>>,
    pub(crate) handshake: CachePadded<Handshake>,
    /// The eventfd that wakes the worker from `epoll_wait`. Closed when the
    /// worker exits: tasks (and their wakers and handles) keep `WorkerRemote`
    /// alive long after, and must not keep a descriptor open with it. Locked only
    /// to ring it, which only happens when the worker is parked.
    doorbell: Mutex<Option<EventFd>>,
    /// Set by `Runtime` shutdown: the worker leaves its loop.
    pub(crate) stop: AtomicBool,
    pub(crate) metrics: Arc<WorkerMetrics>,
    /// Where idle siblings steal from this worker's ring.
    pub(crate) stealer: Stealer<SendTask>,
    /// The worker's reactor, for an idle sibling to rescue (`rescue.rs`);
    /// set at start for pool workers only.
    reactor: OnceLock<Weak<Reactor>>,
}

/// Tasks pushed by other threads: wakes of this worker's tasks, and spawns
/// from outside the pool. Only the worker takes from it; nobody steals from it.
#[derive(Debug, Default)]
pub(crate) struct Remote {
    pub(crate) send: Vec<SendTask>,
    pub(crate) local: Vec<LocalTask>,
    pub(crate) closed: bool,
}

impl WorkerRemote {
    /// A worker's shared half, and the owner's end of its run queue (which
    /// the worker thread takes).
    pub(crate) fn new(
        index: usize,
        runtime_id: u64,
    ) -> std::io::Result<(WorkerRemote, Local<SendTask>)> {
        let (local, stealer) = ring::ring();
        let metrics = Arc::new(WorkerMetrics::default());
        let _ = metrics.ring.set(stealer.clone());
        let shared = WorkerRemote {
            index,
            runtime_id,
            remote: CachePadded(Mutex::new(Remote::default())),
            handshake: CachePadded::default(),
            doorbell: Mutex::new(Some(EventFd::new()?)),
            stop: AtomicBool::new(false),
            metrics,
            stealer,
            reactor: OnceLock::new(),
        };
        Ok((shared, local))
    }

    pub(crate) fn remote(&self) -> MutexGuard<'_, Remote> {
        // Only pushes and swaps run under this lock; never panic on poison.
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pushes a `Send` task onto the remote queue and rings the doorbell if
    /// the worker sleeps. Gives the task back if the worker has shut down.
    pub(crate) fn push_remote(&self, task: SendTask) -> Result<(), SendTask> {
        self.push(task, |remote| &mut remote.send)
    }

    /// The same for a local task woken on another thread.
    pub(crate) fn push_remote_local(&self, task: LocalTask) -> Result<(), LocalTask> {
        self.push(task, |remote| &mut remote.local)
    }

    fn push<T>(&self, task: T, list: impl FnOnce(&mut Remote) -> &mut Vec<T>) -> Result<(), T> {
        {
            let mut remote = self.remote();
            if remote.closed {
                return Err(task);
            }
            list(&mut remote).push(task);
            self.count_remote(&remote);
        }
        self.unpark();
        Ok(())
    }

    /// Publishes the remote queue's length (under its lock) for
    /// `WorkerMetrics::remote_queue_depth`.
    pub(crate) fn count_remote(&self, remote: &Remote) {
        let n = remote.send.len() + remote.local.len();
        self.metrics.remote_depth.store(n as u64, Ordering::Relaxed);
    }

    /// Signals the worker; writes the eventfd only if it is parked.
    pub(crate) fn unpark(&self) {
        if self.handshake.notify() {
            self.metrics.eventfd_writes.fetch_add(1, Ordering::Relaxed);
            trace::point(EventfdWrite, 0, trace::index(self.index), 0, || {
                format!(
                    "eventfd written to wake parked {}",
                    trace::worker(self.index)
                )
            });
            self.ring_doorbell();
        } else {
            trace::point(EventfdSkip, 0, trace::index(self.index), 0, || {
                format!(
                    "eventfd write skipped: {} is awake",
                    trace::worker(self.index)
                )
            });
        }
    }

    /// Writes the eventfd, whatever the handshake says: `unpark` after it
    /// decided to, or a rescuer giving back a doorbell edge it took.
    pub(crate) fn ring_doorbell(&self) {
        // A failed write, or a doorbell already closed, can only mean the
        // worker has exited: there is nothing to wake.
        if let Some(doorbell) = self
            .doorbell
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = doorbell.notify();
        }
    }

    /// Publishes the worker's reactor to its siblings (`rescue.rs`).
    pub(crate) fn set_reactor(&self, reactor: &Arc<Reactor>) {
        let _ = self.reactor.set(Arc::downgrade(reactor));
    }

    /// The worker's reactor, while it exists.
    pub(crate) fn reactor(&self) -> Option<Arc<Reactor>> {
        self.reactor.get().and_then(Weak::upgrade)
    }

    /// Calls `f` with the doorbell's descriptor (to register it with epoll).
    pub(crate) fn with_doorbell<R>(
        &self,
        f: impl FnOnce(Option<std::os::fd::BorrowedFd<'_>>) -> R,
    ) -> R {
        let guard = self.doorbell.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.as_ref().map(std::os::fd::AsFd::as_fd))
    }

    /// Closes the doorbell; the worker has exited and will never park again.
    pub(crate) fn close_doorbell(&self) {
        let closed = self
            .doorbell
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(closed);
    }

    /// Requests the worker to leave its loop.
    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.unpark();
    }
}

impl std::fmt::Debug for WorkerRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerRemote")
            .field("index", &self.index)
            .field("runtime_id", &self.runtime_id)
            .finish_non_exhaustive()
    }
}

/// The timer driver's unpark waker and `block_on`'s root waker use this: a wake
/// that only needs the worker to look around.
impl Wake for WorkerRemote {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}
