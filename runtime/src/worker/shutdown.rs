//! The end of a worker: every task it owns dropped, on its own thread.

use super::{SendTask, Worker};
use crate::metrics::bump;

impl Worker {
    /// Drops every task this worker owns, on this thread: its queues, its
    /// local tasks and, for a pool worker (whose exit means the runtime is
    /// ending), the runtime's `Send` tasks too. Called when the loop ends for
    /// good (runtime shutdown, or `block_on` returning).
    pub(crate) fn shutdown(&self) {
        let _timers = self.timers.enter();
        self.shared.remote().closed = true;
        loop {
            // A queue entry of a task that went idle before is only a
            // reference: its future is found through a registry below, and
            // dropped there exactly once. An entry of a task never polled is
            // the only way to reach it (it is in no registry yet, see
            // `task::new_send_unbound`), so every `Send` entry is shut down,
            // which drops the future if nobody has; never inside a borrow of
            // a queue, since completing a task wakes its `JoinHandle`'s task,
            // which may be queued here.
            let (send, local) = {
                let mut remote = self.shared.remote();
                let taken = (
                    std::mem::take(&mut remote.send),
                    std::mem::take(&mut remote.local),
                );
                self.shared.count_remote(&remote);
                taken
            };
            let mut idle = send.is_empty() && local.is_empty();
            send.into_iter().for_each(SendTask::shutdown);
            drop(local);
            let next = self.next.take();
            if let Some(task) = next {
                idle = false;
                task.shutdown();
            }
            loop {
                let popped = self.ring.borrow_mut().pop();
                let Some(task) = popped else { break };
                idle = false;
                task.shutdown();
            }
            loop {
                let next = self.local.borrow_mut().pop_front();
                let Some(task) = next else { break };
                idle = false;
                drop(task);
            }
            if self.in_pool() {
                // Other workers may still overflow into the shared queue; each
                // drains it in its own shutdown, so nothing stays behind.
                while let Some(task) = self.handle.inner.inject.pop() {
                    idle = false;
                    task.shutdown();
                }
                let owned = self.handle.inner.registry.close_and_drain();
                bump(&self.shared.metrics.completed, owned.len() as u64);
                for task in owned {
                    idle = false;
                    task.shutdown();
                }
            }
            let owned = self.registry.borrow_mut().drain();
            bump(&self.shared.metrics.completed, owned.len() as u64);
            for task in owned {
                idle = false;
                task.shutdown();
            }
            if idle {
                break;
            }
        }
        self.reactor.clear();
        self.shared.close_doorbell();
        if let (true, Some(alarm)) = (self.in_pool(), self.handle.inner.watcher.alarm.get()) {
            alarm.close(); // a pool worker's exit means the runtime is ending
        }
    }
}
