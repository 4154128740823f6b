//! `AsyncTcpStream`: Kiwi's `TcpConnection` with its two buffers, as a
//! `futures-io` stream. The machinery is in `crate::stream`; this file is the
//! TCP face of it: connect, addresses and TCP options.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use kiwi_runtime::io::Source;
use kiwi_runtime::sys::socket as sys;

use super::socket::TcpSocket;
use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::addr::{each_addr, ToSocketAddrs};
use crate::stream::{impl_stream_io, Conn, ReadState};

/// A TCP connection with an internal read buffer and a reactor-flushed write
/// buffer.
///
/// - Reading (`AsyncRead`, `AsyncBufRead`) goes through a [`Buffer`](crate::Buffer)
///   filled by one `readv`; large reads bypass it.
/// - Writing (`AsyncWrite`) sends directly when nothing is queued and otherwise
///   queues up to the high-water mark ([`DEFAULT_HIGH_WATER`](crate::DEFAULT_HIGH_WATER),
///   see [`set_write_high_water`](AsyncTcpStream::set_write_high_water)); the
///   reactor sends queued bytes as the socket drains. `flush` waits for the queue
///   to empty; `close` flushes and shuts down the write side.
/// - Dropping the stream never loses queued bytes while a runtime runs: the
///   runtime finishes sending them and closes gracefully (see the crate docs).
///
/// # Examples
///
/// ```
/// use kiwi_net::{AsyncTcpListener, AsyncTcpStream};
/// use futures_util::io::{AsyncBufReadExt, AsyncWriteExt};
///
/// kiwi_runtime::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
///     let mut client = AsyncTcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"line one\n").await?;
///     let mut line = String::new();
///     server.read_line(&mut line).await?;
///     assert_eq!(line, "line one\n");
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncTcpStream {
    pub(crate) conn: Conn,
    pub(crate) read: ReadState,
}

impl_stream_io!(read AsyncTcpStream);
impl_stream_io!(write AsyncTcpStream);

impl fmt::Debug for AsyncTcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsyncTcpStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> AsyncTcpStream {
        AsyncTcpStream::from_conn(Conn::connected(fd))
    }

    pub(crate) fn from_conn(conn: Conn) -> AsyncTcpStream {
        AsyncTcpStream {
            conn,
            read: ReadState::default(),
        }
    }

    /// Connects to `addr` without blocking the worker: a nonblocking `connect`,
    /// then a wait for writability, then `SO_ERROR`. Each resolved address is
    /// tried in turn; the last error is reported. Host names are resolved on the
    /// blocking pool; literal addresses are not.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when nothing listens, and the other connect errors.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the half-open socket.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let port = l.local_addr()?.port();
    /// let s = kiwi_net::AsyncTcpStream::connect(("127.0.0.1", port)).await?;
    /// assert_eq!(s.peer_addr()?.port(), port);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<AsyncTcpStream> {
        each_addr(&addr, |a| async move {
            TcpSocket::new_for(&a)?.connect(a).await
        })
        .await
    }

    /// Wraps a connected std stream, switching it to nonblocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(l.local_addr()?)?;
    /// let s = kiwi_net::AsyncTcpStream::from_std(std_stream)?;
    /// assert_eq!(s.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<AsyncTcpStream> {
        stream.set_nonblocking(true)?;
        Ok(AsyncTcpStream::from_fd(OwnedFd::from(stream)))
    }

    /// Turns the stream back into a std one (still nonblocking). Queued output is
    /// sent with one nonblocking attempt; flush first to be sure it all went.
    /// Bytes in the read buffer are lost.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if bytes already read into the stream's buffer would be
    /// lost (read them first), `WouldBlock` if queued bytes could not all be
    /// sent at once (flush first); in both cases the stream is closed the
    /// normal, graceful way. Otherwise, if the reactor could not forget the
    /// descriptor.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let std_stream = s.into_std()?;
    /// assert!(std_stream.peer_addr().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let buffered = self.read.buffered();
        Ok(std::net::TcpStream::from(
            self.conn.into_fd_checked(buffered)?,
        ))
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.as_fd())?.to_inet()
    }

    /// The peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// assert_eq!(s.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::peer_addr(self.as_fd())?.to_inet()
    }

    /// Reads into `buf` without consuming: buffered bytes first, otherwise the
    /// kernel's queue (`MSG_PEEK`). Returns 0 at EOF.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// c.write_all(b"abc").await?;
    /// let mut buf = [0u8; 3];
    /// let n = s.peek(&mut buf).await?;
    /// assert_eq!(&buf[..n], &b"abc"[..n]);
    /// s.read_exact(&mut buf).await?; // still there
    /// assert_eq!(&buf, b"abc");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.conn.poll_peek(cx, &mut self.read, buf)).await
    }

    /// Splits into halves that may move to different tasks (and threads). The
    /// socket closes, gracefully, when both are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let c = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// let (mut rd, mut wr) = c.into_split();
    /// let writer = kiwi_runtime::spawn(async move { wr.write_all(b"ping").await });
    /// let mut buf = [0u8; 4];
    /// s.read_exact(&mut buf).await?;
    /// s.write_all(b"pong").await?;
    /// rd.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"pong");
    /// writer.await.unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let AsyncTcpStream { conn, read } = self;
        let conn = Arc::new(conn);
        (
            OwnedReadHalf {
                conn: conn.clone(),
                read,
            },
            OwnedWriteHalf { conn },
        )
    }

    /// Borrows the stream as a read half and a write half, for use in one task
    /// (for example in `select!` or `join!`).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (mut s, _) = l.accept().await?;
    /// let (mut rd, mut wr) = c.split();
    /// wr.write_all(b"x").await?;
    /// s.write_all(b"y").await?;
    /// let mut b = [0u8; 1];
    /// rd.read_exact(&mut b).await?;
    /// assert_eq!(&b, b"y");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            ReadHalf {
                conn: &self.conn,
                read: &mut self.read,
            },
            WriteHalf { conn: &self.conn },
        )
    }

    /// Shuts down one or both directions (`shutdown(2)`), without flushing: use
    /// `close().await` to flush and then shut down the write side.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// s.shutdown(std::net::Shutdown::Write)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }
}

/// Option accessors shared by the stream and its halves.
macro_rules! tcp_options {
    ($ty:ty) => {
        impl $ty {
            /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// s.set_nodelay(true)?;
            /// assert!(s.nodelay()?);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
                sys::set_nodelay(self.conn.source().fd(), on)
            }

            /// Reads `TCP_NODELAY`.
            ///
            /// # Examples
            ///
            /// See `set_nodelay`.
            pub fn nodelay(&self) -> io::Result<bool> {
                sys::nodelay(self.conn.source().fd())
            }

            /// Sets `SO_KEEPALIVE`.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// s.set_keepalive(true)?;
            /// assert!(s.keepalive()?);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
                sys::set_keepalive(self.conn.source().fd(), on)
            }

            /// Reads `SO_KEEPALIVE`.
            ///
            /// # Examples
            ///
            /// See `set_keepalive`.
            pub fn keepalive(&self) -> io::Result<bool> {
                sys::keepalive(self.conn.source().fd())
            }

            /// Sets `SO_LINGER`. `Some(Duration::ZERO)` is the explicit discard
            /// path: on drop the socket closes at once with an RST, throwing away
            /// queued and unsent bytes. Other values also apply to the final
            /// `close(2)` made by the graceful close path.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// s.set_linger(Some(std::time::Duration::ZERO))?;
            /// assert_eq!(s.linger()?, Some(std::time::Duration::ZERO));
            /// drop(s); // reset, not FIN
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
                self.conn.set_linger(linger)
            }

            /// Reads `SO_LINGER`.
            ///
            /// # Examples
            ///
            /// See `set_linger`.
            pub fn linger(&self) -> io::Result<Option<Duration>> {
                sys::linger(self.conn.source().fd())
            }

            /// Sets the IP time-to-live (`IP_TTL`, or the IPv6 hop limit).
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// s.set_ttl(42)?;
            /// assert_eq!(s.ttl()?, 42);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
                let fd = self.conn.source().fd();
                sys::set_ttl(
                    fd,
                    sys::local_addr(fd)?.family() == Some(sys::Family::V6),
                    ttl,
                )
            }

            /// Reads the IP time-to-live.
            ///
            /// # Examples
            ///
            /// See `set_ttl`.
            pub fn ttl(&self) -> io::Result<u32> {
                let fd = self.conn.source().fd();
                sys::ttl(fd, sys::local_addr(fd)?.family() == Some(sys::Family::V6))
            }

            /// Sets how many bytes the write buffer may hold before `poll_write`
            /// returns `Pending` (default [`DEFAULT_HIGH_WATER`](crate::DEFAULT_HIGH_WATER)).
            /// The reactor wakes a blocked writer once the buffer is below half.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// s.set_write_high_water(16 * 1024);
            /// assert_eq!(s.write_high_water(), 16 * 1024);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn set_write_high_water(&self, bytes: usize) {
                self.conn.set_write_high_water(bytes)
            }

            /// The write buffer's high-water mark.
            ///
            /// # Examples
            ///
            /// See `set_write_high_water`.
            pub fn write_high_water(&self) -> usize {
                self.conn.write_high_water()
            }

            /// Bytes accepted by `poll_write` that the kernel has not taken yet.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// assert_eq!(s.queued(), 0);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn queued(&self) -> usize {
                self.conn.queued()
            }

            /// Sets how long, after the stream is dropped with bytes still
            /// queued, the runtime keeps sending to a peer that makes no
            /// progress before giving up (default
            /// [`DEFAULT_LINGER_FLUSH`](crate::DEFAULT_LINGER_FLUSH), 30 s).
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// s.set_linger_flush(std::time::Duration::from_secs(5));
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn set_linger_flush(&self, bound: Duration) {
                self.conn.set_linger_flush(bound)
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.conn.source().fd()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.conn.source().fd().as_raw_fd()
            }
        }
    };
}

tcp_options!(AsyncTcpStream);
