//! The end of a worker: every task it owns dropped, on its own thread.

use super::Worker;
use crate::metrics::bump;

impl Worker {
    /// Drops every task this worker owns, on this thread: its queues, its
    /// local tasks and, for a pool worker (whose exit means the runtime is
    /// ending), the runtime's `Send` tasks too. Called when the loop ends for
    /// good (runtime shutdown, or `block_on` returning).
    pub(crate) fn shutdown(&self) {
        let _timers = self.timers.enter();
        self.shared.remote().closed = true;
        if self.in_pool() {
            self.handle.inner.inject.close();
        }
        loop {
            // Queue entries are only references: every future is found through
            // a registry below, and dropped there exactly once.
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
            drop((send, local));
            idle &= self.next.take().is_none();
            while let Some(task) = self.ring.borrow_mut().pop() {
                idle = false;
                drop(task);
            }
            loop {
                let next = self.local.borrow_mut().pop_front();
                let Some(task) = next else { break };
                idle = false;
                drop(task);
            }
            if self.in_pool() {
                while let Some(task) = self.handle.inner.inject.pop() {
                    idle = false;
                    drop(task);
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
    }
}
