//! The machinery shared by every byte stream (TCP and Unix): Kiwi's
//! `TcpConnection`, as a pair of `poll_*` functions instead of callbacks.
//!
//! A stream is two halves that meet in one socket:
//!
//! - **the read side** ([`ReadState`]) is owned by whoever reads (`&mut`): a
//!   [`Buffer`] filled by one `readv` into its free space plus a stack spill. It
//!   backs `AsyncBufRead`; `AsyncRead` serves buffered bytes first and lets reads
//!   of at least [`BYPASS`] bytes go straight into the caller's slice, skipping
//!   the copy. A short read proves the kernel queue empty, so it clears readiness
//!   without paying for an `EAGAIN` (`Io::Drained`); EOF and errors never do.
//! - **the write side** lives in [`Shared`], the `Arc` the reactor holds, because
//!   the reactor flushes it; see `shared.rs`.
//!
//! [`Conn`] is the user's handle to the socket (its registration). Dropping the
//! last one runs the close path in `close.rs`.

mod close;
pub use close::DRAIN_BOUND;
mod shared;

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use kiwi_runtime::coop;
use kiwi_runtime::io::{Direction, Io, Registration, Source};
use kiwi_runtime::sys::socket as sys;

use crate::buffer::{Buffer, INITIAL};
pub(crate) use shared::Shared;
pub use shared::{DEFAULT_HIGH_WATER, DEFAULT_LINGER_FLUSH};

/// Reads of at least this many bytes, with nothing buffered, go straight to the
/// caller's slice instead of through the read buffer.
pub const BYPASS: usize = INITIAL;

/// The read side: owned by the one reader.
#[derive(Debug, Default)]
pub(crate) struct ReadState {
    buf: Buffer,
}

impl ReadState {
    /// Bytes read from the socket but not yet handed to the user.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// Implements `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for a type with a
/// `conn` (something that derefs to [`Conn`]) and a `read` ([`ReadState`]) field,
/// or (`write_only`) just `AsyncWrite` for a type with a `conn`.
macro_rules! impl_stream_io {
    (read $ty:ty) => {
        impl futures_util::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                this.conn
                    .poll_read(cx, std::borrow::BorrowMut::borrow_mut(&mut this.read), buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                this.conn.poll_read_vectored(
                    cx,
                    std::borrow::BorrowMut::borrow_mut(&mut this.read),
                    bufs,
                )
            }
        }

        impl futures_util::io::AsyncBufRead for $ty {
            fn poll_fill_buf(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<&[u8]>> {
                let this = self.get_mut();
                this.conn
                    .poll_fill_buf(cx, std::borrow::BorrowMut::borrow_mut(&mut this.read))
            }

            fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
                let this = self.get_mut();
                this.conn
                    .consume(std::borrow::BorrowMut::borrow_mut(&mut this.read), amt)
            }
        }
    };
    (write $ty:ty) => {
        impl futures_util::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.conn.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.conn.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.conn.poll_flush(cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.conn.poll_close(cx)
            }
        }
    };
}
pub(crate) use impl_stream_io;

/// The user's handle to a stream socket. Dropping it closes gracefully (see
/// `close.rs`).
#[derive(Debug)]
pub(crate) struct Conn {
    /// `Some` until `Drop` hands it to the close path.
    reg: Option<Registration<Shared>>,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Conn {
        Conn {
            reg: Some(Registration::new(Shared::new(fd))),
        }
    }

    /// A stream over an already connected socket (accepted, a pair, or from
    /// std): it is writable, so the first write goes straight to the kernel
    /// instead of waiting for the reactor's first edge. Not for a socket whose
    /// connect is still in progress: there, writable means "connected".
    pub(crate) fn connected(fd: OwnedFd) -> Conn {
        let conn = Conn::new(fd);
        let source: &Shared = conn.reg().source();
        kiwi_runtime::io::Source::scheduled_io(source).assume_ready(Direction::Write);
        conn
    }

    pub(crate) fn reg(&self) -> &Registration<Shared> {
        self.reg
            .as_ref()
            .expect("kiwi: the registration is present until drop")
    }

    pub(crate) fn shared(&self) -> &Shared {
        self.reg().source()
    }

    /// Takes the socket out (for `into_std`): deregistered, no close path.
    ///
    /// The reactor may still hold a clone of the shared `Arc` for a moment, so
    /// the descriptor cannot be moved out of it; it is duplicated instead
    /// (`F_DUPFD_CLOEXEC`), and the original closes with the last `Arc`.
    /// Gives the descriptor back, refusing (with a clear error) to lose bytes:
    /// `buffered` bytes already read, or bytes still queued after one
    /// nonblocking flush attempt. On refusal the stream is dropped through the
    /// normal graceful close, which still delivers the queued bytes.
    pub(crate) fn into_fd_checked(self, buffered: usize) -> io::Result<OwnedFd> {
        if buffered > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("kiwi: into_std would lose {buffered} bytes already read into the stream's buffer; read them first"),
            ));
        }
        if self.queued() > 0 {
            self.flush_now_best_effort(self.reg());
            let left = self.queued();
            if left > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("kiwi: into_std would lose {left} queued bytes not yet sent; flush the stream first"),
                ));
            }
        }
        self.into_fd()
    }

    pub(crate) fn into_fd(mut self) -> io::Result<OwnedFd> {
        let reg = self
            .reg
            .take()
            .expect("kiwi: the registration is present until drop");
        reg.deregister()?;
        self.flush_now_best_effort(&reg);
        reg.source().fd().try_clone_to_owned()
    }

    fn flush_now_best_effort(&self, reg: &Registration<Shared>) {
        let s = reg.source();
        let mut out = s.out();
        let _ = s.flush_locked(&mut out);
    }

    // ----- read side -----

    /// Fills the read buffer if it is empty; returns its bytes (empty at EOF).
    pub(crate) fn poll_fill_buf<'a>(
        &self,
        cx: &mut Context<'_>,
        rs: &'a mut ReadState,
    ) -> Poll<io::Result<&'a [u8]>> {
        if rs.buf.is_empty() {
            let fd = self.shared().fd();
            let buf = &mut rs.buf;
            let n = ready!(self.reg().poll_io(cx, Direction::Read, || {
                let (n, short) = buf.read_with(|bufs| sys::readv(fd, bufs))?;
                Ok(if n > 0 && short {
                    Io::Drained(n)
                } else {
                    Io::Done(n)
                })
            }))?;
            if n == 0 {
                self.shared().eof.store(true, Ordering::Relaxed);
            }
        }
        Poll::Ready(Ok(rs.buf.readable()))
    }

    pub(crate) fn consume(&self, rs: &mut ReadState, n: usize) {
        rs.buf.consume(n.min(rs.buf.len()));
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        rs: &mut ReadState,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if rs.buf.is_empty() && out.len() >= BYPASS {
            // Large read, nothing buffered: skip the copy.
            let fd = self.shared().fd();
            let n = ready!(self.reg().poll_io(cx, Direction::Read, || {
                let n = sys::recv(fd, out, false)?;
                Ok(if n > 0 && n < out.len() {
                    Io::Drained(n)
                } else {
                    Io::Done(n)
                })
            }))?;
            if n == 0 && !out.is_empty() {
                self.shared().eof.store(true, Ordering::Relaxed);
            }
            return Poll::Ready(Ok(n));
        }
        let avail = ready!(self.poll_fill_buf(cx, rs))?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        rs.buf.consume(n);
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        rs: &mut ReadState,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let avail = ready!(self.poll_fill_buf(cx, rs))?;
        let mut copied = 0;
        for b in bufs.iter_mut() {
            let n = (avail.len() - copied).min(b.len());
            b[..n].copy_from_slice(&avail[copied..copied + n]);
            copied += n;
            if copied == avail.len() {
                break;
            }
        }
        rs.buf.consume(copied);
        Poll::Ready(Ok(copied))
    }

    /// Buffered bytes first; otherwise `MSG_PEEK` (never `Drained`: peeking
    /// leaves the bytes queued). Spends budget even when served from the buffer,
    /// so an always-ready peek loop still yields.
    pub(crate) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        rs: &mut ReadState,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !rs.buf.is_empty() {
            ready!(coop::poll_proceed(cx));
            coop::spend();
            let n = rs.buf.len().min(out.len());
            out[..n].copy_from_slice(&rs.buf.readable()[..n]);
            return Poll::Ready(Ok(n));
        }
        let fd = self.shared().fd();
        self.reg().poll_io(cx, Direction::Read, || {
            sys::recv(fd, out, true).map(Io::Done)
        })
    }

    // ----- write side -----

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
        let s = self.shared();
        let mut out = s.out();
        if let Some(e) = out.error.take() {
            return Poll::Ready(Err(e));
        }
        let mut written = 0;
        if out.buf.is_empty() {
            let fd = s.fd();
            // "Short" means the kernel took less than it was offered, and a
            // vectored send is offered at most `MAX_IOV` buffers. Judged against
            // `total`, a full send of the first `MAX_IOV` would clear readiness,
            // and queueing the rest with the socket still writable would leave
            // it where no edge ever flushes it (found in review).
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
                // Everything offered went out and the socket is still writable:
                // report the partial write (the caller writes the rest next);
                // queueing it now would leave it waiting for an edge that is not
                // owed.
                Poll::Ready(Ok(n)) if n >= offered => return Poll::Ready(Ok(n)),
                Poll::Ready(Ok(n)) => written = n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        } else if let Poll::Ready(Err(e)) = self.reg().poll_ready(cx, Direction::Write) {
            // Bytes are already queued, so only a writable edge will flush them:
            // the line above makes sure the registration lives in a reactor that
            // will see one, moving it here if the one that registered it is gone
            // (a `block_on` that returned). Without it, a writer waiting at the
            // high-water mark waited forever (found in review).
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
        match sys::shutdown(self.shared().fd(), Shutdown::Write) {
            Err(e) if sys::is_not_connected(&e) => Poll::Ready(Ok(())),
            r => Poll::Ready(r),
        }
    }

    // ----- options -----

    pub(crate) fn set_write_high_water(&self, bytes: usize) {
        self.shared().out().high_water = bytes.max(1);
    }

    pub(crate) fn write_high_water(&self) -> usize {
        self.shared().out().high_water
    }

    pub(crate) fn set_linger_flush(&self, d: Duration) {
        self.shared().linger_flush_ms.store(
            d.as_millis().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    pub(crate) fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        sys::set_linger(self.shared().fd(), linger)?;
        self.shared()
            .discard
            .store(linger == Some(Duration::ZERO), Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        sys::shutdown(self.shared().fd(), how)
    }

    /// Bytes queued in the output buffer, not yet handed to the kernel.
    pub(crate) fn queued(&self) -> usize {
        self.shared().out().buf.len()
    }
}

/// Connects `fd` to `addr` without blocking: `connect` returns `EINPROGRESS`,
/// the socket turns writable when the handshake ends, and `SO_ERROR` says how.
pub(crate) async fn connect(fd: OwnedFd, addr: &sys::SockAddr) -> io::Result<Conn> {
    let done = sys::connect(fd.as_fd(), addr)?;
    let conn = Conn::new(fd);
    // Until connected, dropping (an error, or a cancelled future) just closes.
    conn.shared().discard.store(true, Ordering::Relaxed);
    if !done {
        std::future::poll_fn(|cx| loop {
            let ev = ready!(conn.reg().poll_ready(cx, Direction::Write))?;
            if let Some(e) = sys::take_error(conn.shared().fd())? {
                return Poll::Ready(Err(e));
            }
            match sys::peer_addr(conn.shared().fd()) {
                Ok(_) => return Poll::Ready(Ok(())),
                // A spurious edge: still connecting.
                Err(e) if sys::is_not_connected(&e) => conn.reg().clear_readiness(ev),
                Err(e) => return Poll::Ready(Err(e)),
            }
        })
        .await?;
    }
    conn.shared().discard.store(false, Ordering::Relaxed);
    Ok(conn)
}

/// Waits until the reactor has sent every queued byte of `reg`'s stream.
pub(crate) fn poll_flush_reg(
    reg: &Registration<Shared>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let s = reg.source();
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

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            close::close(reg);
        }
    }
}
