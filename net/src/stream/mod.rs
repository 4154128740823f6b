//! The machinery shared by every byte stream (TCP and Unix): Kiwi's
//! `TcpConnection`, as a pair of `poll_*` functions instead of callbacks.
//!
//! A stream is two halves that meet in one socket, one file each:
//!
//! - `read.rs`: **the read side** ([`ReadState`]), owned by whoever reads
//!   (`&mut`), a buffer that backs `AsyncBufRead`;
//! - `write.rs`: **the write side**, an output buffer that `poll_write` fills
//!   and the reactor flushes, with the invariant that keeps every accepted
//!   byte on its way to the kernel;
//! - `source.rs`: [`StreamSource`], the `Arc` the reactor holds (socket,
//!   readiness, output buffer);
//! - `close.rs`: the close path that runs when the last handle is dropped.
//!
//! [`Conn`] is the user's handle to the socket (its registration), and this
//! file holds what is neither side: making one, taking the descriptor back
//! out, connecting, and the options.

mod close;
mod read;
mod source;
mod write;

pub use close::DRAIN_BOUND;

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Poll};
use std::time::Duration;

use kiwi_runtime::io::{Direction, Registration, Source};
use kiwi_runtime::sys::socket as sys;

pub(crate) use read::ReadState;
pub use read::BYPASS;
pub(crate) use source::StreamSource;
pub use source::DEFAULT_LINGER_FLUSH;
pub(crate) use write::poll_flush_reg;
pub use write::DEFAULT_HIGH_WATER;

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
    reg: Option<Registration<StreamSource>>,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Conn {
        Conn {
            reg: Some(Registration::new(StreamSource::new(fd))),
        }
    }

    /// A stream over an already connected socket (accepted, a pair, or from
    /// std): it is writable, so the first write goes straight to the kernel
    /// instead of waiting for the reactor's first edge. Not for a socket whose
    /// connect is still in progress: there, writable means "connected".
    pub(crate) fn connected(fd: OwnedFd) -> Conn {
        let conn = Conn::new(fd);
        let source: &StreamSource = conn.reg().source();
        kiwi_runtime::io::Source::scheduled_io(source).assume_ready(Direction::Write);
        conn
    }

    pub(crate) fn reg(&self) -> &Registration<StreamSource> {
        self.reg
            .as_ref()
            .expect("kiwi: the registration is present until drop")
    }

    pub(crate) fn source(&self) -> &StreamSource {
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

    fn flush_now_best_effort(&self, reg: &Registration<StreamSource>) {
        let s = reg.source();
        let mut out = s.out();
        let _ = s.flush_locked(&mut out);
    }

    // ----- options -----

    pub(crate) fn set_write_high_water(&self, bytes: usize) {
        self.source().out().high_water = bytes.max(1);
    }

    pub(crate) fn write_high_water(&self) -> usize {
        self.source().out().high_water
    }

    pub(crate) fn set_linger_flush(&self, d: Duration) {
        self.source().linger_flush_ms.store(
            d.as_millis().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    pub(crate) fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        sys::set_linger(self.source().fd(), linger)?;
        self.source()
            .discard
            .store(linger == Some(Duration::ZERO), Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        sys::shutdown(self.source().fd(), how)
    }

    /// Bytes queued in the output buffer, not yet handed to the kernel.
    pub(crate) fn queued(&self) -> usize {
        self.source().out().buf.len()
    }
}

/// Connects `fd` to `addr` without blocking: `connect` returns `EINPROGRESS`,
/// the socket turns writable when the handshake ends, and `SO_ERROR` says how.
pub(crate) async fn connect(fd: OwnedFd, addr: &sys::SockAddr) -> io::Result<Conn> {
    let done = sys::connect(fd.as_fd(), addr)?;
    let conn = Conn::new(fd);
    // Until connected, dropping (an error, or a cancelled future) just closes.
    conn.source().discard.store(true, Ordering::Relaxed);
    if !done {
        std::future::poll_fn(|cx| loop {
            let ev = ready!(conn.reg().poll_ready(cx, Direction::Write))?;
            if let Some(e) = sys::take_error(conn.source().fd())? {
                return Poll::Ready(Err(e));
            }
            match sys::peer_addr(conn.source().fd()) {
                Ok(_) => return Poll::Ready(Ok(())),
                // A spurious edge: still connecting.
                Err(e) if sys::is_not_connected(&e) => conn.reg().clear_readiness(ev),
                Err(e) => return Poll::Ready(Err(e)),
            }
        })
        .await?;
    }
    conn.source().discard.store(false, Ordering::Relaxed);
    Ok(conn)
}

/// Puts a stream's two owned halves back together: the `Conn` if both `Arc`s
/// are the same connection (only the halves hold it), else both back.
#[allow(clippy::type_complexity)]
pub(crate) fn reunite(a: Arc<Conn>, b: Arc<Conn>) -> Result<Conn, (Arc<Conn>, Arc<Conn>)> {
    if !Arc::ptr_eq(&a, &b) {
        return Err((a, b));
    }
    drop(b);
    Ok(Arc::into_inner(a).expect("kiwi: only the two halves hold a split stream"))
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            close::close(reg);
        }
    }
}
