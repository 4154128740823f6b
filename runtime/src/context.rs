//! What the current thread is running: its worker, if any, and a runtime handle.
//!
//! A worker lives in an `Rc` for as long as its loop runs, and the thread-local
//! holds a clone, set and reset by [`WorkerGuard`]. Code anywhere on the thread
//! (a spawn, a wake, a socket's registration) borrows it through
//! [`with_worker`]; the worker's reactor id is also kept alone in a `Cell`
//! ([`reactor_id`]), for the check every socket poll makes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::handle::Handle;
use crate::reactor::Reactor;
use crate::worker::Worker;

thread_local! {
    static WORKER: RefCell<Option<Rc<Worker>>> = const { RefCell::new(None) };
    static HANDLE: RefCell<Option<Handle>> = const { RefCell::new(None) };
    /// The id of the worker's reactor (0: no worker), kept beside `WORKER`
    /// for the hottest question in kiwi, asked on every socket poll: "is this
    /// socket registered right here?" A `Cell` load answers it without the
    /// `RefCell` borrow and `Option<Rc>` walk of [`with_reactor`].
    static REACTOR_ID: Cell<u64> = const { Cell::new(0) };
}

/// The id of this thread's reactor, or 0 if the thread runs no worker.
#[inline]
pub(crate) fn reactor_id() -> u64 {
    REACTOR_ID.with(Cell::get)
}

/// Calls `f` with the worker running on this thread, if any.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    // Only `enter_worker` and its guard borrow mutably, and never from inside
    // `f`, so the shared borrow here cannot fail; nested calls share it.
    WORKER.with(|w| f(w.borrow().as_deref()))
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
pub(crate) struct WorkerGuard {
    prev_worker: Option<Rc<Worker>>,
    prev_reactor_id: u64,
    _handle: HandleGuard,
}

pub(crate) fn enter_worker(worker: &Rc<Worker>) -> WorkerGuard {
    let prev_worker = WORKER.with(|w| w.borrow_mut().replace(worker.clone()));
    let prev_reactor_id = REACTOR_ID.with(|id| id.replace(worker.reactor.id));
    WorkerGuard {
        prev_worker,
        prev_reactor_id,
        _handle: enter_handle(worker.handle.clone()),
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        let prev = self.prev_worker.take();
        REACTOR_ID.with(|id| id.set(self.prev_reactor_id));
        // Drop the replaced worker outside the borrow.
        let old = WORKER.with(|w| std::mem::replace(&mut *w.borrow_mut(), prev));
        drop(old);
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
