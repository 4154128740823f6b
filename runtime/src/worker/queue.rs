//! A worker's queue of `Send` tasks: the stealable ring, or a lone worker's
//! plain deque.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::SendTask;
use crate::metrics::WorkerMetrics;
use crate::task::ring::{shrink_after_burst, Inject, Local};

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
