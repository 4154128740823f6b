//! A worker's queue of `Send` tasks: the stealable ring, or a lone worker's
//! plain deque.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::SendTask;
use crate::metrics::WorkerMetrics;
use crate::task::ring::{Inject, Local};

/// What a lone worker's deque, and any worker's queue of local tasks, keeps
/// when it runs dry: the stealable ring's size. A burst (a loop spawning 100,000 tasks before it yields) grows the
/// deque to the burst's size, 8 bytes a task; without this, that memory
/// stayed with the worker for good, 10 of the 103 bytes that each of 100,000
/// pending tasks cost (`kiwi-bench micro`, "memory per pending task").
const KEEP_WHEN_EMPTY: usize = 256;

/// Gives a dry deque's burst capacity back. Only when it is empty, which is
/// when the worker is about to look elsewhere or park: a worker that keeps
/// queueing never pays the reallocation, and one that alternates bursts and
/// silences pays one per burst, next to the burst's own doublings.
pub(super) fn shrink_after_burst<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > KEEP_WHEN_EMPTY {
        queue.shrink_to(KEEP_WHEN_EMPTY);
    }
}

/// A worker's queue of `Send` tasks.
pub(super) enum RunQueue {
    /// In a pool of two or more: the stealable ring.
    Ring(Local<SendTask>),
    /// Alone: nobody steals, so a plain deque (unbounded, never overflows),
    /// its length published for `WorkerMetrics::local_queue_depth`.
    Solo(VecDeque<SendTask>, Arc<WorkerMetrics>),
}

impl RunQueue {
    /// Pushes at the back; true if half the ring overflowed to `inject`.
    pub(super) fn push_back(&mut self, task: SendTask, inject: &Inject<SendTask>) -> bool {
        match self {
            RunQueue::Ring(ring) => ring.push_back(task, inject),
            RunQueue::Solo(queue, metrics) => {
                queue.push_back(task);
                metrics
                    .solo_depth
                    .store(queue.len() as u64, Ordering::Relaxed);
                false
            }
        }
    }

    pub(super) fn pop(&mut self) -> Option<SendTask> {
        match self {
            RunQueue::Ring(ring) => ring.pop(),
            RunQueue::Solo(queue, metrics) => {
                let task = queue.pop_front();
                if task.is_none() {
                    shrink_after_burst(queue);
                }
                metrics
                    .solo_depth
                    .store(queue.len() as u64, Ordering::Relaxed);
                task
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            RunQueue::Ring(ring) => ring.len(),
            RunQueue::Solo(queue, _) => queue.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_deque_gives_its_burst_capacity_back() {
        let mut queue: VecDeque<u64> = (0..100_000).collect();
        shrink_after_burst(&mut queue);
        assert!(queue.capacity() >= 100_000, "never while it holds tasks");
        queue.clear();
        shrink_after_burst(&mut queue);
        assert!(
            queue.capacity() <= 2 * KEEP_WHEN_EMPTY,
            "{}",
            queue.capacity()
        );
    }
}
