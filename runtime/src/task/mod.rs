//! Tasks: one allocation each, reference counted, polled only by their owner.
//!
//! # The life of a task
//!
//! `spawn(future)` allocates one block holding a header, the owning scheduler and
//! the future (see `raw.rs` for the layout), and returns a [`JoinHandle`]. The
//! block starts with two references, the `JoinHandle`'s and a run-queue entry's
//! ([`Notified`]), and with `NOTIFIED` set: it is already queued.
//!
//! The owner pops the entry and calls [`Notified::run`]. On the first poll the task
//! joins the owner's *registry*, which holds one more reference for as long as the
//! future lives; that is how shutdown finds a task nothing else points to (one
//! parked on `pending()`, or whose only waker sits in a forgotten channel). The
//! poll gets a `Context` whose waker borrows the queue entry's reference.
//!
//! A poll returns `Pending` having stored clones of that waker somewhere (a
//! reactor slot, a timer, a channel). Later, `wake` sets `NOTIFIED` and hands its
//! reference to a new queue entry on the owner: its local queue when woken on the
//! owner's thread (no lock, no syscall), otherwise its remote queue, ringing the
//! owner's eventfd only if it is parked. The cycle repeats until the poll returns
//! `Ready`: the output is stored, the `JoinHandle` is woken, the task leaves the
//! registry, and when the last reference goes the block is freed.
//!
//! # References
//!
//! | kind | count | dropped when |
//! |---|---|---|
//! | [`JoinHandle`] / [`AbortHandle`] | one each | the handle is dropped |
//! | [`Notified`] (queue entry) | one | the poll finishes (or is handed to the next entry) |
//! | registry | one, from first poll | the future is gone (completion, cancellation) |
//! | `Waker` | one each | the waker is dropped, or consumed by `wake` |
//!
//! # Who may touch what
//!
//! - The future, and the stage it lives in, belong to the owner's thread while the
//!   future lives: `RUNNING` (set only there) grants access. A `!Send` future from
//!   `spawn_local` is therefore safe: no other thread ever polls or drops it.
//!   `abort`, a `JoinHandle` drop or a last waker drop on another thread never
//!   drops the future; `abort` queues the task so that its owner drops it.
//! - The output belongs to the owner until `COMPLETE` is published, then to the
//!   `JoinHandle` (or to the owner, if the handle is gone; see `state.rs`).
//! - The join-waker cell is handed back and forth by the `JOIN_WAKER` bit.
//! - The registry slot index is read and written only on the owner's thread.
//!
//! # Why the unsafe code is sound
//!
//! Every dereference of the header happens while the caller holds a reference,
//! so the block cannot be freed under it; the block is freed exactly once, by the
//! thread whose `ref_dec` saw the count reach zero (an acquire-release RMW, so all
//! earlier writes to the block happen-before the free). The future is pinned
//! because it never leaves the heap block until it is dropped in place of
//! `Stage::Consumed`. Each `unsafe` block names the invariant it relies on.

mod error;
mod join;
pub(crate) mod raw;
pub(crate) mod state;
pub(crate) mod waker;

#[cfg(all(test, loom))]
mod loom_tests;

use std::future::Future;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

pub use error::JoinError;
pub use join::{AbortHandle, JoinHandle};
use raw::Header;

/// Where a task goes when it is woken: a worker's run queues, or the blocking pool.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Puts the queue entry on the owner's run queue. If the owner is gone, the
    /// entry must be shut down (`Notified::shutdown_detached`) or dropped.
    fn schedule(&self, task: Notified);

    /// Called on the owner's thread at a task's first poll: insert it into the
    /// registry, taking a reference (`ref_inc`), and record the slot.
    fn bind(&self, task: NonNull<Header>);

    /// Called on the owner's thread once the future is gone: leave the registry.
    /// Returns true if the registry held a reference, which the caller then drops.
    fn release(&self, task: NonNull<Header>) -> bool;
}

/// One owned reference to a task, with nothing more implied.
pub(crate) struct Task {
    ptr: NonNull<Header>,
}

// SAFETY: a reference only touches the header's atomics and, through the vtable,
// functions that enforce the owner-thread rule themselves.
unsafe impl Send for Task {}
// SAFETY: as above.
unsafe impl Sync for Task {}

impl Task {
    /// # Safety
    /// The caller gives up one reference to `ptr`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task {
        Task { ptr }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a reference, so the header is alive.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    /// Gives up ownership without dropping the reference.
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).ptr
    }

    /// Owner thread, at shutdown: drop the future if it still lives.
    pub(crate) fn shutdown(self) {
        let ptr = self.into_raw();
        // SAFETY: we pass our reference; the caller is the owner, shutting down.
        unsafe { (ptr.as_ref().vtable.shutdown)(ptr) };
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.header().state.ref_dec(1) {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) };
        }
    }
}

/// A run-queue entry: a reference to a task that has `NOTIFIED` set.
pub(crate) struct Notified(Task);

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notified")
    }
}

impl Notified {
    /// # Safety
    /// The caller gives up one reference, which must be the task's queue entry.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified {
        // SAFETY: forwarded.
        Notified(unsafe { Task::from_raw(ptr) })
    }

    /// Polls the task (or drops its future if it was aborted). Owner thread only.
    pub(crate) fn run(self) {
        let ptr = self.0.into_raw();
        // SAFETY: the entry's reference moves into `run`; the caller is the owner.
        unsafe { (ptr.as_ref().vtable.run)(ptr) };
    }

    /// Owner thread, at shutdown: drop the future instead of polling it.
    pub(crate) fn shutdown(self) {
        self.0.shutdown();
    }

    /// A queue entry that can never reach its owner (the runtime is gone) and
    /// whose task was never polled: drop the future here and resolve the
    /// `JoinHandle` as cancelled. Only for `Send` futures (`spawn`), which may be
    /// dropped on any thread.
    pub(crate) fn shutdown_detached(self) {
        self.0.shutdown();
    }

    pub(crate) fn header(&self) -> &Header {
        self.0.header()
    }
}

/// Allocates a task owned by `scheduler` and returns its two first references.
///
/// # Safety
/// If `F: !Send`, the caller must schedule the task only on the current thread's
/// worker, and `scheduler` must be that worker.
pub(crate) unsafe fn new_task<F, S>(future: F, scheduler: S) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let ptr = raw::allocate(future, scheduler, 2);
    // SAFETY: `allocate` made two references: one for each value.
    unsafe { (Notified::from_raw(ptr), JoinHandle::from_raw(ptr)) }
}

/// Wakes the task behind `waker` through its raw pointer, for the trace log: the
/// registry slot of a kiwi task, or `None` for a foreign waker.
pub(crate) fn trace_id(waker: &std::task::Waker) -> Option<u32> {
    let ptr = waker::header_of(waker)?;
    // SAFETY: the waker holds a reference. The slot is written only by the owner,
    // and the trace log reads it on the owner's thread (the reactor's), where a
    // stale value only mislabels a log line.
    Some(unsafe { ptr.as_ref() }.slot.with(|s| unsafe { *s }))
}
