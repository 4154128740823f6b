//! `AsyncUnixDatagram`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use kiwi_runtime::io::Direction;
use kiwi_runtime::sys::socket::{self as sys, Family, Kind, SockAddr};

use crate::registered::RegisteredSocket;

/// A Unix datagram socket; every operation takes `&self`, like
/// [`AsyncUdpSocket`](crate::AsyncUdpSocket).
///
/// # Examples
///
/// ```
/// kiwi_runtime::block_on(async {
///     let (a, b) = kiwi_net::AsyncUnixDatagram::pair()?;
///     a.send(b"one").await?;
///     let mut buf = [0u8; 8];
///     assert_eq!(b.recv(&mut buf).await?, 3);
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncUnixDatagram {
    sock: RegisteredSocket,
}

impl fmt::Debug for AsyncUnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUnixDatagram")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsyncUnixDatagram {
    /// A socket bound to `path`.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let path = std::env::temp_dir().join(format!("kiwi-doc-dg-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = kiwi_net::AsyncUnixDatagram::bind(&path)?;
    /// let client = kiwi_net::AsyncUnixDatagram::unbound()?;
    /// client.send_to(b"hi", &path).await?;
    /// let mut buf = [0u8; 2];
    /// let (n, _from) = server.recv_from(&mut buf).await?;
    /// assert_eq!(n, 2);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<AsyncUnixDatagram> {
        let addr = SockAddr::from_path(path.as_ref())?;
        let fd = sys::socket(Family::Unix, Kind::Datagram)?;
        sys::bind(fd.as_fd(), &addr)?;
        Ok(AsyncUnixDatagram {
            sock: RegisteredSocket::new(fd),
        })
    }

    /// A socket bound to no address.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixDatagram::bind`].
    pub fn unbound() -> io::Result<AsyncUnixDatagram> {
        Ok(AsyncUnixDatagram {
            sock: RegisteredSocket::new(sys::socket(Family::Unix, Kind::Datagram)?),
        })
    }

    /// A connected pair (`socketpair`).
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixDatagram`].
    pub fn pair() -> io::Result<(AsyncUnixDatagram, AsyncUnixDatagram)> {
        let (a, b) = sys::socketpair(Kind::Datagram)?;
        Ok((
            AsyncUnixDatagram {
                sock: RegisteredSocket::new(a),
            },
            AsyncUnixDatagram {
                sock: RegisteredSocket::new(b),
            },
        ))
    }

    /// Wraps a std socket, switching it to nonblocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = std::os::unix::net::UnixDatagram::unbound()?;
    /// let s = kiwi_net::AsyncUnixDatagram::from_std(s)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<AsyncUnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(AsyncUnixDatagram {
            sock: RegisteredSocket::new(OwnedFd::from(socket)),
        })
    }

    /// Sets the default peer (synchronous: a datagram connect does not wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// # let path = std::env::temp_dir().join(format!("kiwi-doc-dc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = kiwi_net::AsyncUnixDatagram::bind(&path)?;
    /// let client = kiwi_net::AsyncUnixDatagram::unbound()?;
    /// client.connect(&path)?;
    /// client.send(b"x").await?;
    /// let mut buf = [0u8; 1];
    /// assert_eq!(server.recv(&mut buf).await?, 1);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        sys::connect(self.sock.fd(), &SockAddr::from_path(path.as_ref())?).map(drop)
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUnixDatagram::unbound()?;
    /// assert!(s.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.sock.fd())?.to_unix()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let (a, _b) = kiwi_net::AsyncUnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::peer_addr(self.sock.fd())?.to_unix()
    }

    /// Sends one datagram to `path`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixDatagram::bind`].
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = SockAddr::from_path(path.as_ref())?;
        self.sock
            .op(Direction::Write, |fd| sys::send_to(fd, buf, &addr))
            .await
    }

    /// Receives one datagram and its sender's address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixDatagram::bind`].
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .sock
            .op(Direction::Read, |fd| sys::recv_from(fd, buf, false))
            .await?;
        Ok((n, addr.to_unix()?))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixDatagram`].
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock
            .op(Direction::Write, |fd| sys::send(fd, buf))
            .await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// See [`AsyncUnixDatagram`].
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .op(Direction::Read, |fd| sys::recv(fd, buf, false))
            .await
    }
}

impl AsFd for AsyncUnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.fd()
    }
}

impl AsRawFd for AsyncUnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.fd().as_raw_fd()
    }
}
