//! Closing a stream without losing bytes: the drop path.
//!
//! `close(2)` on a TCP socket is dangerous in two ways. Bytes still in *our*
//! output buffer are simply lost. And if unread bytes are waiting in the kernel
//! (or arrive after the close), the kernel answers with an RST, and an RST makes
//! the peer's kernel throw away whatever it had not yet handed to the peer's
//! application, including the last reply we sent. muduo's answer is
//! "shutdown, then wait": shut down the write side (the peer reads EOF), keep
//! reading and discarding until the peer closes too, and only then close.
//!
//! When the last user handle of a stream (the stream itself, or both owned
//! halves) is dropped, [`close`] decides:
//!
//! 1. `set_linger(Some(ZERO))` was called: the user asked for a reset. Close
//!    now; the kernel sends an RST and discards everything.
//! 2. Nothing queued and EOF already read: nothing can be lost; close now.
//! 3. Nothing queued, EOF not yet read: shut down the write side at once and
//!    read what is already there; if that reaches EOF, close now.
//! 4. Otherwise hand the socket to a small task on the runtime (the *drop-flush*).
//!    It holds the shared `Arc` (so the reactor keeps flushing), waits until the
//!    output buffer is empty, giving up only when the peer has made no progress
//!    for the linger bound (default 30 s, `set_linger_flush`), shuts down the
//!    write side, then reads and discards until EOF or [`DRAIN_BOUND`], then
//!    deregisters and closes.
//!
//! The runtime counts drop-flushes (`IoMetrics`): started, finished, and
//! abandoned when the runtime shut down before the task finished (its `Drop`
//! counts that).
//!
//! **Shortcut without a runtime.** Dropped outside any kiwi runtime (or while it
//! shuts down), there is nobody to wait: the stream makes one nonblocking attempt
//! to send what is queued, shuts down the write side and closes. Bytes the kernel
//! did not take then are lost.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiwi_runtime::io::{Direction, Io, Registration, Source};
use kiwi_runtime::metrics::IoMetrics;
use kiwi_runtime::sys::socket as sys;

use super::{poll_flush_reg, StreamSource};

/// How long a closing socket keeps reading (and discarding) while it waits for
/// the peer's EOF.
pub const DRAIN_BOUND: Duration = Duration::from_secs(2);

/// Bytes discarded per drain read (a stack array).
const DRAIN_CHUNK: usize = 4096;

/// Runs the close path for the last user handle; see the module docs.
pub(crate) fn close(reg: Registration<StreamSource>) {
    let s = reg.source();
    if s.discard.load(Ordering::Relaxed) {
        let _ = reg.deregister();
        return; // dropping the registration closes the socket: RST
    }
    let queued = !s.out().buf.is_empty();
    if !queued {
        if s.eof.load(Ordering::Relaxed) {
            let _ = reg.deregister();
            return;
        }
        let _ = sys::shutdown(s.fd(), Shutdown::Write);
        if drain_now(s) != Drain::More {
            let _ = reg.deregister();
            return;
        }
    }
    let handle = kiwi_runtime::Handle::try_current().filter(|h| !h.is_closed());
    match (handle, kiwi_runtime::current_io_metrics()) {
        (Some(handle), Some(metrics)) => {
            metrics.drop_flush_started();
            let closing = Closing {
                reg,
                metrics,
                finished: false,
            };
            drop(handle.spawn(closing.run(queued))); // detached
        }
        _ => {
            // No runtime: one nonblocking try, then close (documented shortcut).
            {
                let mut out = s.out();
                let _ = s.flush_locked(&mut out);
            }
            let _ = sys::shutdown(s.fd(), Shutdown::Write);
            let _ = reg.deregister();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Drain {
    /// The peer's EOF was read: safe to close.
    Eof,
    /// The socket failed (reset, not connected): nothing left to protect.
    Failed,
    /// Nothing more to read now; the peer has not closed yet.
    More,
}

/// Reads and discards what is already queued (a bounded number of reads).
fn drain_now(s: &StreamSource) -> Drain {
    let mut chunk = [0u8; DRAIN_CHUNK];
    for _ in 0..16 {
        match sys::recv(s.fd(), &mut chunk, false) {
            Ok(0) => return Drain::Eof,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drain::More,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Drain::Failed,
        }
    }
    Drain::More
}

/// A socket being closed by the runtime. Deregisters (then the last `Arc`
/// closes the descriptor) and updates the counters when dropped, whether it
/// finished or the runtime dropped it at shutdown.
struct Closing {
    reg: Registration<StreamSource>,
    metrics: Arc<IoMetrics>,
    finished: bool,
}

impl Closing {
    async fn run(mut self, flush_first: bool) {
        if flush_first {
            self.flush_with_linger().await;
            let _ = sys::shutdown(self.reg.source().fd(), Shutdown::Write);
        }
        if !self.reg.source().eof.load(Ordering::Relaxed) {
            let _ = kiwi_time::timeout(DRAIN_BOUND, self.drain_until_eof()).await;
        }
        self.finished = true;
    }

    /// Waits for the reactor to empty the output buffer; gives up once the peer
    /// made no progress for the linger bound, or the socket failed.
    async fn flush_with_linger(&self) {
        let s = self.reg.source();
        let linger = s.linger_flush();
        let slice = linger.clamp(Duration::from_millis(1), Duration::from_millis(500));
        let mut last = (s.out().flushed, Instant::now());
        loop {
            match kiwi_time::timeout(slice, poll_fn(|cx| poll_flush_reg(&self.reg, cx))).await {
                Ok(_) => return, // flushed, or failed (the error has nobody to go to)
                Err(_) => {
                    let flushed = s.out().flushed;
                    if flushed != last.0 {
                        last = (flushed, Instant::now());
                    } else if last.1.elapsed() >= linger {
                        return; // the peer stalled: give up
                    }
                }
            }
        }
    }

    /// Reads and discards until EOF or an error.
    async fn drain_until_eof(&self) {
        let s = self.reg.source();
        loop {
            let res = poll_fn(|cx| {
                self.reg.poll_io(cx, Direction::Read, || {
                    let mut chunk = [0u8; DRAIN_CHUNK];
                    let n = sys::recv(s.fd(), &mut chunk, false)?;
                    Ok(if n > 0 && n < DRAIN_CHUNK {
                        Io::Drained(n)
                    } else {
                        Io::Done(n)
                    })
                })
            })
            .await;
            match res {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        let _ = self.reg.deregister();
        if self.finished {
            self.metrics.drop_flush_finished();
        } else {
            self.metrics.drop_flush_abandoned();
        }
    }
}
