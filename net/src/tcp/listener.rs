//! `AsyncTcpListener`: a listening socket whose `accept` many tasks may share.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use kiwi_runtime::sys::socket::{self as sys, SockAddr};

use super::socket::TcpSocket;
use super::stream::AsyncTcpStream;
use crate::accept::AcceptState;
use crate::addr::{each_addr, ToSocketAddrs};
use crate::registered::RegisteredSocket;

/// Backlog passed to `listen` by [`AsyncTcpListener::bind`].
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP listener: Kiwi's `Acceptor`, as a future.
///
/// `accept` takes `&self`, so the listener can be shared (in an `Arc`) by several
/// tasks accepting at once; each waiting task is woken by a new connection. When
/// the process runs out of descriptors, `accept` waits and retries instead of
/// failing (see [`accept`](AsyncTcpListener::accept)).
///
/// # Examples
///
/// ```
/// use kiwi_net::{AsyncTcpListener, AsyncTcpStream};
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
///
/// kiwi_runtime::block_on(async {
///     let listener = AsyncTcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = kiwi_runtime::spawn(async move {
///         let mut s = AsyncTcpStream::connect(addr).await?;
///         s.write_all(b"hi").await?;
///         Ok::<_, std::io::Error>(())
///     });
///     let (mut conn, _peer) = listener.accept().await?;
///     let mut buf = [0u8; 2];
///     conn.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     client.await.unwrap()?;
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncTcpListener {
    sock: RegisteredSocket,
}

impl fmt::Debug for AsyncTcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncTcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.sock.fd().as_raw_fd())
            .finish()
    }
}

impl AsyncTcpListener {
    /// Binds a listener (with `SO_REUSEADDR`, backlog [`DEFAULT_BACKLOG`]). Each
    /// resolved address is tried in turn; the last error is reported.
    ///
    /// # Errors
    ///
    /// The last address's error (`AddrInUse`, `AddrNotAvailable`, ...), or
    /// `InvalidInput` for an unparsable address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a listener is only returned when complete; a partially set
    /// up socket is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let l = kiwi_net::AsyncTcpListener::bind("[::1]:0").await?;
    /// assert!(l.local_addr()?.is_ipv6());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<AsyncTcpListener> {
        each_addr(&addr, |a| async move {
            let sock = TcpSocket::new_for(&a)?;
            sock.set_reuseaddr(true)?;
            sock.bind(a)?;
            sock.listen(DEFAULT_BACKLOG)
        })
        .await
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> AsyncTcpListener {
        AsyncTcpListener {
            sock: RegisteredSocket::new(fd),
        }
    }

    /// Wraps a std listener, switching it to nonblocking mode.
    ///
    /// # Errors
    ///
    /// If `O_NONBLOCK` cannot be set.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let l = kiwi_net::AsyncTcpListener::from_std(std_listener)?;
    /// assert!(l.local_addr()?.port() != 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<AsyncTcpListener> {
        listener.set_nonblocking(true)?;
        Ok(AsyncTcpListener::from_fd(OwnedFd::from(listener)))
    }

    /// Turns the listener back into a std one (still nonblocking).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let std_listener = l.into_std();
    /// assert!(std_listener.local_addr().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> std::net::TcpListener {
        std::net::TcpListener::from(self.sock.into_fd())
    }

    /// The address the listener is bound to (with the real port).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// assert_eq!(l.local_addr()?.ip(), std::net::Ipv4Addr::LOCALHOST);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.sock.fd())?.to_inet()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// `EMFILE`/`ENFILE` are not returned: the accept waits and retries with a
    /// back-off (1 ms doubling to 100 ms), keeping every queued connection.
    /// Connections that died in the queue (`ECONNABORTED`, ...) are skipped.
    ///
    /// # Errors
    ///
    /// Other `accept4` errors (for example `EINVAL` if the socket is not listening).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is taken from the kernel only in the poll that
    /// returns it; dropping the future loses nothing.
    ///
    /// # Examples
    ///
    /// See [`AsyncTcpListener`].
    pub fn accept(&self) -> Accept<'_> {
        Accept {
            listener: self,
            state: AcceptState::default(),
        }
    }

    pub(crate) fn poll_accept(
        &self,
        cx: &mut Context<'_>,
        state: &mut AcceptState,
    ) -> Poll<io::Result<(AsyncTcpStream, SocketAddr)>> {
        let (fd, addr): (OwnedFd, SockAddr) = ready!(state.poll_accept(&self.sock, cx))?;
        Poll::Ready(Ok((AsyncTcpStream::from_fd(fd), addr.to_inet()?)))
    }

    /// A stream of incoming connections (`accept` in a loop).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// # kiwi_runtime::block_on(async {
    /// let l = kiwi_net::AsyncTcpListener::bind("127.0.0.1:0").await?;
    /// let addr = l.local_addr()?;
    /// let _c = kiwi_net::AsyncTcpStream::connect(addr).await?;
    /// let mut incoming = l.incoming();
    /// let conn = incoming.next().await.unwrap()?;
    /// assert_eq!(conn.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            state: AcceptState::default(),
        }
    }
}

impl AsFd for AsyncTcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.fd()
    }
}

impl AsRawFd for AsyncTcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.fd().as_raw_fd()
    }
}

/// The future of [`AsyncTcpListener::accept`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Accept<'a> {
    listener: &'a AsyncTcpListener,
    state: AcceptState,
}

impl fmt::Debug for Accept<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accept")
            .field("listener", self.listener)
            .finish()
    }
}

impl Future for Accept<'_> {
    type Output = io::Result<(AsyncTcpStream, SocketAddr)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.listener.poll_accept(cx, &mut this.state)
    }
}

impl Drop for Accept<'_> {
    fn drop(&mut self) {
        self.state.release(&self.listener.sock);
    }
}

/// The connections of a listener, as a `Stream`; see
/// [`AsyncTcpListener::incoming`]. It never ends.
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a AsyncTcpListener,
    state: AcceptState,
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}

impl Stream for Incoming<'_> {
    type Item = io::Result<AsyncTcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.listener
            .poll_accept(cx, &mut this.state)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

impl Drop for Incoming<'_> {
    fn drop(&mut self) {
        self.state.release(&self.listener.sock);
    }
}
