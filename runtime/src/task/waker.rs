//! The task's `Waker`: a pointer to the header and one shared `RawWakerVTable`.
//!
//! Each `Waker` owns one reference. Clone adds one; drop removes one; `wake`
//! hands its reference to the run-queue entry (or drops it, if the task is already
//! queued or finished). Waking never allocates. Waking on the owner's thread
//! pushes to its local queue without a lock or a syscall; from another thread it
//! goes through the owner's remote queue (see `worker/`).

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::Header;
use super::state::Submit;
use super::Task;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows the caller's reference (no count change): used for the
/// `Context` of a poll.
///
/// # Safety
/// The caller keeps a reference alive for as long as the returned value lives.
pub(crate) unsafe fn borrowed(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable's contract holds for a live header; ManuallyDrop stops the
    // borrowed reference from being released.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

/// The task behind a waker, if it is one of ours (used by the trace log).
pub(crate) fn header_of(waker: &Waker) -> Option<NonNull<Header>> {
    if std::ptr::eq(waker.vtable(), &VTABLE) {
        NonNull::new(waker.data() as *mut Header)
    } else {
        None
    }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live header: the waker being cloned holds a reference.
    let header = unsafe { &*(data as *const Header) };
    header.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: the waker owns a reference, so the header is alive.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: as above.
    let header = unsafe { ptr.as_ref() };
    match header.state.wake_by_val() {
        // SAFETY: our reference becomes the queue entry's.
        Submit::Yes => unsafe { (header.vtable.schedule)(ptr) },
        Submit::No => {}
        // SAFETY: ours was the last reference.
        Submit::Dealloc => unsafe { (header.vtable.dealloc)(ptr) },
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns a reference, so the header is alive.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: as above.
    let header = unsafe { ptr.as_ref() };
    if header.state.wake_by_ref() == Submit::Yes {
        // SAFETY: `wake_by_ref` took a new reference for the queue entry.
        unsafe { (header.vtable.schedule)(ptr) };
    }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owns a reference, which this drop releases.
    unsafe { drop(Task::from_raw(NonNull::new_unchecked(data as *mut Header))) };
}
