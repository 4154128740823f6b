//! The write side of a stream: `poll_write` and the reactor's flush, which
//! share one output buffer (muduo's `handleWrite`).
//!
//! # Why the reactor writes
//!
//! `poll_write` tries the socket directly when nothing is queued. What the kernel
//! does not take is appended to the output buffer, and `poll_write` reports it
//! as written. From then on the bytes are the *reactor's* job: each time epoll
//! reports the socket writable, [`StreamSource::on_writable`] (called on the reactor's
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
//! `on_writable` takes, and after seeing the socket not ready, so an edge that
//! arrives while it appends waits for the lock and then finds the bytes.
//!
//! # Waiting
//!
//! A writer blocked at the high-water mark, or a `poll_flush` waiting for the
//! buffer to empty, parks one waker here; the reactor wakes it when the buffer
//! falls below the low-water mark (half the high-water mark), empties, or a send
//! fails. A failed send is stored and returned by the next `poll_write` or
//! `poll_flush`. A `poll_flush` with nothing queued and no stored error, the
//! usual case, reads `StreamSource::flushed_all` and takes no lock.
//!
//! # The direct path
//!
//! With nothing queued, `poll_write` sends straight away and queues only what
//! the kernel did not take, and only when the send proved the kernel buffer
//! full (it took less than it was offered): that is what makes the edge owed.
//! A send that took all it was offered but not all the caller had (a vectored
//! write of more than `MAX_IOV` slices) returns a partial count instead.
//! With bytes already queued, new bytes are appended behind them, so that
//! order is kept, and the reactor sends them with the rest.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::task::{ready, Context, Poll, Waker};

use kiwi_runtime::coop;
use kiwi_runtime::io::{Direction, Io, Registration, Source};
use kiwi_runtime::sys::socket as sys;

use super::{Conn, StreamSource};
use crate::buffer::Buffer;

/// Default high-water mark of the output buffer: beyond it `poll_write` waits.
pub const DEFAULT_HIGH_WATER: usize = 256 * 1024;

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

impl StreamSource {
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

    /// The reactor's flush: on a writable (or hang-up/error) edge, send what the
    /// writer left in the output buffer. Runs on the thread that dispatched
    /// the edge (any thread: the buffer is behind its lock).
    pub(crate) fn on_writable(&self, events: u32) {
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

impl Conn {
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(data)])
    }

    /// Writes straight through when nothing is queued; queues the rest (up to the
    /// high-water mark) for the reactor to flush; waits above the mark.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        ready!(coop::poll_proceed(cx));
        let s = self.source();
        let mut out = s.out();
        if let Some(e) = out.error.take() {
            return Poll::Ready(Err(e));
        }
        let mut written = 0;
        if out.buf.is_empty() {
            let fd = s.fd();
            // "Short" is judged against what the send was offered, at most
            // `MAX_IOV` slices, not against `total`: only a send short of its
            // offer proves the kernel buffer full and makes an edge owed.
            // (tests/net_regressions.rs::vectored_write_beyond_uio_maxiov_left_bytes_stuck)
            let offered: usize = bufs.iter().take(sys::MAX_IOV).map(|b| b.len()).sum();
            // Direct write. Pending here only means "not writable now": the bytes
            // get queued below instead, so the waker it left is never needed.
            match self.reg().poll_io(cx, Direction::Write, || {
                let n = if bufs.len() == 1 {
                    sys::send(fd, &bufs[0])?
                } else {
                    sys::send_vectored(fd, bufs)?
                };
                Ok(if n < offered {
                    Io::Drained(n)
                } else {
                    Io::Done(n)
                })
            }) {
                Poll::Ready(Ok(n)) if n == total => return Poll::Ready(Ok(n)),
                // Everything offered went out, so no edge is owed: report the
                // partial write (the caller writes the rest next) rather than
                // queue bytes that nothing would flush.
                Poll::Ready(Ok(n)) if n >= offered => return Poll::Ready(Ok(n)),
                Poll::Ready(Ok(n)) => written = n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        } else if let Poll::Ready(Err(e)) = self.reg().poll_ready(cx, Direction::Write) {
            // Bytes are already queued, and only a writable edge flushes them,
            // so the registration must live in a reactor that turns: the call
            // above moves it here if the one that registered it is gone (a
            // `block_on` that returned).
            // (tests/net_regressions.rs::writer_at_high_water_waited_on_a_dead_reactor)
            return Poll::Ready(Err(e));
        }
        let room = out.high_water.saturating_sub(out.buf.len());
        if room == 0 && written == 0 {
            // Backpressure: the reactor wakes us below the low-water mark.
            out.waiter = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut take = room.min(total - written);
        let mut skip = written;
        for b in bufs {
            if take == 0 {
                break;
            }
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            let part = &b[skip..(skip + take).min(b.len())];
            skip = 0;
            out.buf.append(part);
            take -= part.len();
            written += part.len();
        }
        coop::spend();
        Poll::Ready(Ok(written))
    }

    /// Waits until the reactor has sent every queued byte.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush_reg(self.reg(), cx)
    }

    /// Flushes, then shuts down the write side (the peer reads EOF).
    pub(crate) fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        match sys::shutdown(self.source().fd(), Shutdown::Write) {
            Err(e) if sys::is_not_connected(&e) => Poll::Ready(Ok(())),
            r => Poll::Ready(r),
        }
    }
}

/// Waits until the reactor has sent every queued byte of `reg`'s stream.
pub(crate) fn poll_flush_reg(
    reg: &Registration<StreamSource>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let s = reg.source();
    if s.flushed_all.load(Ordering::Acquire) {
        // Nothing queued and no error: the common flush, with no lock.
        return Poll::Ready(Ok(()));
    }
    let mut out = s.out();
    if let Some(e) = out.error.take() {
        return Poll::Ready(Err(e));
    }
    if out.buf.is_empty() {
        return Poll::Ready(Ok(()));
    }
    out.waiter = Some(cx.waker().clone());
    drop(out);
    // Make sure the socket is registered with a live reactor (it moves there if
    // its reactor is gone), or no edge would ever flush the buffer.
    let _ = reg.poll_ready(cx, Direction::Write)?;
    Poll::Pending
}
