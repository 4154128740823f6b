//! Tasks: one allocation each, reference counted, polled by one worker at a time.
//!
//! # Two kinds of task
//!
//! - A `Send` task (`spawn`) belongs to its runtime. Any worker may poll it, one
//!   at a time, and an idle worker may steal it from a busy one. Its scheduler
//!   is the runtime's [`Handle`](crate::Handle); its header records the worker
//!   that polled it last (`owner`), which is where its wakes go.
//! - A local task (`spawn_local`, maybe `!Send`) belongs to one worker thread
//!   for its whole life. Its scheduler is that worker, which implements
//!   `LocalSchedule`: the promise that its entries never leave the thread.
//!
//! The two are different types (`Notified<S>` is typed by its scheduler), so
//! a queue that other workers read, typed `Notified<Handle>`, cannot hold a
//! local task: the compiler refuses it.
//!
//! # The life of a task
//!
//! `spawn(future)` allocates one block holding a header, the scheduler and the
//! future (see `raw.rs` for the layout). The block starts with three
//! references, the [`JoinHandle`]'s, a run-queue entry's (`Notified`), and
//! one for a *registry* (`registry.rs`), and with `NOTIFIED` set: it is
//! already queued. A registry keeps its reference for as long as the future
//! lives; that is how shutdown finds a task nothing else points to (one parked
//! on `pending()`, or whose only waker sits in a forgotten channel). A local
//! task enters its worker's registry at spawn. A `Send` task enters the
//! runtime's sharded one only at its first `Pending` (`new_send_unbound`):
//! before that it is always in a run queue or being polled, where shutdown
//! finds it too, so a spawn takes no lock and a task done in one poll never
//! enters a registry at all.
//!
//! A worker pops the entry and calls `Notified::run`. The poll gets a
//! `Context` whose waker borrows the entry's reference, and returns `Pending`
//! having stored clones of that waker somewhere (a reactor slot, a timer, a
//! channel). Later, `wake` sets `NOTIFIED` and hands its reference to a new
//! queue entry for the owner: its next-to-run slot when woken on the owner's
//! thread (no lock, no syscall), otherwise its remote queue, ringing the
//! owner's eventfd only if it is parked. The cycle repeats until the poll
//! returns `Ready`: the output is stored, the `JoinHandle` is woken, the task
//! leaves the registry, and when the last reference goes the block is freed.
//!
//! # References
//!
//! | kind | count | dropped when |
//! |---|---|---|
//! | [`JoinHandle`] / [`AbortHandle`] | one each | the handle is dropped |
//! | `Notified` (queue entry) | at most one | the poll finishes (or is handed to the next entry) |
//! | registry | one, from spawn (the task's own until its first `Pending`, for a `Send` task) | the future is gone (completion, cancellation, shutdown) |
//! | `Waker` | one each | the waker is dropped, or consumed by `wake` |
//!
//! # Who may touch what
//!
//! - The future, and the stage it lives in, belong to whoever holds `RUNNING`:
//!   the worker that popped the task's one queue entry, or shutdown's claim.
//!   A local task's entries only ever reach its owner's thread, so its `!Send`
//!   future is only polled and dropped there. `abort`, a `JoinHandle` drop or
//!   a last waker drop on another thread never drops a future; `abort` queues
//!   the task so that a worker drops it.
//! - The output belongs to the poller until `COMPLETE` is published, then to the
//!   `JoinHandle` (or to the poller, if the handle is gone; see `state.rs`).
//! - The join-waker cell is handed back and forth by the `JOIN_WAKER` bit.
//! - The registry slot index is read and written only by the registry holding
//!   the task (under its shard lock, or on the owner's thread), or, while the
//!   task is in none (`UNREGISTERED`), by the holder of `RUNNING`.
//! - The id never changes; anyone holding a reference may read it.
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
mod id;
mod join;
pub(crate) mod raw;
pub(crate) mod registry;
pub(crate) mod ring;
pub(crate) mod state;
pub(crate) mod waker;

#[cfg(all(test, loom))]
mod loom_tests;

use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

pub use error::JoinError;
pub use id::{id, try_id, Id};
pub use join::{AbortHandle, JoinHandle};
use raw::Header;

/// Where a task goes when it is woken: a worker's run queues, or the blocking pool.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// A wake: puts the entry on the run queue of the worker the task belongs
    /// to. If that worker is gone, the entry is dropped (its runtime's shutdown
    /// drops the future through the registry).
    fn schedule(&self, task: Notified<Self>);

    /// The task was woken during its own poll (`yield_now`, a spent budget, or
    /// a wake that arrived meanwhile). Called by the poller, on its thread,
    /// right after the poll: the entry goes to the back of the queue.
    fn yield_now(&self, task: Notified<Self>);

    /// Called once the future is gone: leave the registry. Returns true if the
    /// registry held a reference, which the caller then drops with its own.
    /// For a task that never entered one (`UNREGISTERED`, see
    /// [`registry::take_unregistered`]), the task's own reference is that one.
    fn release(&self, task: NonNull<Header>) -> bool;

    /// The first `Pending` of a task made by [`new_send_unbound`]: put `task`
    /// (the task's own registry reference) in a registry, or give it back if
    /// the runtime is shutting down (the poller then cancels the task).
    /// Schedulers that never make unbound tasks keep this default.
    fn bind(&self, task: Task) -> Result<(), Task> {
        Err(task)
    }
}

/// A scheduler whose queue entries only ever reach the thread that created
/// the task, and which drops the futures it still owns on that thread: the
/// only kind that may own a `!Send` future.
///
/// # Safety
///
/// `schedule` and `yield_now` must deliver entries only to queues that are
/// run on the task's creating thread, and every entry and registry reference
/// still held when that thread stops must be shut down there.
pub(crate) unsafe trait LocalSchedule: Schedule {}

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

    /// Drops the future if it still lives (shutdown, abort of a task that can
    /// never run). Local tasks: on the owner's thread only, which the
    /// registries guarantee (a local task is only in its worker's registry).
    pub(crate) fn shutdown(self) {
        let ptr = self.into_raw();
        // SAFETY: we pass our reference; a local task's references reach only
        // its owner's shutdown (see `LocalSchedule`), a `Send` future may be
        // dropped anywhere.
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

/// A run-queue entry: a reference to a task that has `NOTIFIED` set, typed by
/// the scheduler that owns the task. A queue typed `Notified<Handle>` (a
/// worker's stealable ring, the runtime's shared queue) therefore holds only
/// `Send` tasks: only [`new_send`] makes entries of a non-local scheduler.
pub(crate) struct Notified<S: 'static> {
    task: Task,
    _scheduler: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Notified<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notified({})", self.task.header().id)
    }
}

impl<S: Schedule> Notified<S> {
    /// # Safety
    /// The caller gives up one reference, which must be the task's queue
    /// entry, and the task's scheduler must be `S`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified<S> {
        Notified {
            // SAFETY: forwarded.
            task: unsafe { Task::from_raw(ptr) },
            _scheduler: PhantomData,
        }
    }

    /// Polls the task (or drops its future if it was aborted).
    pub(crate) fn run(self) {
        let ptr = self.task.into_raw();
        // SAFETY: the entry's reference moves into `run`. A local task's entry
        // only exists on its owner's thread (`LocalSchedule`).
        unsafe { (ptr.as_ref().vtable.run)(ptr) };
    }

    /// Drops the future instead of polling it (shutdown, or a runtime that is
    /// already gone).
    pub(crate) fn shutdown(self) {
        self.task.shutdown();
    }

    pub(crate) fn header(&self) -> &Header {
        self.task.header()
    }
}

/// A new task's first three references: one for its registry, its queue
/// entry, and its `JoinHandle`.
pub(crate) type Spawned<S, T> = (Task, Notified<S>, JoinHandle<T>);

/// Allocates a `Send` task that enters a registry only at its first `Pending`
/// (through [`Schedule::bind`]), and returns its queue entry and `JoinHandle`.
///
/// Until then the task is reachable without one: its one queue entry sits in
/// a run queue, or a worker is polling it. Shutdown therefore shuts down the
/// entries it drains ([`Notified::shutdown`]) rather than dropping them, and
/// a task that completes in its first poll (most short ones) never takes a
/// registry lock at all: neither its spawner, often another thread, nor its
/// poller. Its third reference is its own until then (`UNREGISTERED`).
pub(crate) fn new_send_unbound<F, S>(
    future: F,
    scheduler: S,
    owner: usize,
) -> (Notified<S>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let ptr = raw::allocate(future, scheduler, owner, 3, raw::UNREGISTERED);
    // SAFETY: `allocate` made three references: the entry's, the handle's,
    // and the task's own (held for its registry). The future is `Send`, so
    // any thread may poll or drop it.
    unsafe { (Notified::from_raw(ptr), JoinHandle::from_raw(ptr)) }
}

/// Allocates a `Send` task owned by `scheduler`, its wakes going to worker
/// `owner`.
pub(crate) fn new_send<F, S>(future: F, scheduler: S, owner: usize) -> Spawned<S, F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the future is `Send`: any thread may poll or drop it.
    unsafe { new_task(future, scheduler, owner) }
}

/// Allocates a task that may be `!Send`, owned by the local scheduler of the
/// current thread (`owner` is that worker's index).
pub(crate) fn new_local<F, S>(future: F, scheduler: S, owner: usize) -> Spawned<S, F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
    S: LocalSchedule,
{
    // SAFETY: `S: LocalSchedule` keeps every entry on the creating thread.
    unsafe { new_task(future, scheduler, owner) }
}

/// # Safety
/// If `F: !Send`, the task must only ever run on the current thread: its
/// scheduler delivers entries only here (`LocalSchedule`).
unsafe fn new_task<F, S>(future: F, scheduler: S, owner: usize) -> Spawned<S, F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let ptr = raw::allocate(future, scheduler, owner, 3, raw::UNBOUND);
    // SAFETY: `allocate` made three references: one for each value.
    unsafe {
        (
            Task::from_raw(ptr),
            Notified::from_raw(ptr),
            JoinHandle::from_raw(ptr),
        )
    }
}

/// The id of the task behind `waker`, for the trace log; `None` for a waker
/// that is not a kiwi task's.
pub(crate) fn waker_task_id(waker: &std::task::Waker) -> Option<Id> {
    let ptr = waker::header_of(waker)?;
    // SAFETY: the waker holds a reference, so the header is alive; the id is
    // never written after allocation.
    Some(unsafe { ptr.as_ref() }.id)
}
