//! `AsyncUnixListener`.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use kiwi_runtime::sys::socket::{self as sys, Family, Kind, SockAddr};

use super::stream::AsyncUnixStream;
use crate::accept::AcceptState;
use crate::registered::RegisteredSocket;
use crate::tcp::DEFAULT_BACKLOG;

/// A Unix stream listener. `accept` takes `&self` and may be awaited by several
/// tasks at once; it backs off on `EMFILE` like the TCP listener.
///
/// # Examples
///
/// ```
/// use kiwi_net::{AsyncUnixListener, AsyncUnixStream};
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
///
/// kiwi_runtime::block_on(async {
///     let dir = std::env::temp_dir().join(format!("kiwi-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let path = dir.join("listener.sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = AsyncUnixListener::bind(&path)?;
///     let mut client = AsyncUnixStream::connect(&path).await?;
///     let (mut server, _addr) = listener.accept().await?;
///     client.write_all(b"hey").await?;
///     let mut buf = [0u8; 3];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hey");
///     std::fs::remove_file(&path)?;
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncUnixListener {
    sock: RegisteredSocket,
}

impl fmt::Debug for AsyncUnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUnixListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsyncUnixListener {
    /// Binds to `path` and listens (synchronous, like std: nothing to wait for).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the path exists; `InvalidInput` if it is too long.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixListener`].
    pub fn bind(path: impl AsRef<Path>) -> io::Result<AsyncUnixListener> {
        let addr = SockAddr::from_path(path.as_ref())?;
        let fd = sys::socket(Family::Unix, Kind::Stream)?;
        sys::bind(fd.as_fd(), &addr)?;
        sys::listen(fd.as_fd(), DEFAULT_BACKLOG as i32)?;
        Ok(AsyncUnixListener {
            sock: RegisteredSocket::new(fd),
        })
    }

    /// Wraps a std listener, switching it to nonblocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let path = std::env::temp_dir().join(format!("kiwi-doc-fs-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = std::os::unix::net::UnixListener::bind(&path)?;
    /// let l = kiwi_net::AsyncUnixListener::from_std(l)?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<AsyncUnixListener> {
        listener.set_nonblocking(true)?;
        Ok(AsyncUnixListener {
            sock: RegisteredSocket::new(OwnedFd::from(listener)),
        })
    }

    /// The bound address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let path = std::env::temp_dir().join(format!("kiwi-doc-la-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = kiwi_net::AsyncUnixListener::bind(&path)?;
    /// assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.sock.fd())?.to_unix()
    }

    /// Waits for a connection; returns it and the peer's address (usually
    /// unnamed).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is taken only by the poll that returns it.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixListener`].
    pub fn accept(&self) -> UnixAccept<'_> {
        UnixAccept {
            listener: self,
            state: AcceptState::default(),
        }
    }
}

impl AsFd for AsyncUnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.fd()
    }
}

impl AsRawFd for AsyncUnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.fd().as_raw_fd()
    }
}

/// The future of [`AsyncUnixListener::accept`].
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct UnixAccept<'a> {
    listener: &'a AsyncUnixListener,
    state: AcceptState,
}

impl fmt::Debug for UnixAccept<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixAccept")
            .field("listener", self.listener)
            .finish()
    }
}

impl Future for UnixAccept<'_> {
    type Output = io::Result<(AsyncUnixStream, SocketAddr)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (fd, addr) = ready!(this.state.poll_accept(&this.listener.sock, cx))?;
        Poll::Ready(Ok((AsyncUnixStream::from_fd(fd), addr.to_unix()?)))
    }
}

impl Drop for UnixAccept<'_> {
    fn drop(&mut self) {
        self.state.release(&self.listener.sock);
    }
}
