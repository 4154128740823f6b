//! Registries: every task whose future is still alive, so shutdown can find it.
//!
//! A task that nothing references but its future (one parked on `pending()`,
//! or whose only waker sits in a channel nobody will send to) is in no run
//! queue and no reactor. Only a registry can find it at shutdown, and drop its
//! future. Each task enters one registry when it is spawned and leaves it when
//! its future is gone; the registry holds one reference meanwhile.
//!
//! - [`Registry`]: task references in kiwi's [`Slab`]. Insert and remove are
//!   O(1) and allocate only when the slab grows. The slot index is stored in
//!   the task's header, so removal needs no search. A
//!   worker's local tasks live in its own `Registry`, touched only on its
//!   thread, so that they are dropped there.
//! - [`Shards`]: the runtime-wide registry of `Send` tasks. Such a task may
//!   finish on any worker (it can be stolen), so its registry must be reachable
//!   from every worker: a set of `Registry`s, each behind its own lock,
//!   chosen by task id. With more shards than workers, two workers rarely
//!   want the same lock at once: a spawn and a completion each cost one
//!   uncontended lock (a few ns).
//!
//! Removal checks that the slot really holds the task: a task is only ever
//! in one registry, and the check makes that a fact rather than a hope.

use super::raw::{Header, UNBOUND};
use super::Task;
use crate::loom::sync::atomic::Ordering;
use crate::loom::sync::{Mutex, MutexGuard};
use crate::padded::CachePadded;
use crate::slab::{self, Slab};
use std::ptr::NonNull;

/// Task references, by slot.
pub(crate) struct Registry {
    tasks: Slab<Task>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry { tasks: Slab::new() }
    }
}

impl Registry {
    /// Stores `task` and records its slot in the header.
    pub(crate) fn insert(&mut self, task: Task) {
        let token = self.tasks.insert(task);
        let task = self.tasks.get(token).expect("kiwi: just inserted");
        task.header()
            .slot
            .store(slab::index_of(token), Ordering::Relaxed);
    }

    /// Takes `task` out, if this registry holds it.
    pub(crate) fn remove(&mut self, task: NonNull<Header>) -> Option<Task> {
        // SAFETY: the caller holds a reference to the task.
        let header = unsafe { task.as_ref() };
        let token = self.tasks.token_at(header.slot.load(Ordering::Relaxed))?;
        if self.tasks.get(token).map(Task::as_ptr) != Some(task) {
            return None; // that slot holds another task (or this one is elsewhere)
        }
        header.slot.store(UNBOUND, Ordering::Relaxed);
        self.tasks.remove(token)
    }

    /// Number of live tasks.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Removes every task.
    pub(crate) fn drain(&mut self) -> Vec<Task> {
        let all = self.tasks.drain();
        for task in &all {
            task.header().slot.store(UNBOUND, Ordering::Relaxed);
        }
        all
    }
}

/// For a task that never entered a registry (`UNREGISTERED`, see
/// [`new_send_unbound`](super::new_send_unbound)), whose future is now gone:
/// marks it `UNBOUND` and returns true, the task's own registry reference
/// being the caller's to drop. False for any other task.
///
/// The caller holds `RUNNING` and a reference to the task.
pub(crate) fn take_unregistered(task: NonNull<Header>) -> bool {
    // SAFETY: the caller holds a reference to the task.
    let header = unsafe { task.as_ref() };
    if !header.is_unregistered() {
        return false;
    }
    header.slot.store(UNBOUND, Ordering::Relaxed);
    true
}

/// The runtime-wide registry of `Send` tasks: `Registry`s behind a lock each.
pub(crate) struct Shards {
    /// Padded: two workers locking neighbouring shards must not share a line.
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

#[derive(Default)]
struct Shard {
    registry: Registry,
    /// Set at shutdown: later spawns are refused, so none can slip in after
    /// the registry was drained.
    closed: bool,
}

impl Shards {
    /// A registry with about four shards per worker (a power of two).
    pub(crate) fn new(workers: usize) -> Shards {
        let n = (workers * 4).next_power_of_two();
        Shards {
            shards: (0..n)
                .map(|_| CachePadded(Mutex::new(Shard::default())))
                .collect(),
        }
    }

    fn shard(&self, header: &Header) -> MutexGuard<'_, Shard> {
        let i = header.id.as_u64() as usize & (self.shards.len() - 1);
        // Only slab operations run under the lock; never panic on poison.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `task`; gives it back if the runtime is shutting down.
    pub(crate) fn insert(&self, task: Task) -> Result<(), Task> {
        let mut shard = self.shard(task.header());
        if shard.closed {
            return Err(task);
        }
        shard.registry.insert(task);
        Ok(())
    }

    /// Takes `task` out, if it is still here (shutdown may have taken it).
    pub(crate) fn remove(&self, task: NonNull<Header>) -> Option<Task> {
        // SAFETY: the caller holds a reference to the task.
        let header = unsafe { task.as_ref() };
        self.shard(header).registry.remove(task)
    }

    /// Closes every shard and takes every task. Each task is taken by exactly
    /// one caller, however many workers drain at once.
    pub(crate) fn close_and_drain(&self) -> Vec<Task> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            shard.closed = true;
            all.extend(shard.registry.drain());
        }
        all
    }

    /// Number of live `Send` tasks (takes every lock in turn).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).registry.len())
            .sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::task::{new_send, Notified, Schedule};

    struct Inert;
    impl Schedule for Inert {
        fn schedule(&self, task: Notified<Self>) {
            drop(task);
        }
        fn yield_now(&self, task: Notified<Self>) {
            drop(task);
        }
        fn release(&self, _: NonNull<Header>) -> bool {
            false
        }
    }

    #[test]
    fn slots_are_reused_and_removal_checks_identity() {
        let (ra, a, ja) = new_send(async {}, Inert, 0);
        let (rb, b, jb) = new_send(async {}, Inert, 0);
        let mut reg = Registry::default();
        reg.insert(ra);
        reg.insert(rb);
        assert_eq!(reg.len(), 2);
        let pa = a.header() as *const Header as *mut Header;
        let pa = NonNull::new(pa).unwrap();
        assert!(reg.remove(pa).is_some());
        assert!(reg.remove(pa).is_none(), "removed twice");
        // The freed slot is reused, and the stale slot number of `a` no
        // longer finds anything even though it names an occupied slot.
        let (rc, c, jc) = new_send(async {}, Inert, 0);
        reg.insert(rc);
        assert_eq!(c.header().slot.load(Ordering::Relaxed), 0);
        a.header().slot.store(0, Ordering::Relaxed);
        assert!(reg.remove(pa).is_none(), "slot 0 holds another task");
        a.header().slot.store(UNBOUND, Ordering::Relaxed);
        assert_eq!(reg.drain().len(), 2);
        assert_eq!(reg.len(), 0);
        for n in [a, b, c] {
            n.shutdown();
        }
        drop((ja, jb, jc));
    }

    #[test]
    fn closed_shards_refuse_inserts() {
        let shards = Shards::new(2);
        let (ra, a, ja) = new_send(async {}, Inert, 0);
        assert!(shards.insert(ra).is_ok());
        assert_eq!(shards.len(), 1);
        assert_eq!(shards.close_and_drain().len(), 1);
        let (rb, b, jb) = new_send(async {}, Inert, 0);
        assert!(shards.insert(rb).is_err());
        assert_eq!(shards.len(), 0);
        a.shutdown();
        b.shutdown();
        drop((ja, jb));
    }
}
