//! `splice_bidirectional`: a TCP proxy whose bytes never enter user space.
//!
//! [`copy_bidirectional`](crate::copy_bidirectional) moves every byte through
//! user space once (kernel → the reader's buffer → kernel). Between two kiwi
//! TCP streams the kernel can do better: `splice(2)` moves the received pages
//! into a pipe, and from the pipe into the other socket's send queue, with no
//! copy to or from user memory. Each direction:
//!
//! 1. **Bytes already in user space go first.** While the reading stream's
//!    buffer holds bytes (read before the proxy started, say), they are
//!    written on through the normal path; while the writing stream's output
//!    buffer is not empty, we wait for the reactor to flush it. Only then does
//!    splicing start, so the byte order holds.
//! 2. **Socket → pipe** when the reading socket is readable (its registration,
//!    as for any read), at most [`PIPE_CAPACITY`] bytes, so the pipe, empty
//!    at that point, always has room: kiwi never waits on the pipe itself.
//! 3. **Pipe → socket** when the writing socket is writable, until the pipe is
//!    empty; then back to 2.
//! 4. At end of input, the half-close is forwarded (`poll_close`: flush and
//!    `shutdown(Write)`), as `copy_bidirectional` does.
//!
//! **Splicing only pays in bulk.** A splice read cannot prove the socket
//! drained (a short splice may only mean the pipe's page slots ran out), so
//! every splice read ends with one more that answers `EAGAIN`: three calls
//! per chunk against the buffered path's two, and for a 100-byte request the
//! copy it saves is nothing. So a direction starts on the buffered path, and
//! turns to splicing when a read brings at least [`BULK`] bytes at once; a
//! splice that brings less turns it back.
//!
//! The pipe is made once per direction, on the first splice. Where the kernel
//! refuses to splice (`EINVAL`, `ENOSYS`, `EOPNOTSUPP` before any byte went
//! through the pipe), the direction falls back to the buffered copy for good.
//!
//! Why a function of its own: `copy_bidirectional` is generic over any
//! `AsyncBufRead + AsyncWrite`, and without specialization it cannot ask
//! whether its arguments happen to be kiwi TCP streams.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::task::{ready, Context, Poll};

use kiwi_runtime::io::{Direction, Io, Source};
use kiwi_runtime::sys::splice::{self as sys, PIPE_CAPACITY};

use crate::AsyncTcpStream;

/// A read of at least this many bytes means data is coming in bulk: splice
/// from then on (see the module docs).
pub const BULK: usize = 16 * 1024;

/// Copies bytes between two TCP streams in both directions at once with
/// `splice(2)`, until both reach EOF; returns `(a to b, b to a)` byte counts.
/// Half-closes are forwarded, and an error on either side ends both, as in
/// [`copy_bidirectional`](crate::copy_bidirectional), whose buffered path it
/// falls back to where the kernel cannot splice.
///
/// # Examples
///
/// ```
/// use kiwi_net::{AsyncTcpListener, AsyncTcpStream};
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
///
/// kiwi_runtime::block_on(async {
///     let upstream = AsyncTcpListener::bind("127.0.0.1:0").await?;
///     let up_addr = upstream.local_addr()?;
///     kiwi_runtime::spawn(async move {
///         let (mut s, _) = upstream.accept().await.unwrap();
///         let mut ping = [0u8; 4];
///         s.read_exact(&mut ping).await.unwrap();
///         s.write_all(b"pong").await.unwrap();
///     });
///     let front = AsyncTcpListener::bind("127.0.0.1:0").await?;
///     let front_addr = front.local_addr()?;
///     let proxy = kiwi_runtime::spawn(async move {
///         let (mut client, _) = front.accept().await?;
///         let mut server = AsyncTcpStream::connect(up_addr).await?;
///         kiwi_net::splice_bidirectional(&mut client, &mut server).await
///     });
///     let mut c = AsyncTcpStream::connect(front_addr).await?;
///     c.write_all(b"ping").await?;
///     c.close().await?;
///     let mut reply = Vec::new();
///     c.read_to_end(&mut reply).await?;
///     assert_eq!(reply, b"pong");
///     assert_eq!(proxy.await.unwrap()?, (4, 4));
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
///
/// # Cancel safety
///
/// Not cancel safe: bytes in flight in a pipe are lost if the future is
/// dropped.
pub async fn splice_bidirectional(
    a: &mut AsyncTcpStream,
    b: &mut AsyncTcpStream,
) -> io::Result<(u64, u64)> {
    let mut a_to_b = Splice::default();
    let mut b_to_a = Splice::default();
    poll_fn(|cx| {
        let ab = a_to_b.poll(cx, a, b)?;
        let ba = b_to_a.poll(cx, b, a)?;
        match (ab, ba) {
            (Poll::Ready(ab), Poll::Ready(ba)) => Poll::Ready(Ok((ab, ba))),
            _ => Poll::Pending,
        }
    })
    .await
}

/// One direction's progress.
#[derive(Default)]
struct Splice {
    /// `(read end, write end)`, made on first use.
    pipe: Option<(OwnedFd, OwnedFd)>,
    /// Bytes in the pipe, not yet sent on.
    in_pipe: usize,
    copied: u64,
    /// The kernel refused to splice: copy through user space for good.
    buffered: bool,
    /// Data is coming in bulk: splice (see [`BULK`]).
    bulk: bool,
    eof: bool,
    done: bool,
}

impl Splice {
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        r: &mut AsyncTcpStream,
        w: &mut AsyncTcpStream,
    ) -> Poll<io::Result<u64>> {
        while !self.eof {
            if self.in_pipe > 0 {
                let (pipe_r, _) = self.pipe.as_ref().expect("bytes in a pipe that exists");
                let (from, to, len) = (pipe_r, w.conn.source().fd(), self.in_pipe);
                let n = ready!(w.conn.reg().poll_io(cx, Direction::Write, || {
                    sys::splice(from.as_fd(), to, len).map(Io::Done)
                }))?;
                self.in_pipe -= n;
                self.copied += n as u64;
                record(n);
                continue;
            }
            if self.buffered || !self.bulk || r.read.buffered() > 0 {
                // Small messages, bytes already in user space, or no
                // splicing: the buffered path, one chunk.
                let buf = ready!(r.conn.poll_fill_buf(cx, &mut r.read))?;
                if buf.is_empty() {
                    self.eof = true;
                    break;
                }
                if buf.len() >= BULK {
                    self.bulk = true;
                }
                let n = ready!(w.conn.poll_write(cx, buf))?;
                r.conn.consume(&mut r.read, n);
                self.copied += n as u64;
                continue;
            }
            if w.conn.queued() > 0 {
                // Let the reactor send what the buffered path queued, so that
                // spliced bytes cannot overtake it.
                ready!(w.conn.poll_flush(cx))?;
                continue;
            }
            if self.pipe.is_none() {
                self.pipe = Some(sys::pipe()?);
            }
            let (_, pipe_w) = self.pipe.as_ref().expect("made above");
            let from = r.conn.source().fd();
            match r.conn.reg().poll_io(cx, Direction::Read, || {
                sys::splice(from, pipe_w.as_fd(), PIPE_CAPACITY).map(Io::Done)
            }) {
                Poll::Ready(Ok(0)) => {
                    self.eof = true;
                    r.conn.source().eof.store(true, Ordering::Relaxed);
                }
                Poll::Ready(Ok(n)) => {
                    self.in_pipe = n;
                    self.bulk = n >= BULK;
                }
                Poll::Ready(Err(e)) if sys::is_unsupported(&e) => self.buffered = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if !self.done {
            ready!(w.conn.poll_close(cx))?;
            self.done = true;
        }
        Poll::Ready(Ok(self.copied))
    }
}

/// Counts spliced bytes in the runtime's I/O metrics.
fn record(n: usize) {
    if let Some(m) = kiwi_runtime::current_io_metrics() {
        m.record_spliced(n as u64);
    }
}
