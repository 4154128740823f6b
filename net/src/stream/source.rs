//! The part of a stream the reactor holds: the socket, its readiness, and the
//! output buffer the reactor flushes. The user's [`Conn`](super::Conn) and,
//! while registered, the reactor each hold an `Arc` of it; the descriptor
//! closes with the last one.

use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kiwi_runtime::io::{ScheduledIo, Source};

use super::write::{Output, DEFAULT_HIGH_WATER};
use crate::buffer::Buffer;

/// Default bound on how long a dropped stream keeps sending to a peer that makes
/// no progress.
pub const DEFAULT_LINGER_FLUSH: Duration = Duration::from_secs(30);

/// The reactor's view of a stream socket; see the module docs.
#[derive(Debug)]
pub(crate) struct StreamSource {
    io: ScheduledIo,
    /// Closed when the last `Arc` goes, which is after `deregister` (the owner's
    /// close path deregisters first), so the reactor never writes to a closed or
    /// recycled descriptor number.
    fd: OwnedFd,
    out: Mutex<Output>,
    /// The output buffer is empty and holds no error: a `poll_flush` has
    /// nothing to wait for. True at first; after that written only by
    /// [`OutGuard`]'s drop, under the lock, so it mirrors the buffer as the
    /// last holder left it. A flush (one per hyper response) reads it instead
    /// of taking the lock.
    pub(crate) flushed_all: AtomicBool,
    /// The read side returned EOF: closing needs no drain.
    pub(crate) eof: AtomicBool,
    /// `SO_LINGER` was set to zero: close discards (resets) at once.
    pub(crate) discard: AtomicBool,
    /// How long a drop-flush waits for a stalled peer, in milliseconds.
    pub(crate) linger_flush_ms: AtomicU64,
}

impl StreamSource {
    pub(crate) fn new(fd: OwnedFd) -> StreamSource {
        StreamSource {
            io: ScheduledIo::new(),
            fd,
            out: Mutex::new(Output {
                buf: Buffer::new(),
                high_water: DEFAULT_HIGH_WATER,
                error: None,
                waiter: None,
                flushed: 0,
            }),
            flushed_all: AtomicBool::new(true),
            eof: AtomicBool::new(false),
            discard: AtomicBool::new(false),
            linger_flush_ms: AtomicU64::new(DEFAULT_LINGER_FLUSH.as_millis() as u64),
        }
    }

    /// Locks the output buffer.
    pub(crate) fn out(&self) -> OutGuard<'_> {
        OutGuard {
            // Nothing panics while holding the lock; don't turn poison into a panic.
            out: self.out.lock().unwrap_or_else(|e| e.into_inner()),
            flushed_all: &self.flushed_all,
        }
    }

    pub(crate) fn linger_flush(&self) -> Duration {
        Duration::from_millis(self.linger_flush_ms.load(Ordering::Relaxed))
    }
}

/// The locked output buffer. Its drop, still under the lock, refreshes
/// [`StreamSource::flushed_all`]: every change to the buffer goes through
/// here, so no call site can forget the flag.
pub(crate) struct OutGuard<'a> {
    out: MutexGuard<'a, Output>,
    flushed_all: &'a AtomicBool,
}

impl Deref for OutGuard<'_> {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.out
    }
}

impl DerefMut for OutGuard<'_> {
    fn deref_mut(&mut self) -> &mut Output {
        &mut self.out
    }
}

impl Drop for OutGuard<'_> {
    fn drop(&mut self) {
        // Every store happens under the lock, so the flag's order is the
        // lock's: a writer that queued bytes stored `false`, and only a later
        // holder that emptied the buffer can have stored `true`. Release
        // lets a flusher that reads `true` also see that holder's writes.
        let all = self.out.buf.is_empty() && self.out.error.is_none();
        self.flushed_all.store(all, Ordering::Release);
    }
}

impl Source for StreamSource {
    fn scheduled_io(&self) -> &ScheduledIo {
        &self.io
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Writable edges flush the output buffer; see `write.rs`.
    fn on_ready(&self, events: u32) {
        self.on_writable(events);
    }
}
