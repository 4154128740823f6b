//! The halves of a TCP stream.
//!
//! A stream's read side (its read buffer) and write side (its output buffer, in
//! the shared registration) are already separate, so splitting costs nothing but
//! an `Arc` around the connection. The owned halves may live on different tasks
//! and workers: the socket stays registered where it first was polled, and the
//! reactor wakes the reader and the writer across threads. The connection closes,
//! gracefully, when both owned halves are gone.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use kiwi_runtime::io::Source;
use kiwi_runtime::sys::socket as sys;

use super::AsyncTcpStream;
use crate::stream::{self, impl_stream_io, Conn, ReadState};

/// The owned read half of an [`AsyncTcpStream`](crate::AsyncTcpStream), from
/// [`into_split`](crate::AsyncTcpStream::into_split). Implements `AsyncRead` and
/// `AsyncBufRead`.
pub struct OwnedReadHalf {
    pub(super) conn: Arc<Conn>,
    pub(super) read: ReadState,
}

/// The owned write half of an [`AsyncTcpStream`](crate::AsyncTcpStream), from
/// [`into_split`](crate::AsyncTcpStream::into_split). Implements `AsyncWrite`;
/// `close` flushes and shuts down the write side.
pub struct OwnedWriteHalf {
    pub(super) conn: Arc<Conn>,
}

/// The borrowed read half of an [`AsyncTcpStream`](crate::AsyncTcpStream), from
/// [`split`](crate::AsyncTcpStream::split).
pub struct ReadHalf<'a> {
    pub(super) conn: &'a Conn,
    pub(super) read: &'a mut ReadState,
}

/// The borrowed write half of an [`AsyncTcpStream`](crate::AsyncTcpStream), from
/// [`split`](crate::AsyncTcpStream::split).
pub struct WriteHalf<'a> {
    pub(super) conn: &'a Conn,
}

impl_stream_io!(read OwnedReadHalf);
impl_stream_io!(write OwnedWriteHalf);
impl_stream_io!(read ReadHalf<'_>);
impl_stream_io!(write WriteHalf<'_>);

macro_rules! half_common {
    ($ty:ty, $name:literal) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct($name)
                    .field("local", &sys::local_addr(self.conn.source().fd()).ok())
                    .field("peer", &sys::peer_addr(self.conn.source().fd()).ok())
                    .finish()
            }
        }

        impl $ty {
            /// The local address of the stream.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// let (rd, wr) = s.into_split();
            /// assert_eq!(rd.local_addr()?, wr.local_addr()?);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                sys::local_addr(self.conn.source().fd())?.to_inet()
            }

            /// The peer's address.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
            /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
            /// let (rd, _wr) = s.into_split();
            /// assert_eq!(rd.peer_addr()?, l.local_addr()?);
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                sys::peer_addr(self.conn.source().fd())?.to_inet()
            }
        }
    };
}

half_common!(OwnedReadHalf, "OwnedReadHalf");
half_common!(OwnedWriteHalf, "OwnedWriteHalf");
half_common!(ReadHalf<'_>, "ReadHalf");
half_common!(WriteHalf<'_>, "WriteHalf");

/// The halves given to [`OwnedReadHalf::reunite`] came from different
/// streams; both are handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("kiwi: tried to reunite halves of two different TCP streams")
    }
}

impl std::error::Error for ReuniteError {}

impl OwnedReadHalf {
    /// Joins this half with the write half of the same stream, giving the
    /// stream back, with its read buffer and queued output intact.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`], holding both halves, if they are not from one stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (rd, wr) = s.into_split();
    /// let s = rd.reunite(wr).expect("halves of one stream");
    /// assert_eq!(s.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<AsyncTcpStream, ReuniteError> {
        let OwnedReadHalf { conn, read } = self;
        match stream::reunite(conn, other.conn) {
            Ok(conn) => Ok(AsyncTcpStream { conn, read }),
            Err((conn, w)) => Err(ReuniteError(
                OwnedReadHalf { conn, read },
                OwnedWriteHalf { conn: w },
            )),
        }
    }

    /// Reads into `buf` without consuming (buffered bytes first).
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
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let mut c = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (s, _) = l.accept().await?;
    /// c.write_all(b"z").await?;
    /// let (mut rd, _wr) = s.into_split();
    /// let mut b = [0u8; 1];
    /// assert_eq!(rd.peek(&mut b).await?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.conn.poll_peek(cx, &mut self.read, buf)).await
    }
}

impl OwnedWriteHalf {
    /// Joins this half with the read half of the same stream; see
    /// [`OwnedReadHalf::reunite`].
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (rd, wr) = s.into_split();
    /// assert!(wr.reunite(rd).is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn reunite(self, other: OwnedReadHalf) -> Result<AsyncTcpStream, ReuniteError> {
        other.reunite(self)
    }

    /// Shuts down the write side now, without flushing (use `close().await` to
    /// flush first).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (_rd, wr) = s.into_split();
    /// wr.shutdown()?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.conn.shutdown(Shutdown::Write)
    }

    /// Sets the write buffer's high-water mark; see
    /// [`AsyncTcpStream::set_write_high_water`](crate::AsyncTcpStream::set_write_high_water).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let s = kiwi_net::AsyncTcpStream::connect(l.local_addr()?).await?;
    /// let (_rd, wr) = s.into_split();
    /// wr.set_write_high_water(4096);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_write_high_water(&self, bytes: usize) {
        self.conn.set_write_high_water(bytes)
    }
}
