//! What the current thread is running: its worker, if any, and a runtime handle.
//!
//! The worker lives on its thread's stack for as long as its loop runs; the
//! thread-local holds a raw pointer to it, set and reset by [`WorkerGuard`]. This
//! is the "scoped thread-local" pattern: the pointer is only dereferenced while the
//! guard, and so the worker, is alive.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::handle::Handle;
use crate::reactor::Reactor;
use crate::worker::Worker;

thread_local! {
    static WORKER: Cell<*const Worker> = const { Cell::new(std::ptr::null()) };
    static HANDLE: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Calls `f` with the worker running on this thread, if any.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = WORKER.with(Cell::get);
    // SAFETY: the pointer is non-null only while a `WorkerGuard` lives, and the
    // guard borrows the worker, so the worker outlives every use here.
    f(unsafe { ptr.as_ref() })
}

/// Calls `f` with this thread's reactor, if it runs one.
pub(crate) fn with_reactor<R>(f: impl FnOnce(Option<&Arc<Reactor>>) -> R) -> R {
    with_worker(|w| f(w.map(|w| &w.reactor)))
}

/// The runtime handle of this thread (a worker's, a `block_on`'s, or one entered
/// with `Runtime::enter`).
pub(crate) fn handle() -> Option<Handle> {
    with_handle(|h| h.cloned())
}

/// Calls `f` with this thread's runtime handle, without cloning it.
pub(crate) fn with_handle<R>(f: impl FnOnce(Option<&Handle>) -> R) -> R {
    HANDLE.with(|h| f(h.borrow().as_ref()))
}

/// Installs a worker (and its handle) on this thread until dropped.
pub(crate) struct WorkerGuard<'a> {
    prev_worker: *const Worker,
    _handle: HandleGuard,
    _worker: std::marker::PhantomData<&'a Worker>,
}

pub(crate) fn enter_worker(worker: &Worker) -> WorkerGuard<'_> {
    let prev_worker = WORKER.with(|w| w.replace(worker));
    WorkerGuard {
        prev_worker,
        _handle: enter_handle(worker.handle.clone()),
        _worker: std::marker::PhantomData,
    }
}

impl Drop for WorkerGuard<'_> {
    fn drop(&mut self) {
        WORKER.with(|w| w.set(self.prev_worker));
    }
}

/// Makes a handle current until dropped (restoring the previous one).
pub(crate) struct HandleGuard {
    prev: Option<Handle>,
}

pub(crate) fn enter_handle(handle: Handle) -> HandleGuard {
    let prev = HANDLE.with(|h| h.borrow_mut().replace(handle));
    HandleGuard { prev }
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // Drop the replaced handle outside the borrow: dropping the last handle of
        // a runtime may run arbitrary code.
        let old = HANDLE.with(|h| std::mem::replace(&mut *h.borrow_mut(), prev));
        drop(old);
    }
}
