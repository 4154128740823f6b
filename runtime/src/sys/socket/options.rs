//! Socket options as named functions (`set_nodelay`, `set_linger`, ...), so
//! callers never see a libc constant.

use super::raw;
use std::io::{self};
use std::mem::{self, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use super::syscall;

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
