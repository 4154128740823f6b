//! The part of a driver that other threads may touch.
//!
//! A [`Driver`](super::Driver) is owned by one thread, but a [`Sleep`] is
//! `Send`: it can be polled, reset or dropped anywhere. Everything another
//! thread may need from the driver sits in one `Arc<Shared>`:
//!
//! - an `alive` flag, cleared when the driver is dropped;
//! - a mutex-protected queue of [`RemoteOp`]s, applied by the owner at the
//!   start of every [`process`](super::Driver::process), plus a `has_ops` flag
//!   so that `process` does not take the lock when the queue is empty (the
//!   common case: a relaxed-cost atomic load per turn);
//! - the driver's [`Clock`], so that a `Sleep` polled elsewhere compares its
//!   deadline with its own driver's notion of "now";
//! - the `unpark` waker the runtime gave the driver, which wakes its thread
//!   out of `epoll_wait`.
//!
//! Operations name entries by wheel [`Key`], which carries a generation. An
//! operation that arrives after its entry fired (and the node was reused)
//! finds a stale key and does nothing.
//!
//! # Why a remote cancel does not wake the owner
//!
//! A cancel only has to take effect before the owner would *fire* the entry,
//! and the owner fires only inside `process`, which applies queued ops first.
//! If the owner is parked, it will wake for its own next deadline (at the
//! latest the cancelled entry's) and drop the entry then, so the cancelled
//! entry outlives its `Sleep` by at most one turn. If the cancel races with a
//! `process` already firing, the entry may fire once more and wake its old
//! waker: a spurious wake, which the `Waker` contract allows. So cancels skip
//! the unpark syscall. A `SetWaker`, by contrast, changes *who* is woken, so
//! it unparks the owner to apply it promptly.
//!
//! [`Sleep`]: crate::Sleep
//! [`Key`]: crate::wheel::Key

use crate::clock::Clock;
use crate::wheel::Key;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::Waker;

/// A request from another thread to a driver.
#[derive(Debug)]
pub(crate) enum RemoteOp {
    /// Remove this entry; its `Sleep` was dropped, reset or moved away.
    Cancel(Key),
    /// Replace this entry's waker. If the entry already fired, wake the new
    /// waker instead: its task is waiting for a wake that already happened.
    SetWaker(Key, Waker),
}

/// The `Send + Sync` half of a driver. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) clock: Clock,
    alive: AtomicBool,
    has_ops: AtomicBool,
    ops: Mutex<Vec<RemoteOp>>,
    unpark: Waker,
}

impl Shared {
    pub(crate) fn new(clock: Clock, unpark: Waker) -> Shared {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            clock,
            alive: AtomicBool::new(true),
            has_ops: AtomicBool::new(false),
            ops: Mutex::new(Vec::new()),
            unpark,
        }
    }

    /// Whether the driver still exists. Once `false`, never `true` again.
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Queues `op` for the owner. Returns `false`, dropping `op`, if the
    /// driver is gone.
    ///
    /// The alive check happens under the lock that [`Shared::kill`] takes, so
    /// no op is queued after the owner's final drain: none can leak a waker.
    pub(crate) fn send(&self, op: RemoteOp) -> bool {
        let mut ops = self.lock();
        if !self.alive.load(Ordering::Relaxed) {
            return false;
        }
        ops.push(op);
        self.has_ops.store(true, Ordering::Release);
        true
    }

    /// Wakes the owner's thread, so that it runs `process` soon.
    pub(crate) fn unpark(&self) {
        self.unpark.wake_by_ref();
    }

    /// Whether ops may be queued (a hint: one queued concurrently may be
    /// missed, and is picked up by the next turn).
    pub(crate) fn has_ops(&self) -> bool {
        self.has_ops.load(Ordering::Acquire)
    }

    /// Moves all queued ops into `into` (which should be empty), without
    /// locking when there are none. An op queued concurrently with the flag
    /// check is picked up by the next call.
    pub(crate) fn take_ops(&self, into: &mut Vec<RemoteOp>) {
        if !self.has_ops.load(Ordering::Acquire) {
            return;
        }
        let mut ops = self.lock();
        self.has_ops.store(false, Ordering::Relaxed);
        std::mem::swap(&mut *ops, into);
    }

    /// Marks the driver dead and returns the ops nobody will apply (to be
    /// dropped by the caller, outside the lock).
    pub(crate) fn kill(&self) -> Vec<RemoteOp> {
        let mut ops = self.lock();
        self.alive.store(false, Ordering::Release);
        self.has_ops.store(false, Ordering::Relaxed);
        std::mem::take(&mut *ops)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RemoteOp>> {
        // Nothing panics while the lock is held, but if something ever did,
        // the queue itself would still be consistent: keep using it.
        self.ops.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every live driver's shared part, by id. A `Sleep` remembers only its driver's
/// id (no `Arc`, so registering a timer touches no shared counter); the rare
/// cross-thread paths (a cancel or a poll on another thread) look the driver up
/// here.
static DRIVERS: Mutex<BTreeMap<u64, Weak<Shared>>> = Mutex::new(BTreeMap::new());

/// Makes `shared` findable by its id.
pub(crate) fn publish(shared: &Arc<Shared>) {
    let mut map = DRIVERS.lock().unwrap_or_else(PoisonError::into_inner);
    map.insert(shared.id, Arc::downgrade(shared));
}

/// The live driver with this id, if any.
pub(crate) fn lookup(id: u64) -> Option<Arc<Shared>> {
    let map = DRIVERS.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(&id).and_then(Weak::upgrade)
}

/// Forgets a driver that is going away.
pub(crate) fn unpublish(id: u64) {
    DRIVERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}
