//! The task allocation and the functions that act on it.
//!
//! One task is one heap block, `Cell<F, S>`:
//!
//! ```text
//! +---------------------------- Header (type-erased) ----------------------------+
//! | state | vtable | join_waker: Option<Waker> | slot: u32 | owner: u32 | id: u64  |
//! +-------------------------------------------------------------------------------+
//! | scheduler: S   (the runtime, the owning worker, or the blocking pool)         |
//! | stage: Running(F) | Finished(Result<F::Output, Cause>) | Consumed              |
//! +-------------------------------------------------------------------------------+
//! ```
//!
//! Everything outside this file sees only `NonNull<Header>`: the `Vtable`, filled
//! in per `(F, S)` by monomorphisation, is how type-erased code reaches the typed
//! parts. `#[repr(C)]` puts the header first, so a `*mut Cell` and a `*mut Header`
//! are the same address.

use std::future::Future;
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::error::{Cause, JoinError};
use super::id::Id;
use super::state::{Idle, Run, Snapshot, State, JOIN_INTEREST, JOIN_WAKER};
use super::{waker, Notified, Schedule, Task};
use crate::loom::sync::atomic::{AtomicU32, Ordering};
use crate::loom::UnsafeCell;

/// The type-erased part of every task.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The `JoinHandle`'s waker; who may touch it is decided by `JOIN_WAKER`
    /// (see `state.rs`).
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
    /// Index in the registry that holds the task, `UNBOUND`, or
    /// `UNREGISTERED`. The registry holding the task reads and writes it
    /// (under its shard lock, or on its owner's thread); while it is
    /// `UNREGISTERED`, only the holder of `RUNNING` or of the task's one queue
    /// entry does. Relaxed atomics suffice: they are atomics at all so that a
    /// misuse could never be a data race.
    pub(crate) slot: AtomicU32,
    /// The worker whose queues the task's wakes go to: the one that polled it
    /// last. A stolen task's new worker writes its own index before the poll.
    /// A stale read only sends a wake to the previous worker, which runs the
    /// task just as well (`Send` tasks only; a local task's never changes).
    pub(crate) owner: AtomicU32,
    /// Set at allocation, never changed.
    pub(crate) id: Id,
}

/// `Header::slot` of a task in no registry.
pub(crate) const UNBOUND: u32 = u32::MAX;

/// `Header::slot` of a `Send` task that has not yet returned `Pending`
/// ([`new_send_unbound`](super::new_send_unbound)): the registry's reference
/// is still the task's own, and enters a registry at the first `Pending`.
pub(crate) const UNREGISTERED: u32 = u32::MAX - 1;

impl Header {
    /// The worker the task's wakes go to.
    pub(crate) fn owner(&self) -> usize {
        self.owner.load(Ordering::Relaxed) as usize
    }

    /// Records that worker `index` polls the task from now on.
    pub(crate) fn set_owner(&self, index: usize) {
        self.owner.store(index as u32, Ordering::Relaxed);
    }

    /// True until the task enters a registry, if it was spawned unbound.
    pub(crate) fn is_unregistered(&self) -> bool {
        self.slot.load(Ordering::Relaxed) == UNREGISTERED
    }
}

/// Per-`(F, S)` functions, reached from a type-erased `NonNull<Header>`.
pub(crate) struct Vtable {
    /// Runs (polls or cancels) the task; consumes the queue entry's reference.
    pub(crate) run: unsafe fn(NonNull<Header>),
    /// Drops the future of a task that will never be polled again (shutdown);
    /// consumes one reference.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    /// Hands a queue entry (and its reference) to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Moves the output into `*mut Option<Result<T, JoinError>>`.
    pub(crate) read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drops whatever the stage holds.
    pub(crate) drop_stage: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: S,
    stage: UnsafeCell<Stage<F>>,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, Cause>),
    Consumed,
}

/// Allocates a task with `refs` references (the caller distributes them),
/// owned by worker `owner`, with `slot` as its registry slot (`UNBOUND` or
/// `UNREGISTERED`), and returns its header.
pub(crate) fn allocate<F, S>(
    future: F,
    scheduler: S,
    owner: usize,
    refs: usize,
    slot: u32,
) -> NonNull<Header>
where
    F: Future + 'static,
    S: Schedule,
{
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(refs),
            vtable: vtable::<F, S>(),
            join_waker: UnsafeCell::new(None),
            slot: AtomicU32::new(slot),
            owner: AtomicU32::new(owner as u32),
            id: Id::next(),
        },
        scheduler,
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    NonNull::from(Box::leak(cell)).cast()
}

fn vtable<F: Future + 'static, S: Schedule>() -> &'static Vtable {
    // A `const` item inside a generic fn is promoted to a `'static` per (F, S).
    struct V<F, S>(F, S);
    impl<F: Future + 'static, S: Schedule> V<F, S> {
        const VTABLE: Vtable = Vtable {
            run: run::<F, S>,
            shutdown: shutdown::<F, S>,
            schedule: schedule::<F, S>,
            read_output: read_output::<F, S>,
            drop_stage: drop_stage::<F, S>,
            dealloc: dealloc::<F, S>,
        };
    }
    &V::<F, S>::VTABLE
}

/// # Safety
/// `ptr` must point to a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the caller guarantees the cell is alive and of this type; the header
    // is its first field (`repr(C)`).
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

/// # Safety
/// Owner thread only; `ptr` is a live `Cell<F, S>` whose queue reference the caller
/// passes in.
unsafe fn run<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        Run::Skip => {
            // SAFETY: we own the queue entry's reference.
            unsafe { drop(Task::from_raw(ptr)) };
            return;
        }
        Run::Cancel => {
            // SAFETY: RUNNING is ours; owner thread.
            unsafe { cancel_and_complete(cell, ptr) };
            return;
        }
        Run::Poll => {}
    }
    // The waker passed to `poll` borrows the queue entry's reference.
    // SAFETY: the task stays alive during the poll (we hold a reference).
    let waker = unsafe { waker::borrowed(ptr) };
    let mut cx = Context::from_waker(&waker);
    let current = cell.header.id.enter();
    let polled = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: RUNNING gives this thread exclusive access to the stage, and
            // the future never moves: it lives inside the heap cell.
            let Stage::Running(fut) = (unsafe { &mut *stage }) else {
                unreachable!("a task was polled after completing")
            };
            // SAFETY: see above; the cell is pinned on the heap until dealloc.
            unsafe { std::pin::Pin::new_unchecked(fut) }.poll(&mut cx)
        })
    }));
    drop(current);
    let result = match polled {
        Ok(Poll::Pending) => {
            // The first `Pending` of an unbound task: from now on it may sit
            // idle, in no queue, so it enters a registry before it can
            // (before `transition_to_idle`, while RUNNING is still ours).
            if cell.header.is_unregistered() {
                // SAFETY: an unregistered task's registry reference is its
                // own, and RUNNING makes us the only one to hand it over.
                let own = unsafe { Task::from_raw(ptr) };
                if let Err(own) = cell.scheduler.bind(own) {
                    // The runtime is shutting down: the reference stays the
                    // task's own, and the task is cancelled here.
                    own.into_raw();
                    // SAFETY: RUNNING is still ours.
                    unsafe { cancel_and_complete(cell, ptr) };
                    return;
                }
            }
            match cell.header.state.transition_to_idle() {
                Idle::Done => {}
                // Woken during its own poll: `yield_now`, a spent budget, or a
                // wake from elsewhere that came meanwhile. The back of the queue,
                // never the next-to-run slot, or a yield would not yield.
                // SAFETY: the queue reference moves into the new entry.
                Idle::Requeue => cell.scheduler.yield_now(unsafe { Notified::from_raw(ptr) }),
                // SAFETY: RUNNING is still ours.
                Idle::Cancel => unsafe { cancel_and_complete(cell, ptr) },
            }
            return;
        }
        Ok(Poll::Ready(out)) => {
            // Drop the future before publishing the output; a panic in its
            // destructor replaces the output.
            // SAFETY: RUNNING is ours.
            match unsafe { take_future(cell) } {
                Ok(()) => Ok(out),
                Err(p) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| drop(out)));
                    Err(Cause::panic(p))
                }
            }
        }
        Err(payload) => {
            // SAFETY: RUNNING is ours. A second panic (in drop) is dropped silently:
            // the first one is the one reported.
            let _ = unsafe { take_future(cell) };
            Err(Cause::panic(payload))
        }
    };
    // SAFETY: RUNNING is ours; the future is gone.
    unsafe { complete(cell, ptr, result, 1) };
}

/// Drops the future in place, catching a panic from its destructor, and leaves
/// the stage `Consumed`.
///
/// In place matters: the future is pinned, and an `async` block may hold
/// pointers into itself (a borrow of a local across an `.await`). Moving it out
/// before dropping it would run its destructor on a copy whose internal pointers
/// still point at the old place (found by kiwi-net's tests: a task owning a
/// listener and awaiting `accept` crashed at shutdown).
///
/// # Safety
/// The caller holds `RUNNING` (exclusive access to the stage).
unsafe fn take_future<F: Future, S>(
    cell: &Cell<F, S>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    cell.stage.with_mut(|stage| {
        // SAFETY: exclusive access (from the caller); the stage is initialised.
        // If the destructor panics, unwinding still drops the remaining fields,
        // and the stage is then overwritten without being dropped again.
        let res = catch_unwind(AssertUnwindSafe(|| unsafe {
            std::ptr::drop_in_place(stage)
        }));
        // SAFETY: the old value was dropped above; writing does not drop it twice.
        unsafe { std::ptr::write(stage, Stage::Consumed) };
        res
    })
}

/// # Safety
/// Owner thread; the caller holds `RUNNING` and the queue entry's reference.
unsafe fn cancel_and_complete<F: Future + 'static, S: Schedule>(
    cell: &Cell<F, S>,
    ptr: NonNull<Header>,
) {
    // SAFETY: forwarded.
    let result = match unsafe { take_future(cell) } {
        Ok(()) => Err(Cause::Cancelled),
        Err(p) => Err(Cause::panic(p)),
    };
    // SAFETY: forwarded.
    unsafe { complete(cell, ptr, result, 1) };
}

/// Leaves the registry, publishes the result, hands it to the `JoinHandle` or
/// drops it, and drops `held` references (the caller's).
///
/// The registry goes first so that a `JoinHandle` that sees the result also
/// sees the task gone from `RuntimeMetrics::num_alive_tasks` (the bug
/// `alive_count_is_zero_once_the_join_handle_resolved`). Shutdown, which walks
/// the registry, does not miss the task: we hold `RUNNING` and finish it here.
///
/// # Safety
/// Owner thread; the caller holds `RUNNING` and `held` references; the future is gone.
unsafe fn complete<F: Future + 'static, S: Schedule>(
    cell: &Cell<F, S>,
    ptr: NonNull<Header>,
    result: Result<F::Output, Cause>,
    held: usize,
) {
    // The registry's reference stays counted until the `ref_dec` below.
    let from_registry = cell.scheduler.release(ptr);
    // SAFETY: RUNNING gives exclusive access to the stage.
    cell.stage
        .with_mut(|s| unsafe { *s = Stage::Finished(result) });
    let prev: Snapshot = cell.header.state.transition_to_complete();
    if !prev.is(JOIN_INTEREST) {
        // Nobody will read it: drop it here, on the owner.
        // SAFETY: without JOIN_INTEREST the output is ours alone.
        let old = cell
            .stage
            .with_mut(|s| unsafe { mem::replace(&mut *s, Stage::Consumed) });
        let _ = catch_unwind(AssertUnwindSafe(move || drop(old)));
    } else if prev.is(JOIN_WAKER) {
        // Read, never take: the JoinHandle may be reading the cell right now (a
        // re-poll that loaded the state just before COMPLETE was set, and is
        // comparing wakers). Two reads never race; the waker is dropped with
        // the task, or replaced by the handle while not complete.
        cell.header.join_waker.with(|w| {
            // SAFETY: with JOIN_WAKER and COMPLETE set, nobody writes the cell.
            let waker = unsafe { &*w };
            if let Some(w) = waker {
                w.wake_by_ref();
            }
        });
    }
    if cell.header.state.ref_dec(held + from_registry as usize) {
        // SAFETY: that was the last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

/// # Safety
/// The caller passes one reference, and is on the owner's thread unless the
/// future is `Send` (it may be dropped here).
unsafe fn shutdown<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.claim_for_shutdown() {
        // SAFETY: we now hold RUNNING.
        unsafe { cancel_and_complete(cell, ptr) };
    } else {
        // SAFETY: we own one reference.
        unsafe { drop(Task::from_raw(ptr)) };
    }
}

/// # Safety
/// The caller passes one reference, which becomes the queue entry.
unsafe fn schedule<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: forwarded from the caller.
    cell.scheduler.schedule(unsafe { Notified::from_raw(ptr) });
}

/// # Safety
/// `COMPLETE` is set and the caller is the `JoinHandle` (which owns the output);
/// `dst` points to an `Option<Result<F::Output, JoinError>>`.
unsafe fn read_output<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the JoinHandle owns the stage once COMPLETE is set with JOIN_INTEREST.
    let stage = cell
        .stage
        .with_mut(|s| unsafe { mem::replace(&mut *s, Stage::Consumed) });
    let Stage::Finished(out) = stage else {
        panic!("JoinHandle polled after it returned its output")
    };
    let out = out.map_err(|cause| JoinError::new(cause, cell.header.id));
    // SAFETY: the caller passes a pointer of exactly this type.
    unsafe { *dst.cast::<Option<Result<F::Output, JoinError>>>() = Some(out) };
}

/// # Safety
/// The caller has exclusive access to the stage (the `JoinHandle` after
/// completion, or the last reference).
unsafe fn drop_stage<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: exclusive access, from the caller.
    let old = cell
        .stage
        .with_mut(|s| unsafe { mem::replace(&mut *s, Stage::Consumed) });
    drop(old);
}

/// # Safety
/// The reference count has reached zero.
unsafe fn dealloc<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // Dropping the Box drops the stage (by now `Consumed`, or the output of a
    // task whose handle never read it), the join waker and the scheduler handle.
    // SAFETY: the count is zero: no other reference exists, so we may rebuild
    // the Box that `allocate` leaked.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) };
    drop(cell);
}
