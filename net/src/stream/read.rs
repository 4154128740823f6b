//! The read side of a stream, owned by whoever reads (`&mut`).
//!
//! [`ReadState`] is a [`Buffer`] filled by one `readv` into its free space
//! plus a stack spill. It backs `AsyncBufRead`; `AsyncRead` serves buffered
//! bytes first and lets reads of at least [`BYPASS`] bytes go straight into
//! the caller's slice, skipping the copy.
//!
//! A short read proves the kernel queue empty, so it clears readiness without
//! paying for an `EAGAIN` (`Io::Drained`). EOF, errors and peeks never do: EOF
//! stays readable forever, an error is reported once and the next read must
//! see the socket again, and a peek leaves the bytes queued.

use std::io::{self, IoSliceMut};
use std::sync::atomic::Ordering;
use std::task::{ready, Context, Poll};

use kiwi_runtime::coop;
use kiwi_runtime::io::{Direction, Io, Source};
use kiwi_runtime::sys::socket as sys;

use super::Conn;
use crate::buffer::{Buffer, INITIAL};

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

impl Conn {
    /// Fills the read buffer if it is empty; returns its bytes (empty at EOF).
    pub(crate) fn poll_fill_buf<'a>(
        &self,
        cx: &mut Context<'_>,
        rs: &'a mut ReadState,
    ) -> Poll<io::Result<&'a [u8]>> {
        if rs.buf.is_empty() {
            let fd = self.source().fd();
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
                self.source().eof.store(true, Ordering::Relaxed);
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
            let fd = self.source().fd();
            let n = ready!(self.reg().poll_io(cx, Direction::Read, || {
                let n = sys::recv(fd, out, false)?;
                Ok(if n > 0 && n < out.len() {
                    Io::Drained(n)
                } else {
                    Io::Done(n)
                })
            }))?;
            if n == 0 && !out.is_empty() {
                self.source().eof.store(true, Ordering::Relaxed);
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
        let fd = self.source().fd();
        self.reg().poll_io(cx, Direction::Read, || {
            sys::recv(fd, out, true).map(Io::Done)
        })
    }
}
