//! The registry: every task a worker owns whose future is still alive.
//!
//! A slab of task references with a free list of slot indices: insert and remove
//! are O(1) and allocate only when the slab grows. The slot index is stored in the
//! task header, so removal needs no search. Shutdown drains it to find tasks that
//! nothing else references anymore (one parked on `pending()`, or whose waker sits
//! in a channel nobody will send to), and drops their futures on this thread.

use crate::task::Task;

#[derive(Default)]
pub(crate) struct Registry {
    slots: Vec<Option<Task>>,
    free: Vec<u32>,
}

impl Registry {
    /// Stores `task`; returns its slot.
    pub(crate) fn insert(&mut self, task: Task) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(task);
                i
            }
            None => {
                self.slots.push(Some(task));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Takes the task out of `slot`.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<Task> {
        let task = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        Some(task)
    }

    /// Number of live tasks.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Removes every task.
    pub(crate) fn drain(&mut self) -> Vec<Task> {
        self.free.clear();
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::{new_task, Notified, Schedule};
    use std::ptr::NonNull;

    struct Inert;
    impl Schedule for Inert {
        fn schedule(&self, task: Notified) {
            drop(task);
        }
        fn bind(&self, _: NonNull<crate::task::raw::Header>) {}
        fn release(&self, _: NonNull<crate::task::raw::Header>) -> bool {
            false
        }
    }

    #[test]
    fn slots_are_reused() {
        let mut reg = Registry::default();
        // SAFETY: the future is Send and never polled.
        let (notified, join) = unsafe { new_task(async {}, Inert) };
        let ptr = notified.header() as *const _ as *mut crate::task::raw::Header;
        let mk = || {
            // SAFETY: each call takes a new reference for the registry entry.
            unsafe { (*ptr).state.ref_inc() };
            // SAFETY: as above.
            unsafe { Task::from_raw(NonNull::new_unchecked(ptr)) }
        };
        let a = reg.insert(mk());
        let b = reg.insert(mk());
        assert_eq!((a, b), (0, 1));
        assert!(reg.remove(a).is_some());
        assert!(reg.remove(a).is_none());
        assert_eq!(reg.insert(mk()), 0);
        assert_eq!(reg.len(), 2);
        assert_eq!(reg.drain().len(), 2);
        assert_eq!(reg.len(), 0);
        notified.shutdown_detached();
        drop(join);
    }
}
