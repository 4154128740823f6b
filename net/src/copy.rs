//! `copy_bidirectional`: the heart of a proxy, with no buffer of its own.
//!
//! Each direction is a small state machine driven by the same poll: take the
//! bytes the reader already holds (`poll_fill_buf`), hand them to the writer
//! (`poll_write`), and mark as many as it took consumed. When the reader
//! reports EOF, shut the writer's write side down (`poll_close`), which
//! forwards the half-close to the other peer; when both directions are done,
//! return how many bytes went each way.
//!
//! # Copies, counted honestly
//!
//! Every byte still crosses user space once: the kernel copies it into the
//! reading stream's internal buffer (`recv`), and from there into the other
//! socket (`send`), or into that stream's output buffer when the kernel is
//! full. What this saves, against a copy loop with a buffer of its own
//! (tokio allocates 8 KiB per direction), is that buffer and one `memcpy` per
//! chunk. A reader that only implements `AsyncRead` goes through a
//! `BufReader`, whose buffer then plays that part. Between two kiwi TCP
//! streams, [`splice_bidirectional`](crate::splice_bidirectional) goes
//! further: the bytes never enter user space.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::io::{AsyncBufRead, AsyncWrite};

/// Copies bytes from `a` to `b` and from `b` to `a` at the same time, until
/// both have reached EOF, and returns how many bytes went each way: `(a to
/// b, b to a)`.
///
/// EOF on one side is forwarded to the other as a half-close
/// (`poll_close`: for a kiwi TCP stream, flush and `shutdown(Write)`), and
/// the other direction goes on until its own EOF. An error on either side
/// ends both and is returned; bytes read before it were written on.
///
/// Types that only implement `AsyncRead` go through
/// [`BufReader`](futures_util::io::BufReader) first.
///
/// # Examples
///
/// A proxy's connection: one client socket, one upstream socket.
///
/// ```
/// use kiwi_net::{AsyncTcpListener, AsyncTcpStream};
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
///
/// kiwi_runtime::block_on(async {
///     // An upstream that answers "pong" to "ping".
///     let upstream = AsyncTcpListener::bind("127.0.0.1:0").await?;
///     let up_addr = upstream.local_addr()?;
///     kiwi_runtime::spawn(async move {
///         let (mut s, _) = upstream.accept().await.unwrap();
///         let mut ping = [0u8; 4];
///         s.read_exact(&mut ping).await.unwrap();
///         s.write_all(b"pong").await.unwrap();
///     });
///     // The proxy.
///     let front = AsyncTcpListener::bind("127.0.0.1:0").await?;
///     let front_addr = front.local_addr()?;
///     let proxy = kiwi_runtime::spawn(async move {
///         let (mut client, _) = front.accept().await?;
///         let mut server = AsyncTcpStream::connect(up_addr).await?;
///         kiwi_net::copy_bidirectional(&mut client, &mut server).await
///     });
///     let mut c = AsyncTcpStream::connect(front_addr).await?;
///     c.write_all(b"ping").await?;
///     c.close().await?; // half-close: the proxy forwards it
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
/// Dropping the future loses no byte the readers hold (they stay in their
/// buffers), but bytes already handed to a writer are sent, and a half-close
/// may have been forwarded.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncBufRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncBufRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = Direction::default();
    let mut b_to_a = Direction::default();
    poll_fn(|cx| {
        let ab = a_to_b.poll(cx, &mut *a, &mut *b)?;
        let ba = b_to_a.poll(cx, &mut *b, &mut *a)?;
        match (ab, ba) {
            (Poll::Ready(ab), Poll::Ready(ba)) => Poll::Ready(Ok((ab, ba))),
            _ => Poll::Pending,
        }
    })
    .await
}

/// One direction's progress.
#[derive(Default)]
struct Direction {
    /// Bytes written on so far.
    copied: u64,
    /// The reader reached EOF; what is left is closing the writer.
    eof: bool,
    /// The writer is closed: this direction is finished.
    done: bool,
}

impl Direction {
    fn poll<R, W>(&mut self, cx: &mut Context<'_>, r: &mut R, w: &mut W) -> Poll<io::Result<u64>>
    where
        R: AsyncBufRead + Unpin + ?Sized,
        W: AsyncWrite + Unpin + ?Sized,
    {
        while !self.eof {
            let buf = match Pin::new(&mut *r).poll_fill_buf(cx) {
                Poll::Ready(buf) => buf?,
                Poll::Pending => {
                    // Nothing to read for now: push out whatever the writer
                    // buffers (a `BufWriter`), so it does not sit there
                    // while we wait. kiwi's own streams need no flush (the
                    // reactor sends their output buffer), and say so at once.
                    let _ = Pin::new(&mut *w).poll_flush(cx)?;
                    return Poll::Pending;
                }
            };
            if buf.is_empty() {
                self.eof = true;
                break;
            }
            let n = ready!(Pin::new(&mut *w).poll_write(cx, buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            Pin::new(&mut *r).consume(n);
            self.copied += n as u64;
        }
        if !self.done {
            // Flush and shut the write side down: the peer sees our EOF.
            ready!(Pin::new(&mut *w).poll_close(cx))?;
            self.done = true;
        }
        Poll::Ready(Ok(self.copied))
    }
}
