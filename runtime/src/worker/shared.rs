//! The part of a worker other threads can reach: its remote queue and doorbell.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Wake;

use super::handshake::Handshake;
use crate::context;
use crate::metrics::{bump, WorkerMetrics};
use crate::sys::eventfd::EventFd;
use crate::task::raw::{Header, UNBOUND};
use crate::task::{Notified, Schedule, Task};
use crate::trace;
use std::ptr::NonNull;

/// A worker as seen from anywhere: what `spawn` and wakers on other threads use.
#[derive(Debug)]
pub(crate) struct WorkerShared {
    /// Position in the runtime's rotation (`usize::MAX` for a `block_on` thread).
    pub(crate) index: usize,
    pub(crate) runtime_id: u64,
    remote: Mutex<Remote>,
    pub(crate) handshake: Handshake,
    /// The eventfd that wakes the worker from `epoll_wait`. Closed when the
    /// worker exits: tasks (and their wakers and handles) keep `WorkerShared`
    /// alive long after, and must not keep a descriptor open with it. Locked only
    /// to ring it, which only happens when the worker is parked.
    doorbell: Mutex<Option<EventFd>>,
    /// Set by `Runtime` shutdown: the worker leaves its loop.
    pub(crate) stop: AtomicBool,
    pub(crate) metrics: Arc<WorkerMetrics>,
}

#[derive(Debug, Default)]
pub(crate) struct Remote {
    pub(crate) queue: Vec<Notified>,
    pub(crate) closed: bool,
}

impl WorkerShared {
    pub(crate) fn new(index: usize, runtime_id: u64) -> std::io::Result<WorkerShared> {
        Ok(WorkerShared {
            index,
            runtime_id,
            remote: Mutex::new(Remote::default()),
            handshake: Handshake::new(),
            doorbell: Mutex::new(Some(EventFd::new()?)),
            stop: AtomicBool::new(false),
            metrics: Arc::new(WorkerMetrics::default()),
        })
    }

    pub(crate) fn remote(&self) -> MutexGuard<'_, Remote> {
        // Only pushes and swaps run under this lock; never panic on poison.
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pushes onto the remote queue and rings the doorbell if the worker sleeps.
    /// Gives the task back if the worker has shut down.
    pub(crate) fn push_remote(&self, task: Notified) -> Result<(), Notified> {
        {
            let mut remote = self.remote();
            if remote.closed {
                return Err(task);
            }
            remote.queue.push(task);
        }
        self.unpark();
        Ok(())
    }

    /// Signals the worker; writes the eventfd only if it is parked.
    pub(crate) fn unpark(&self) {
        if self.handshake.notify() {
            self.metrics.eventfd_writes.fetch_add(1, Ordering::Relaxed);
            trace::emit(|| {
                format!(
                    "eventfd written to wake parked {}",
                    trace::worker(self.index)
                )
            });
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
        } else {
            trace::emit(|| {
                format!(
                    "eventfd write skipped: {} is awake",
                    trace::worker(self.index)
                )
            });
        }
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

    /// Queues a task that was just created (by `spawn`). If the worker is gone,
    /// the task resolves as cancelled right here (its future is `Send`).
    pub(crate) fn spawn(self: &Arc<Self>, task: Notified) {
        if let Some(task) = self.schedule_inner(task) {
            task.shutdown_detached();
        }
    }

    /// Local push when called on the owner's thread, remote push otherwise.
    /// Returns the task if the worker is gone.
    fn schedule_inner(self: &Arc<Self>, task: Notified) -> Option<Notified> {
        let task = context::with_worker(|w| match w {
            Some(w) if Arc::ptr_eq(&w.shared, self) => {
                w.push_local(task);
                None
            }
            _ => Some(task),
        })?;
        self.push_remote(task).err()
    }
}

impl Schedule for Arc<WorkerShared> {
    fn schedule(&self, task: Notified) {
        // A worker that has shut down already dropped every future it owned
        // (shutdown drains its registry and queues); dropping the reference is
        // all that is left to do.
        drop(self.schedule_inner(task));
    }

    fn bind(&self, task: NonNull<Header>) {
        context::with_worker(|w| {
            let w = w.expect("a task was polled off its owner's thread");
            // SAFETY: the caller (the task's first poll) holds a reference.
            let header = unsafe { task.as_ref() };
            header.state.ref_inc();
            // SAFETY: we just took the reference the registry keeps.
            let owned = unsafe { Task::from_raw(task) };
            let slot = w.registry.borrow_mut().insert(owned);
            // SAFETY: owner thread: the slot is ours to write.
            header.slot.with_mut(|s| unsafe { *s = slot });
            bump(&self.metrics.spawned, 1);
            trace::emit(|| {
                format!(
                    "{}: task {slot} spawned (first poll)",
                    trace::worker(self.index)
                )
            });
        });
    }

    fn release(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller holds a reference.
        let header = unsafe { task.as_ref() };
        // SAFETY: owner thread (or an unbound task's only holder): the slot is ours.
        let slot = header
            .slot
            .with_mut(|s| unsafe { std::mem::replace(&mut *s, UNBOUND) });
        if slot == UNBOUND {
            return false;
        }
        trace::emit(|| format!("{}: task {slot} completed", trace::worker(self.index)));
        context::with_worker(|w| {
            let Some(w) = w else { return false };
            match w.registry.borrow_mut().remove(slot) {
                Some(t) => {
                    // The caller drops this reference together with its own.
                    t.into_raw();
                    true
                }
                None => false,
            }
        })
    }
}

/// The timer driver's unpark waker and `block_on`'s root waker use this: a wake
/// that only needs the worker to look around.
impl Wake for WorkerShared {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}
