//! The halves of a Unix stream: the same four shapes as TCP's (see
//! `tcp/split.rs`), with Unix addresses. Splitting costs an `Arc` around the
//! connection; the socket closes, gracefully, when both owned halves are gone.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::sync::Arc;

use kiwi_runtime::io::Source;
use kiwi_runtime::sys::socket as sys;

use super::AsyncUnixStream;
use crate::stream::{self, impl_stream_io, Conn, ReadState};

/// The owned read half of an [`AsyncUnixStream`], from
/// [`into_split`](AsyncUnixStream::into_split). Implements `AsyncRead` and
/// `AsyncBufRead`.
pub struct OwnedReadHalf {
    pub(super) conn: Arc<Conn>,
    pub(super) read: ReadState,
}

/// The owned write half of an [`AsyncUnixStream`], from
/// [`into_split`](AsyncUnixStream::into_split). Implements `AsyncWrite`;
/// `close` flushes and shuts down the write side.
pub struct OwnedWriteHalf {
    pub(super) conn: Arc<Conn>,
}

/// The borrowed read half of an [`AsyncUnixStream`], from
/// [`split`](AsyncUnixStream::split).
pub struct ReadHalf<'a> {
    pub(super) conn: &'a Conn,
    pub(super) read: &'a mut ReadState,
}

/// The borrowed write half of an [`AsyncUnixStream`], from
/// [`split`](AsyncUnixStream::split).
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
            /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
            /// let (rd, _wr) = a.into_split();
            /// assert!(rd.local_addr()?.is_unnamed());
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                sys::local_addr(self.conn.source().fd())?.to_unix()
            }

            /// The peer's address.
            ///
            /// # Examples
            ///
            /// ```
            /// # kiwi_runtime::block_on(async {
            /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
            /// let (_rd, wr) = a.into_split();
            /// assert!(wr.peer_addr()?.is_unnamed());
            /// # Ok::<(), std::io::Error>(())
            /// # }).unwrap();
            /// ```
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                sys::peer_addr(self.conn.source().fd())?.to_unix()
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
        f.write_str("kiwi: tried to reunite halves of two different Unix streams")
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
    /// let (a, b) = kiwi_net::AsyncUnixStream::pair()?;
    /// let (rd_a, wr_a) = a.into_split();
    /// let (rd_b, wr_b) = b.into_split();
    /// let err = rd_a.reunite(wr_b).unwrap_err(); // not one stream
    /// let a = err.0.reunite(wr_a).expect("halves of one stream");
    /// # drop((a, rd_b, err.1));
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<AsyncUnixStream, ReuniteError> {
        let OwnedReadHalf { conn, read } = self;
        match stream::reunite(conn, other.conn) {
            Ok(conn) => Ok(AsyncUnixStream { conn, read }),
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
    /// let (a, mut b) = kiwi_net::AsyncUnixStream::pair()?;
    /// b.write_all(b"z").await?;
    /// let (mut rd, _wr) = a.into_split();
    /// let mut one = [0u8; 1];
    /// assert_eq!(rd.peek(&mut one).await?, 1);
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
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// let (rd, wr) = a.into_split();
    /// assert!(wr.reunite(rd).is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn reunite(self, other: OwnedReadHalf) -> Result<AsyncUnixStream, ReuniteError> {
        other.reunite(self)
    }

    /// Shuts down the write side now, without flushing (use `close().await` to
    /// flush first).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixStream::pair()?;
    /// let (_rd, wr) = a.into_split();
    /// wr.shutdown()?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.conn.shutdown(Shutdown::Write)
    }
}
