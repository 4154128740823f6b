//! `AsyncUdpSocket`: datagrams, shared by reference.
//!
//! Every operation takes `&self`, so one socket (in an `Arc`) may serve many
//! tasks at once: several receivers each get woken when a datagram arrives (one
//! of them gets it; the others find the queue empty and wait again). A datagram
//! operation never counts as "drained": a short datagram says nothing about the
//! ones queued behind it.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use kiwi_runtime::io::Direction;
use kiwi_runtime::sys::socket::{self as sys, Family, Kind, SockAddr};

use crate::addr::{each_addr, ToSocketAddrs};
use crate::registered::RegisteredSocket;

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use kiwi_net::AsyncUdpSocket;
///
/// kiwi_runtime::block_on(async {
///     let a = AsyncUdpSocket::bind("127.0.0.1:0").await?;
///     let b = AsyncUdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"hello", b.local_addr()?).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
pub struct AsyncUdpSocket {
    sock: RegisteredSocket,
}

impl fmt::Debug for AsyncUdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncUdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsyncUdpSocket {
    /// Binds a UDP socket. Each resolved address is tried in turn; the last
    /// error is reported.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("[::1]:0").await?;
    /// assert!(s.local_addr()?.is_ipv6());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<AsyncUdpSocket> {
        each_addr(&addr, |a| async move {
            let fd = sys::socket(
                if a.is_ipv4() { Family::V4 } else { Family::V6 },
                Kind::Datagram,
            )?;
            sys::bind(fd.as_fd(), &SockAddr::from_inet(&a))?;
            Ok(AsyncUdpSocket {
                sock: RegisteredSocket::new(fd),
            })
        })
        .await
    }

    /// Wraps a std socket, switching it to nonblocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let std_sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let s = kiwi_net::AsyncUdpSocket::from_std(std_sock)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<AsyncUdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(AsyncUdpSocket {
            sock: RegisteredSocket::new(OwnedFd::from(socket)),
        })
    }

    /// Turns the socket back into a std one (still nonblocking).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// let std_sock = s.into_std();
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> std::net::UdpSocket {
        std::net::UdpSocket::from(self.sock.into_fd())
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(s.local_addr()?.port() != 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sys::local_addr(self.sock.fd())?.to_inet()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let a = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// let b = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sys::peer_addr(self.sock.fd())?.to_inet()
    }

    /// Sends one datagram to `target`; returns the bytes sent.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the datagram is either sent whole or not at all.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket`].
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        each_addr(&target, |a| {
            let sa = SockAddr::from_inet(&a);
            self.sock
                .op(Direction::Write, move |fd| sys::send_to(fd, buf, &sa))
        })
        .await
    }

    /// Receives one datagram; returns its length (truncated to `buf`) and sender.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is taken only by the poll that returns it.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket`].
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .sock
            .op(Direction::Read, |fd| sys::recv_from(fd, buf, false))
            .await?;
        Ok((n, addr.to_inet()?))
    }

    /// Looks at the next datagram without taking it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let a = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// let b = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"x", b.local_addr()?).await?;
    /// let mut buf = [0u8; 4];
    /// let (n, from) = b.peek_from(&mut buf).await?;
    /// assert_eq!((n, from), (1, a.local_addr()?));
    /// assert_eq!(b.recv_from(&mut buf).await?.0, 1); // still queued
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self
            .sock
            .op(Direction::Read, |fd| sys::recv_from(fd, buf, true))
            .await?;
        Ok((n, addr.to_inet()?))
    }

    /// Sets the default peer: `send` goes there and `recv` only accepts from it.
    /// Each resolved address is tried in turn.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let a = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// let b = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// b.connect(a.local_addr()?).await?;
    /// a.send(b"hi").await?;
    /// let mut buf = [0u8; 2];
    /// assert_eq!(b.recv(&mut buf).await?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| async move {
            sys::connect(self.sock.fd(), &SockAddr::from_inet(&a)).map(drop)
        })
        .await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::connect`].
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
    /// See [`AsyncUdpSocket::connect`].
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .op(Direction::Read, |fd| sys::recv(fd, buf, false))
            .await
    }

    /// Looks at the next datagram from the connected peer without taking it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let a = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// let b = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// b.connect(a.local_addr()?).await?;
    /// a.send_to(b"p", b.local_addr()?).await?;
    /// let mut buf = [0u8; 1];
    /// assert_eq!(b.peek(&mut buf).await?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock
            .op(Direction::Read, |fd| sys::recv(fd, buf, true))
            .await
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_broadcast(true)?;
    /// assert!(s.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        sys::set_broadcast(self.sock.fd(), on)
    }

    /// Reads `SO_BROADCAST`.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::set_broadcast`].
    pub fn broadcast(&self) -> io::Result<bool> {
        sys::broadcast(self.sock.fd())
    }

    /// Sets the time-to-live of outgoing unicast datagrams.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_ttl(9)?;
    /// assert_eq!(s.ttl()?, 9);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        sys::set_ttl(self.sock.fd(), self.is_v6()?, ttl)
    }

    /// Reads the time-to-live.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::set_ttl`].
    pub fn ttl(&self) -> io::Result<u32> {
        sys::ttl(self.sock.fd(), self.is_v6()?)
    }

    fn is_v6(&self) -> io::Result<bool> {
        Ok(sys::local_addr(self.sock.fd())?.family() == Some(Family::V6))
    }

    /// Joins an IPv4 multicast group on `interface` (`0.0.0.0`: any).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # kiwi_runtime::block_on(async {
    /// use std::net::Ipv4Addr;
    /// let s = kiwi_net::AsyncUdpSocket::bind("0.0.0.0:0").await?;
    /// s.join_multicast_v4(Ipv4Addr::new(224, 0, 0, 123), Ipv4Addr::UNSPECIFIED)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        sys::multicast_v4(self.sock.fd(), group, interface, true)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::join_multicast_v4`].
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        sys::multicast_v4(self.sock.fd(), group, interface, false)
    }

    /// Joins an IPv6 multicast group on interface index `interface` (0: any).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("[::]:0").await?;
    /// s.join_multicast_v6("ff02::123".parse().unwrap(), 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        sys::multicast_v6(self.sock.fd(), group, interface, true)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::join_multicast_v6`].
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        sys::multicast_v6(self.sock.fd(), group, interface, false)
    }

    /// Sets `IP_MULTICAST_LOOP` (receive our own IPv4 multicast).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_multicast_loop_v4(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        sys::set_multicast_loop_v4(self.sock.fd(), on)
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_multicast_ttl_v4(2)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        sys::set_multicast_ttl_v4(self.sock.fd(), ttl)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("[::1]:0").await?;
    /// s.set_multicast_loop_v6(false)?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        sys::set_multicast_loop_v6(self.sock.fd(), on)
    }

    /// Sets `SO_RCVBUF` (the kernel doubles it).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_recv_buffer_size(1 << 16)?;
    /// assert!(s.recv_buffer_size()? >= 1 << 16);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_recv_buffer_size(self.sock.fd(), size)
    }

    /// Reads `SO_RCVBUF`.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::set_recv_buffer_size`].
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        sys::recv_buffer_size(self.sock.fd())
    }

    /// Sets `SO_SNDBUF` (the kernel doubles it).
    ///
    /// # Examples
    ///
    /// ```
    /// # kiwi_runtime::block_on(async {
    /// let s = kiwi_net::AsyncUdpSocket::bind("127.0.0.1:0").await?;
    /// s.set_send_buffer_size(1 << 16)?;
    /// assert!(s.send_buffer_size()? >= 1 << 16);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_send_buffer_size(self.sock.fd(), size)
    }

    /// Reads `SO_SNDBUF`.
    ///
    /// # Examples
    ///
    /// See [`AsyncUdpSocket::set_send_buffer_size`].
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        sys::send_buffer_size(self.sock.fd())
    }
}

impl AsFd for AsyncUdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.fd()
    }
}

impl AsRawFd for AsyncUdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.fd().as_raw_fd()
    }
}
