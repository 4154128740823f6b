//! `AsyncUnixStream`: the TCP stream machinery over a Unix socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use kiwi_runtime::io::Source;
use kiwi_runtime::sys::socket::{self as sys, Family, Kind, SockAddr};

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::stream::{impl_stream_io, Conn, ReadState};

/// A Unix stream socket with the same buffers, reactor flush and graceful close
/// as [`AsyncTcpStream`](crate::AsyncTcpStream).
///
/// # Examples
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// kiwi_runtime::block_on(async {
///     let (mut a, mut b) = kiwi_net::AsyncUnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncUnixStream {
    pub(super) conn: Conn,
    pub(super) read: ReadState,
}

impl_stream_io!(read AsyncUnixStream);
impl_stream_io!(write AsyncUnixStream);

impl fmt::Debug for AsyncUnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsyncUnixStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> AsyncUnixStream {
        AsyncUnixStream {
            conn: Conn::connected(fd),
            read: ReadState::default(),
        }
    }

    /// Connects to the listener at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` when nothing listens there;
    /// `WouldBlock` if the listener's backlog is full.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the socket.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixListener`](crate::AsyncUnixListener).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<AsyncUnixStream> {
        let addr = SockAddr::from_path(path.as_ref())?;
        let fd = sys::socket(Family::Unix, Kind::Stream)?;
        let conn = crate::stream::connect(fd, &addr).await?;
        Ok(AsyncUnixStream {
            conn,
            read: ReadState::default(),
        })
    }

    /// A connected pair of streams (`socketpair`).
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixStream`].
    pub fn pair() -> io::Result<(AsyncUnixStream, AsyncUnixStream)> {
        let (a, b) = sys::socketpair(Kind::Stream)?;
        Ok((AsyncUnixStream::from_fd(a), AsyncUnixStream::from_fd(b)))
    }

    /// Wraps a std stream, switching it to nonblocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = kiwi_net::AsyncUnixStream::from_std(a)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<AsyncUnixStream> {
        stream.set_nonblocking(true)?;
        Ok(AsyncUnixStream::from_fd(OwnedFd::from(stream)))
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.as_fd())?.to_unix()
    }

    /// The peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::peer_addr(self.as_fd())?.to_unix()
    }

    /// Reads without consuming (buffered bytes first).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::AsyncWriteExt;
    /// # kiwi_runtime::block_on(async {
    /// let (mut a, mut b) = kiwi_net::AsyncUnixStream::pair()?;
    /// a.write_all(b"q").await?;
    /// let mut buf = [0u8; 1];
    /// assert_eq!(b.peek(&mut buf).await?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.conn.poll_peek(cx, &mut self.read, buf)).await
    }

    /// Splits into halves that may move to different tasks (and threads). The
    /// socket closes, gracefully, when both are dropped;
    /// [`OwnedReadHalf::reunite`](super::OwnedReadHalf::reunite) joins them
    /// again.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    /// # kiwi_runtime::block_on(async {
    /// let (a, mut b) = kiwi_net::AsyncUnixStream::pair()?;
    /// let (mut rd, mut wr) = a.into_split();
    /// let writer = kiwi_runtime::spawn(async move { wr.write_all(b"ping").await });
    /// let mut buf = [0u8; 4];
    /// b.read_exact(&mut buf).await?;
    /// b.write_all(b"pong").await?;
    /// rd.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"pong");
    /// writer.await.unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let AsyncUnixStream { conn, read } = self;
        let conn = Arc::new(conn);
        (
            OwnedReadHalf {
                conn: conn.clone(),
                read,
            },
            OwnedWriteHalf { conn },
        )
    }

    /// Borrows the stream as a read half and a write half, for use in one task.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    /// # kiwi_runtime::block_on(async {
    /// let (mut a, mut b) = kiwi_net::AsyncUnixStream::pair()?;
    /// let (mut rd, mut wr) = a.split();
    /// wr.write_all(b"x").await?;
    /// b.write_all(b"y").await?;
    /// let mut one = [0u8; 1];
    /// rd.read_exact(&mut one).await?;
    /// assert_eq!(&one, b"y");
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

    /// Turns the stream back into a std (blocking-capable) stream, still in
    /// nonblocking mode.
    ///
    /// # Errors
    ///
    /// Refuses, as [`AsyncTcpStream::into_std`](crate::AsyncTcpStream::into_std)
    /// does, to lose bytes: bytes already read into the stream's buffer
    /// (`InvalidInput`), or output still queued after one flush attempt
    /// (`WouldBlock`).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// let std_stream = a.into_std()?;
    /// assert!(std_stream.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let buffered = self.read.buffered();
        Ok(std::os::unix::net::UnixStream::from(
            self.conn.into_fd_checked(buffered)?,
        ))
    }

    /// Shuts down one or both directions now, without flushing.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }

    /// Sets the write buffer's high-water mark (see
    /// [`AsyncTcpStream::set_write_high_water`](crate::AsyncTcpStream::set_write_high_water)).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// a.set_write_high_water(8192);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_write_high_water(&self, bytes: usize) {
        self.conn.set_write_high_water(bytes)
    }
}

impl AsFd for AsyncUnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.conn.source().fd()
    }
}

impl AsRawFd for AsyncUnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.source().fd().as_raw_fd()
    }
}
