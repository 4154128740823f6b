//! Sockets: every socket call kiwi-net makes, and nothing else.
//!
//! kiwi-net is `#![forbid(unsafe_code)]`; it reaches the kernel only through these
//! functions. What they promise:
//!
//! - a socket is born nonblocking and close-on-exec (`SOCK_NONBLOCK |
//!   SOCK_CLOEXEC` on `socket`, `socketpair` and `accept4`) and is an [`OwnedFd`]
//!   on the line that creates it;
//! - sends never raise `SIGPIPE`: every send passes `MSG_NOSIGNAL` (vectored
//!   writes use `sendmsg` rather than `writev`, which has no flags argument);
//! - addresses cross the boundary as [`SockAddr`], a `sockaddr_storage` plus its
//!   length, converted to and from `std::net::SocketAddr` and Unix paths here;
//! - options are named functions (`set_nodelay`, `set_linger`, ...), so callers
//!   never see a libc constant.
//!
//! Errors are returned as `io::Error`; `WouldBlock` is the caller's business (the
//! reactor's "try, then wait" loop).

use std::ffi::OsStr;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use super::syscall;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `AF_INET`.
    V4,
    /// `AF_INET6`.
    V6,
    /// `AF_UNIX`.
    Unix,
}

/// A socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Datagram,
}

impl Family {
    fn raw(self) -> libc::c_int {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
            Family::Unix => libc::AF_UNIX,
        }
    }
}

impl Kind {
    fn raw(self) -> libc::c_int {
        match self {
            Kind::Stream => libc::SOCK_STREAM,
            Kind::Datagram => libc::SOCK_DGRAM,
        }
    }
}

/// A socket address as the kernel sees it: storage large enough for any family,
/// and the length actually used.
#[derive(Clone, Copy)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl std::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_inet() {
            Some(a) => write!(f, "SockAddr({a})"),
            None => f
                .debug_struct("SockAddr")
                .field("family", &self.storage.ss_family)
                .field("len", &self.len)
                .finish(),
        }
    }
}

impl SockAddr {
    fn zeroed() -> SockAddr {
        // SAFETY: sockaddr_storage is plain data; all-zero is a valid (AF_UNSPEC) value.
        let storage = unsafe { MaybeUninit::<libc::sockaddr_storage>::zeroed().assume_init() };
        SockAddr {
            storage,
            len: mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }

    fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut libc::sockaddr_storage).cast()
    }

    /// The address of an IPv4 or IPv6 socket.
    pub fn from_inet(addr: &SocketAddr) -> SockAddr {
        let mut out = SockAddr::zeroed();
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in>().write(sin) };
                out.len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in6>().write(sin6) };
                out.len = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            }
        }
        out
    }

    /// The address of a Unix socket bound to `path`. A path starting with a NUL
    /// byte names an abstract socket (Linux).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the path does not fit `sun_path` (107 bytes and a NUL).
    pub fn from_path(path: &Path) -> io::Result<SockAddr> {
        Self::from_unix_bytes(path.as_os_str().as_bytes())
    }

    fn from_unix_bytes(bytes: &[u8]) -> io::Result<SockAddr> {
        let mut out = SockAddr::zeroed();
        // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un;
        // the zeroed storage is a valid sockaddr_un.
        let sun = unsafe { &mut *out.as_mut_ptr().cast::<libc::sockaddr_un>() };
        let abstract_name = bytes.first() == Some(&0);
        if bytes.len() >= sun.sun_path.len() || (!abstract_name && bytes.contains(&0)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "kiwi: a Unix socket path must be shorter than 108 bytes and contain no NUL byte",
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let offset = mem::size_of::<libc::sa_family_t>();
        // Pathnames count their terminating NUL; abstract names do not.
        let nul = usize::from(!abstract_name && !bytes.is_empty());
        out.len = (offset + bytes.len() + nul) as libc::socklen_t;
        Ok(out)
    }

    /// The family stored in the address (`None` for families kiwi does not use).
    pub fn family(&self) -> Option<Family> {
        match libc::c_int::from(self.storage.ss_family) {
            libc::AF_INET => Some(Family::V4),
            libc::AF_INET6 => Some(Family::V6),
            libc::AF_UNIX => Some(Family::Unix),
            _ => None,
        }
    }

    /// The IP address, if this is an IPv4 or IPv6 address.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self.family()? {
            Family::V4 => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*self.as_ptr().cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            Family::V6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*self.as_ptr().cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let port = u16::from_be(sin6.sin6_port);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    port,
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            Family::Unix => None,
        }
    }

    /// The IP address, or `InvalidInput` for other families.
    pub fn to_inet(&self) -> io::Result<SocketAddr> {
        self.as_inet().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "kiwi: not an IPv4 or IPv6 address",
            )
        })
    }

    /// The bytes of a Unix address's path (empty when unnamed; starting with NUL
    /// when abstract), or `None` for other families.
    pub fn unix_path_bytes(&self) -> Option<Vec<u8>> {
        if self.family()? != Family::Unix {
            return None;
        }
        // SAFETY: the family says the storage holds a sockaddr_un.
        let sun = unsafe { &*self.as_ptr().cast::<libc::sockaddr_un>() };
        let offset = mem::size_of::<libc::sa_family_t>();
        let n = (self.len as usize)
            .saturating_sub(offset)
            .min(sun.sun_path.len());
        let mut bytes: Vec<u8> = sun.sun_path[..n].iter().map(|&c| c as u8).collect();
        // A pathname may carry its terminating NUL (and padding) in the length.
        if bytes.first() != Some(&0) {
            if let Some(end) = bytes.iter().position(|&b| b == 0) {
                bytes.truncate(end);
            }
        }
        Some(bytes)
    }

    /// Converts a Unix address into std's type (pathname, abstract or unnamed).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for other families.
    pub fn to_unix(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::SocketAddr as UnixAddr;
        // An unnamed sender (an unbound datagram socket) comes back from
        // `recvfrom` with no address at all.
        if (self.len as usize) <= mem::size_of::<libc::sa_family_t>() {
            return unnamed_unix_addr();
        }
        let bytes = self.unix_path_bytes().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "kiwi: not a Unix address")
        })?;
        match bytes.first() {
            Some(0) => UnixAddr::from_abstract_name(&bytes[1..]),
            Some(_) => UnixAddr::from_pathname(Path::new(OsStr::from_bytes(&bytes))),
            None => unnamed_unix_addr(),
        }
    }
}

/// std has no constructor for an unnamed Unix address; an unbound socket's local
/// address is one, so ask the kernel once and keep it.
fn unnamed_unix_addr() -> io::Result<std::os::unix::net::SocketAddr> {
    use std::sync::OnceLock;
    static UNNAMED: OnceLock<std::os::unix::net::SocketAddr> = OnceLock::new();
    if let Some(a) = UNNAMED.get() {
        return Ok(a.clone());
    }
    let a = std::os::unix::net::UnixDatagram::unbound()?.local_addr()?;
    Ok(UNNAMED.get_or_init(|| a).clone())
}

fn raw(fd: BorrowedFd<'_>) -> libc::c_int {
    fd.as_raw_fd()
}

/// `socket(family, kind | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)`.
pub fn socket(family: Family, kind: Kind) -> io::Result<OwnedFd> {
    // SAFETY: socket takes no pointers.
    let fd = syscall!(socket(
        family.raw(),
        kind.raw() | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        0
    ))?;
    // SAFETY: `fd` was just returned by socket and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `socketpair(AF_UNIX, kind | SOCK_NONBLOCK | SOCK_CLOEXEC)`.
pub fn socketpair(kind: Kind) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    let ty = kind.raw() | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `fds` is a live array of two ints for the kernel to fill.
    syscall!(socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()))?;
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `bind(fd, addr)`.
pub fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` points to `len` initialised bytes.
    syscall!(bind(raw(fd), addr.as_ptr(), addr.len)).map(drop)
}

/// `listen(fd, backlog)`.
pub fn listen(fd: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    // SAFETY: listen takes no pointers.
    syscall!(listen(raw(fd), backlog)).map(drop)
}

/// Starts a nonblocking connect. `Ok(true)`: connected already; `Ok(false)`: in
/// progress (`EINPROGRESS`), wait for writability and then read [`take_error`].
pub fn connect(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<bool> {
    // SAFETY: `addr` points to `len` initialised bytes.
    match syscall!(connect(raw(fd), addr.as_ptr(), addr.len)) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `accept4(fd, SOCK_NONBLOCK | SOCK_CLOEXEC)`: the new socket and its peer.
pub fn accept(fd: BorrowedFd<'_>) -> io::Result<(OwnedFd, SockAddr)> {
    let mut addr = SockAddr::zeroed();
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: `addr` has room for `len` bytes, which the kernel fills and updates.
    let new = syscall!(accept4(raw(fd), addr.as_mut_ptr(), &mut addr.len, flags))?;
    // SAFETY: `new` was just returned by accept4 and is owned by nobody else.
    Ok((unsafe { OwnedFd::from_raw_fd(new) }, addr))
}

/// `read(fd, buf)`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    syscall!(read(raw(fd), buf.as_mut_ptr().cast(), buf.len())).map(|n| n as usize)
}

/// `readv(fd, bufs)`: one syscall scattering into several buffers (the read
/// buffer's free space, then a stack spill).
pub fn readv(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    let n = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: IoSliceMut is guaranteed ABI-compatible with iovec on Unix, and each
    // points to memory valid for writes of its length.
    syscall!(readv(raw(fd), bufs.as_mut_ptr().cast::<libc::iovec>(), n)).map(|n| n as usize)
}

/// `recv(fd, buf, MSG_PEEK)`: look at queued bytes without consuming them.
pub fn peek(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    syscall!(recv(
        raw(fd),
        buf.as_mut_ptr().cast(),
        buf.len(),
        libc::MSG_PEEK
    ))
    .map(|n| n as usize)
}

/// `send(fd, buf, MSG_NOSIGNAL)`.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes of reads.
    syscall!(send(
        raw(fd),
        buf.as_ptr().cast(),
        buf.len(),
        libc::MSG_NOSIGNAL
    ))
    .map(|n| n as usize)
}

/// `sendmsg(fd, bufs, MSG_NOSIGNAL)`: a gathering write that cannot raise SIGPIPE.
pub fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: msghdr is plain data; all-zero means "no address, no control data".
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    // The kernel only reads through msg_iov for a send.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    // SAFETY: IoSlice is ABI-compatible with iovec; each points to readable memory
    // of its length; `msg` lives across the call.
    syscall!(sendmsg(raw(fd), &msg, libc::MSG_NOSIGNAL)).map(|n| n as usize)
}

/// `recvfrom(fd, buf)`, optionally with `MSG_PEEK`: one datagram and its sender.
pub fn recv_from(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<(usize, SockAddr)> {
    let mut addr = SockAddr::zeroed();
    let flags = if peek { libc::MSG_PEEK } else { 0 };
    // SAFETY: `buf` is valid for writes of its length; `addr` has room for `len`
    // bytes, which the kernel fills and updates.
    let n = syscall!(recvfrom(
        raw(fd),
        buf.as_mut_ptr().cast(),
        buf.len(),
        flags,
        addr.as_mut_ptr(),
        &mut addr.len
    ))?;
    Ok((n as usize, addr))
}

/// `recv(fd, buf)`, optionally with `MSG_PEEK` (a connected datagram socket).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<usize> {
    let flags = if peek { libc::MSG_PEEK } else { 0 };
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    syscall!(recv(raw(fd), buf.as_mut_ptr().cast(), buf.len(), flags)).map(|n| n as usize)
}

/// `sendto(fd, buf, MSG_NOSIGNAL, addr)`.
pub fn send_to(fd: BorrowedFd<'_>, buf: &[u8], addr: &SockAddr) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length; `addr` for `len` bytes.
    syscall!(sendto(
        raw(fd),
        buf.as_ptr().cast(),
        buf.len(),
        libc::MSG_NOSIGNAL,
        addr.as_ptr(),
        addr.len
    ))
    .map(|n| n as usize)
}

/// `shutdown(fd, how)`.
pub fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: shutdown takes no pointers.
    syscall!(shutdown(raw(fd), how)).map(drop)
}

/// `getsockname(fd)`.
pub fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SockAddr> {
    let mut addr = SockAddr::zeroed();
    // SAFETY: `addr` has room for `len` bytes, which the kernel fills and updates.
    syscall!(getsockname(raw(fd), addr.as_mut_ptr(), &mut addr.len))?;
    Ok(addr)
}

/// `getpeername(fd)`.
pub fn peer_addr(fd: BorrowedFd<'_>) -> io::Result<SockAddr> {
    let mut addr = SockAddr::zeroed();
    // SAFETY: `addr` has room for `len` bytes, which the kernel fills and updates.
    syscall!(getpeername(raw(fd), addr.as_mut_ptr(), &mut addr.len))?;
    Ok(addr)
}

/// Sets a socket option.
///
/// # Safety
///
/// `T` must be the type the kernel expects for `level`/`name`.
unsafe fn setsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> io::Result<()> {
    let len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live T of `len` bytes; the caller vouches for the type.
    syscall!(setsockopt(
        raw(fd),
        level,
        name,
        (&value as *const T).cast(),
        len
    ))
    .map(drop)
}

/// Reads a socket option.
///
/// # Safety
///
/// `T` must be the type the kernel writes for `level`/`name`, and every bit
/// pattern must be a valid `T` (plain integers and C structs).
unsafe fn getsockopt<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<T> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` has room for `len` bytes, which the kernel fills.
    syscall!(getsockopt(
        raw(fd),
        level,
        name,
        value.as_mut_ptr().cast(),
        &mut len
    ))?;
    // SAFETY: zero-initialised, then (partly) written by the kernel; the caller
    // vouches that any bit pattern is a valid T.
    Ok(unsafe { value.assume_init() })
}

fn set_bool(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, on: bool) -> io::Result<()> {
    // SAFETY: boolean options take a c_int.
    unsafe { setsockopt(fd, level, name, libc::c_int::from(on)) }
}

fn get_bool(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<bool> {
    // SAFETY: boolean options are a c_int.
    unsafe { getsockopt::<libc::c_int>(fd, level, name) }.map(|v| v != 0)
}

fn set_int(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, v: u32) -> io::Result<()> {
    let v = libc::c_int::try_from(v)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "kiwi: option value too large"))?;
    // SAFETY: integer options take a c_int.
    unsafe { setsockopt(fd, level, name, v) }
}

fn get_int(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<u32> {
    // SAFETY: integer options are a c_int.
    unsafe { getsockopt::<libc::c_int>(fd, level, name) }.map(|v| v.max(0) as u32)
}

/// Reads and clears `SO_ERROR`: the outcome of a nonblocking connect.
pub fn take_error(fd: BorrowedFd<'_>) -> io::Result<Option<io::Error>> {
    // SAFETY: SO_ERROR is a c_int.
    let err = unsafe { getsockopt::<libc::c_int>(fd, libc::SOL_SOCKET, libc::SO_ERROR) }?;
    Ok((err != 0).then(|| io::Error::from_raw_os_error(err)))
}

/// `SO_REUSEADDR`.
pub fn set_reuse_address(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, on)
}

/// `SO_REUSEPORT`: several sockets (one per worker) may bind the same port.
pub fn set_reuse_port(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, on)
}

/// `TCP_NODELAY`.
pub fn set_nodelay(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, on)
}

/// Reads `TCP_NODELAY`.
pub fn nodelay(fd: BorrowedFd<'_>) -> io::Result<bool> {
    get_bool(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY)
}

/// `SO_KEEPALIVE`.
pub fn set_keepalive(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, on)
}

/// Reads `SO_KEEPALIVE`.
pub fn keepalive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    get_bool(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE)
}

/// `SO_LINGER`: `None` turns it off; `Some(ZERO)` makes `close` reset the
/// connection and discard unsent data.
pub fn set_linger(fd: BorrowedFd<'_>, linger: Option<Duration>) -> io::Result<()> {
    let l = libc::linger {
        l_onoff: libc::c_int::from(linger.is_some()),
        l_linger: linger.map_or(0, |d| {
            d.as_secs().min(libc::c_int::MAX as u64) as libc::c_int
        }),
    };
    // SAFETY: SO_LINGER takes a struct linger.
    unsafe { setsockopt(fd, libc::SOL_SOCKET, libc::SO_LINGER, l) }
}

/// Reads `SO_LINGER`.
pub fn linger(fd: BorrowedFd<'_>) -> io::Result<Option<Duration>> {
    // SAFETY: SO_LINGER is a struct linger of two c_ints.
    let l = unsafe { getsockopt::<libc::linger>(fd, libc::SOL_SOCKET, libc::SO_LINGER) }?;
    Ok((l.l_onoff != 0).then(|| Duration::from_secs(l.l_linger.max(0) as u64)))
}

/// `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6).
pub fn set_ttl(fd: BorrowedFd<'_>, v6: bool, ttl: u32) -> io::Result<()> {
    if v6 {
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ttl)
    } else {
        set_int(fd, libc::IPPROTO_IP, libc::IP_TTL, ttl)
    }
}

/// Reads `IP_TTL` or `IPV6_UNICAST_HOPS`.
pub fn ttl(fd: BorrowedFd<'_>, v6: bool) -> io::Result<u32> {
    if v6 {
        get_int(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)
    } else {
        get_int(fd, libc::IPPROTO_IP, libc::IP_TTL)
    }
}

/// `IPV6_V6ONLY`.
pub fn set_only_v6(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, on)
}

/// `SO_BROADCAST`.
pub fn set_broadcast(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::SOL_SOCKET, libc::SO_BROADCAST, on)
}

/// Reads `SO_BROADCAST`.
pub fn broadcast(fd: BorrowedFd<'_>) -> io::Result<bool> {
    get_bool(fd, libc::SOL_SOCKET, libc::SO_BROADCAST)
}

/// `IP_MULTICAST_LOOP`.
pub fn set_multicast_loop_v4(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, on)
}

/// `IP_MULTICAST_TTL`.
pub fn set_multicast_ttl_v4(fd: BorrowedFd<'_>, ttl: u32) -> io::Result<()> {
    set_int(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, ttl)
}

/// `IPV6_MULTICAST_LOOP`.
pub fn set_multicast_loop_v6(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_bool(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, on)
}

/// `IP_ADD_MEMBERSHIP` (`join`) or `IP_DROP_MEMBERSHIP`.
pub fn multicast_v4(
    fd: BorrowedFd<'_>,
    group: Ipv4Addr,
    interface: Ipv4Addr,
    join: bool,
) -> io::Result<()> {
    let mreq = libc::ip_mreq {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from_ne_bytes(group.octets()),
        },
        imr_interface: libc::in_addr {
            s_addr: u32::from_ne_bytes(interface.octets()),
        },
    };
    let name = if join {
        libc::IP_ADD_MEMBERSHIP
    } else {
        libc::IP_DROP_MEMBERSHIP
    };
    // SAFETY: these options take a struct ip_mreq.
    unsafe { setsockopt(fd, libc::IPPROTO_IP, name, mreq) }
}

/// `IPV6_ADD_MEMBERSHIP` (`join`) or `IPV6_DROP_MEMBERSHIP`.
pub fn multicast_v6(
    fd: BorrowedFd<'_>,
    group: Ipv6Addr,
    interface: u32,
    join: bool,
) -> io::Result<()> {
    let mreq = libc::ipv6_mreq {
        ipv6mr_multiaddr: libc::in6_addr {
            s6_addr: group.octets(),
        },
        ipv6mr_interface: interface,
    };
    let name = if join {
        libc::IPV6_ADD_MEMBERSHIP
    } else {
        libc::IPV6_DROP_MEMBERSHIP
    };
    // SAFETY: these options take a struct ipv6_mreq.
    unsafe { setsockopt(fd, libc::IPPROTO_IPV6, name, mreq) }
}

/// `SO_RCVBUF` (the kernel doubles the value it is given).
pub fn set_recv_buffer_size(fd: BorrowedFd<'_>, size: u32) -> io::Result<()> {
    set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size)
}

/// Reads `SO_RCVBUF`.
pub fn recv_buffer_size(fd: BorrowedFd<'_>) -> io::Result<u32> {
    get_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)
}

/// `SO_SNDBUF` (the kernel doubles the value it is given).
pub fn set_send_buffer_size(fd: BorrowedFd<'_>, size: u32) -> io::Result<()> {
    set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, size)
}

/// Reads `SO_SNDBUF`.
pub fn send_buffer_size(fd: BorrowedFd<'_>) -> io::Result<u32> {
    get_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)
}

/// True for the errors `accept` reports when the process or the system is out
/// of descriptors or memory: the backlog is intact, retry later.
pub fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// True for the errors `accept` passes up from a connection that died in the
/// queue (`accept(2)`: "treat them like EAGAIN by retrying").
pub fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EINTR
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
                | libc::EPERM
        )
    )
}

/// True if `e` is `ENOTCONN` (a connect still in progress).
pub fn is_not_connected(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOTCONN)
}

/// The event bits a TCP stream's output flush cares about: writable, hang-up,
/// error.
pub fn is_write_event(events: u32) -> bool {
    events & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0
}
