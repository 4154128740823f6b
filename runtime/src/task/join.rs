//! `JoinHandle` and `AbortHandle`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::error::JoinError;
use super::id::Id;
use super::raw::Header;
use super::state::{Submit, COMPLETE, JOIN_WAKER};
use super::Task;

/// An owned permission to await a task's output, and to abort it.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// cancelled. Dropping it *detaches* the task: it keeps running, and its output is
/// dropped when it finishes. `abort` after completion changes nothing: the handle
/// still yields `Ok(output)`.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let handle = kiwi_runtime::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
///
/// # Cancel safety
///
/// Dropping the `.await` of a `JoinHandle` loses nothing: the output stays in the
/// task until the handle (or a later `.await` of it) takes it.
pub struct JoinHandle<T> {
    task: Task,
    _output: PhantomData<T>,
}

// The handle only ever moves the output `T` across threads, never the future.
// SAFETY: reading `T` on another thread needs `T: Send`; the header is atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only exposes `abort` and `is_finished` (atomics).
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// The caller gives up one reference, and `T` is the task's output type.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> JoinHandle<T> {
        // SAFETY: forwarded.
        let task = unsafe { Task::from_raw(ptr) };
        JoinHandle {
            task,
            _output: PhantomData,
        }
    }

    /// Asks the task to stop. Its owner drops the future at its next turn, on its
    /// own thread, and the handle then yields a cancelled [`JoinError`]. If the
    /// task already finished, nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        abort(self.task.as_ptr());
    }

    /// True once the task has finished: output stored, panicked or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(async {});
    ///     while !h.is_finished() {
    ///         kiwi_runtime::yield_now().await;
    ///     }
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.header().state.load().is(COMPLETE)
    }

    /// The task's id, the same as [`task::id`](crate::task::id) inside it.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let a = kiwi_runtime::spawn(async {});
    ///     let b = kiwi_runtime::spawn(async {});
    ///     assert_ne!(a.id(), b.id());
    ///     assert_eq!(a.id(), a.abort_handle().id());
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.task.header().id
    }

    /// A handle that can abort the task but not await it; it may outlive this one.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(std::future::pending::<()>());
    ///     let abort = h.abort_handle();
    ///     abort.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.task.header().state.ref_inc();
        // SAFETY: we just took the reference it owns.
        let task = unsafe { Task::from_raw(self.task.as_ptr()) };
        AbortHandle { task }
    }

    fn read_output(&self) -> Result<T, JoinError> {
        let mut out: Option<Result<T, JoinError>> = None;
        let ptr = self.task.as_ptr();
        // SAFETY: COMPLETE was observed (acquire) with JOIN_INTEREST held by us, so
        // the output is ours, and `out` has the task's output type.
        unsafe {
            (self.task.header().vtable.read_output)(ptr, (&mut out as *mut Option<_>).cast())
        };
        out.expect("read_output always fills the slot")
    }
}

fn abort(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference.
    let header = unsafe { ptr.as_ref() };
    if header.state.transition_to_cancelled() == Submit::Yes {
        // SAFETY: the transition took a reference for the queue entry.
        unsafe { (header.vtable.schedule)(ptr) };
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let header = self.task.header();
        let snapshot = header.state.load();
        if snapshot.is(COMPLETE) {
            return Poll::Ready(self.read_output());
        }
        // Store our waker where the completing owner will find it. While
        // JOIN_WAKER is clear the cell is ours; once set it is the owner's.
        if snapshot.is(JOIN_WAKER) {
            let same = header
                .join_waker
                // SAFETY: JOIN_WAKER set and not complete: nobody writes the cell.
                .with(|w| unsafe { (*w).as_ref() }.is_some_and(|w| w.will_wake(cx.waker())));
            if same {
                return Poll::Pending;
            }
            if header.state.unset_join_waker().is_err() {
                return Poll::Ready(self.read_output());
            }
        }
        // SAFETY: JOIN_WAKER is clear and the task is not complete: the cell is ours.
        header
            .join_waker
            .with_mut(|w| unsafe { *w = Some(cx.waker().clone()) });
        match header.state.set_join_waker() {
            Ok(()) => Poll::Pending,
            Err(_) => Poll::Ready(self.read_output()),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let header = self.task.header();
        if header.state.unset_join_interest().is(COMPLETE) {
            // The output (if not read yet) is ours to drop; a panicking destructor
            // must not turn a detach into an unwind.
            let ptr = self.task.as_ptr();
            // SAFETY: complete with our join interest: the stage is ours.
            let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
                (header.vtable.drop_stage)(ptr)
            }));
        }
        // `self.task` drops our reference.
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A handle that can abort a task, without awaiting it. Cloneable, `Send + Sync`.
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let h = kiwi_runtime::spawn(std::future::pending::<()>());
///     let a = h.abort_handle();
///     std::thread::spawn(move || a.abort()).join().unwrap();
///     assert!(h.await.unwrap_err().is_cancelled());
/// });
/// ```
pub struct AbortHandle {
    task: Task,
}

impl AbortHandle {
    /// Asks the task to stop; see [`JoinHandle::abort`].
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(std::future::pending::<()>());
    ///     h.abort_handle().abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        abort(self.task.as_ptr());
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(async { kiwi_runtime::task::id() });
    ///     let a = h.abort_handle();
    ///     assert_eq!(h.await.unwrap(), a.id());
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.task.header().id
    }

    /// True once the task has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_runtime::block_on(async {
    ///     let h = kiwi_runtime::spawn(async {});
    ///     let a = h.abort_handle();
    ///     h.await.unwrap();
    ///     assert!(a.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.header().state.load().is(COMPLETE)
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.task.header().state.ref_inc();
        // SAFETY: we just took the reference it owns.
        let task = unsafe { Task::from_raw(self.task.as_ptr()) };
        AbortHandle { task }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
