//! Where a woken task goes: the two schedulers.
//!
//! - A `Send` task's scheduler is its runtime's [`Handle`]. A wake on the
//!   thread of the worker that owns the task (the one that polled it last)
//!   puts it in that worker's next-to-run slot: no lock, no syscall. A wake
//!   from a reactor's edge on another worker of the pool puts it at the back
//!   of that worker's ring instead: the task moves to the worker that holds
//!   its socket's registration (or that rescued it, `rescue.rs`), which is
//!   how a stolen task comes home without an `epoll_ctl`. (The ring, not the
//!   slot: nobody can steal from a slot, and the task's last owner may be
//!   idle.) A wake from anywhere else goes to the owner's remote queue,
//!   which rings the owner's doorbell only if it is parked.
//! - A local task's scheduler is its worker (`Arc<WorkerRemote>`): the local
//!   queue when woken on that thread, the remote queue's local list otherwise.
//!   Its entries never go anywhere else, which is what `LocalSchedule`
//!   promises.
//!
//! A task woken during its own poll (`yield_now`, a spent budget) is requeued
//! by its poller through `yield_now`, at the back of the queue: in the
//! next-to-run slot it would run again at once, and yielding would not yield.

use std::ptr::NonNull;
use std::sync::Arc;

use super::{LocalTask, SendTask, WorkerRemote};
use crate::handle::Handle;
use crate::metrics::bump;
use crate::task::raw::Header;
use crate::task::{registry, LocalSchedule, Schedule, Task};
use crate::{context, trace};

impl Schedule for Handle {
    fn schedule(&self, task: SendTask) {
        trace_wake(task.header());
        let owner = task.header().owner();
        let task = context::with_worker(|w| match w {
            Some(w) if w.shared.runtime_id == self.inner.id && w.shared.index == owner => {
                w.schedule_next(task);
                None
            }
            // A reactor's edge on another pool worker: the task comes here
            // (module docs), at the back of the ring, where a sibling can
            // still steal it if this worker stays busy.
            Some(w)
                if w.shared.runtime_id == self.inner.id && w.dispatching.get() && w.in_pool() =>
            {
                w.push_back(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            // A worker that has shut down already dropped every future (its
            // runtime's registry did): dropping the entry is all that is left.
            // (Only a task that went idle is woken, and such a task is in the
            // registry: an unregistered one is never here.)
            if let Some(worker) = self.inner.workers.get(owner) {
                drop(worker.push_remote(task));
            }
        }
    }

    fn yield_now(&self, task: SendTask) {
        // The poller calls this on its own thread, which is a worker of this
        // runtime (only they poll its tasks).
        trace_wake(task.header());
        let task = context::with_worker(|w| match w {
            Some(w) if w.shared.runtime_id == self.inner.id => {
                w.push_back(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            self.schedule(task);
        }
    }

    fn bind(&self, task: Task) -> Result<(), Task> {
        // A lone worker keeps the tasks it polls in its own registry, with no
        // lock (nobody else polls or completes them); every other worker uses
        // the runtime's. Only this runtime's workers poll its tasks.
        context::with_worker(|w| match w {
            Some(w) if w.shared.runtime_id == self.inner.id && w.solo() => {
                w.registry.borrow_mut().insert(task);
                Ok(())
            }
            _ => self.inner.registry.insert(task),
        })
    }

    fn release(&self, task: NonNull<Header>) -> bool {
        context::with_worker(|w| {
            let here = w.filter(|w| w.shared.runtime_id == self.inner.id);
            // Never registered (it ended in its first poll, or before one):
            // its own reference stands for the registry's.
            let left = registry::take_unregistered(task) || {
                // A lone worker's tasks are in its own registry (`bind`);
                // every other task is in the runtime's.
                let mine = match here {
                    Some(w) if w.solo() => w.registry.borrow_mut().remove(task),
                    _ => None,
                };
                let removed = mine.or_else(|| self.inner.registry.remove(task));
                // The registry's reference is dropped by the caller, with its own.
                removed.map(Task::into_raw).is_some()
            };
            // Counted where the task ends: on a worker of this runtime (only
            // they run its tasks), for `RuntimeMetrics::num_alive_tasks`.
            if let (true, Some(w)) = (left, here) {
                bump(&w.shared.metrics.completed, 1);
            }
            left
        })
    }
}

impl Schedule for Arc<WorkerRemote> {
    fn schedule(&self, task: LocalTask) {
        trace_wake(task.header());
        let task = context::with_worker(|w| match w {
            Some(w) if Arc::ptr_eq(&w.shared, self) => {
                w.push_local(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            // Refused only once the worker has shut down, which dropped every
            // future it owned; dropping the reference is all that is left.
            drop(self.push_remote_local(task));
        }
    }

    fn yield_now(&self, task: LocalTask) {
        // The local queue is a plain FIFO: a wake is already a yield.
        self.schedule(task);
    }

    fn release(&self, task: NonNull<Header>) -> bool {
        context::with_worker(|w| match w {
            Some(w) if Arc::ptr_eq(&w.shared, self) => {
                let removed = w.registry.borrow_mut().remove(task);
                if removed.is_some() {
                    bump(&self.metrics.completed, 1);
                }
                removed.map(|t| t.into_raw()).is_some()
            }
            _ => false,
        })
    }
}

/// A wake on the timeline: recorded before the task is queued, so that its
/// time comes before the poll it causes on any thread.
#[inline]
fn trace_wake(header: &Header) {
    if trace::enabled() {
        trace::record(trace::Kind::Wake, header.id.as_u64(), 0, 0);
    }
}

// SAFETY: `schedule` and `yield_now` above deliver an entry only to the
// worker's own local queue (when called on its thread) or to its remote
// queue's local list, which only that worker drains; the worker's shutdown
// (`Worker::shutdown`, run on its thread even on unwind) drops every future in
// its registry and every entry in those queues.
unsafe impl LocalSchedule for Arc<WorkerRemote> {}
