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

mod addr;
mod options;

/// Most buffers one vectored call takes (`UIO_MAXIOV`); the rest are ignored by
/// that call, so a short result must be judged against the first `MAX_IOV`.
pub const MAX_IOV: usize = libc::UIO_MAXIOV as usize;

pub use addr::{Family, Kind, SockAddr};
pub use options::*;

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::syscall;

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

/// `recvmsg` scattering into several buffers (the read buffer's free space, then
/// a stack spill): `readv`'s job on the socket path, for the reason given at
/// [`recv`]. One buffer goes to [`recv`] instead: `recvmsg` also copies in the
/// `msghdr` and imports the iovec array. Reading 100 bytes over loopback TCP,
/// medians of `bench/c/sockcalls.c`: `recv` 3.11 µs, `recvmsg` with one slice
/// 3.22 µs, with two 3.28 µs.
pub fn readv(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    if let [one] = bufs {
        return recv(fd, one, false);
    }
    // SAFETY: msghdr is plain data; all-zero means "no address, no control data".
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = bufs.as_mut_ptr().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len().min(MAX_IOV) as _;
    // SAFETY: IoSliceMut is ABI-compatible with iovec; each points to memory valid
    // for writes of its length; `msg` lives across the call.
    syscall!(recvmsg(raw(fd), &mut msg, 0)).map(|n| n as usize)
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

/// Slices that add up to at most this many bytes are gathered on the stack and
/// sent with one `send` (see [`send_vectored`]).
const GATHER: usize = 1024;

/// `sendmsg(fd, bufs, MSG_NOSIGNAL)`: a gathering write that cannot raise SIGPIPE.
///
/// Small writes are copied into one stack buffer and go to [`send`] instead: an
/// HTTP response is typically a header slice and a body slice of a few hundred
/// bytes together, and copying those costs less than what `sendmsg` adds in the
/// kernel (the `msghdr` copy and the iovec import). Sending 100 bytes over
/// loopback TCP, medians of `bench/c/sockcalls.c`: `send` 3.33 µs, `sendmsg`
/// with two slices 3.38 µs (`writev`, which tokio uses, 3.50 µs).
pub fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let total = bufs
        .iter()
        .try_fold(0usize, |sum, b| sum.checked_add(b.len()));
    if bufs.len() > 1 && total.is_some_and(|t| t <= GATHER) {
        let mut gathered = MaybeUninit::<[u8; GATHER]>::uninit();
        let base = gathered.as_mut_ptr().cast::<u8>();
        let mut len = 0;
        for b in bufs {
            // SAFETY: `len + b.len()` never passes `total`, which is at most
            // GATHER, so the copy stays inside `gathered`; a slice never
            // overlaps a stack buffer made here.
            unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), base.add(len), b.len()) };
            len += b.len();
        }
        // SAFETY: the first `len` bytes were all written by the loop above.
        let bytes = unsafe { std::slice::from_raw_parts(base, len) };
        return send(fd, bytes);
    }
    // SAFETY: msghdr is plain data; all-zero means "no address, no control data".
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    // The kernel only reads through msg_iov for a send.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len().min(MAX_IOV) as _;
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

/// `recv(fd, buf)`, optionally with `MSG_PEEK`: every socket read without an
/// address. `recv` rather than `read`: both move the same bytes, but `read` goes
/// through the generic file path (file-position lock, permission hooks) that a
/// socket does not need; profiling the HTTP benchmark showed that path costing
/// ~2.6% of the server's CPU against tokio, which uses `recv`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// Sends `parts` with one `send_vectored` on a stream pair and reads back
    /// what arrived, with one `readv` into `slices` buffers of 4 KiB.
    fn round_trip(parts: &[&[u8]], slices: usize) -> Vec<u8> {
        let (a, b) = socketpair(Kind::Stream).unwrap();
        let bufs: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let sent = send_vectored(a.as_fd(), &bufs).unwrap();
        assert_eq!(sent, parts.iter().map(|p| p.len()).sum::<usize>());
        let mut got = vec![vec![0u8; 4096]; slices];
        let mut io: Vec<IoSliceMut<'_>> = got.iter_mut().map(|g| IoSliceMut::new(g)).collect();
        let n = readv(b.as_fd(), &mut io).unwrap();
        got.concat()[..n].to_vec()
    }

    #[test]
    fn small_vectored_sends_are_gathered_in_order() {
        // At most GATHER bytes: copied into one buffer and sent with `send`.
        let head = [1u8; 300];
        let body = [2u8; 700];
        let got = round_trip(&[&head, &[], &body, b"!"], 1);
        assert_eq!(got, [&head[..], &body[..], b"!"].concat());
        assert_eq!(got.len(), 1001);
        let full = [7u8; GATHER];
        assert_eq!(round_trip(&[&full[..512], &full[512..]], 1), full);
    }

    #[test]
    fn large_vectored_sends_go_out_as_slices() {
        // Past GATHER: `sendmsg` with the slices as they are, read back by a
        // two-slice `recvmsg`.
        let head = [3u8; 1000];
        let body = [4u8; 2000];
        let got = round_trip(&[&head, &body], 2);
        assert_eq!(got, [&head[..], &body[..]].concat());
    }
}
