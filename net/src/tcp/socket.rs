//! `TcpSocket`: set options before `bind`/`listen`/`connect`.
//!
//! The usual use is one `SO_REUSEPORT` listener per worker: the kernel then
//! spreads incoming connections across the listeners, and each worker accepts
//! its own without sharing a socket.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use kiwi_runtime::sys::socket::{self as sys, Family, Kind, SockAddr};

use super::listener::AsyncTcpListener;
use super::stream::AsyncTcpStream;

/// A TCP socket that is not yet listening or connected.
///
/// # Examples
///
/// ```
/// use kiwi_net::TcpSocket;
///
/// kiwi_runtime::block_on(async {
///     let addr = "127.0.0.1:0".parse().unwrap();
///     let s = TcpSocket::new_v4()?;
///     s.set_reuseport(true)?;
///     s.bind(addr)?;
///     let listener = s.listen(128)?;
///     let port = listener.local_addr()?.port();
///     // A second listener on the same port: allowed by SO_REUSEPORT.
///     let s2 = TcpSocket::new_v4()?;
///     s2.set_reuseport(true)?;
///     s2.bind(([127, 0, 0, 1], port).into())?;
///     let _listener2 = s2.listen(128)?;
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct TcpSocket {
    fd: OwnedFd,
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl TcpSocket {
    /// A new IPv4 TCP socket (nonblocking, close-on-exec).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = kiwi_net::TcpSocket::new_v4().unwrap();
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(Family::V4, Kind::Stream)?,
        })
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = kiwi_net::TcpSocket::new_v6().unwrap();
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: sys::socket(Family::V6, Kind::Stream)?,
        })
    }

    /// A new socket of `addr`'s family.
    pub(crate) fn new_for(addr: &SocketAddr) -> io::Result<TcpSocket> {
        if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
    }

    /// Sets `SO_REUSEADDR` (rebind a port in `TIME_WAIT`).
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_net::TcpSocket::new_v4().unwrap().set_reuseaddr(true).unwrap();
    /// ```
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        sys::set_reuse_address(self.fd.as_fd(), on)
    }

    /// Sets `SO_REUSEPORT` (several listeners on one port; the kernel balances).
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_net::TcpSocket::new_v4().unwrap().set_reuseport(true).unwrap();
    /// ```
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        sys::set_reuse_port(self.fd.as_fd(), on)
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_net::TcpSocket::new_v4().unwrap().set_send_buffer_size(1 << 16).unwrap();
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_send_buffer_size(self.fd.as_fd(), size)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_net::TcpSocket::new_v4().unwrap().set_recv_buffer_size(1 << 16).unwrap();
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_recv_buffer_size(self.fd.as_fd(), size)
    }

    /// Sets `TCP_NODELAY` (kept by accepted or connected streams).
    ///
    /// # Examples
    ///
    /// ```
    /// kiwi_net::TcpSocket::new_v4().unwrap().set_nodelay(true).unwrap();
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        sys::set_nodelay(self.fd.as_fd(), on)
    }

    /// Binds to `addr`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = kiwi_net::TcpSocket::new_v4().unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        sys::bind(self.fd.as_fd(), &SockAddr::from_inet(&addr))
    }

    /// The bound address.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = kiwi_net::TcpSocket::new_v4().unwrap();
    /// s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().port() != 0);
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.fd.as_fd())?.to_inet()
    }

    /// Starts listening with `backlog`.
    ///
    /// # Examples
    ///
    /// See [`TcpSocket`].
    pub fn listen(self, backlog: u32) -> io::Result<AsyncTcpListener> {
        sys::listen(self.fd.as_fd(), backlog.min(i32::MAX as u32) as i32)?;
        Ok(AsyncTcpListener::from_fd(self.fd))
    }

    /// Connects (nonblocking) to `addr`.
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
    /// let s = kiwi_net::TcpSocket::new_v4()?;
    /// s.set_nodelay(true)?;
    /// let stream = s.connect(l.local_addr()?).await?;
    /// assert!(stream.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<AsyncTcpStream> {
        let conn = crate::stream::connect(self.fd, &SockAddr::from_inet(&addr)).await?;
        Ok(AsyncTcpStream::from_conn(conn))
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
