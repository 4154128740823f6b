//! The part of a stream the reactor holds: the socket, its readiness, and the
//! output buffer that the reactor flushes (muduo's `handleWrite`).
//!
//! # Why the reactor writes
//!
//! `poll_write` tries the socket directly when nothing is queued. What the kernel
//! does not take is appended to the output buffer, and `poll_write` reports it
//! as written. From then on the bytes are the *reactor's* job: each time epoll
//! reports the socket writable, [`Shared::on_ready`] (called on the reactor's
//! thread right after the edge is recorded) sends as much of the buffer as the
//! kernel takes. So bytes accepted by `poll_write` reach the kernel with no
//! further call from the user, and a `write_all(..).await` followed by a read of
//! the reply cannot deadlock with the request stuck in user space.
//!
//! # Invariant that makes this lossless
//!
//! Whenever the buffer is non-empty, the last send attempt (by `poll_write` or
//! the reactor) either found the kernel buffer full or was short, so the kernel
//! owes us an `EPOLLOUT` edge (it sets `SOCK_NOSPACE` on such a send and signals
//! when space frees up). `poll_write` appends only while holding the lock that
//! `on_ready` takes, and after seeing the socket not ready, so an edge that
//! arrives while it appends waits for the lock and then finds the bytes.
//!
//! # Waiting
//!
//! A writer blocked at the high-water mark, or a `poll_flush` waiting for the
//! buffer to empty, parks one waker here; the reactor wakes it when the buffer
//! falls below the low-water mark (half the high-water mark), empties, or a send
//! fails. A failed send is stored and returned by the next `poll_write` or
//! `poll_flush`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use kiwi_runtime::io::{ScheduledIo, Source};
use kiwi_runtime::sys::socket as sys;

use crate::buffer::Buffer;

/// Default high-water mark of the output buffer: beyond it `poll_write` waits.
pub const DEFAULT_HIGH_WATER: usize = 256 * 1024;

/// Default bound on how long a dropped stream keeps sending to a peer that makes
/// no progress.
pub const DEFAULT_LINGER_FLUSH: Duration = Duration::from_secs(30);

/// The output side, under one lock shared by the writer and the reactor.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) buf: Buffer,
    pub(crate) high_water: usize,
    /// A send error seen by the reactor, for the next `poll_write`/`poll_flush`.
    pub(crate) error: Option<io::Error>,
    /// The writer (or flusher) waiting for room or for an empty buffer.
    pub(crate) waiter: Option<Waker>,
    /// Bytes the reactor has sent from the buffer, ever (progress, for linger).
    pub(crate) flushed: u64,
}

impl Output {
    pub(crate) fn low_water(&self) -> usize {
        self.high_water / 2
    }
}

/// The reactor's view of a stream socket; see the module docs.
#[derive(Debug)]
pub(crate) struct Shared {
    io: ScheduledIo,
    /// Closed when the last `Arc` goes, which is after `deregister` (the owner's
    /// close path deregisters first), so the reactor never writes to a closed or
    /// recycled descriptor number.
    fd: OwnedFd,
    pub(crate) out: Mutex<Output>,
    /// The read side returned EOF: closing needs no drain.
    pub(crate) eof: AtomicBool,
    /// `SO_LINGER` was set to zero: close discards (resets) at once.
    pub(crate) discard: AtomicBool,
    /// How long a drop-flush waits for a stalled peer, in milliseconds.
    pub(crate) linger_flush_ms: AtomicU64,
}

impl Shared {
    pub(crate) fn new(fd: OwnedFd) -> Shared {
        Shared {
            io: ScheduledIo::new(),
            fd,
            out: Mutex::new(Output {
                buf: Buffer::new(),
                high_water: DEFAULT_HIGH_WATER,
                error: None,
                waiter: None,
                flushed: 0,
            }),
            eof: AtomicBool::new(false),
            discard: AtomicBool::new(false),
            linger_flush_ms: AtomicU64::new(DEFAULT_LINGER_FLUSH.as_millis() as u64),
        }
    }

    pub(crate) fn out(&self) -> MutexGuard<'_, Output> {
        // Nothing panics while holding the lock; don't turn poison into a panic.
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn linger_flush(&self) -> Duration {
        Duration::from_millis(self.linger_flush_ms.load(Ordering::Relaxed))
    }

    /// Sends buffered bytes until the buffer empties or the kernel stops taking
    /// them. Returns the waker to wake (outside the lock), if any.
    pub(crate) fn flush_locked(&self, out: &mut Output) -> Option<Waker> {
        let before = out.buf.len();
        while !out.buf.is_empty() {
            match sys::send(self.fd(), out.buf.readable()) {
                Ok(n) => {
                    let short = n < out.buf.len();
                    out.buf.consume(n);
                    out.flushed += n as u64;
                    if short {
                        break; // the kernel buffer is full: an edge will follow
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // The peer is gone: the queued bytes can never be sent.
                    out.buf.clear();
                    out.error = Some(e);
                    return out.waiter.take();
                }
            }
        }
        if out.buf.is_empty() {
            // Give the memory back: an idle connection holds no output buffer.
            out.buf.release();
        }
        let crossed_low = before > out.low_water() && out.buf.len() <= out.low_water();
        if out.buf.is_empty() || crossed_low {
            out.waiter.take()
        } else {
            None
        }
    }
}

impl Source for Shared {
    fn scheduled_io(&self) -> &ScheduledIo {
        &self.io
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The reactor's flush: on a writable (or hang-up/error) edge, send what the
    /// writer left in the output buffer.
    fn on_ready(&self, events: u32) {
        if !sys::is_write_event(events) {
            return;
        }
        let waker = {
            let mut out = self.out();
            if out.buf.is_empty() {
                return;
            }
            self.flush_locked(&mut out)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}
